"""The database going away mid-run: a restart is survived (and leaves the same result as no
restart at all); a database that stays away ends the run with exit 1 and the summary so far."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from datasurface import embedded_pg
from tests.simulator.helpers import check_integrity, dump, simulate

REPO_ROOT = Path(__file__).resolve().parents[2]
CHANGES = 1200
RATE = 300  # so the run lasts about 4 s and the restart lands in the middle


def _start_simulator(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "simulator", "--url", url, "--create-tables", "--seed", "5", "--json", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_changing(url: str, proc: subprocess.Popen[str], rows: int = 50, timeout: float = 30) -> None:
    """Block until the simulator has committed changes, so the outage hits the change loop, not start-up."""
    engine = create_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                with engine.connect() as conn:
                    if conn.execute(text("select count(*) from customers")).scalar_one() >= rows:
                        return
            except DBAPIError:
                pass  # the table is not created yet
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"the simulator committed fewer than {rows} customers within {timeout} s")


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_postgres_restart_mid_run_is_survived(embedded_pg_tmp_dir: Path, pg_url: str) -> None:
    data_dir = embedded_pg_tmp_dir / "pg"
    port = embedded_pg.free_port()
    url = embedded_pg.start(data_dir, port)
    proc = _start_simulator(url, "--rate", str(RATE), "--max-changes", str(CHANGES), "--reconnect-timeout", "30")
    _wait_until_changing(url, proc)
    embedded_pg.stop(data_dir)
    time.sleep(1.0)  # the simulator is now retrying against a closed port
    embedded_pg.start(data_dir, port)
    out, err = _finish(proc)

    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["changes"] == CHANGES and summary["failed"] == 0
    assert summary["reconnects"] >= 1 and summary["integrity_problems"] == []
    assert "lost the connection" in err and "reconnected" in err
    check_integrity(url)

    # An uninterrupted run with the same seed ends with exactly the same rows: the change set
    # cut off by the restart was written again in full, and nothing twice.
    simulate(pg_url, seed=5, max_changes=CHANGES, batch_size=50)  # batching does not change the plan
    assert dump(url) == dump(pg_url)


def test_database_gone_for_good_mid_run_exits_1_with_the_summary(embedded_pg_tmp_dir: Path) -> None:
    data_dir = embedded_pg_tmp_dir / "pg"
    url = embedded_pg.start(data_dir, embedded_pg.free_port())
    proc = _start_simulator(url, "--rate", str(RATE), "--max-changes", str(CHANGES), "--reconnect-timeout", "1")
    _wait_until_changing(url, proc)
    embedded_pg.stop(data_dir)
    out, err = _finish(proc)

    assert proc.returncode == 1
    summary = json.loads(out)
    assert summary["stopped_by"] == "error" and 0 < summary["changes"] < CHANGES
    assert summary["rows"] is None and "cannot reach the database" in summary["error"]
    assert "error: cannot reach the database" in err


def test_ctrl_c_stops_after_the_current_change_set_with_the_summary(pg_url: str) -> None:
    proc = _start_simulator(pg_url, "--rate", "100")  # no limit: runs until interrupted
    _wait_until_changing(pg_url, proc, rows=10)
    proc.send_signal(signal.SIGINT)
    out, err = _finish(proc)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["stopped_by"] == "signal" and summary["changes"] > 0 and summary["integrity_problems"] == []
