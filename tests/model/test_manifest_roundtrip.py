"""Every attribute of every model class survives model -> model.json -> model.

The compiled model's (de)serialiser is generic over the dataclass fields of the allow-listed
classes, so a field someone adds to a model class (a new keyword of `DDLColumn`, say) must
round-trip without any change to the manifest code. This test proves it: for each sample
instance (tests/model/samples.py holds one per model class, with non-default values) it
checks that every dataclass field appears in the JSON and that each attribute of the rebuilt
object equals the original's, both through the codec and through a full compiled document
validated by the pydantic-core schema.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

import pytest

from datasurface.model import Ecosystem, PlatformAssignments
from datasurface.model.manifest.classes import allowed, is_model_class, spec_for, union_arms
from datasurface.model.manifest.codec import TYPE_KEY, decode, encode
from datasurface.model.manifest.document import build_document, parse, rebuild
from datasurface.model.manifest.validation import json_schema, validate_document
from tests.model.samples import sample_instances
from tests.model.test_equality_completeness import _model_classes

ALLOWED_SAMPLES = [s for s in sample_instances() if spec_for(s) is not None]
#: Abstract bases: no data of their own, never stand in a model by themselves.
ABSTRACT = {"DataType", "Repository", "Trigger", "CaptureMetaData"}


@pytest.mark.parametrize("sample", ALLOWED_SAMPLES, ids=lambda s: type(s).__qualname__)
def test_every_attribute_round_trips(sample: object) -> None:
    encoded = json.loads(json.dumps(encode(sample)))
    assert encoded[TYPE_KEY] == type(sample).__name__
    names = [f.name for f in dataclasses.fields(sample)]  # type: ignore[arg-type]
    assert set(encoded) == {TYPE_KEY, *names}, "every dataclass field is in the JSON"
    rebuilt = decode(encoded, type(sample))
    assert type(rebuilt) is type(sample)
    for name in names:
        assert getattr(rebuilt, name) == getattr(sample, name), name
        assert type(getattr(rebuilt, name)) is type(getattr(sample, name)), name


def _reachable(hint: Any, seen: set[type[Any]]) -> None:
    arms = union_arms(hint)
    if arms is not None:
        for arm in arms:
            _reachable(arm, seen)
        return
    for arg in typing.get_args(hint):
        _reachable(arg, seen)
    if is_model_class(hint) and hint not in seen:
        seen.add(hint)
        for klass in _model_classes():
            if issubclass(klass, hint) and klass not in seen:
                _reachable(klass, seen)
        for f in dataclasses.fields(hint):
            _reachable(typing.get_type_hints(hint)[f.name], seen)


def test_every_model_class_an_ecosystem_can_hold_is_allowed() -> None:
    seen: set[type[Any]] = set()
    _reachable(Ecosystem, seen)
    _reachable(PlatformAssignments, seen)
    names = {spec.name for spec in allowed().values()}
    missing = sorted(k.__name__ for k in seen if k.__name__ not in names and k.__name__ not in ABSTRACT)
    assert not missing, f"add to MODEL_CLASSES / PLATFORM_CLASSES in datasurface/model/manifest/classes.py: {missing}"
    for base_name in ABSTRACT:
        base = next(k for k in seen if k.__name__ == base_name)
        assert any(issubclass(s.cls, base) for s in allowed().values()), base_name


def test_a_full_model_round_trips_through_a_validated_document() -> None:
    samples = sample_instances()
    eco = next(s for s in samples if isinstance(s, Ecosystem) and s.zones)
    assignments = next(s for s in samples if isinstance(s, PlatformAssignments))
    document = build_document(eco, assignments)
    text = json.dumps(document)
    validate_document(text, json.loads(text), "sample")
    rebuilt_eco, rebuilt_assignments = rebuild(parse(text, "sample"))
    assert rebuilt_eco == eco and rebuilt_assignments == assignments
    assert build_document(rebuilt_eco, rebuilt_assignments)["sha256"] == document["sha256"]


def test_the_schema_documents_every_allowed_class_and_field() -> None:
    definitions = json_schema()["$defs"]
    for name, spec in allowed().items():
        assert set(definitions[name]["properties"]) == {TYPE_KEY, *(f.name for f in spec.fields)}


def test_a_name_outside_the_allow_list_is_refused() -> None:
    from datasurface.model.manifest.codec import ManifestError

    with pytest.raises(ManifestError, match="not an allowed model class"):
        decode({TYPE_KEY: "StoreEntry"}, object)
    with pytest.raises(ManifestError, match="has no field"):
        decode({TYPE_KEY: "Credential", "name": "x", "type": "token", "__class__": "x"}, object)
