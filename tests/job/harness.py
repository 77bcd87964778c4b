"""A sandbox stack for job tests: a source and a merge database on the test server, the
example model pointed at them through its environment variables, and helpers to run jobs
in-process or as the real command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.job import JobBudget, JobResult
from datasurface.platforms.yellow.projection import ALL_HASH, BATCH_ID
from datasurface.platforms.yellow.stream_context import load_stream
from simulator.schema import addresses, create_tables, customers
from tests.db_env import database_env

SANDBOX_MODEL = Path(__file__).resolve().parents[2] / "sandbox" / "model"
STORE = "Store1"
PLATFORMS = ("YellowLive", "YellowForensic")
SECRET = "s3cr3t-never-printed"


@dataclass
class Stack:
    source_url: str
    merge_url: str
    model_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    engines: list[Engine] = field(default_factory=list)

    @property
    def source(self) -> Engine:
        return self._engine(self.source_url)

    @property
    def merge(self) -> Engine:
        return self._engine(self.merge_url)

    def _engine(self, url: str) -> Engine:
        for engine in self.engines:
            if engine.url.render_as_string(hide_password=False) == url:
                return engine
        engine = create_engine(url)
        self.engines.append(engine)
        return engine

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()

    # -- running jobs ----------------------------------------------------------------------

    def run(self, platform: str, *, max_rows: int = 10_000_000, chunk_rows: int = 100_000) -> JobResult:
        ctx = load_stream(self.model_dir, platform, STORE)
        budget = JobBudget(max_rows=max_rows, max_seconds=3600, chunk_rows=chunk_rows)
        return ctx.job(budget=budget, env=self.env).run()

    def cli(
        self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, **(extra_env or {})}
        return subprocess.run(
            [sys.executable, "-m", "datasurface.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )

    def job(
        self, action: str, platform: str, *more: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.cli(
            "job",
            action,
            "--model",
            str(self.model_dir),
            "--platform",
            platform,
            "--stream",
            STORE,
            *more,
            extra_env=extra_env,
        )

    # -- reading results -------------------------------------------------------------------

    def merge_rows(self, platform: str, dataset: str, *, synthetic: bool = False) -> list[dict[str, Any]]:
        forensic = platform == "YellowForensic"
        table = naming.merge_table(platform, STORE, dataset, forensic=forensic)
        with self.merge.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
        if not synthetic:
            hidden = {BATCH_ID, ALL_HASH}
            rows = [{k: v for k, v in r.items() if k not in hidden} for r in rows]
        return sorted(rows, key=lambda r: (r["id"], r.get("ds_surf_batch_in", 0)))

    def live_rows(self, platform: str, dataset: str) -> list[dict[str, Any]]:
        rows = self.merge_rows(platform, dataset)
        if platform == "YellowForensic":
            rows = [r for r in rows if r["ds_surf_batch_out"] == 2147483647]
        return [{k: v for k, v in r.items() if not k.startswith("ds_surf_")} for r in rows]

    def source_rows(self, table: str) -> list[dict[str, Any]]:
        with self.source.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table}"))]
        return sorted(rows, key=lambda r: r["id"])

    def batches(self, platform: str) -> list[dict[str, Any]]:
        with self.merge.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT batch_id, state, reason, rows_inserted, rows_updated, rows_deleted, rows_total"
                    f' FROM "{naming.batch_metrics_table(platform)}" WHERE stream = :s ORDER BY batch_id'
                ),
                {"s": STORE},
            )
            return [dict(r._mapping) for r in rows]


def make_stack(source_url: str, merge_url: str, tmp_path: Path) -> Stack:
    model_dir = tmp_path / "model"
    shutil.copytree(SANDBOX_MODEL, model_dir, ignore=shutil.ignore_patterns("__pycache__"))
    src, mrg = make_url(source_url), make_url(merge_url)
    env = {
        **database_env(source_url, merge_url),
        "DATASURFACE_LAUNCHER": "local",
        "POSTGRES_USER": mrg.username or "postgres",
        "POSTGRES_PASSWORD": SECRET if not mrg.password else mrg.password,
        "CUSTOMER_DB_USER": src.username or "postgres",
        "CUSTOMER_DB_PASSWORD": SECRET if not src.password else src.password,
    }
    stack = Stack(source_url, merge_url, model_dir, env)
    create_tables(stack.source)
    return stack


def customer(n: int, **changes: Any) -> dict[str, Any]:
    import datetime as dt

    row = {
        "id": f"c{n:05d}",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "email": f"user{n}@example.com",
        "phone": None if n % 3 == 0 else f"+1-555-{n:04d}",
        "dob": dt.date(1980, 1, 1) + dt.timedelta(days=n),
        "created_at": dt.datetime(2024, 1, 1, 12, 0, 0),
        "updated_at": dt.datetime(2024, 1, 1, 12, 0, 0),
    }
    row.update(changes)
    return row


def address(n: int, customer_n: int, kind: str = "billing", **changes: Any) -> dict[str, Any]:
    import datetime as dt

    row = {
        "id": f"a{n:05d}",
        "customer_id": f"c{customer_n:05d}",
        "address_type": kind,
        "street": f"{n} Main St",
        "city": "Springfield",
        "state": None if n % 4 == 0 else "IL",
        "zip_code": f"{60000 + n}",
        "country": "US",
        "updated_at": dt.datetime(2024, 1, 1, 12, 0, 0),
    }
    row.update(changes)
    return row


def load_source(stack: Stack, customer_rows: list[dict[str, Any]], address_rows: list[dict[str, Any]]) -> None:
    """Replace the source tables' contents."""
    with stack.source.begin() as conn:
        conn.execute(addresses.delete())
        conn.execute(customers.delete())
        if customer_rows:
            conn.execute(customers.insert(), customer_rows)
        if address_rows:
            conn.execute(addresses.insert(), address_rows)
