"""The compiled model file, `model.json`: a versioned document with its content hash.

    {"format": "datasurface-model", "version": 1, "sha256": "<hex>",
     "ecosystem": {"$type": "Ecosystem", ...}, "assignments": {"$type": "PlatformAssignments", ...}}

`sha256` is the hash of the canonical JSON (sorted keys, no spaces, ASCII) of everything
else in the document, so any edit of the file is detected on load and the hash names exactly
the model that runs (`job status`, the DAG docs and the merge handler print it).

Reading a deployed file is cheap and imports nothing heavy (no pydantic): the hash proves it
is the file the merge handler wrote after validating it, and the strict allow-list decoder
still refuses anything that is not model data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from datasurface.model.assignments import PlatformAssignments
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.loader import MANIFEST_FILE
from datasurface.model.manifest.codec import ManifestError, decode, encode

__all__ = ["FORMAT", "MANIFEST_FILE", "VERSION", "build_document", "document_from", "parse", "read_manifest", "rebuild"]

FORMAT = "datasurface-model"
VERSION = 1
_HEADER = ("format", "version", "sha256")


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def content_hash(body: dict[str, Any]) -> str:
    """The hash of a document without its `sha256` entry."""
    return hashlib.sha256(canonical({k: v for k, v in body.items() if k != "sha256"})).hexdigest()


def build_document(ecosystem: Ecosystem, assignments: PlatformAssignments) -> dict[str, Any]:
    """The document; ManifestError at the first attribute that does not fit its type."""
    return document_from(encode(ecosystem), encode(assignments))


def document_from(ecosystem: Any, assignments: Any) -> dict[str, Any]:
    """The document around already encoded ecosystem and assignments."""
    body: dict[str, Any] = {"format": FORMAT, "version": VERSION, "ecosystem": ecosystem, "assignments": assignments}
    return {"format": FORMAT, "version": VERSION, "sha256": content_hash(body), **{k: body[k] for k in body}}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=True, allow_nan=False) + "\n"


def parse(text: str | bytes, where: str) -> dict[str, Any]:
    """JSON text -> document, checking format, version and hash; ManifestError otherwise."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"{where}: not a JSON document: {str(exc)[:200]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ManifestError(f'{where}: not a compiled DataSurface model ("format": "{FORMAT}" missing)')
    if data.get("version") != VERSION:
        raise ManifestError(
            f"{where}: compiled model version {data.get('version')!r}; this DataSurface reads version {VERSION} "
            "(recompile it with `datasurface compile`)"
        )
    unknown = sorted(set(data) - {*_HEADER, "ecosystem", "assignments"})
    if unknown:
        raise ManifestError(f"{where}: unknown top-level field(s) {', '.join(unknown)}")
    expected = content_hash(data)
    if data.get("sha256") != expected:
        raise ManifestError(
            f"{where}: content hash mismatch (file says {str(data.get('sha256'))[:16]}..., content is "
            f"{expected[:16]}...): the compiled model was modified after it was written; redeploy it"
        )
    return data


def rebuild(document: dict[str, Any]) -> tuple[Ecosystem, PlatformAssignments]:
    """Model objects from a parsed document, through the allow-listed constructors only."""
    eco = decode(document.get("ecosystem"), Ecosystem)
    assignments = decode(document.get("assignments"), PlatformAssignments)
    assert isinstance(eco, Ecosystem) and isinstance(assignments, PlatformAssignments)
    return eco, assignments


def read_manifest(path: Path) -> tuple[Ecosystem, PlatformAssignments, str]:
    """Load a deployed `model.json`: (ecosystem, assignments, content hash)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read: {exc.strerror}") from None
    document = parse(text, str(path))
    eco, assignments = rebuild(document)
    return eco, assignments, str(document["sha256"])


def write_manifest(path: Path, document: dict[str, Any]) -> None:
    """Write atomically (temp file + rename), so a reader never sees half a model."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dumps(document), encoding="utf-8")
    tmp.replace(path)
