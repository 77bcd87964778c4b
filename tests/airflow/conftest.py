"""Real Airflow 3 for the DAG factory tests: one AIRFLOW_HOME and SQLite metadata DB per session.

Airflow reads its configuration when first imported, so the environment is set here, at
collection time, before any test module imports it (nothing else in the test suite does).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.job.harness import Stack, address, customer, load_source, make_stack

_HOME = Path(tempfile.mkdtemp(prefix="datasurface-airflow-"))
# At exit, not in a fixture: the directory exists from collection on (--collect-only too).
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
DAGS_FOLDER = _HOME / "dags"
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    from datasurface.platforms.yellow.airflow.install import install_shim

    install_shim(DAGS_FOLDER)
    return _HOME


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """A migrated metadata DB (what `airflow db migrate` does), for `dag.test()`."""
    from airflow.utils import db

    db.upgradedb()
    return airflow_home


@pytest.fixture
def shim(airflow_home: Path) -> Path:
    return DAGS_FOLDER / "datasurface_dags.py"


@pytest.fixture
def factory_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean factory environment: a cache dir of the test's own, no infra DAG by default."""
    for name in list(os.environ):
        if name.startswith("DATASURFACE_") and not name.startswith(("DATASURFACE_TEST_", "DATASURFACE_BENCH_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATASURFACE_DAG_CACHE_DIR", str(tmp_path / "dag_cache"))
    monkeypatch.setenv("DATASURFACE_FACTORY_DB_TIMEOUT", "2")
    return monkeypatch


@pytest.fixture
def stack(
    pg_database_factory: Callable[[], str], tmp_path: Path, factory_env: pytest.MonkeyPatch, airflow_db: Path
) -> Iterator[Stack]:
    """A source and merge database, the example model with the local launcher, 30 customers
    in the source, and the environment a local Airflow worker would have (the factory reads
    YellowLive's config rows; write them with `helpers.write_model_config`)."""
    s = make_stack(pg_database_factory(), pg_database_factory(), tmp_path)
    for name, value in s.env.items():
        factory_env.setenv(name, value)
    # One DAG per stream unless a test packs them (tests/airflow/test_pack_dags.py).
    factory_env.setenv("DATASURFACE_PACK_SIZE", "0")
    factory_env.setenv("DATASURFACE_PLATFORMS", "YellowLive")
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", s.merge_url)
    load_source(s, [customer(n) for n in range(30)], [address(n, n) for n in range(30)])
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def airflow_pool(airflow_db: Path) -> str:
    """The sandbox merge database's pack pool, as a deployment creates it."""
    from datasurface.platforms.yellow.airflow.pools import ensure_pool

    return ensure_pool("datasurface_merge__yellow_merge", 4)
