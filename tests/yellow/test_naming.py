"""The naming service: legal, short, deterministic, collision-free."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datasurface.platforms.yellow import naming

LEGAL = re.compile(r"[a-z_][a-z0-9_]*\Z")

parts = st.text(min_size=1, max_size=80)
ascii_parts = st.text(alphabet="abcAB_09-. ", min_size=1, max_size=70)
tuples = st.lists(st.one_of(parts, ascii_parts), min_size=1, max_size=5).map(tuple)


@given(tuples)
def test_always_legal_and_short(t: tuple[str, ...]) -> None:
    name = naming.physical_name(*t)
    assert LEGAL.match(name), name
    assert len(name.encode()) <= 63
    assert naming.is_legal_identifier(name)
    assert naming.physical_name(*t) == name  # deterministic


@given(tuples, tuples)
def test_distinct_tuples_distinct_names(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    # Case is folded (lint keeps model names unique ignoring case), so compare folded tuples.
    if tuple(p.lower() for p in a) != tuple(p.lower() for p in b):
        assert naming.physical_name(*a) != naming.physical_name(*b)


@given(st.text(alphabet="abc_", min_size=64, max_size=90), st.text(alphabet="xyz", min_size=1, max_size=5))
def test_names_differing_after_char_63(prefix: str, tail: str) -> None:
    assert naming.physical_name(prefix + tail) != naming.physical_name(prefix + tail + "z")
    assert naming.physical_name(prefix, tail) != naming.physical_name(prefix + tail)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("a_b", "c"), ("a", "b_c")),
        (("a__b",), ("a", "b")),
        (("A_",), ("a",)),
        (("a",), ("a_",)),
        (("a b",), ("a_b",)),
        (("a", ""), ("a",)),
        (("1a",), ("n1a",)),
        (("x" * 70,), ("x" * 71,)),
    ],
)
def test_tricky_pairs(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert naming.physical_name(*a) != naming.physical_name(*b)


def test_natural_names_are_readable() -> None:
    assert naming.staging_table("yellow", "crm", "customers") == "yellow__crm__customers__stg"
    assert naming.merge_table("yellow", "crm", "customers") == "yellow__crm__customers__live"
    assert naming.merge_table("yellow", "crm", "customers", forensic=True) == "yellow__crm__customers__hist"
    assert naming.batch_metrics_table("yellow") == "yellow__batch_metrics"
    assert naming.config_table("yellow") == "yellow__dag_config"
    assert (
        naming.view_name("yellow", "ws", "dsg", "crm", "customers", "history") == "yellow__ws__dsg__crm__customers__vh"
    )


def test_case_is_folded_into_readable_names() -> None:
    assert naming.merge_table("YellowLive", "Store1", "customers") == "yellowlive__store1__customers__live"
    assert naming.physical_name("Store1") == naming.physical_name("store1")


def test_hashed_names_keep_a_readable_prefix() -> None:
    name = naming.staging_table("Yellow-Prod", "CRM", "Customers")
    assert name.startswith("yellow_prod__crm__customers__stg___")
    assert len(name) == len("yellow_prod__crm__customers__stg___") + 10


def test_distinct_kinds_never_collide() -> None:
    names = {
        naming.staging_table("p", "s", "d"),
        naming.merge_table("p", "s", "d"),
        naming.merge_table("p", "s", "d", forensic=True),
        naming.view_name("p", "s", "d", "s", "d"),
        naming.index_name(naming.merge_table("p", "s", "d"), "key"),
    }
    assert len(names) == 5


def test_quote_ident() -> None:
    assert naming.quote_ident('a"b') == '"a""b"'
    assert naming.qualified("t", "s") == '"s"."t"'
    with pytest.raises(ValueError):
        naming.quote_ident("")
    with pytest.raises(ValueError):
        naming.view_name("p", "w", "g", "s", "d", "bogus")  # type: ignore[arg-type]
