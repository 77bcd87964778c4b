"""Model objects <-> JSON values, generically over the allow-listed classes' fields.

JSON shape (schema version 1):

- a model object is `{"$type": "<Class>", "<field>": <value>, ...}` with every init field of
  the class; `$type` must name a class of the allow-list (`classes.py`) that may stand where
  the field's declared type says (a `DataType` field takes any allowed column type);
- str, int, bool, float: themselves (ints never bools, and within the field's declared range);
- enums: their value (`"forensic"`);
- `timedelta`: an integer number of microseconds;
- lists and `dict[str, str]`: JSON arrays and objects; `None`: null (only where optional).

`encode` also CHECKS live objects built by `eco.py` against the same declarations: that is
how lint turns `DDLColumn("email", "VARCHAR(10)")`, `VarChar("10")`, `VarChar(400.5)` or
`VarChar(10**12)` into an error naming the object instead of a traceback. `decode` is strict
and calls only allow-listed constructors, so a result read back from an untrusted child is
data, never code.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from datasurface.errors import DataSurfaceError
from datasurface.model.manifest.classes import (
    ClassSpec,
    FieldSpec,
    allowed,
    is_enum,
    is_model_class,
    spec_for,
    subclasses_allowed,
    union_arms,
)

TYPE_KEY = "$type"
MAX_DEPTH = 64
_US = timedelta(microseconds=1)

#: Object kinds that name themselves in paths, as lint paths do. "reset" kinds start a path.
_KINDS: dict[str, tuple[str, bool]] = {
    "Ecosystem": ("Ecosystem", True),
    "GovernanceZoneDeclaration": ("Zone", False),
    "GovernanceZone": ("Zone", True),
    "TeamDeclaration": ("Team", False),
    "Team": ("Team", True),
    "Datastore": ("Datastore", False),
    "Dataset": ("Dataset", False),
    "DDLColumn": ("Column", False),
    "Workspace": ("Workspace", False),
    "DatasetGroup": ("DSG", False),
}


class ManifestError(DataSurfaceError):
    """A compiled model is malformed; the message names the object path and the field."""


@dataclass(frozen=True, slots=True)
class ValueIssue:
    """A model attribute whose value does not fit its declared type."""

    path: str
    message: str
    #: "bad-type" for a column type's parameters, "bad-value" for any other attribute.
    rule: str = "bad-value"
    #: False for an int out of its range: the object is still usable by other lint rules.
    wrong_type: bool = True


def _kind(spec: ClassSpec) -> tuple[str, bool] | None:
    from datasurface.model.containers import DataContainer
    from datasurface.model.platform import DataPlatform

    if spec.name in _KINDS:
        return _KINDS[spec.name]
    if issubclass(spec.cls, DataPlatform):
        return ("Platform", True)
    if issubclass(spec.cls, DataContainer):
        return ("Container", False)
    return None


def child_path(path: tuple[str, ...], spec: ClassSpec, name: object) -> tuple[str, ...]:
    kind = _kind(spec)
    if kind is None:
        return path
    label = f"{kind[0]} '{name}'" if isinstance(name, str) else f"{kind[0]} {name!r}"
    return (label,) if kind[1] else (*path, label)


def show_path(path: tuple[str, ...]) -> str:
    return " / ".join(path) or "model"


def describe(value: object) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"the {type(value).__name__} {text}"


def expected(hint: Any) -> str:
    arms = union_arms(hint)
    if arms is not None:
        return " or ".join(expected(a) for a in arms)
    if hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    if origin is list:
        return f"a list of {expected(typing.get_args(hint)[0])}"
    if origin is dict:
        key, value = typing.get_args(hint)
        return f"a dict of {expected(key)} to {expected(value)}"
    if is_enum(hint):
        return f"a {hint.__name__} ({', '.join(f'{hint.__name__}.{m.name}' for m in hint)})"
    if is_model_class(hint):
        names = sorted(s.name for s in subclasses_allowed(hint))
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        return f"a {hint.__name__} ({shown})" if names != [hint.__name__] else f"a {hint.__name__}"
    return {str: "a str", int: "an int", float: "a number", bool: "a bool", timedelta: "a timedelta"}.get(
        hint, str(hint)
    )


# -- encode (and check) live objects ------------------------------------------------------------


class _Encoder:
    def __init__(self, issues: list[ValueIssue] | None) -> None:
        self.issues = issues
        self.stack: set[int] = set()

    def bad(
        self, path: tuple[str, ...], where: str, value: object, hint: Any, why: str = "", *, typed: bool = True
    ) -> None:
        message = f"{where} is {describe(value)}, expected {expected(hint)}{why}"
        if self.issues is None:
            raise ManifestError(f"{show_path(path)}: {message}")
        self.issues.append(ValueIssue(show_path(path), message, _rule(where), typed))

    def obj(self, value: object, path: tuple[str, ...], where: str, base: type[Any]) -> Any:
        spec = spec_for(value)
        if spec is None or not issubclass(spec.cls, base):
            self.bad(path, where, value, base)
            return None
        if id(value) in self.stack or len(self.stack) >= MAX_DEPTH:
            self.bad(path, where, value, base, " (the model refers to itself)")
            return None
        self.stack.add(id(value))
        try:
            here = child_path(path, spec, getattr(value, "name", None))
            out: dict[str, Any] = {TYPE_KEY: spec.name}
            for f in spec.fields:
                out[f.name] = self.field(getattr(value, f.name, None), f, here, f"{spec.name}.{f.name}")
            return out
        finally:
            self.stack.discard(id(value))

    def field(self, value: object, f: FieldSpec, path: tuple[str, ...], where: str) -> Any:
        encoded = self.value(value, f.hint, path, where)
        if f.bounds is not None and type(value) is int:
            low, high = f.bounds
            if not low <= value <= high:
                self.bad(path, where, value, int, f" between {low} and {high}", typed=False)
        return encoded

    def value(self, value: object, hint: Any, path: tuple[str, ...], where: str) -> Any:
        arms = union_arms(hint)
        if arms is not None:
            if value is None:
                if type(None) in arms:
                    return None
                self.bad(path, where, value, hint)
                return None
            fitting = [a for a in arms if a is not type(None) and _fits(value, a)]
            if not fitting:
                self.bad(path, where, value, hint)
                return None
            return self.value(value, fitting[0], path, where)
        if hint is type(None):
            if value is not None:
                self.bad(path, where, value, hint)
            return None
        origin = typing.get_origin(hint)
        if origin is list:
            if not isinstance(value, list):
                self.bad(path, where, value, hint)
                return []
            (item,) = typing.get_args(hint)
            return [self.value(v, item, path, f"{where}[{i}]") for i, v in enumerate(value)]
        if origin is dict:
            if not isinstance(value, dict):
                self.bad(path, where, value, hint)
                return {}
            key_hint, value_hint = typing.get_args(hint)
            return {
                self.value(k, key_hint, path, f"{where} key"): self.value(v, value_hint, path, f"{where}[{k!r}]")
                for k, v in value.items()
            }
        if is_enum(hint):
            if isinstance(value, hint):
                return value.value
            self.bad(path, where, value, hint)
            return None
        if is_model_class(hint):
            return self.obj(value, path, where, hint)
        if not _fits(value, hint):
            self.bad(path, where, value, hint)
            return None
        if hint is timedelta:
            assert isinstance(value, timedelta)
            return value // _US
        if hint is float:
            assert isinstance(value, int | float)
            return float(value)
        if hint is str:
            return str.__str__(value)
        return value


def _rule(where: str) -> str:
    from datasurface.model.schema import DataType

    spec = allowed().get(where.split(".", 1)[0])
    if where.startswith("DDLColumn.type") or (spec is not None and issubclass(spec.cls, DataType)):
        return "bad-type"
    return "bad-value"


def _fits(value: object, hint: Any) -> bool:
    """Does `value` have the declared type (strictly: a bool is no int, a str no enum)?"""
    if union_arms(hint) is not None:
        return any(_fits(value, a) for a in union_arms(hint) or ())
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is not None:
        return isinstance(value, origin)
    if is_enum(hint) or is_model_class(hint):
        return isinstance(value, hint)
    if hint is bool:
        return type(value) is bool
    if hint is int:
        return type(value) is int
    if hint is float:
        return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]
    if hint is str:
        return isinstance(value, str) and not is_enum(type(value))
    if hint is timedelta:
        return type(value) is timedelta
    return False


def encode(obj: object, issues: list[ValueIssue] | None = None) -> Any:
    """`obj` (an allowed model object) as JSON values. With `issues`, bad values are recorded
    there (and encoded as null); without, the first one raises ManifestError."""
    spec = spec_for(obj)
    if spec is None:
        raise ManifestError(f"{type(obj).__name__} is not a model class a compiled model may hold")
    return _Encoder(issues).obj(obj, (), "model", spec.cls)


def check_values(*objs: object) -> list[ValueIssue]:
    """Every attribute of every object that does not fit its declared type or range."""
    issues: list[ValueIssue] = []
    for obj in objs:
        encode(obj, issues)
    return issues


# -- decode: strict, allow-listed constructors only ---------------------------------------------


def decode(data: Any, base: type[Any]) -> Any:
    """Rebuild an object of (a subclass of) `base` from JSON values; ManifestError when any
    value does not fit."""
    return _decode_obj(data, base, (), "model")


def _fail(path: tuple[str, ...], where: str, value: object, hint: Any, why: str = "") -> ManifestError:
    return ManifestError(f"{show_path(path)}: {where} is {describe(value)}, expected {expected(hint)}{why}")


def _decode_obj(data: Any, base: type[Any], path: tuple[str, ...], where: str) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get(TYPE_KEY), str):
        raise _fail(path, where, data, base, f' (an object with "{TYPE_KEY}")')
    spec = allowed().get(data[TYPE_KEY])
    if spec is None or not issubclass(spec.cls, base):
        raise ManifestError(
            f"{show_path(path)}: {where} has {TYPE_KEY} {data[TYPE_KEY]!r}, which is not an allowed "
            f"model class here (expected {expected(base)})"
        )
    here = child_path(path, spec, data.get("name"))
    known = {f.name for f in spec.fields}
    unknown = sorted(set(data) - known - {TYPE_KEY})
    if unknown:
        raise ManifestError(f"{show_path(here)}: {spec.name} has no field(s) {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in data:
            if f.required:
                raise ManifestError(f"{show_path(here)}: {spec.name}.{f.name} is missing")
            continue
        value = _decode_value(data[f.name], f.hint, here, f"{spec.name}.{f.name}")
        if f.bounds is not None and type(value) is int and not f.bounds[0] <= value <= f.bounds[1]:
            raise _fail(here, f"{spec.name}.{f.name}", value, int, f" between {f.bounds[0]} and {f.bounds[1]}")
        kwargs[f.name] = value
    return spec.cls(**kwargs)


def _decode_value(data: Any, hint: Any, path: tuple[str, ...], where: str) -> Any:
    arms = union_arms(hint)
    if arms is not None:
        if data is None:
            if type(None) in arms:
                return None
            raise _fail(path, where, data, hint)
        errors: list[ManifestError] = []
        for arm in arms:
            if arm is type(None):
                continue
            try:
                return _decode_value(data, arm, path, where)
            except ManifestError as exc:
                errors.append(exc)
        raise errors[0] if len(errors) == 1 else _fail(path, where, data, hint)
    origin = typing.get_origin(hint)
    if origin is list:
        if not isinstance(data, list):
            raise _fail(path, where, data, hint)
        (item,) = typing.get_args(hint)
        return [_decode_value(v, item, path, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise _fail(path, where, data, hint)
        key_hint, value_hint = typing.get_args(hint)
        return {
            _decode_value(k, key_hint, path, f"{where} key"): _decode_value(v, value_hint, path, f"{where}[{k!r}]")
            for k, v in data.items()
        }
    if is_enum(hint):
        try:
            return hint(data) if isinstance(data, str) else _raise(_fail(path, where, data, hint))
        except ValueError:
            raise _fail(path, where, data, hint) from None
    if is_model_class(hint):
        return _decode_obj(data, hint, path, where)
    if hint is timedelta:
        if type(data) is not int:
            raise _fail(path, where, data, int, " (microseconds)")
        try:
            return timedelta(microseconds=data)
        except OverflowError:
            raise _fail(path, where, data, int, " (microseconds within a timedelta's range)") from None
    if hint is float and type(data) is int:
        return float(data)
    if hint in (str, int, bool, float) and type(data) is hint:
        if hint is float and not math.isfinite(data):
            raise _fail(path, where, data, hint)
        return data
    if hint is types.NoneType and data is None:
        return None
    raise _fail(path, where, data, hint)


def _raise(exc: Exception) -> Any:
    raise exc
