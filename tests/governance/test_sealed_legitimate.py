"""Legitimate changes to the sandbox model keep passing the sealed check (exit 0, "OK")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.governance.sealed_helpers import (
    ANALYTICS_REPO,
    CUSTOMER_REPO,
    ECO_REPO,
    ZONE_REPO,
    check,
    copy_model,
    edit,
)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return copy_model(tmp_path / "base")


@pytest.fixture
def head(tmp_path: Path) -> Path:
    return copy_model(tmp_path / "head")


def _passes(base: Path, head: Path, repo: str) -> str:
    verdict = check(base, head, repo)
    assert verdict.code == 0, verdict.out
    assert verdict.last.startswith("OK: the change may merge"), verdict.out
    return verdict.out


def test_unchanged_model(base: Path, head: Path) -> None:
    assert "0 object change(s)" in _passes(base, head, ECO_REPO)


def test_a_team_adds_a_nullable_column(base: Path, head: Path) -> None:
    edit(
        head,
        'DDLColumn("phone", VarChar(50)),',
        'DDLColumn("phone", VarChar(50)),\n                DDLColumn("nickname", VarChar(40)),',
    )
    _passes(base, head, CUSTOMER_REPO)


def test_a_team_widens_a_column(base: Path, head: Path) -> None:
    edit(head, 'DDLColumn("email", VarChar(200))', 'DDLColumn("email", VarChar(400))')
    _passes(base, head, CUSTOMER_REPO)


def test_a_team_adds_a_dataset(base: Path, head: Path) -> None:
    edit(
        head,
        "datasets=[_customers(), _addresses()],",
        'datasets=[_customers(), _addresses(), Dataset("notes", DDLTable(columns=[DDLColumn("id", VarChar(20), '
        'nullable=False), DDLColumn("body", VarChar(1000))], primary_key=["id"]))],',
    )
    _passes(base, head, CUSTOMER_REPO)


def test_a_zone_adds_a_team(base: Path, head: Path) -> None:
    edit(
        head,
        'TeamDeclaration("analytics_team", GitHubRepository("datasurface-sandbox/analytics-team", "main")),',
        'TeamDeclaration("analytics_team", GitHubRepository("datasurface-sandbox/analytics-team", "main")),\n'
        '            TeamDeclaration("billing_team", GitHubRepository("datasurface-sandbox/billing-team", "main")),',
    )
    _passes(base, head, ZONE_REPO)


def test_a_team_edits_its_transformer_code(base: Path, head: Path) -> None:
    edit(head, "# Keep the e-mail's domain", "# Keep the e-mail's domain only", "transformers/masking.py")
    _passes(base, head, ANALYTICS_REPO)


def test_a_team_moves_its_transformer_to_a_new_module_in_one_change(base: Path, head: Path) -> None:
    """The new file is claimed by the proposal's (authorised) reference; the old one by the base's."""
    (head / "transformers" / "masking.py").rename(head / "transformers" / "masking_v2.py")
    edit(
        head,
        'CodeReference("masking", "mask_customers", "1.0", "transformers")',
        'CodeReference("masking_v2", "mask_customers", "2.0", "transformers")',
    )
    out = _passes(base, head, ANALYTICS_REPO)
    assert "added    File 'transformers/masking_v2.py'" in out and "removed  File 'transformers/masking.py'" in out


def test_the_ecosystem_owner_adds_a_helper_file(base: Path, head: Path) -> None:
    (head / "README.md").write_text("# The sandbox model\n")
    _passes(base, head, ECO_REPO)


def test_the_central_team_moves_an_assignment_along_its_life_cycle(base: Path, head: Path) -> None:
    edit(
        head,
        '{"workspace": "MaskedConsumer", "dsg": "MaskedDSG", "platform": "YellowLive", "status": "PROVISIONED"}',
        '{"workspace": "MaskedConsumer", "dsg": "MaskedDSG", "platform": "YellowLive", "status": "DECOMMISSIONING"}',
        "dsg_platform_mapping.json",
    )
    _passes(base, head, ECO_REPO)


def test_owner_names_are_compared_ignoring_ascii_case(base: Path, head: Path) -> None:
    edit(head, 'DDLColumn("email", VarChar(200))', 'DDLColumn("email", VarChar(250))')
    _passes(base, head, "DataSurface-Sandbox/Customer-Team")
