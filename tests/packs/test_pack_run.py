"""`datasurface job run-pack` against real Postgres: members run through the ordinary stream
job, each with its own outcome; exit codes 0 / 75 / 1; busy and failing members don't stop
the others. Oracles: the source tables themselves, and `job run --stream` per member."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import create_engine, text

from datasurface.platforms.yellow.batch_metadata import stream_lock_key
from tests.packs.fleet import PLATFORM, Fleet, result_json, source_table, store_name

T1 = "2030-01-01T00:00:30"
T2 = "2030-01-01T00:01:30"  # one minute later: every "* * * * *" member is due again


def _outcomes(data: dict[str, object]) -> dict[str, str]:
    return {m["stream"]: m["outcome"] for m in data["members"]}  # type: ignore[attr-defined]


def test_a_pack_run_commits_every_due_member(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(6, settings={"pack_size": 10, "pack_workers": 3})
    fleet.fill([10, 25, 40, 5, 60, 12])
    out = fleet.run_pack("pack0000", "--as-of", T1)
    assert out.returncode == 0, out.stderr
    data = result_json(out)
    assert _outcomes(data) == {store_name(i): "DONE" for i in range(6)}
    for i in range(6):
        assert fleet.merge_rows(i) == fleet.source_rows(i)
    # One batch per member, counted exactly as the member's own job would (all inserts).
    assert [(b[0], b[1], b[2], b[3]) for b in fleet.batches()] == [
        (store_name(i), 1, "COMMITTED", n) for i, n in enumerate([10, 25, 40, 5, 60, 12])
    ]
    # One line per member in the log.
    assert sum(1 for line in out.stderr.splitlines() if "member=" in line) == 6

    # The same minute again: nobody's cron fired since their batch started.
    again = fleet.run_pack("pack0000", "--as-of", T1)
    assert again.returncode == 0 and set(_outcomes(result_json(again)).values()) == {"NOT_DUE"}

    # A minute later, after a few changes: all due, each merge table equals its source.
    fleet.change(1)
    later = fleet.run_pack("pack0000", "--as-of", T2)
    assert later.returncode == 0, later.stderr
    assert set(_outcomes(result_json(later)).values()) == {"DONE"}
    for i in range(6):
        assert fleet.merge_rows(i) == fleet.source_rows(i)
    by_stream = {b[0]: b for b in fleet.batches() if b[1] == 2}
    assert all(by_stream[store_name(i)][3:6] == (2, 3, 1) for i in range(6))  # inserted, updated, deleted


def test_a_failing_member_does_not_stop_the_others(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(4)
    fleet.fill([10, 10, 10, 10])
    with fleet.source.begin() as conn:
        conn.execute(text(f'DROP TABLE "{source_table(2)}"'))
    out = fleet.run_pack("pack0000", "--as-of", T1)
    assert out.returncode == 1
    data = result_json(out)
    outcomes = _outcomes(data)
    assert outcomes.pop(store_name(2)) == "ERROR"
    assert set(outcomes.values()) == {"DONE"}
    assert f"member(s) failed: {store_name(2)}" in out.stderr
    failed = next(m for m in data["members"] if m["stream"] == store_name(2))
    assert source_table(2) in failed["message"]
    for i in (0, 1, 3):
        assert fleet.merge_rows(i) == fleet.source_rows(i)


def test_a_member_hitting_its_budget_exits_keep_working(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(3)
    fleet.fill([4, 30, 4])
    budget = ["--max-rows", "10", "--chunk-rows", "10"]
    out = fleet.run_pack("pack0000", "--as-of", T1, *budget)
    assert out.returncode == 75, out.stderr
    outcomes = _outcomes(result_json(out))
    assert outcomes == {store_name(0): "DONE", store_name(1): "KEEP_WORKING", store_name(2): "DONE"}
    # Run again (as Airflow's keep_working does) until everything is done: only the open
    # batch is due; the result equals the source, in ONE batch of 30 rows.
    for _ in range(5):
        out = fleet.run_pack("pack0000", "--as-of", T1, *budget)
        if out.returncode == 0:
            break
        assert out.returncode == 75, out.stderr
    assert out.returncode == 0
    assert _outcomes(result_json(out))[store_name(0)] == "NOT_DUE"
    assert fleet.merge_rows(1) == fleet.source_rows(1)
    assert [b for b in fleet.batches() if b[0] == store_name(1)] == [(store_name(1), 1, "COMMITTED", 30, 0, 0, 30)]


def test_a_member_held_by_another_run_is_busy(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(3)
    fleet.fill([5, 5, 5])
    holder = create_engine(fleet.merge_url)
    try:
        with holder.connect() as conn:
            key = stream_lock_key(PLATFORM, store_name(1))
            assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
            out = fleet.run_pack("pack0000", "--as-of", T1)
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        holder.dispose()
    assert out.returncode == 0, out.stderr
    assert _outcomes(result_json(out)) == {store_name(0): "DONE", store_name(1): "BUSY", store_name(2): "DONE"}
    assert [b[0] for b in fleet.batches()] == [store_name(0), store_name(2)]  # nothing touched for F00001
    # Still due (no batch yet): the next run takes it.
    out = fleet.run_pack("pack0000", "--as-of", T1)
    assert _outcomes(result_json(out))[store_name(1)] == "DONE"
    assert fleet.merge_rows(1) == fleet.source_rows(1)


def test_external_trigger_runs_a_member_whose_cron_is_not_due(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(2, crons=("0 0 1 1 *",))  # yearly, at new year
    fleet.fill([3, 3])
    assert fleet.run_pack("pack0000", "--as-of", T1).returncode == 0  # first batch: no batch yet
    fleet.change(1)
    idle = fleet.run_pack("pack0000", "--as-of", T2)
    assert set(_outcomes(result_json(idle)).values()) == {"NOT_DUE"}
    # The DAG passes a run's `members` conf through this variable.
    out = fleet.run_pack("pack0000", "--as-of", T2, extra_env={"DATASURFACE_PACK_MEMBERS": store_name(1)})
    assert _outcomes(result_json(out)) == {store_name(0): "NOT_DUE", store_name(1): "DONE"}
    assert fleet.merge_rows(1) == fleet.source_rows(1)
    bad = fleet.run_pack("pack0000", "--member", "Nope")
    assert bad.returncode == 1 and "no member(s) Nope" in bad.stderr


def test_unknown_pack_is_one_clear_line(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(2)
    out = fleet.run_pack("pack0042")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("error: Platform 'YellowFleet' has no pack 'pack0042'")
    assert "Traceback" not in out.stderr


def test_pack_members_match_their_own_stream_jobs(fleet_factory: Callable[..., Fleet]) -> None:
    """The oracle for 'a pack run is the sum of its member runs': the same changes through
    `job run --stream` per member in a second fleet give identical tables and batches."""
    packed, single = fleet_factory(3, name="packed"), fleet_factory(3, name="single")
    for fleet in (packed, single):
        fleet.fill([7, 20, 13])
    assert packed.run_pack("pack0000", "--as-of", T1).returncode == 0
    for i in range(3):
        out = single.cli(
            "job", "run", "--model", str(single.model_dir), "--platform", PLATFORM, "--stream", store_name(i)
        )
        assert out.returncode == 0, out.stderr
    for fleet in (packed, single):
        fleet.change(1)
    assert packed.run_pack("pack0000", "--as-of", T2).returncode == 0
    for i in range(3):
        assert (
            single.cli(
                "job", "run", "--model", str(single.model_dir), "--platform", PLATFORM, "--stream", store_name(i)
            ).returncode
            == 0
        )
    assert packed.batches() == single.batches()
    for i in range(3):
        assert packed.merge_rows(i) == single.merge_rows(i) == packed.source_rows(i)
