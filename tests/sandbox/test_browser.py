"""In a real browser: after `up` reports ready, the Airflow UI lists every stream DAG within
10 s (`browser_check.py` says how). Slow (it starts the whole local stack): marked `slow`,
and skipped with the reason where chromium is absent."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from datasurface import embedded_pg
from tests.sandbox.browser_check import SKIP, check
from tests.sandbox.test_local_stack import _stack

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium on PATH (apt-get install -y chromium)")
def test_the_ui_lists_every_stream_dag_within_10_s_of_ready(embedded_pg_tmp_dir: Path) -> None:
    state = embedded_pg_tmp_dir / "stack"
    pg_port, airflow_port = embedded_pg.free_port(), embedded_pg.free_port()
    try:
        up = _stack(state, pg_port, airflow_port, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Ready." in up.stdout
        seconds = check(state, pg_port, airflow_port)
        assert seconds < 10
    finally:
        _stack(state, pg_port, airflow_port, "down")


def test_the_script_skips_cleanly_without_a_stack(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("browser_check.py"))],
        env={"PATH": "/usr/bin:/bin", "DATASURFACE_LOCAL_STATE": str(tmp_path), "DATASURFACE_AIRFLOW_PORT": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == SKIP, result.stderr
    assert result.stderr.startswith("skipped: ") and result.stderr.count("\n") == 1
