"""The compiler child: `python -I -B -m datasurface.model.manifest.child MODEL_DIR OUT_FILE`.

Runs `eco.py` (the only place model code ever runs), checks every attribute against its
declared type, and writes ONE JSON object to OUT_FILE:

    {"status": "ok", "manifest": {...model.json document...}}
    {"status": "invalid", "problems": [{"path": ..., "rule": ..., "message": ...}, ...]}
    {"status": "error", "message": "eco.py:12: NameError: ..."}

The parent treats all of it as untrusted data: it validates a manifest strictly and rebuilds
it through the allow-listed constructors; the other two statuses can only refuse a change.
Anything the child prints is captured separately and is never part of a verdict.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from datasurface.model.loader import ModelLoadError, load_assignments, load_ecosystem_file
from datasurface.model.manifest.codec import ManifestError, ValueIssue, encode
from datasurface.model.manifest.document import document_from


def compile_folder(model_dir: Path) -> dict[str, Any]:
    try:
        eco = load_ecosystem_file(model_dir)
        assignments = load_assignments(model_dir)
    except ModelLoadError as exc:
        return {"status": "error", "message": str(exc)}
    # One walk checks every attribute and encodes it (a big model is walked once, not twice).
    issues: list[ValueIssue] = []
    try:
        encoded_eco, encoded_assignments = encode(eco, issues), encode(assignments, issues)
        if issues:
            return {
                "status": "invalid",
                "problems": [{"path": i.path, "rule": i.rule, "message": i.message} for i in issues],
            }
        return {"status": "ok", "manifest": document_from(encoded_eco, encoded_assignments)}
    except (ManifestError, ValueError, RecursionError) as exc:
        return {"status": "error", "message": f"{model_dir}: the model can't be compiled: {exc}"}


def main(argv: list[str]) -> int:
    model_dir, out_file = Path(argv[0]), Path(argv[1])
    result = compile_folder(model_dir)
    out_file.write_text(json.dumps(result, ensure_ascii=True, allow_nan=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
