"""Each attack family of issue 11, as an attacker writes it, against `check-change` on the
sandbox model. Every one passed (exit 0) or leaked before the model was sealed; each must now
be refused with exit 1, the object path, the rule and who may make the change, no traceback.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

import datasurface
from datasurface.commands.isolated_load import compile_isolated
from datasurface.model.loader import load_model
from datasurface.sandboxing import Confinement, available_confinement
from tests.governance.sealed_helpers import (
    ANALYTICS_REPO,
    CUSTOMER_REPO,
    ECO_REPO,
    OUTSIDER,
    ZONE_REPO,
    assert_refused,
    check,
    copy_model,
    edit,
    prepend,
)

CONFINED = available_confinement() is not Confinement.PROCESS
needs_namespaces = pytest.mark.skipif(not CONFINED, reason="needs user namespaces or bubblewrap")

MASKING = "transformers/masking.py"
EMAIL_MASK = "split_part(email, '@', 2)"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return copy_model(tmp_path / "base")


@pytest.fixture
def head(tmp_path: Path) -> Path:
    return copy_model(tmp_path / "head")


# -- family 1: the child's result is not trusted -------------------------------------------------


def _forge_result(head: Path, result: object) -> None:
    """eco.py writes the result file itself (its path is the child's last argument) and exits."""
    payload = json.dumps(result)
    prepend(head, f"import sys, os\nopen(sys.argv[-1], 'w').write({payload!r})\nos._exit(0)\n")


def test_forged_result_with_a_class_outside_the_allow_list_is_refused(base: Path, head: Path) -> None:
    manifest = json.loads(json.dumps(compile_isolated(base).document))
    manifest["ecosystem"]["owning_repo"] = {"$type": "Popen", "args": ["sh"]}
    _forge_result(head, {"status": "ok", "manifest": manifest})
    verdict = check(base, head, OUTSIDER)
    assert verdict.code == 1 and "Traceback" not in verdict.out
    assert "Ecosystem 'SandboxEco': Ecosystem.owning_repo" in verdict.out
    assert "'Popen'" in verdict.out and "does not match any of the expected tags" in verdict.out


def test_forged_result_setting_attributes_on_a_class_is_refused(base: Path, head: Path) -> None:
    """The pickle BUILD attack: make `Repository.matches` truthy. JSON can only name fields."""
    manifest = json.loads(json.dumps(compile_isolated(base).document))
    manifest["ecosystem"]["owning_repo"]["matches"] = True
    _forge_result(head, {"status": "ok", "manifest": manifest})
    verdict = check(base, head, OUTSIDER)
    assert verdict.code == 1
    assert "GitHubRepository.matches" in verdict.out and "Extra inputs are not permitted" in verdict.out


def test_forged_result_with_a_wrong_hash_is_refused(base: Path, head: Path) -> None:
    manifest = json.loads(json.dumps(compile_isolated(base).document))
    manifest["ecosystem"]["documentation"] = "changed after hashing"
    _forge_result(head, {"status": "ok", "manifest": manifest})
    verdict = check(base, head, OUTSIDER)
    assert verdict.code == 1 and "content hash does not match" in verdict.out


def test_patching_classes_in_the_child_changes_nothing_in_the_checker(base: Path, head: Path) -> None:
    prepend(head, "from datasurface.model.repository import Repository\nRepository.matches = lambda *a, **k: True\n")
    edit(head, 'DDLColumn("email", VarChar(200))', 'DDLColumn("email", VarChar(10))')
    verdict = check(base, head, OUTSIDER)
    assert_refused(verdict, "ownership/unknown-repository", "Ecosystem 'SandboxEco'")
    assert "[compat/type-narrowed]" in verdict.out


# -- family 2: every file has an owner -----------------------------------------------------------


def test_another_team_can_not_rewrite_transformer_code(base: Path, head: Path) -> None:
    """customer-team stops the masking of e-mails in analytics-team's transformer."""
    edit(head, EMAIL_MASK, "email", MASKING)
    verdict = check(base, head, CUSTOMER_REPO)
    assert_refused(verdict, "ownership/file", f"File '{MASKING}'", "datasurface-sandbox/analytics-team")
    assert "transformer code of team 'analytics_team'" in verdict.out


def test_the_owning_team_may_change_its_transformer_code(base: Path, head: Path) -> None:
    edit(head, "# Keep the e-mail's domain", "# Keep only the e-mail's domain", MASKING)
    verdict = check(base, head, ANALYTICS_REPO)
    assert verdict.code == 0, verdict.out
    assert f"changed  File '{MASKING}': file [owner datasurface-sandbox/analytics-team (branch main)] ok" in verdict.out


@pytest.mark.parametrize(
    "path",
    ["transformers/__pycache__/masking.cpython-311.pyc", "transformers/helpers.py", "sitecustomize.py", ".github/x"],
)
def test_an_unowned_new_file_belongs_to_the_ecosystem(base: Path, head: Path, path: str) -> None:
    target = head / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"import os\n")
    verdict = check(base, head, ANALYTICS_REPO)
    assert_refused(verdict, "ownership/file", f"File '{path}'", "datasurface-sandbox/eco")


def test_removing_another_teams_code_is_refused(base: Path, head: Path) -> None:
    (head / MASKING).unlink()
    assert_refused(check(base, head, CUSTOMER_REPO), "ownership/file", f"File '{MASKING}'")


def test_a_committed_model_json_is_refused_for_everyone(base: Path, head: Path) -> None:
    (head / "model.json").write_text("{}")
    assert_refused(check(base, head, ECO_REPO), "files/reserved", "File 'model.json'")


def test_declared_files_belong_to_the_declared_team(base: Path, head: Path) -> None:
    """The zone grants a team a folder; only then may the team change files in it."""
    grant = 'TeamDeclaration("customer_team", GitHubRepository("datasurface-sandbox/customer-team", "main"))'
    granted = (
        'TeamDeclaration("customer_team", GitHubRepository("datasurface-sandbox/customer-team", "main"), '
        'files=["customer/**"])'
    )
    for folder in (base, head):
        edit(folder, grant, granted)
        (folder / "customer").mkdir()
        (folder / "customer" / "notes.md").write_text("v1\n")
    (head / "customer" / "notes.md").write_text("v2\n")
    assert check(base, head, CUSTOMER_REPO).code == 0
    assert_refused(check(base, head, ANALYTICS_REPO), "ownership/file", "File 'customer/notes.md'")


def test_a_team_can_not_grant_itself_files(base: Path, head: Path) -> None:
    grant = 'TeamDeclaration("customer_team", GitHubRepository("datasurface-sandbox/customer-team", "main"))'
    edit(head, grant, grant[:-1] + ', files=["transformers/**"])')
    edit(head, EMAIL_MASK, "email", MASKING)
    verdict = check(base, head, CUSTOMER_REPO)
    assert_refused(verdict, "ownership/zone", "Zone 'USA' / Team 'customer_team'")
    assert_refused(verdict, "ownership/file", f"File '{MASKING}'")


# -- family 3: the installed package ----------------------------------------------------------------


@needs_namespaces
def test_model_code_can_not_write_into_the_installed_package(base: Path, head: Path) -> None:
    marker = Path(datasurface.__file__).parent / f"attack_{uuid.uuid4().hex}.py"
    prepend(
        head,
        f"try:\n    open({str(marker)!r}, 'w').write('x = 1')\nexcept OSError:\n    pass\n",
    )
    try:
        verdict = check(base, head, ECO_REPO)
        assert not marker.exists(), "the child wrote into the installed package"
        assert verdict.code == 0, verdict.out
    finally:
        marker.unlink(missing_ok=True)


# -- family 4: the environment ------------------------------------------------------------------------


def test_credentials_never_reach_model_code(base: Path, head: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"ghp_{uuid.uuid4().hex}"
    for name in ("GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "CUSTOMER_DB_PASSWORD", "DATASURFACE_GIT_TOKEN", "AWS_KEY"):
        monkeypatch.setenv(name, secret)
    edit(
        head,
        '"The customer database: customers and their billing and shipping addresses."',
        '"leak " + " ".join(f"{k}={v}" for k, v in os.environ.items())',
    )
    verdict = check(base, head, CUSTOMER_REPO, "--json")
    assert secret not in verdict.out
    outcome = compile_isolated(head, env=dict(os.environ))
    assert outcome.model is not None
    store = outcome.model.ecosystem.datastore("Store1")
    assert store is not None and store.documentation.startswith("leak ")
    assert secret not in store.documentation
    assert "GITHUB_TOKEN" not in store.documentation and "PATH=" in store.documentation


# -- family 5: eco.py can't tell, and production never re-runs it -----------------------------------


@needs_namespaces
def test_model_code_can_not_see_the_checkers_command_line(base: Path, head: Path) -> None:
    """Shows the base model when it sees `check-change` in its parent's command line."""
    prepend(
        head,
        "def _checked():\n"
        "    import os\n"
        "    try:\n"
        "        return b'check' in open(f'/proc/{os.getppid()}/cmdline', 'rb').read()\n"
        "    except OSError:\n"
        "        return False\n",
    )
    edit(
        head, 'DDLColumn("email", VarChar(200))', 'DDLColumn("email", VarChar(10) if not _checked() else VarChar(200))'
    )
    verdict = check(base, head, CUSTOMER_REPO)
    assert_refused(verdict, "compat/type-narrowed", "Column 'email'")


def test_production_loads_the_compiled_model_and_never_runs_eco_py(tmp_path: Path) -> None:
    folder = copy_model(tmp_path / "model")
    from click.testing import CliRunner

    from datasurface.cli import cli

    result = CliRunner().invoke(cli, ["compile", str(folder)])
    assert result.exit_code == 0, result.output
    # A second call of eco.py would now raise: the loader must not make one.
    prepend(folder, "raise SystemExit('eco.py executed in production')")
    loaded = load_model(folder)
    assert loaded.model_hash is not None and loaded.model_hash in result.output
    assert loaded.ecosystem.name == "SandboxEco"


def test_an_edited_compiled_model_is_refused_on_load(tmp_path: Path) -> None:
    from datasurface.model.loader import ModelLoadError

    folder = copy_model(tmp_path / "model")
    outcome = compile_isolated(folder)
    assert outcome.document is not None
    document = dict(outcome.document)
    document["ecosystem"] = {**document["ecosystem"], "documentation": "tampered"}
    (folder / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelLoadError, match="content hash mismatch"):
        load_model(folder)


# -- family 6: links and special files ------------------------------------------------------------------


def test_a_symlinked_eco_py_is_refused(base: Path, head: Path) -> None:
    (head / "eco.py").unlink()
    (head / "eco.py").symlink_to(base / "eco.py")
    assert_refused(check(base, head, ECO_REPO), "files/not-a-regular-file", "File 'eco.py'")


def test_a_symlinked_folder_and_a_hard_link_are_refused(base: Path, head: Path, tmp_path: Path) -> None:
    (head / "shared").symlink_to(tmp_path, target_is_directory=True)
    os.link(head / MASKING, head / "transformers" / "copy.py")
    verdict = check(base, head, ANALYTICS_REPO)
    assert_refused(verdict, "files/not-a-regular-file", "File 'shared'")
    assert_refused(verdict, "files/not-a-regular-file", "File 'transformers/copy.py'")


def test_a_fifo_is_refused_without_running_the_model(base: Path, head: Path) -> None:
    (head / "eco.py").unlink()
    os.mkfifo(head / "eco.py")
    started = time.monotonic()
    assert_refused(check(base, head, ECO_REPO), "files/not-a-regular-file", "File 'eco.py'")
    assert time.monotonic() - started < 20


# -- the smaller ones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ('DDLColumn("email", "VARCHAR(10)")', "DDLColumn.type is the str 'VARCHAR(10)'"),
        ('DDLColumn("email", VarChar("10"))', "VarChar.length is the str '10'"),
        ('DDLColumn("email", VarChar(400.5))', "VarChar.length is the float 400.5"),
        ('DDLColumn("email", VarChar(10**12))', "between 1 and 10485760"),
        ('DDLColumn("email", VarChar(True))', "VarChar.length is the bool True"),
    ],
)
def test_wrongly_typed_parameters_are_lint_errors_naming_the_column(
    base: Path, head: Path, new: str, message: str
) -> None:
    edit(head, 'DDLColumn("email", VarChar(200))', new)
    verdict = check(base, head, CUSTOMER_REPO)
    path = "Team 'customer_team' / Datastore 'Store1' / Dataset 'customers' / Column 'email'"
    assert_refused(verdict, "lint/bad-type", path, "datasurface-sandbox/customer-team")
    assert message in verdict.out


def test_lint_reports_a_wrongly_typed_parameter_without_a_traceback(head: Path) -> None:
    from click.testing import CliRunner

    from datasurface.cli import cli

    edit(head, 'DDLColumn("email", VarChar(200))', 'DDLColumn("email", "VARCHAR(10)")')
    result = CliRunner().invoke(cli, ["lint", str(head)])
    assert (result.exit_code == 1 and result.exception is None) or isinstance(result.exception, SystemExit)
    assert "Column 'email': DDLColumn.type is the str 'VARCHAR(10)'" in result.output


@pytest.mark.parametrize("repo", ["datasurface-sandbox/\u0441ustomer-team", "datasurface-sandbox/customer-tea\u217f"])
def test_a_look_alike_repository_never_matches(base: Path, head: Path, repo: str) -> None:
    edit(head, 'DDLColumn("email", VarChar(200))', 'DDLColumn("email", VarChar(300))')
    verdict = check(base, head, repo)
    assert_refused(verdict, "ownership/repository-name", "Repository")
    assert "non-ASCII character" in verdict.out


def test_the_kelvin_sign_does_not_fold_to_k() -> None:
    from datasurface.model import GitHubRepository

    assert "\u212a".lower() == "k"  # why a plain lower() comparison was fooled
    repo = GitHubRepository("acme/marketing-team", "main")
    assert repo.matches("ACME/Marketing-Team", "main")
    assert not repo.matches("acme/mar\u212aeting-team", "main")


def test_a_model_declaring_a_non_ascii_repository_fails_lint(base: Path, head: Path) -> None:
    edit(head, '"datasurface-sandbox/analytics-team"', '"datasurface-sandbox/analytics-tea\u217f"')
    verdict = check(base, head, ZONE_REPO)
    assert_refused(verdict, "lint/repository-name", "Zone 'USA' / Team 'analytics_team'")


def test_two_zones_can_not_declare_the_same_team(base: Path, head: Path) -> None:
    edit(
        head,
        'zone_declarations=[GovernanceZoneDeclaration("USA", GitHubRepository("datasurface-sandbox/zone-usa", "main"))]',
        'zone_declarations=[GovernanceZoneDeclaration("USA", GitHubRepository("datasurface-sandbox/zone-usa", "main")),'
        ' GovernanceZoneDeclaration("EU", GitHubRepository("mallory/zone-eu", "main"))]',
    )
    edit(
        head,
        "        zones=[zone],",
        '        zones=[zone, GovernanceZone("EU", team_declarations=[TeamDeclaration("customer_team", '
        'GitHubRepository("mallory/customers", "main"))])],',
    )
    verdict = check(base, head, ECO_REPO)
    assert_refused(verdict, "lint/team-declared-twice", "Ecosystem 'SandboxEco'")


def test_a_detached_grandchild_does_not_outlive_the_check(
    base: Path, head: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Process confinement only (the file system is writable there): the kill must do it."""
    monkeypatch.setenv("DATASURFACE_CONFINEMENT", "process")
    marker = tmp_path / "late-write"
    prepend(
        head,
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(2)\n"
        f"        open({str(marker)!r}, 'w').write('OK: the change may merge')\n"
        "    os._exit(0)\n",
    )
    verdict = check(base, head, ECO_REPO)
    assert verdict.code == 0, verdict.out
    time.sleep(3)
    assert not marker.exists(), "a grandchild of the compiler survived the check"


def test_model_output_never_reaches_the_verdict(base: Path, head: Path) -> None:
    prepend(
        head,
        "import sys\nprint('OK: the change may merge (0 object change(s))')\n"
        "print('OK: the change may merge', file=sys.stderr)\n",
    )
    edit(head, 'DDLColumn("email", VarChar(200))', 'DDLColumn("email", VarChar(10))')
    verdict = check(base, head, CUSTOMER_REPO)
    assert verdict.code == 1
    assert "OK: the change may merge" not in verdict.out


def test_a_hanging_model_is_stopped_at_the_timeout(base: Path, head: Path) -> None:
    prepend(head, "import time\ntime.sleep(600)\n")
    started = time.monotonic()
    verdict = check(base, head, CUSTOMER_REPO, "--timeout", "3")
    assert verdict.code == 1 and "took longer than 3s" in verdict.out
    assert time.monotonic() - started < 30


def test_the_json_verdict_says_which_confinement_was_in_force(base: Path, head: Path) -> None:
    data = check(base, head, ECO_REPO, "--json").json()
    assert data["may_merge"] is True
    assert data["confinement"] == available_confinement().value
    assert data["base_hash"] == data["proposed_hash"]


def test_model_code_can_not_hide_a_file_change_by_restoring_the_file(
    base: Path, head: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a writable file system (process confinement) eco.py puts the original transformer
    code back while it is compiled; the folders were compared as they were before it ran."""
    monkeypatch.setenv("DATASURFACE_CONFINEMENT", "process")
    edit(head, EMAIL_MASK, "email", MASKING)
    original = (base / MASKING).read_text()
    prepend(head, f"from pathlib import Path\nPath({str(head / MASKING)!r}).write_text({original!r})\n")
    verdict = check(base, head, CUSTOMER_REPO)
    assert_refused(verdict, "ownership/file", f"File '{MASKING}'", "datasurface-sandbox/analytics-team")


def test_eco_py_can_not_be_transformer_code(base: Path, head: Path) -> None:
    """eco.py is checked by the objects it builds; as transformer code any edit of it would run."""
    edit(
        head,
        'CodeReference("masking", "mask_customers", "1.0", "transformers")',
        'CodeReference("eco", "createEcosystem", "1.0", ".")',
    )
    verdict = check(base, head, ANALYTICS_REPO)
    assert_refused(verdict, "lint/transformer-code-reference", "Workspace 'Consumer1' / DataTransformer")
