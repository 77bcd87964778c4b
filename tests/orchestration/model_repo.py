"""A local git repository holding the example model, and the edits the tests commit to it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.job.harness import SANDBOX_MODEL

_GIT_ID = ["-c", "user.name=DataSurface Tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *_GIT_ID, "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def init_repo(path: Path) -> Path:
    """A repository on branch main whose first commit is the example model."""
    shutil.copytree(SANDBOX_MODEL, path, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    commit(path, "the example model")
    return path


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


ORDERS = """

def _orders() -> Dataset:
    return Dataset(
        "orders",
        DDLTable(
            columns=[
                DDLColumn("id", VarChar(20), nullable=False),
                DDLColumn("customer_id", VarChar(20), nullable=False),
                DDLColumn("placed_at", Timestamp(), nullable=False),
            ],
            primary_key=["id"],
        ),
        classification=DataClassification.INTERNAL,
    )


def createEcosystem() -> Ecosystem:"""

CONSUMER2 = """    consumer2 = Workspace(
        "Consumer2",
        container=DataPlatformManagedDataContainer("yellow_managed"),
        dsgs=[
            DatasetGroup(
                "OrdersDSG",
                sinks=[DatasetSink("Store1", "customers"), DatasetSink("Store1", "orders")],
                milestoning=Milestoning.LIVE_ONLY,
            )
        ],
    )
    zone = GovernanceZone("""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def add_orders_and_consumer2(repo: Path) -> str:
    """Commit 2: a dataset `orders` in Store1 and a workspace Consumer2 (DSG OrdersDSG sinking
    Store1.customers and Store1.orders) assigned to YellowLive."""
    eco = repo / "eco.py"
    _edit(eco, "\n\ndef createEcosystem() -> Ecosystem:", ORDERS)
    _edit(eco, "datasets=[_customers(), _addresses()]", "datasets=[_customers(), _addresses(), _orders()]")
    _edit(eco, "    zone = GovernanceZone(", CONSUMER2)
    _edit(eco, "workspaces=[consumer, masked_consumer]", "workspaces=[consumer, masked_consumer, consumer2]")
    mapping = repo / "dsg_platform_mapping.json"
    data = json.loads(mapping.read_text())
    data["assignments"].append(
        {"workspace": "Consumer2", "dsg": "OrdersDSG", "platform": "YellowLive", "status": "PROVISIONED"}
    )
    mapping.write_text(json.dumps(data, indent=2))
    return commit(repo, "orders dataset and Consumer2 workspace")


def break_lint(repo: Path) -> str:
    """Commit 3: a column with the platform's reserved prefix: lint error on Dataset 'orders'."""
    _edit(
        repo / "eco.py",
        'DDLColumn("placed_at", Timestamp(), nullable=False),',
        'DDLColumn("ds_surf_oops", Timestamp()),',
    )
    return commit(repo, "a column name lint rejects")
