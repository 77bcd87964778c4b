"""Stream packs: one round of batches of N small streams (default 1,000) through ONE
`datasurface job run-pack` process, against one `datasurface job run` process per stream.

Setup (untimed): N one-table stores (10 to 1,000 rows each, seeded), a first batch of every
stream through the pack, then a few changes per table (3 updates, 1 delete, 2 inserts).

Figures:
- `pack_round_1000_s`: wall time of one `job run-pack` over all N streams, process start,
  model load and due detection included; every member commits a batch.
- `single_round_1000_s`: `job run --stream` as one process per stream, run one after the
  other, for a sample of DATASURFACE_BENCH_SINGLE_SAMPLE streams (default 50: a full round
  of 1,000 processes takes ~15 minutes on a laptop), scaled to N. The ratio is
  `ratio_single_pack_1000` = single / pack (target >= 20).
- `pack_overhead_ms`: what the pack adds per stream beyond its members' own work:
  (pack wall time - sum of member run times / workers) / N, in ms (target < 30). The member
  run times come from the pack's own JSON result (each `StreamJob.run()`, lock to commit).
- `rss_mb_pack_1000`: peak RSS of the pack process (the kernel's high-water mark through a
  small launcher interpreter; target < 300 MB).

Every process runs with bytecode cached (as an installed package has it; this checkout's
environment sets PYTHONDONTWRITEBYTECODE, which would make every process compile every
module from source, inflating the one-process-per-stream side most).

Postgres: DATASURFACE_BENCH_PG_URL, else DATASURFACE_TEST_PG_URL, else an embedded server.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.dag_parse import _database

STREAMS = int(os.environ.get("DATASURFACE_BENCH_PACK_STREAMS", "1000"))
SINGLE_SAMPLE = int(os.environ.get("DATASURFACE_BENCH_SINGLE_SAMPLE", "50"))
WORKERS = 4
T1, T2 = "2030-01-01T00:00:30", "2030-01-01T00:01:30"

# Runs the command as ITS child and writes that child's peak RSS (kB) to argv[1].
_RSS_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "out = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.stdout.write(out.stdout)\n"
    "sys.exit(out.returncode)\n"
)


def progress(message: str) -> None:
    print(f"# packs: {message}", file=sys.stderr, flush=True)


def measure() -> dict[str, float]:
    from tests.packs.fleet import PLATFORM, make_fleet, store_name

    n = STREAMS
    rng = random.Random(15)
    rows = [rng.randint(10, 1000) for _ in range(n)]
    settings = {"pack_size": n, "pack_workers": WORKERS, "pack_merge_connections": 2 * WORKERS}
    with tempfile.TemporaryDirectory(prefix="ds-bench-packs-") as tmp, _database() as src, _database() as mrg:
        fleet = make_fleet(src, mrg, Path(tmp), n, settings=settings)
        try:
            progress(f"filling {n} source tables ({sum(rows):,} rows) ...")
            fleet.fill(rows)
            progress("first batch of every stream (untimed) ...")
            first = _pack(fleet, T1, Path(tmp) / "first.rss")
            assert first["exit_code"] == 0, first
            fleet.change(1)
            progress("timed pack round ...")
            start = time.perf_counter()
            result = _pack(fleet, T2, Path(tmp) / "pack.rss")
            pack_s = time.perf_counter() - start
            done = sum(1 for m in result["members"] if m["outcome"] == "DONE" and m["state"] == "COMMITTED")
            assert done == n, f"{done} of {n} members committed: {result['members'][:3]}"
            member_s = sum(m["seconds"] for m in result["members"])
            rss_mb = int((Path(tmp) / "pack.rss").read_text()) / 1024
            progress(f"pack round {pack_s:.2f}s, members {member_s:.2f}s on {result['workers']} workers")

            sample = list(range(min(SINGLE_SAMPLE, n)))
            fleet.change(2, only=sample)
            progress(f"timed single-process round over {len(sample)} streams ...")
            env = _env(fleet, Path(tmp))
            start = time.perf_counter()
            for i in sample:
                args = [
                    "job",
                    "run",
                    "--model",
                    str(fleet.model_dir),
                    "--platform",
                    PLATFORM,
                    "--stream",
                    store_name(i),
                ]
                code = subprocess.run(
                    [sys.executable, "-m", "datasurface.cli", *args],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    check=False,
                ).returncode
                assert code == 0, f"job run of {store_name(i)} exited {code}"
            single_s = (time.perf_counter() - start) * n / len(sample)
        finally:
            fleet.dispose()
    overhead_ms = max(0.0, pack_s - member_s / result["workers"]) / n * 1000
    return {
        f"pack_round_{n}_s": round(pack_s, 3),
        f"single_round_{n}_s": round(single_s, 3),
        f"ratio_single_pack_{n}": round(single_s / pack_s, 2),
        "pack_overhead_ms": round(overhead_ms, 2),
        f"rss_mb_pack_{n}": round(rss_mb, 1),
    }


def _env(fleet: Any, tmp: Path) -> dict[str, str]:
    return {**os.environ, **fleet.env, "PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}


def _pack(fleet: Any, as_of: str, rss_path: Path) -> dict[str, Any]:
    from tests.packs.fleet import PLATFORM

    args = [sys.executable, "-m", "datasurface.cli", "job", "run-pack", "--model", str(fleet.model_dir)]
    args += ["--platform", PLATFORM, "--pack", "pack0000", "--as-of", as_of, "--json"]
    out = subprocess.run(
        [sys.executable, "-c", _RSS_LAUNCHER, str(rss_path), *args],
        capture_output=True,
        text=True,
        env=_env(fleet, rss_path.parent),
        check=False,
    )
    lines = out.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"run-pack printed nothing (exit {out.returncode}): {out.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(lines[-1])
    return data


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key}={value}")
