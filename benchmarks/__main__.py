"""Run every benchmark and end with one `name=value` line per figure.

`python -m benchmarks [NAME ...] [--rows N]` runs the named benchmarks only (see BENCHMARKS);
`--rows` sets the merge benchmark's source size (default 1,000,000, or $DATASURFACE_BENCH_ROWS).
The `ratio_*` figures are printed last, so a run ends with `ratio_live=` and `ratio_forensic=`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from benchmarks import dag_parse, dbt_snapshot, first_load, merge_throughput, model_scale, packs

BENCHMARKS: dict[str, Callable[[], dict[str, float]]] = {
    # First, on a quiet server: the million-row benchmarks leave it checkpointing for a while.
    "startup": first_load.measure_startup,
    "model": model_scale.measure,
    "dags": dag_parse.measure,
    "merge": merge_throughput.measure,
    "first_load": first_load.measure,
    # Installs dbt into its own environment (.sandbox/dbt-venv) on first use; skipped offline.
    "dbt": dbt_snapshot.measure,
    "packs": packs.measure,
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run DataSurface benchmarks.")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all: {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--rows", type=int, help="source rows for the merge benchmark (default 1,000,000)")
    args = parser.parse_args(argv)
    chosen = args.names or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    if args.rows is not None:
        os.environ["DATASURFACE_BENCH_ROWS"] = str(args.rows)
    figures: dict[str, float] = {}
    for name in chosen:
        print(f"# running benchmark '{name}' ...", file=sys.stderr, flush=True)
        figures.update(BENCHMARKS[name]())
    # Stable order, ratios last and ratio_live, ratio_forensic the very last two lines
    # (ARCHITECTURE.md: `make bench` ends with them), whatever order the benchmarks ran in.
    last = ("ratio_live", "ratio_forensic")
    ordered = sorted(
        figures.items(),
        key=lambda kv: (kv[0] in last, last.index(kv[0]) if kv[0] in last else 0, kv[0].startswith("ratio_")),
    )
    for key, value in ordered:
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
