"""Kubernetes' rules for ConfigMap data, checked when ring 0 renders the model-source
ConfigMap, so a model that can't ship fails at `make up`'s render step naming the file, not
later as an API-server rejection in the middle of `kubectl apply`.

The rules (as the API server validates them):
- a key is 1-253 characters of `[-._a-zA-Z0-9]`, not `.` or `..`, not starting with `..`;
- the sum over all keys of len(key) + len(value in UTF-8 bytes) is at most 1 MiB.
`make up` applies this ConfigMap server-side, so kubectl's last-applied annotation (256 KiB)
does not lower that limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .settings import BootstrapError

MAX_TOTAL_BYTES = 1024 * 1024
MAX_KEY_LENGTH = 253
_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid ConfigMap key, or None."""
    if not key:
        return "it is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"it is {len(key)} characters long (at most {MAX_KEY_LENGTH})"
    if key in (".", "..") or key.startswith(".."):
        return "it is '.' or starts with '..'"
    if not _KEY.fullmatch(key):
        bad = sorted({ch for ch in key if not _KEY.fullmatch(ch)})
        return f"it holds {', '.join(repr(ch) for ch in bad)} (only letters, digits, '-', '_' and '.' are allowed)"
    return None


def check_configmap(name: str, files: Mapping[str, str], key_of: Mapping[str, str], folder: str) -> None:
    """Raise BootstrapError naming the file if `files` (relative path -> text) can't be the
    ConfigMap `name` with keys `key_of[path]`; `folder` names where the files come from."""
    by_key: dict[str, str] = {}
    for path in files:
        key = key_of[path]
        problem = key_problem(key)
        if problem:
            raise BootstrapError(
                f"model file '{path}' in {folder}: its ConfigMap key '{key}' is invalid: {problem}. "
                f"Rename the file (ConfigMap '{name}' ships the model folder to the cluster)"
            )
        if key in by_key:
            raise BootstrapError(
                f"model files '{by_key[key]}' and '{path}' in {folder} map to the same ConfigMap key '{key}' "
                f"('/' becomes '__'); rename one of them"
            )
        by_key[key] = path
    sizes = {path: len(key_of[path]) + len(text.encode("utf-8")) for path, text in files.items()}
    total = sum(sizes.values())
    if total > MAX_TOTAL_BYTES:
        largest = sorted(sizes, key=lambda p: -sizes[p])[:3]
        listing = ", ".join(f"'{p}' ({sizes[p]:,} bytes)" for p in largest)
        raise BootstrapError(
            f"model files in {folder}: {total:,} bytes in all, over the {MAX_TOTAL_BYTES:,}-byte limit of "
            f"ConfigMap '{name}'; the largest: {listing}. Keep large data out of the model folder: "
            "the model ships to the cluster in one ConfigMap, so load big files at run time instead"
        )
