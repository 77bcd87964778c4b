"""`datasurface check-change` end to end, on model folders written to tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasurface.cli import cli

ECO_TEMPLATE = """
from datasurface.model import (
    BigInt, Credential, DataPlatformManagedDataContainer, Dataset, DatasetGroup, DatasetSink, Datastore,
    DDLColumn, DDLTable, Ecosystem, GitHubRepository, GovernanceZone, GovernanceZoneDeclaration, Milestoning,
    PostgresDatabase, SQLSnapshotIngestion, Team, TeamDeclaration, VarChar, Workspace,
)
from datasurface.platforms.yellow.platform import YellowDataPlatform


def createEcosystem() -> Ecosystem:
    customers = Dataset("customers", DDLTable(
        [DDLColumn("id", BigInt(), nullable=False), DDLColumn("email", {email_type})], primary_key=["id"]))
    store = Datastore("crm", datasets=[customers], capture=SQLSnapshotIngestion(
        PostgresDatabase("crm_db", host="crm", database="crm"), Credential("crm")))
    ws = Workspace("campaigns", container=DataPlatformManagedDataContainer("managed"),
                   dsgs=[DatasetGroup("live", [DatasetSink("crm", "customers")])])
    zone = GovernanceZone("emea", team_declarations=[
        TeamDeclaration("sales", GitHubRepository("acme/sales-team", "main")),
        TeamDeclaration("marketing", GitHubRepository("acme/marketing-team", "main")),
    ], teams=[Team("sales", datastores=[store]), Team("marketing", workspaces=[ws])])
    return Ecosystem("acme", GitHubRepository("acme/data-platform", "main"),
                     zone_declarations=[GovernanceZoneDeclaration("emea", GitHubRepository("acme/zone-emea", "main"))],
                     zones=[zone], platforms=[YellowDataPlatform("YellowLive", milestoning=Milestoning.LIVE_ONLY)])
"""

MAPPING = '{"assignments": [{"workspace": "campaigns", "dsg": "live", "platform": "YellowLive", "status": "%s"}]}'


def write_model(folder: Path, email_type: str = "VarChar(100)", status: str = "PROVISIONED", extra: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "eco.py").write_text(extra + ECO_TEMPLATE.replace("{email_type}", email_type))
    (folder / "dsg_platform_mapping.json").write_text(MAPPING % status)
    return folder


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check-change", *args])
    return result.exit_code, result.output


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write_model(tmp_path / "base")


def test_authorized_widening_passes(base: Path, tmp_path: Path) -> None:
    head = write_model(tmp_path / "head", email_type="VarChar(200)")
    code, out = run(str(base), str(head), "--repo", "Acme/Sales-Team", "--branch", "main")
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("OK: the change may merge")


def test_rejection_lists_every_reason_with_a_summary(base: Path, tmp_path: Path) -> None:
    head = write_model(tmp_path / "head", email_type="VarChar(50)", status="PROVISIONING")
    code, out = run(str(base), str(head), "--repo", "acme/marketing-team")
    assert code == 1
    assert "[ownership/team] Team 'sales' / Datastore 'crm' / Dataset 'customers'" in out
    assert "[ownership/ecosystem] Assignment 'campaigns/live/YellowLive'" in out
    assert "[compat/type-narrowed] Team 'sales' / Datastore 'crm' / Dataset 'customers' / Column 'email'" in out
    assert "[assignment/illegal-status-move]" in out
    assert out.strip().splitlines()[-1].startswith("REJECTED: 4 reason(s)")


def test_json_output(base: Path, tmp_path: Path) -> None:
    head = write_model(tmp_path / "head", email_type="VarChar(50)")
    code, out = run(str(base), str(head), "--repo", "acme/sales-team", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["may_merge"] is False
    [problem] = data["problems"]
    assert problem["rule"] == "compat/type-narrowed"
    assert problem["may_change"] == "acme/sales-team (branch main)"


def test_wrong_branch_is_rejected(base: Path, tmp_path: Path) -> None:
    head = write_model(tmp_path / "head", email_type="VarChar(200)")
    code, out = run(str(base), str(head), "--repo", "acme/sales-team", "--branch", "feature/x")
    assert code == 1
    assert "ownership/unknown-repository" in out


def test_model_load_error_is_exit_1_with_file_and_line(base: Path, tmp_path: Path) -> None:
    head = write_model(tmp_path / "head", email_type="NoSuchType()")
    code, out = run(str(base), str(head), "--repo", "acme/sales-team")
    assert code == 1
    assert "eco.py:" in out and "NameError" in out and "Traceback" not in out


def test_proposed_model_can_not_exit_early_to_pass(base: Path, tmp_path: Path) -> None:
    head = write_model(tmp_path / "head", extra="import os\nos._exit(0)\n")
    code, out = run(str(base), str(head), "--repo", "acme/sales-team")
    assert code == 1
    assert "without a result" in out


def test_proposed_model_can_not_patch_the_checker(base: Path, tmp_path: Path) -> None:
    patch = (
        "import datasurface.model.changes as _c\n"
        "_c.check_change = None\n"
        "import datasurface.model.changes.compatibility as _k\n"
        "_k.check_compatibility = lambda *a, **k: None\n"
    )
    head = write_model(tmp_path / "head", email_type="VarChar(50)", extra=patch)
    code, out = run(str(base), str(head), "--repo", "acme/sales-team")
    assert code == 1
    assert "[compat/type-narrowed]" in out


def test_usage_errors_exit_2(base: Path, tmp_path: Path) -> None:
    assert run(str(base), str(base), "--repo", "not-a-repo")[0] == 2
    assert run(str(base), str(tmp_path / "missing"), "--repo", "acme/sales-team")[0] == 2
    assert run(str(base), str(base))[0] == 2


def test_sandbox_model_against_itself(tmp_path: Path) -> None:
    sandbox = Path(__file__).resolve().parents[2] / "sandbox" / "model"
    code, out = run(str(sandbox), str(sandbox), "--repo", "datasurface-sandbox/eco", "--branch", "main")
    assert code == 0, out
