"""The models folder: `model-{utc_seconds:010d}` folders, published atomically, pruned.

Jobs and the DAG factory always read the newest `model-*` folder (`loader.newest_model_dir`) and
in it the compiled `model.json` the merge handler wrote (never re-executing `eco.py`),
so a folder must be complete and lint-clean before its name appears: the merge handler
clones into a hidden `.incoming-*` folder in the same models folder (same file system, so
`os.rename` is atomic), lints it there, and only then renames it.

Name clashes: the new folder gets `max(now, newest + 1)` seconds, then the next free second
if that name is taken. It never waits for the clock, it always sorts after every existing
folder (even if the clock stepped back), and two publications in one second get two names.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

from datasurface.model.loader import MODEL_FOLDER, model_folder_name

__all__ = ["incoming_folder", "model_folders", "prune", "publish", "remove_stale_incoming"]

INCOMING_PREFIX = ".incoming-"
#: An `.incoming-*` folder older than this was left by a killed handler.
STALE_INCOMING_SECONDS = 3600


def model_folders(models_dir: Path) -> list[Path]:
    """`model-*` folders, oldest first (zero padding makes name order time order)."""
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if p.is_dir() and MODEL_FOLDER.fullmatch(p.name))


def incoming_folder(models_dir: Path) -> Path:
    """A fresh hidden path for a clone; the loader ignores it (it does not match `model-*`)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    return models_dir / f"{INCOMING_PREFIX}{uuid.uuid4().hex[:12]}"


def publish(incoming: Path, models_dir: Path, utc_seconds: int) -> Path:
    """Rename `incoming` to the next free `model-<seconds>` name; return the new folder."""
    existing = model_folders(models_dir)
    seconds = utc_seconds
    if existing:
        match = MODEL_FOLDER.fullmatch(existing[-1].name)
        assert match is not None
        seconds = max(seconds, int(match[1]) + 1)
    for _ in range(1000):
        target = models_dir / model_folder_name(seconds)
        if not target.exists():
            try:
                # Atomic within one file system; fails rather than replace a non-empty folder.
                os.rename(incoming, target)
                return target
            except OSError:
                if not target.exists():
                    raise
        seconds += 1
    raise OSError(f"{models_dir}: no free model-<seconds> name after {seconds}")


def prune(models_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` (at least 1) model folders; return what was removed."""
    folders = model_folders(models_dir)
    doomed = folders[: max(0, len(folders) - max(1, keep))]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return doomed


def remove_stale_incoming(models_dir: Path, now: float | None = None) -> list[Path]:
    """Remove `.incoming-*` folders a killed handler left behind (older than an hour, so a
    concurrent handler's clone in progress is never touched)."""
    if not models_dir.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - STALE_INCOMING_SECONDS
    stale = [p for p in models_dir.iterdir() if p.name.startswith(INCOMING_PREFIX) and p.stat().st_mtime < cutoff]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale
