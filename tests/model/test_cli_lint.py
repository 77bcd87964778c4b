"""`datasurface lint` as a user runs it: exit codes, messages, JSON, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SANDBOX_MODEL = Path(__file__).resolve().parents[2] / "sandbox" / "model"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "datasurface.cli", *args], capture_output=True, text=True, check=False)


def test_sandbox_model_lints_clean() -> None:
    result = run("lint", str(SANDBOX_MODEL))
    assert result.returncode == 0, result.stderr
    assert "0 error(s)" in result.stdout


def test_json_output() -> None:
    result = run("lint", str(SANDBOX_MODEL), "--json")
    data = json.loads(result.stdout)
    assert result.returncode == 0
    assert data["ecosystem"] == "SandboxEco" and data["errors"] == 0 and data["problems"] == []


def test_errors_exit_1_with_paths(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    eco = (
        (SANDBOX_MODEL / "eco.py")
        .read_text()
        .replace('DDLColumn("city", VarChar(100)', 'DDLColumn("ci ty", VarChar(100)')
    )
    (folder / "eco.py").write_text(eco)
    (folder / "dsg_platform_mapping.json").write_text((SANDBOX_MODEL / "dsg_platform_mapping.json").read_text())
    result = run("lint", str(folder))
    assert result.returncode == 1
    assert "ERROR: Team 'customer_team' / Datastore 'Store1' / Dataset 'addresses' / Column 'ci ty':" in result.stdout
    as_json = json.loads(run("lint", str(folder), "--json").stdout)
    assert as_json["errors"] == 1 and as_json["problems"][0]["rule"] == "illegal-name"


def test_warnings_only_exit_0(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "eco.py").write_text(
        "from datasurface.model import *\n"
        "def createEcosystem():\n"
        "    team = Team('t', workspaces=[Workspace('w', DataPlatformManagedDataContainer('c'))])\n"
        "    zone = GovernanceZone('z', [TeamDeclaration('t', GitHubRepository('a/t'))], [team])\n"
        "    return Ecosystem('e', GitHubRepository('a/e'), None,\n"
        "                     [GovernanceZoneDeclaration('z', GitHubRepository('a/z'))], [zone])\n"
    )
    result = run("lint", str(folder))
    assert result.returncode == 0
    assert "WARNING: Team 't' / Workspace 'w': workspace declares no dataset groups" in result.stdout


def test_load_error_is_one_line_exit_1(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "eco.py").write_text("def createEcosystem():\n    raise ValueError('bad host')\n")
    result = run("lint", str(folder))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: {folder / 'eco.py'}:2: ValueError: bad host"


def test_usage_error_exit_2() -> None:
    assert run("lint").returncode == 2
    assert run("lint", "a", "--bogus").returncode == 2


def test_help_explains() -> None:
    result = run("lint", "--help")
    assert result.returncode == 0
    assert "Exits 0 when the model is clean" in result.stdout
