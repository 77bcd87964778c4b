"""Property: over 20+ batches of random inserts, updates and deletes (NULLs included), the
live table equals the source after every batch, and history as of every committed batch k
equals the source snapshot taken at k."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from datasurface.model.schema import DDLColumn, DDLTable, Integer, Text

from .harness import Harness

TABLE = DDLTable(
    columns=[
        DDLColumn("k1", Integer(), nullable=False),
        DDLColumn("k2", Text(), nullable=False),
        DDLColumn("a", Text()),
        DDLColumn("b", Integer()),
    ],
    primary_key=["k1", "k2"],
)

keys = st.tuples(st.integers(0, 12), st.sampled_from(["x", "y", "x_y", ""]))
values = st.fixed_dictionaries(
    {
        "a": st.one_of(st.none(), st.sampled_from(["", "a", "b", "'", "a,b", "NULL"])),
        "b": st.one_of(st.none(), st.integers(-2, 2)),
    }
)
change = st.tuples(
    st.lists(st.tuples(keys, values), max_size=6),  # upserts
    st.lists(keys, max_size=4),  # deletes
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(changes=st.lists(change, min_size=20, max_size=24), chunk=st.sampled_from([None, 3]))
def test_random_batches_live_and_history(pg_engine: Engine, changes: list[Any], chunk: int | None) -> None:
    with pg_engine.begin() as conn:  # fresh tables for every example
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    h = Harness(pg_engine, TABLE, chunk=chunk)
    source: dict[tuple[int, str], dict[str, Any]] = {}
    for upserts, deletes in changes:
        for (k1, k2), vals in upserts:
            source[(k1, k2)] = {"k1": k1, "k2": k2, **vals}
        for key in deletes:
            source.pop(key, None)
        h.run_batch(list(source.values()))
        h.check_all()
