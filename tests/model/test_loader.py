"""Loading model folders: the happy path and every way a folder can be wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datasurface.model import AssignmentStatus, Ecosystem
from datasurface.model.loader import ModelLoadError, load_model, model_folder_name, newest_model_dir

SANDBOX_MODEL = Path(__file__).resolve().parents[2] / "sandbox" / "model"

MINIMAL_ECO = """
from datasurface.model import Ecosystem, GitHubRepository

def createEcosystem():
    return Ecosystem("tiny", GitHubRepository("acme/eco"))
"""


def _write(folder: Path, eco: str, mapping: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eco.py").write_text(eco)
    if mapping is not None:
        (folder / "dsg_platform_mapping.json").write_text(mapping)
    return folder


def test_loads_the_sandbox_model() -> None:
    loaded = load_model(SANDBOX_MODEL)
    assert isinstance(loaded.ecosystem, Ecosystem)
    assert loaded.ecosystem.name == "SandboxEco"
    assert {(a.dsg, a.platform, a.status) for a in loaded.assignments.assignments} == {
        ("LiveDSG", "YellowLive", AssignmentStatus.PROVISIONED),
        ("ForensicDSG", "YellowForensic", AssignmentStatus.PROVISIONED),
        ("MaskedDSG", "YellowLive", AssignmentStatus.PROVISIONED),
    }
    transformer = loaded.ecosystem.workspaces()["Consumer1"].workspace.transformer
    assert transformer is not None and transformer.output_store == "MaskedCustomers"


def test_sandbox_model_reads_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASURFACE_SOURCE_HOST", "10.1.2.3")
    monkeypatch.setenv("DATASURFACE_MERGE_PORT", "15432")
    eco = load_model(SANDBOX_MODEL).ecosystem
    store = eco.datastore("Store1")
    assert store is not None and store.capture is not None
    assert "10.1.2.3" in store.capture.source.sqlalchemy_url()  # type: ignore[attr-defined]
    assert ":15432/" in eco.platforms[0].merge_database.sqlalchemy_url()  # type: ignore[attr-defined]


def test_missing_mapping_means_no_assignments(tmp_path: Path) -> None:
    loaded = load_model(_write(tmp_path / "m", MINIMAL_ECO))
    assert loaded.assignments.assignments == []


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "nope")


def test_missing_eco_file(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelLoadError, match=r"eco\.py: missing"):
        load_model(tmp_path / "m")


def test_eco_raises_reports_file_and_line(tmp_path: Path) -> None:
    eco = "def createEcosystem():\n    x = 1\n    raise RuntimeError('boom')\n"
    folder = _write(tmp_path / "m", eco)
    with pytest.raises(ModelLoadError) as info:
        load_model(folder)
    assert f"{folder / 'eco.py'}:3: RuntimeError: boom" in str(info.value)


def test_error_in_a_helper_module_points_at_the_helper(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", "import helpers\n\ndef createEcosystem():\n    return helpers.build()\n")
    (folder / "helpers.py").write_text("def build():\n    return 1 / 0\n")
    with pytest.raises(ModelLoadError, match=r"helpers\.py:2: ZeroDivisionError"):
        load_model(folder)


def test_syntax_error_reports_line(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", "def createEcosystem(:\n    pass\n")
    with pytest.raises(ModelLoadError, match=r"eco\.py:1: syntax error"):
        load_model(folder)


def test_wrong_return_type(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", "def createEcosystem():\n    return {'name': 'x'}\n")
    with pytest.raises(ModelLoadError, match="returned dict, expected an Ecosystem"):
        load_model(folder)


def test_missing_factory(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", "X = 1\n")
    with pytest.raises(ModelLoadError, match=r"defines no function createEcosystem\(\)"):
        load_model(folder)


def test_malformed_json_reports_line_and_column(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", MINIMAL_ECO, '{\n  "assignments": [\n    {"workspace": }\n  ]\n}\n')
    with pytest.raises(ModelLoadError, match=r"dsg_platform_mapping\.json:3:19: malformed JSON"):
        load_model(folder)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ([], "expected an object"),
        ({"assignments": [{"workspace": "w", "dsg": "d"}]}, r"assignments\[0\]: missing .* platform"),
        ({"assignments": [{"workspace": "w", "dsg": "d", "platform": "p", "status": "LIVE"}]}, "unknown status 'LIVE'"),
        ({"assignments": [{"workspace": "w", "dsg": "d", "platform": "p", "colour": "red"}]}, "unknown field"),
    ],
)
def test_mapping_shape_errors(tmp_path: Path, mapping: object, message: str) -> None:
    folder = _write(tmp_path / "m", MINIMAL_ECO, json.dumps(mapping))
    with pytest.raises(ModelLoadError, match=message):
        load_model(folder)


def test_two_versions_with_same_helper_module_do_not_mix(tmp_path: Path) -> None:
    """check-change loads base and proposed in one process; each must see its own helpers."""
    for version in ("a", "b"):
        folder = _write(
            tmp_path / version,
            "import naming\nfrom datasurface.model import Ecosystem, GitHubRepository\n\n"
            "def createEcosystem():\n    return Ecosystem(naming.NAME, GitHubRepository('acme/eco'))\n",
        )
        (folder / "naming.py").write_text(f"NAME = 'eco_{version}'\n")
    assert load_model(tmp_path / "a").ecosystem.name == "eco_a"
    assert load_model(tmp_path / "b").ecosystem.name == "eco_b"


def test_newest_model_dir_picks_the_latest_timestamp(tmp_path: Path) -> None:
    for seconds in (999_999_999, 1_700_000_000, 1_699_999_999):
        shutil.copytree(SANDBOX_MODEL, tmp_path / model_folder_name(seconds))
    (tmp_path / "model-tmp-123").mkdir()
    (tmp_path / "notes").mkdir()
    assert newest_model_dir(tmp_path).name == "model-1700000000"
    assert model_folder_name(42) == "model-0000000042"


def test_newest_model_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no model-<utc seconds> folders"):
        newest_model_dir(tmp_path)
    with pytest.raises(ModelLoadError, match="does not exist"):
        newest_model_dir(tmp_path / "missing")


def test_a_folder_without_eco_py_or_model_json_says_so(tmp_path: Path) -> None:
    """Issue 14: `--model` on such a folder must not talk about model-<seconds> folders only."""
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelLoadError, match=r"holds no eco\.py and no compiled model\.json"):
        newest_model_dir(tmp_path)


def test_a_folder_with_a_compiled_model_is_a_model_folder(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{}")
    assert newest_model_dir(tmp_path) == tmp_path
