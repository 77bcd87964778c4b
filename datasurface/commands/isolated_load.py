"""Compile a model folder in a confined child and take back JSON only.

`eco.py` is Python written by whoever proposes a change. It runs exactly once per check, in
a child confined by `datasurface.sandboxing` (minimal environment, resource limits, timeout,
scratch directory, process tree killed, no network and a read-only file system where the
machine allows). The child writes one JSON result; the parent reads it as untrusted data:

1. size-capped read, `json.loads` (no pickle anywhere: a pickle could hand out classes and
   set attributes on them);
2. strict validation with a pydantic-core schema generated from the allow-list (`validation.py`);
3. the content hash recomputed here (the child's claim is not trusted);
4. objects rebuilt through the allow-listed constructors only (`codec.decode`).

The child's stdout/stderr are captured apart and only ever quoted (sanitised, one line) in an
error message; they are never part of a verdict. Everything the parent needs is imported
before the first child runs, so a child that manages to write into the installed package
(where it is writable) still can't change the code this process runs.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasurface.model.loader import LoadedModel, ModelLoadError
from datasurface.model.manifest.codec import ManifestError
from datasurface.model.manifest.document import content_hash, rebuild
from datasurface.sandboxing import DEFAULT_TIMEOUT_SECONDS, ConfinedProcess, Confinement, Limits, SandboxError

__all__ = ["CompileOutcome", "PendingCompile", "ValueProblem", "compile_isolated", "prepare", "start_compile"]

#: A compiled model larger than this is refused (the sandbox model is ~14 KB).
MAX_RESULT_BYTES = 256 * 1024**2
_RESULT = "result.json"


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """An attribute of the model with the wrong type or range, as the child reported it."""

    path: str
    rule: str
    message: str


@dataclass(slots=True)
class CompileOutcome:
    """Exactly one of `model` (with `document`), `problems` or `error` is set."""

    folder: Path
    confinement: Confinement
    elapsed_seconds: float
    model: LoadedModel | None = None
    document: dict[str, Any] | None = None
    problems: list[ValueProblem] = field(default_factory=list)
    error: str = ""

    def loaded(self) -> LoadedModel:
        if self.model is None:
            raise ModelLoadError(self.error or f"{self.folder}: the model has invalid attributes")
        return self.model


def prepare() -> None:
    """Import pydantic-core and build the validator. Done before any untrusted child
    runs, so a child that writes into the installed package can't change this code; done
    while the trusted base model compiles, so it costs no wall-clock time in check-change."""
    from datasurface.model.manifest.validation import document_validator

    document_validator()


def _clean(text: str, limit: int = 500) -> str:
    """One printable line: child text can't forge lines of the verdict."""
    flat = " ".join(text.split())
    return "".join(ch if ch.isprintable() else "?" for ch in flat)[:limit]


class PendingCompile:
    """A compile whose child is running; `finish()` waits for it and reads its result."""

    def __init__(self, model_dir: str | Path, *, timeout: float, env: Mapping[str, str] | None) -> None:
        self.folder = Path(model_dir)
        self.timeout = timeout
        self._scratch = tempfile.TemporaryDirectory(prefix="datasurface-compile-")
        self.scratch = Path(self._scratch.name).resolve()
        argv = [sys.executable, "-I", "-B", "-m", "datasurface.model.manifest.child", str(self.folder.resolve())]
        argv.append(str(self.scratch / _RESULT))
        self.child: ConfinedProcess | None = None
        self.start_error = ""
        try:
            self.child = ConfinedProcess(argv, self.scratch, env=env, limits=Limits(timeout_seconds=timeout))
        except SandboxError as exc:
            self.start_error = f"{self.folder}: {exc}"

    def finish(self) -> CompileOutcome:
        try:
            return self._finish()
        finally:
            self._scratch.cleanup()

    def _finish(self) -> CompileOutcome:
        folder = self.folder
        if self.child is None:
            return CompileOutcome(folder, Confinement.PROCESS, 0.0, error=self.start_error)
        run = self.child.finish()
        outcome = CompileOutcome(folder, run.confinement, run.elapsed_seconds)
        if run.timed_out:
            outcome.error = (
                f"{folder}: compiling the model took longer than {self.timeout:g}s and was stopped "
                "(raise the limit with --timeout if the model is really that big)"
            )
            return outcome
        result_file = self.scratch / _RESULT
        try:
            if result_file.is_symlink() or not result_file.is_file():
                raise FileNotFoundError
            if result_file.stat().st_size > MAX_RESULT_BYTES:
                outcome.error = f"{folder}: the compiled model is larger than {MAX_RESULT_BYTES} bytes"
                return outcome
            text = result_file.read_bytes()
        except OSError:
            tail = run.output_tail()
            outcome.error = f"{folder}: compiling the model ended (exit code {run.returncode}) without a result" + (
                f": {_clean(tail)}" if tail else ""
            )
            return outcome
        prepare()
        _interpret(text, outcome)
        return outcome


def start_compile(
    model_dir: str | Path,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    env: Mapping[str, str] | None = None,
) -> PendingCompile:
    """Start compiling `model_dir` in a confined child; `finish()` the result."""
    return PendingCompile(model_dir, timeout=timeout, env=env)


def compile_isolated(
    model_dir: str | Path,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    env: Mapping[str, str] | None = None,
    trusted: bool = False,
) -> CompileOutcome:
    """Compile `model_dir`'s eco.py in a confined child; never raises for a bad model.

    `trusted=True` (the base model of a check) lets the parent prepare its validators while
    the child runs; for any other model they are prepared before the child starts."""
    if not trusted:
        prepare()
    pending = start_compile(model_dir, timeout=timeout, env=env)
    prepare()
    return pending.finish()


def _interpret(text: bytes, outcome: CompileOutcome) -> None:
    folder = outcome.folder
    try:
        result = json.loads(text)
    except (ValueError, RecursionError):
        outcome.error = f"{folder}: compiling the model produced a malformed result"
        return
    status = result.get("status") if isinstance(result, dict) else None
    if status == "error" and isinstance(result.get("message"), str):
        outcome.error = _clean(result["message"], 2000)
        return
    if status == "invalid" and isinstance(result.get("problems"), list) and result["problems"]:
        for item in result["problems"][:200]:
            if isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("path", "rule", "message")):
                rule = item["rule"] if item["rule"] in ("bad-type", "bad-value") else "bad-value"
                outcome.problems.append(ValueProblem(_clean(item["path"]), rule, _clean(item["message"])))
        if not outcome.problems:
            outcome.error = f"{folder}: compiling the model produced a malformed result"
        return
    document = result.get("manifest") if status == "ok" else None
    if not isinstance(document, dict):
        outcome.error = f"{folder}: compiling the model produced an unexpected result"
        return
    from datasurface.model.manifest.validation import validate_document

    try:
        # Validate the document text alone (the child's JSON re-serialised: the same values).
        validate_document(json.dumps(document), document, str(folder))
        if document.get("sha256") != content_hash(document):
            raise ManifestError(f"{folder}: the compiled model's content hash does not match its content")
        eco, assignments = rebuild(document)
    except ManifestError as exc:
        outcome.error = _clean(str(exc), 2000)
        return
    except (TypeError, ValueError, RecursionError) as exc:
        outcome.error = f"{folder}: the compiled model can't be rebuilt: {_clean(str(exc))}"
        return
    outcome.document = document
    outcome.model = LoadedModel(eco, assignments, folder, str(document["sha256"]))
