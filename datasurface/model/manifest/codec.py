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

import enum
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

from datasurface.errors import DataSurfaceError
from datasurface.model.manifest.classes import (
    ClassSpec,
    allowed,
    is_enum,
    is_model_class,
    spec_for,
    subclasses_allowed,
    union_arms,
)

TYPE_KEY = "$type"
#: An object path as a chain `(parent, kind, name)`; `()` is the root (see `show_path`).
Path = tuple[Any, ...]
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


def child_path(path: Path, spec: ClassSpec, name: object) -> Path:
    """The path one level down. Paths are chains `(parent, kind, name)` turned into text only
    when a message needs one: building the text for every object of a big model cost more
    than checking it."""
    kind = _kind_of(spec)
    if kind is None:
        return path
    return (() if kind[1] else path, kind[0], name)


def show_path(path: Path) -> str:
    labels: list[str] = []
    while path:
        parent, kind, name = path
        labels.append(f"{kind} '{name}'" if type(name) is str else f"{kind} {name!r}")
        path = parent
    return " / ".join(reversed(labels)) or "model"


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


# -- plans: one converter per declared type, built once ----------------------------------------
#
# Walking a model means millions of attribute checks for a big one (the benchmark model has
# 320,000 columns), so each declared type is turned ONCE into a small function that checks
# (and encodes, or decodes) a value of that type; the walk then only calls them.

Encode = Callable[["_Encoder", object, Path, str], Any]
Decode = Callable[[Any, Path, str], Any]

_MISSING = object()
_KIND_CACHE: dict[str, tuple[str, bool] | None] = {}


def _kind_of(spec: ClassSpec) -> tuple[str, bool] | None:
    try:
        return _KIND_CACHE[spec.name]
    except KeyError:
        kind = _KIND_CACHE[spec.name] = _kind(spec)
        return kind


@lru_cache(maxsize=1)
def _by_type() -> dict[type[Any], ClassSpec]:
    return {spec.cls: spec for spec in allowed().values()}


def _rule(where: str) -> str:
    from datasurface.model.schema import DataType

    spec = allowed().get(where.split(".", 1)[0])
    if where.startswith("DDLColumn.type") or (spec is not None and issubclass(spec.cls, DataType)):
        return "bad-type"
    return "bad-value"


class _Encoder:
    def __init__(self, issues: list[ValueIssue] | None) -> None:
        self.issues = issues
        self.depth = 0

    def bad(self, path: Path, where: str, value: object, hint: Any, why: str = "", *, typed: bool = True) -> None:
        message = f"{where} is {describe(value)}, expected {expected(hint)}{why}"
        if self.issues is None:
            raise ManifestError(f"{show_path(path)}: {message}")
        self.issues.append(ValueIssue(show_path(path), message, _rule(where), typed))

    def obj(self, value: object, path: Path, where: str, base: type[Any]) -> Any:
        cls = type(value)
        info = _CLASS_INFO.get(cls) or _class_info(cls)
        if info is None or not issubclass(cls, base):
            self.bad(path, where, value, base)
            return None
        if self.depth >= MAX_DEPTH:
            self.bad(path, where, value, base, " (the model refers to itself)")
            return None
        type_name, kind, plans = info
        if kind is not None:
            path = (() if kind[1] else path, kind[0], getattr(value, "name", None))
        out: dict[str, Any] = {TYPE_KEY: type_name}
        # No try/finally: after an exception (raise mode) the encoder is discarded.
        self.depth += 1
        for field_name, plan, field_where in plans:
            out[field_name] = plan(self, getattr(value, field_name, _MISSING), path, field_where)
        self.depth -= 1
        return out


_ClassInfo = tuple[str, "tuple[str, bool] | None", "tuple[tuple[str, Encode, str], ...]"]
#: Per allowed class: its name, its path kind and its field plans (one dict lookup per object).
_CLASS_INFO: dict[type[Any], _ClassInfo] = {}


def _class_info(cls: type[Any]) -> _ClassInfo | None:
    spec = _by_type().get(cls)
    if spec is None:
        return None
    info = _CLASS_INFO[cls] = (spec.name, _kind_of(spec), _encode_fields(spec))
    return info


#: Per class (keyed by the class: hashing a ClassSpec per object was measured at 30% of a walk).
_ENCODE_FIELDS: dict[type[Any], tuple[tuple[str, Encode, str], ...]] = {}
_DECODE_FIELDS: dict[type[Any], tuple[tuple[str, Decode, str, bool], ...]] = {}
_FIELD_NAMES: dict[type[Any], frozenset[str]] = {}


def _encode_fields(spec: ClassSpec) -> tuple[tuple[str, Encode, str], ...]:
    try:
        return _ENCODE_FIELDS[spec.cls]
    except KeyError:
        plans = tuple((f.name, _encode_plan(f.hint, f.bounds), f"{spec.name}.{f.name}") for f in spec.fields)
        _ENCODE_FIELDS[spec.cls] = plans
        return plans


@cache
def _encode_plan(hint: Any, bounds: tuple[int, int] | None = None) -> Encode:
    arms = union_arms(hint)
    if arms is not None:
        real = tuple(a for a in arms if a is not type(None))
        optional = len(real) < len(arms)
        single = _encode_plan(real[0]) if len(real) == 1 else None

        def union(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if v is None:
                if optional:
                    return None
                e.bad(p, w, v, hint)
                return None
            if single is not None:
                return single(e, v, p, w)
            for arm in real:
                if _fits(v, arm):
                    return _encode_plan(arm)(e, v, p, w)
            e.bad(p, w, v, hint)
            return None

        return union
    origin = typing.get_origin(hint)
    if origin is list:
        item = _encode_plan(typing.get_args(hint)[0])

        def as_list(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if not isinstance(v, list):
                e.bad(p, w, v, hint)
                return []
            return [item(e, x, p, w) for x in v]

        return as_list
    if origin is dict:
        key_plan, value_plan = (_encode_plan(a) for a in typing.get_args(hint))

        def as_dict(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if not isinstance(v, dict):
                e.bad(p, w, v, hint)
                return {}
            return {key_plan(e, k, p, w): value_plan(e, x, p, w) for k, x in v.items()}

        return as_dict
    if is_enum(hint):

        def as_enum(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if isinstance(v, hint):
                return v.value
            e.bad(p, w, v, hint)
            return None

        return as_enum
    if is_model_class(hint):

        def as_obj(e: _Encoder, v: object, p: Path, w: str) -> Any:
            return e.obj(v, p, w, hint)

        return as_obj
    if hint is int:
        low, high = bounds if bounds is not None else (None, None)

        def as_int(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if type(v) is not int:
                e.bad(p, w, v, int)
                return None
            if low is not None and high is not None and not low <= v <= high:
                e.bad(p, w, v, int, f" between {low} and {high}", typed=False)
            return v

        return as_int
    if hint is str:

        def as_str(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if type(v) is str:
                return v
            if isinstance(v, str) and not isinstance(v, enum.Enum):
                return str.__str__(v)
            e.bad(p, w, v, str)
            return None

        return as_str
    if hint is bool:

        def as_bool(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if type(v) is bool:
                return v
            e.bad(p, w, v, bool)
            return None

        return as_bool
    if hint is float:

        def as_float(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if (type(v) is float or type(v) is int) and math.isfinite(v):
                return float(v)
            e.bad(p, w, v, float)
            return None

        return as_float
    if hint is timedelta:

        def as_timedelta(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if type(v) is timedelta:
                return v // _US
            e.bad(p, w, v, timedelta)
            return None

        return as_timedelta
    if hint is type(None):

        def as_none(e: _Encoder, v: object, p: Path, w: str) -> Any:
            if v is not None:
                e.bad(p, w, v, hint)
            return None

        return as_none
    raise TypeError(f"no JSON form for {hint!r}")


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
    """Every attribute of every object that does not fit its declared type or range.

    Objects rebuilt by `decode` are well-typed by construction and are not walked again (a job
    lints the model it loads; on the 40,000-dataset benchmark model the walk costs several
    times lint's own rules)."""
    issues: list[ValueIssue] = []
    for obj in objs:
        if _DECODED.get(id(obj)) is not obj:
            encode(obj, issues)
    return issues


#: Root objects `decode` built recently (strong references, so an id is never reused while
#: listed). Bounded: a long-running process loads many models.
_DECODED: dict[int, object] = {}
_DECODED_MAX = 16


def _remember_decoded(obj: object) -> None:
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.pop(next(iter(_DECODED)))
    _DECODED[id(obj)] = obj


# -- decode: strict, allow-listed constructors only ---------------------------------------------


def decode(data: Any, base: type[Any]) -> Any:
    """Rebuild an object of (a subclass of) `base` from JSON values; ManifestError when any
    value does not fit."""
    obj = _decode_obj(data, base, (), "model")
    _remember_decoded(obj)
    return obj


def _fail(path: Path, where: str, value: object, hint: Any, why: str = "") -> ManifestError:
    return ManifestError(f"{show_path(path)}: {where} is {describe(value)}, expected {expected(hint)}{why}")


def _decode_fields(spec: ClassSpec) -> tuple[tuple[str, Decode, str, bool], ...]:
    try:
        return _DECODE_FIELDS[spec.cls]
    except KeyError:
        plans = tuple(
            (f.name, _decode_plan(f.hint, f.bounds), f"{spec.name}.{f.name}", f.required) for f in spec.fields
        )
        _DECODE_FIELDS[spec.cls] = plans
        return plans


def _field_names(spec: ClassSpec) -> frozenset[str]:
    try:
        return _FIELD_NAMES[spec.cls]
    except KeyError:
        names = _FIELD_NAMES[spec.cls] = frozenset({TYPE_KEY, *(f.name for f in spec.fields)})
        return names


def _decode_obj(data: Any, base: type[Any], path: Path, where: str) -> Any:
    if type(data) is not dict or type(data.get(TYPE_KEY)) is not str:
        raise _fail(path, where, data, base, f' (an object with "{TYPE_KEY}")')
    spec = allowed().get(data[TYPE_KEY])
    if spec is None or not issubclass(spec.cls, base):
        raise ManifestError(
            f"{show_path(path)}: {where} has {TYPE_KEY} {data[TYPE_KEY]!r}, which is not an allowed "
            f"model class here (expected {expected(base)})"
        )
    kind = _kind_of(spec)
    if kind is not None:
        name = data.get("name")
        path = (() if kind[1] else path, kind[0], name)
    if not _field_names(spec).issuperset(data):
        unknown = sorted(str(k) for k in set(data) - _field_names(spec))
        raise ManifestError(f"{show_path(path)}: {spec.name} has no field(s) {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, plan, field_where, required in _decode_fields(spec):
        if name in data:
            kwargs[name] = plan(data[name], path, field_where)
        elif required:
            raise ManifestError(f"{show_path(path)}: {field_where} is missing")
    return spec.cls(**kwargs)


@cache
def _decode_plan(hint: Any, bounds: tuple[int, int] | None = None) -> Decode:
    arms = union_arms(hint)
    if arms is not None:
        real = tuple(_decode_plan(a) for a in arms if a is not type(None))
        optional = len(real) < len(arms)

        def union(d: Any, p: Path, w: str) -> Any:
            if d is None:
                if optional:
                    return None
                raise _fail(p, w, d, hint)
            errors: list[ManifestError] = []
            for plan in real:
                try:
                    return plan(d, p, w)
                except ManifestError as exc:
                    errors.append(exc)
            raise errors[0] if len(errors) == 1 else _fail(p, w, d, hint)

        return union
    origin = typing.get_origin(hint)
    if origin is list:
        item = _decode_plan(typing.get_args(hint)[0])

        def as_list(d: Any, p: Path, w: str) -> Any:
            if type(d) is not list:
                raise _fail(p, w, d, hint)
            return [item(x, p, w) for x in d]

        return as_list
    if origin is dict:
        key_plan, value_plan = (_decode_plan(a) for a in typing.get_args(hint))

        def as_dict(d: Any, p: Path, w: str) -> Any:
            if type(d) is not dict:
                raise _fail(p, w, d, hint)
            return {key_plan(k, p, w): value_plan(x, p, w) for k, x in d.items()}

        return as_dict
    if is_enum(hint):
        members = {m.value: m for m in hint}

        def as_enum(d: Any, p: Path, w: str) -> Any:
            member = members.get(d) if type(d) is str else None
            if member is None:
                raise _fail(p, w, d, hint)
            return member

        return as_enum
    if is_model_class(hint):

        def as_obj(d: Any, p: Path, w: str) -> Any:
            return _decode_obj(d, hint, p, w)

        return as_obj
    if hint is timedelta:

        def as_timedelta(d: Any, p: Path, w: str) -> Any:
            if type(d) is not int:
                raise _fail(p, w, d, int, " (microseconds)")
            try:
                return timedelta(microseconds=d)
            except OverflowError:
                raise _fail(p, w, d, int, " (microseconds within a timedelta's range)") from None

        return as_timedelta
    if hint is int:
        low, high = bounds if bounds is not None else (None, None)

        def as_int(d: Any, p: Path, w: str) -> Any:
            if type(d) is not int:
                raise _fail(p, w, d, int)
            if low is not None and high is not None and not low <= d <= high:
                raise _fail(p, w, d, int, f" between {low} and {high}")
            return d

        return as_int
    if hint is float:

        def as_float(d: Any, p: Path, w: str) -> Any:
            if type(d) not in (int, float) or not math.isfinite(d):
                raise _fail(p, w, d, hint)
            return float(d)

        return as_float
    if hint in (str, bool):

        def as_exact(d: Any, p: Path, w: str) -> Any:
            if type(d) is not hint:
                raise _fail(p, w, d, hint)
            return d

        return as_exact
    if hint is type(None):

        def as_none(d: Any, p: Path, w: str) -> Any:
            if d is not None:
                raise _fail(p, w, d, hint)
            return None

        return as_none
    raise TypeError(f"no JSON form for {hint!r}")
