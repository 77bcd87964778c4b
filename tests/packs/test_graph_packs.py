"""`graph --json` shows each stream's pack: the sandbox packs Store1 on both platforms and
keeps the transformer's output stream on its own DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.job.harness import SANDBOX_MODEL


def _packs(env: dict[str, str]) -> dict[tuple[str, str], str | None]:
    out = subprocess.run(
        [sys.executable, "-m", "datasurface.cli", "graph", str(SANDBOX_MODEL), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    return {(s["platform"], s["stream"]): s["pack"] for s in json.loads(out)["streams"]}


def test_graph_json_shows_each_streams_pack() -> None:
    assert _packs({}) == {
        ("YellowLive", "Store1"): "pack0000",
        ("YellowForensic", "Store1"): "pack0000",
        ("YellowLive", "MaskedCustomers"): None,  # triggered by its transformer's DAG
    }
    # Packs off: every stream has a DAG of its own.
    assert set(_packs({"DATASURFACE_PACK_SIZE": "0"}).values()) == {None}
