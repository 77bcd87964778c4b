"""The README's model example is real: it loads, lints clean and has the streams it implies."""

from __future__ import annotations

import re
from pathlib import Path

from datasurface.graph import build_graph
from datasurface.model.lint import lint_ecosystem
from datasurface.model.loader import load_model

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_model_lints_clean(tmp_path: Path) -> None:
    text = README.read_text()
    (python,) = re.findall(r"```python\n(.*?)```", text, re.S)[:1]
    (mapping,) = re.findall(r"```json\n(.*?)```", text, re.S)[:1]
    (tmp_path / "eco.py").write_text(python)
    (tmp_path / "dsg_platform_mapping.json").write_text(mapping)
    loaded = load_model(tmp_path)
    assert lint_ecosystem(loaded.ecosystem, loaded.assignments).items == []
    (graph,) = build_graph(loaded.ecosystem, loaded.assignments)
    assert [(s.stream, s.datasets) for s in graph.streams] == [("crm", ["customers"])]
