"""Load a model folder in a child process, so the model's own code can't touch the checker.

`eco.py` is Python. In a pull request check the proposed `eco.py` is written by the very
author being checked: loaded in-process it could patch `check_change`, or simply call
`os._exit(0)` and pass. So the child process loads the model and pickles it to a file; the
parent reads that file with an unpickler that only rebuilds DataSurface model classes (plus
`timedelta`), so the child's output is data, never code. A child that dies, exits early or
writes nothing is a load error (exit 1), never a pass.

Run the check as a user that can't write the installed `datasurface` package (the image built
from `Dockerfile.datasurface` does), so the child can't rewrite the parent's code either.
"""

from __future__ import annotations

import datetime
import io
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# Imported here, before any child runs, so that the classes the unpickler hands out come from
# code loaded before any untrusted model code executed.
import datasurface.platforms.yellow.platform  # noqa: F401
from datasurface.model.assignments import PlatformAssignments
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.loader import LoadedModel, ModelLoadError, load_model

DEFAULT_TIMEOUT_SECONDS = 300

#: Modules whose classes may appear in a pickled model: the model package and platform models.
_ALLOWED_MODULES = re.compile(r"datasurface\.model(\.\w+)*|datasurface\.platforms\.\w+\.platform")
_ALLOWED_GLOBALS = {("datetime", "timedelta"): datetime.timedelta}


class _ModelUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str, /) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        if _ALLOWED_MODULES.fullmatch(module) and "." not in name:
            value = super().find_class(module, name)
            if isinstance(value, type):
                return value
        raise pickle.UnpicklingError(
            f"the model uses {module}.{name}, which is not a DataSurface model class; "
            "check-change only compares models built from datasurface.model classes"
        )


def load_isolated(model_dir: str | Path, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> LoadedModel:
    """Load `model_dir` in a child process; raise ModelLoadError naming file:line when it fails."""
    folder = Path(model_dir)
    with tempfile.TemporaryDirectory(prefix="datasurface-load-") as scratch:
        out = Path(scratch) / "model.pickle"
        try:
            child = subprocess.run(
                [sys.executable, "-m", __name__, str(folder.resolve()), str(out)],
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ModelLoadError(f"{folder}: loading the model took longer than {timeout:.0f}s") from None
        if not out.is_file():
            tail = (child.stderr or child.stdout).strip().splitlines()[-3:]
            detail = f": {' | '.join(tail)}" if tail else ""
            raise ModelLoadError(
                f"{folder}: loading the model ended (exit code {child.returncode}) without a result{detail}"
            )
        try:
            result = _ModelUnpickler(io.BytesIO(out.read_bytes())).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{folder}: {exc}") from None
    return _unpack(result, folder)


def _unpack(result: Any, folder: Path) -> LoadedModel:
    if isinstance(result, tuple) and len(result) == 2 and result[0] == "error" and isinstance(result[1], str):
        raise ModelLoadError(result[1])
    if (
        isinstance(result, tuple)
        and len(result) == 3
        and result[0] == "ok"
        and isinstance(result[1], Ecosystem)
        and isinstance(result[2], PlatformAssignments)
    ):
        return LoadedModel(result[1], result[2], folder)
    raise ModelLoadError(f"{folder}: loading the model produced an unexpected result")


def _child(model_dir: str, out_file: str) -> None:
    """Runs in the child: load, then pickle ("ok", ecosystem, assignments) or ("error", message)."""
    try:
        loaded = load_model(model_dir)
        payload: tuple[Any, ...] = ("ok", loaded.ecosystem, loaded.assignments)
    except ModelLoadError as exc:
        payload = ("error", str(exc))
    try:
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # a model holding something unpicklable (a lambda, a socket)
        data = pickle.dumps(("error", f"{model_dir}: the model can't be serialised for checking: {exc}"))
    Path(out_file).write_bytes(data)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
