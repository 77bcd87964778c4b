"""Strict validation of an untrusted compiled model with pydantic, and its JSON Schema.

The pydantic models are generated from the same allow-list and dataclass fields as the codec
(`classes.py`), so they can't drift from the model classes: every object is a discriminated
union on `$type` over the allowed classes that may stand there, `extra="forbid"`, strict
types (an int is never a float, a bool or a string; enums are their values), int ranges from
the fields' metadata, no NaN or infinity. `datasurface compile --schema` prints the schema.

Errors are reported with the model path (`Team 'sales' / Datastore 'crm' / ...`) recovered
from the document, so a refused change names the object and thus its owner.
"""

from __future__ import annotations

import typing
from datetime import timedelta
from functools import cache, lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from datasurface.model.assignments import PlatformAssignments
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.manifest.classes import (
    ClassSpec,
    allowed,
    is_enum,
    is_model_class,
    subclasses_allowed,
    union_arms,
)
from datasurface.model.manifest.codec import TYPE_KEY, ManifestError, child_path, show_path
from datasurface.model.manifest.document import FORMAT, VERSION

_CONFIG = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, populate_by_name=False)
#: timedelta as microseconds, within Python's timedelta range.
_MAX_US = 86_399_999_999_999_999_999
_TAG = "ds_type"


def _annotation(hint: Any, bounds: tuple[int, int] | None = None) -> Any:
    arms = union_arms(hint)
    if arms is not None:
        return typing.Union[tuple(_annotation(a) for a in arms)]  # noqa: UP007 (built at run time)
    if hint is type(None):
        return type(None)
    origin = typing.get_origin(hint)
    if origin is list:
        return list[_annotation(typing.get_args(hint)[0])]  # type: ignore[misc]
    if origin is dict:
        key, value = typing.get_args(hint)
        return dict[_annotation(key), _annotation(value)]  # type: ignore[misc]
    if is_enum(hint):
        return hint
    if is_model_class(hint):
        models = [_model(s) for s in subclasses_allowed(hint)]
        if not models:
            raise TypeError(f"no allowed class may stand for {hint.__name__}")
        if len(models) == 1:
            return models[0]
        return Annotated[typing.Union[tuple(models)], Field(discriminator=_TAG)]  # noqa: UP007
    if hint is timedelta:
        return Annotated[int, Field(ge=-_MAX_US, le=_MAX_US)]
    if hint is int and bounds is not None:
        return Annotated[int, Field(ge=bounds[0], le=bounds[1])]
    if hint in (str, int, bool, float):
        return hint
    raise TypeError(f"no JSON form for {hint!r}")


@cache
def _model(spec: ClassSpec) -> type[BaseModel]:
    fields: dict[str, Any] = {_TAG: (Literal[spec.name], Field(alias=TYPE_KEY))}
    for f in spec.fields:
        # Python names get a prefix (a field called `schema` or `copy` must not shadow
        # BaseModel's attributes); the JSON keys are the aliases.
        default: Any = ... if f.required else None
        fields[f"f_{f.name}"] = (_annotation(f.hint, f.bounds), Field(default, alias=f.name))
    model: type[BaseModel] = create_model(f"{spec.name}Json", __config__=_CONFIG, **fields)
    return model


@lru_cache(maxsize=1)
def document_model() -> type[BaseModel]:
    eco = _annotation(Ecosystem)
    assignments = _annotation(PlatformAssignments)
    fields: dict[str, Any] = {
        "format": (Literal[FORMAT], ...),
        "version": (Literal[VERSION], ...),
        "sha256": (str, Field(pattern=r"^[0-9a-f]{64}$")),
        "ecosystem": (eco, ...),
        "assignments": (assignments, ...),
    }
    model: type[BaseModel] = create_model("CompiledModel", __config__=_CONFIG, **fields)
    return model


def json_schema() -> dict[str, Any]:
    schema = document_model().model_json_schema(by_alias=True)
    schema["title"] = f"DataSurface compiled model, version {VERSION}"
    schema["description"] = (
        f'Written by `datasurface compile` and deployed by the merge handler as model.json. Objects carry "{TYPE_KEY}" '
        "naming an allowed model class; timedeltas are integer microseconds; sha256 is the hash of the canonical "
        "JSON (sorted keys, no spaces, ASCII) of the document without sha256."
    )
    return schema


def validate_document(text: str | bytes, raw: dict[str, Any], where: str) -> None:
    """Raise ManifestError naming the object path of the first few problems."""
    try:
        document_model().model_validate_json(text, strict=True)
    except ValidationError as exc:
        lines = []
        for error in exc.errors()[:5]:
            path, attribute = locate(raw, error["loc"])
            lines.append(f"{path}: {attribute}: {error['msg']}")
        more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        raise ManifestError(f"{where}: the compiled model is not valid: {'; '.join(lines)}{more}") from None


def locate(raw: Any, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """A pydantic error location -> (model path, `Class.field`), walking the raw document."""
    path: tuple[str, ...] = ()
    node = raw
    attribute = ".".join(str(p) for p in loc)
    owner_class = ""
    for part in loc:
        if isinstance(node, dict) and isinstance(node.get(TYPE_KEY), str):
            spec = allowed().get(node[TYPE_KEY])
            if spec is not None:
                path = child_path(path, spec, node.get("name"))
                owner_class = spec.name
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            attribute = f"{owner_class}.{part}" if owner_class else part
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
    return show_path(path), attribute
