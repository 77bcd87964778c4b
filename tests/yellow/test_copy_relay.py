"""The COPY relay between two real Postgres sessions: every byte arrives (rows larger than a
block, streams of many blocks, an empty stream), and an error the source raises in the
middle of its stream surfaces as psycopg's error, leaving both connections usable."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from datasurface.platforms.yellow.copy_relay import RELAY_BYTES, relay


@pytest.fixture
def pair(pg_database_factory: Callable[[], str]) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    url = make_url(pg_database_factory()).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as source, psycopg.connect(url) as target:
        target.execute("CREATE TABLE got (n int, s text)")
        yield source, target


def _copy(source: psycopg.Connection, target: psycopg.Connection, select: str) -> int:
    with source.cursor() as scur, target.cursor() as tcur:
        with (
            tcur.copy("COPY got FROM STDIN (FORMAT binary)") as cin,
            scur.copy(f"COPY ({select}) TO STDOUT (FORMAT binary)") as cout,
        ):
            relay(cout, cin)
        return int(tcur.rowcount)


def test_every_row_arrives_exactly(pair: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    source, target = pair
    # 20,000 small rows (many blocks) and rows of 3 blocks' size each.
    select = (
        "SELECT g AS n, md5(g::text) AS s FROM generate_series(1, 20000) g"
        f" UNION ALL SELECT -g, repeat('x', {3 * RELAY_BYTES}) || g FROM generate_series(1, 3) g"
    )
    assert _copy(source, target, select) == 20003
    want = source.execute(f"SELECT count(*), sum(hashtext(s) % 1000), sum(length(s)) FROM ({select}) x").fetchone()
    got = target.execute("SELECT count(*), sum(hashtext(s) % 1000), sum(length(s)) FROM got").fetchone()
    assert got == want


def test_an_empty_stream_copies_nothing(pair: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    source, target = pair
    assert _copy(source, target, "SELECT 1, 'a' WHERE false") == 0
    assert target.execute("SELECT count(*) FROM got").fetchone() == (0,)


def test_a_source_error_mid_stream_is_raised(pair: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    source, target = pair
    # Row 15,000 fails its cast after many rows were already sent.
    select = (
        "SELECT g, CAST(CASE WHEN g = 15000 THEN 'abc' ELSE g::text END AS int)::text FROM generate_series(1, 20000) g"
    )
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="abc"):
        _copy(source, target, select)
    source.rollback()
    target.rollback()
    assert source.execute("SELECT 1").fetchone() == (1,)
    target.execute("CREATE TABLE IF NOT EXISTS got (n int, s text)")
    assert _copy(source, target, "SELECT 1, 'again'") == 1
