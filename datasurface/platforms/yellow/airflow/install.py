"""Copy the DAG factory's shim into an Airflow dags folder.

`python -m datasurface.platforms.yellow.airflow.install DAGS_FOLDER` (the sandbox runs it).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SHIM = Path(__file__).resolve().parent / "dags_folder" / "datasurface_dags.py"


def install_shim(dags_folder: str | Path) -> Path:
    """Copy (not link: the dags folder is often another volume) and return the new file."""
    target = Path(dags_folder) / SHIM.name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(SHIM, tmp)
    tmp.replace(target)  # atomic: the dag-processor never parses a half-written file
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m datasurface.platforms.yellow.airflow.install DAGS_FOLDER", file=sys.stderr)
        return 2
    print(install_shim(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
