"""Model folders for the sealed-model tests: the sandbox model, copied, then edited as a
pull request would edit it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from datasurface.cli import cli

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox" / "model"

ECO_REPO = "datasurface-sandbox/eco"
ZONE_REPO = "datasurface-sandbox/zone-usa"
CUSTOMER_REPO = "datasurface-sandbox/customer-team"
ANALYTICS_REPO = "datasurface-sandbox/analytics-team"
OUTSIDER = "mallory/eco"


def copy_model(dest: Path) -> Path:
    shutil.copytree(SANDBOX, dest, ignore=shutil.ignore_patterns("__pycache__", "model.json"))
    return dest


def edit(folder: Path, old: str, new: str, file: str = "eco.py") -> None:
    path = folder / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def prepend(folder: Path, code: str) -> None:
    path = folder / "eco.py"
    text = path.read_text()
    # After the module docstring and `from __future__` (which must stay first).
    marker = "from __future__ import annotations\n"
    path.write_text(text.replace(marker, marker + code + "\n", 1))


@dataclass
class Verdict:
    code: int
    out: str
    exception: BaseException | None

    @property
    def last(self) -> str:
        lines = self.out.strip().splitlines()
        return lines[-1] if lines else ""

    def json(self) -> dict[str, object]:
        data = json.loads(self.out)
        assert isinstance(data, dict)
        return data


def check(base: Path, head: Path, repo: str, *extra: str, branch: str = "main") -> Verdict:
    args = ["check-change", str(base), str(head), "--repo", repo, *extra]
    if branch:
        args += ["--branch", branch]
    result = CliRunner().invoke(cli, args)
    return Verdict(result.exit_code, result.output, result.exception)


def assert_refused(verdict: Verdict, rule: str, path: str, may_change: str | None = None) -> None:
    """Exit 1, no traceback, and the reason names the rule and the object path (and who may)."""
    assert verdict.code == 1, verdict.out
    assert "Traceback" not in verdict.out
    assert verdict.exception is None or isinstance(verdict.exception, SystemExit), verdict.exception
    matching = [line for line in verdict.out.splitlines() if f"[{rule}]" in line and path in line]
    assert matching, f"no [{rule}] reason for {path} in:\n{verdict.out}"
    if may_change is not None:
        assert any(may_change in line for line in matching), matching
    assert verdict.last.startswith("REJECTED"), verdict.out
