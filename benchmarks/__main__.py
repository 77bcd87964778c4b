"""Run every benchmark and end with one `name=value` line per figure.

`python -m benchmarks [NAME ...]` runs the named benchmarks only (see BENCHMARKS).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from benchmarks import model_scale

BENCHMARKS: dict[str, Callable[[], dict[str, float]]] = {
    "model": model_scale.measure,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    figures: dict[str, float] = {}
    for name in chosen:
        print(f"# running benchmark '{name}' ...", file=sys.stderr, flush=True)
        figures.update(BENCHMARKS[name]())
    for key, value in figures.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
