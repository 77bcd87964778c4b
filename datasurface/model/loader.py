"""Load a model folder: `eco.py` with `createEcosystem()` plus `dsg_platform_mapping.json`.

Errors carry the file and line so a model author can go straight to the problem.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

from datasurface.errors import DataSurfaceError
from datasurface.model.assignments import AssignmentFormatError, PlatformAssignments
from datasurface.model.ecosystem import Ecosystem

ECO_FILE = "eco.py"
MAPPING_FILE = "dsg_platform_mapping.json"
FACTORY = "createEcosystem"
#: The compiled model the merge handler deploys into each model folder.
MANIFEST_FILE = "model.json"
MODEL_FOLDER = re.compile(r"model-(\d{10})")


class ModelLoadError(DataSurfaceError):
    """The model folder can't be loaded. The message starts with `file:line:` when known."""


@dataclass(slots=True)
class LoadedModel:
    ecosystem: Ecosystem
    assignments: PlatformAssignments
    directory: Path
    #: The content hash of the compiled model this was loaded from (None: built from `eco.py`).
    model_hash: str | None = None


def load_model(directory: str | Path) -> LoadedModel:
    """The model in `directory`: its compiled `model.json` when there is one (deployed by the
    merge handler; hash-checked, and `eco.py` is never executed), else `eco.py` run in-process
    (a model author's working copy)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ModelLoadError(f"{folder}: model folder does not exist")
    if (folder / MANIFEST_FILE).is_file():
        return load_compiled(folder)
    eco = load_ecosystem_file(folder)
    return LoadedModel(eco, load_assignments(folder), folder)


def load_compiled(folder: Path) -> LoadedModel:
    """Load `folder/model.json`; the content hash must match (see manifest/document.py)."""
    # Imported here: the common case of a job pod, and kept off the import of this module.
    from datasurface.model.manifest.codec import ManifestError
    from datasurface.model.manifest.document import read_manifest

    try:
        eco, assignments, digest = read_manifest(folder / MANIFEST_FILE)
    except ManifestError as exc:
        raise ModelLoadError(str(exc)) from None
    return LoadedModel(eco, assignments, folder, digest)


def load_assignments(folder: Path) -> PlatformAssignments:
    """A missing mapping file means no DSG is assigned yet."""
    mapping = folder / MAPPING_FILE
    if not mapping.exists():
        return PlatformAssignments()
    text = mapping.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{mapping}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
    try:
        return PlatformAssignments.from_json(data)
    except AssignmentFormatError as exc:
        raise ModelLoadError(f"{mapping}: {exc}") from None


def load_ecosystem_file(folder: Path) -> Ecosystem:
    """Execute `folder/eco.py` in this process and return its ecosystem. Only the compiler
    child (`manifest/child.py`) and a model author's own commands should do this."""
    eco_file = folder / ECO_FILE
    if not eco_file.is_file():
        raise ModelLoadError(f"{eco_file}: missing; a model folder needs {ECO_FILE} defining {FACTORY}()")
    # A unique module name lets one process load several versions of a model (check-change
    # compares base and proposed). Sibling modules the model imports are removed afterwards
    # for the same reason.
    module_name = f"datasurface_model_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(module_name, eco_file)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{eco_file}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.path.insert(0, str(folder.resolve()))
    try:
        spec.loader.exec_module(module)
        factory = getattr(module, FACTORY, None)
        if not callable(factory):
            raise ModelLoadError(f"{eco_file}: defines no function {FACTORY}()")
        eco = factory()
    except ModelLoadError:
        raise
    except SyntaxError as exc:
        raise ModelLoadError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise ModelLoadError(f"{_where(exc, folder)}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(str(folder.resolve()))
        _forget_modules_under(folder, before)
    if not isinstance(eco, Ecosystem):
        raise ModelLoadError(f"{eco_file}: {FACTORY}() returned {type(eco).__name__}, expected an Ecosystem")
    return eco


def _where(exc: BaseException, folder: Path) -> str:
    """The innermost traceback frame inside the model folder, as `file:line`."""
    root = folder.resolve()
    location = str(folder / ECO_FILE)
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            Path(frame.filename).resolve().relative_to(root)
        except ValueError:
            continue
        location = f"{frame.filename}:{frame.lineno}"
    return location


def _forget_modules_under(folder: Path, keep: set[str]) -> None:
    root = str(folder.resolve())
    for name in set(sys.modules) - keep:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(root) or name.startswith("datasurface_model_"):
            del sys.modules[name]


def newest_model_dir(models_dir: str | Path) -> Path:
    """The newest `model-{utc_seconds:010d}` folder; zero padding makes name order time order."""
    base = Path(models_dir)
    if not base.is_dir():
        raise ModelLoadError(f"{base}: models folder does not exist")
    candidates = sorted(p for p in base.iterdir() if p.is_dir() and MODEL_FOLDER.fullmatch(p.name))
    if candidates:
        return candidates[-1]
    if (base / MANIFEST_FILE).is_file() or (base / ECO_FILE).is_file():
        return base  # a model folder itself
    raise ModelLoadError(
        f"{base}: not a model folder (it holds no {ECO_FILE} and no compiled {MANIFEST_FILE}) and not a models "
        "folder (it holds no model-<utc seconds> folders); pass the folder that contains eco.py"
    )


def model_folder_name(utc_seconds: int) -> str:
    return f"model-{utc_seconds:010d}"
