"""Model folders: atomic publication with clash-free names, and pruning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from datasurface.model.loader import newest_model_dir
from datasurface.platforms.yellow.merge_handler import run_merge_handler
from datasurface.platforms.yellow.merge_handler.model_folders import (
    incoming_folder,
    model_folders,
    prune,
    publish,
    remove_stale_incoming,
)
from tests.job.harness import Stack
from tests.orchestration.model_repo import add_orders_and_consumer2, commit, init_repo


def _folder(models: Path, seconds: int) -> Path:
    path = models / f"model-{seconds:010d}"
    path.mkdir(parents=True)
    (path / "eco.py").write_text("# placeholder\n")
    return path


def _incoming(models: Path) -> Path:
    path = incoming_folder(models)
    path.mkdir()
    (path / "eco.py").write_text("# new\n")
    return path


def test_publish_picks_the_next_free_second(tmp_path: Path) -> None:
    models = tmp_path / "models"
    _folder(models, 100)
    assert publish(_incoming(models), models, 100).name == "model-0000000101"  # same second: next one
    assert publish(_incoming(models), models, 50).name == "model-0000000102"  # clock stepped back
    assert publish(_incoming(models), models, 500).name == "model-0000000500"
    assert newest_model_dir(models).name == "model-0000000500"
    assert not [p for p in models.iterdir() if p.name.startswith(".incoming-")]


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    models = tmp_path / "models"
    for s in range(1, 8):
        _folder(models, s)
    removed = prune(models, 3)
    assert [p.name for p in removed] == [f"model-{s:010d}" for s in range(1, 5)]
    assert [p.name for p in model_folders(models)] == [f"model-{s:010d}" for s in (5, 6, 7)]
    prune(models, 0)  # never below one: the newest stays
    assert [p.name for p in model_folders(models)] == ["model-0000000007"]


def test_stale_incoming_folders_are_removed(tmp_path: Path) -> None:
    models = tmp_path / "models"
    fresh = _incoming(models)
    assert remove_stale_incoming(models) == [] and fresh.exists()
    assert remove_stale_incoming(models, now=fresh.stat().st_mtime + 7200) == [fresh]


def test_handler_prunes_to_keep(stack: Stack, tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    models = tmp_path / "models"
    t = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    results = [run_merge_handler(str(repo), "main", models, keep=2, clock=lambda: t)]
    add_orders_and_consumer2(repo)
    results.append(run_merge_handler(str(repo), "main", models, keep=2, clock=lambda: t))
    (repo / "README.md").write_text("third\n")
    commit(repo, "third")
    results.append(run_merge_handler(str(repo), "main", models, keep=2, clock=lambda: t))
    names = [r.model_folder.name for r in results]
    assert names == [f"model-{int(t.timestamp()) + i:010d}" for i in range(3)]  # one clock second, three names
    assert [f.name for f in model_folders(models)] == names[1:]
    assert results[2].pruned == [results[0].model_folder]
