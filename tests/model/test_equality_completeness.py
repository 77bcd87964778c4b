"""Change authorization compares models with `==`, so every attribute of every model class
must take part in equality. This test finds each model class, takes a sample instance, and
replaces one attribute at a time with a value equal to nothing: the copy must then compare
unequal. A class that skips an attribute in `__eq__` (or a dataclass field declared with
`compare=False`) fails here, and so does a new model class with no sample.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import datasurface.model
import datasurface.platforms.yellow.platform
from tests.model.samples import sample_instances


class _EqualToNothing:
    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]


def _attributes(obj: object) -> list[str]:
    names: list[str] = []
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else list(slots))
    names.extend(getattr(obj, "__dict__", {}).keys())
    return [n for n in dict.fromkeys(names) if n not in ("__weakref__", "__dict__")]


def uncompared_attributes(obj: object) -> list[str]:
    """Attributes whose change leaves the object equal to the original."""
    missed = []
    for name in _attributes(obj):
        changed = copy.copy(obj)
        object.__setattr__(changed, name, _EqualToNothing())
        if changed == obj and obj == changed:
            missed.append(name)
    return missed


def _model_classes() -> list[type[Any]]:
    modules = [
        importlib.import_module(f"datasurface.model.{info.name}")
        for info in pkgutil.iter_modules(datasurface.model.__path__)
    ]
    modules.append(datasurface.platforms.yellow.platform)
    found: dict[str, type[Any]] = {}
    for module in modules:
        for _, klass in inspect.getmembers(module, inspect.isclass):
            if klass.__module__ != module.__name__ or issubclass(klass, enum.Enum):
                continue  # imported from elsewhere, or an enum (members compare by identity)
            if dataclasses.is_dataclass(klass) or klass.__eq__ is not object.__eq__:
                found[f"{klass.__module__}.{klass.__qualname__}"] = klass
    return list(found.values())


SAMPLES = sample_instances()


def test_every_model_class_has_a_sample() -> None:
    sampled = {type(s) for s in SAMPLES}
    missing = [k.__qualname__ for k in _model_classes() if k not in sampled]
    assert not missing, f"add a sample instance to tests/model/samples.py for: {missing}"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__qualname__)
def test_every_attribute_takes_part_in_equality(sample: object) -> None:
    assert sample == copy.deepcopy(sample), "an instance must equal its copy"
    assert uncompared_attributes(sample) == []


def test_the_check_catches_a_forgotten_attribute() -> None:
    """A throwaway class whose __eq__ forgets `colour`: the check must name it."""

    class Forgetful:
        def __init__(self, name: str, colour: str) -> None:
            self.name = name
            self.colour = colour

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Forgetful) and self.name == other.name

        __hash__ = None  # type: ignore[assignment]

    @dataclasses.dataclass
    class Excluding:
        name: str
        note: str = dataclasses.field(default="", compare=False)

    assert uncompared_attributes(Forgetful("a", "red")) == ["colour"]
    assert uncompared_attributes(Excluding("a", "x")) == ["note"]
