"""The local-path HOWTOs, run literally: every ```bash block in order, one bash per HOWTO,
in a scratch copy of the repository with its own local stack on a free port.

Marker convention (howto/README.md):
- a ```bash block is run as a reader's plain shell runs it: bash WITHOUT `-e` and WITHOUT
  `pipefail` (a pipe's exit code is its last program's, as for the reader, so a doc that
  pipes a failing command into `tail` fails here too). Blocks of one HOWTO share the shell,
  so `cd`, `source` and `export` carry over. Every command that fails where the reader would
  not expect it (an ERR trap: not under `if`/`||`/`&&`/`until`, as bash defines it) is
  recorded with its block and exit code, and fails the test, but like the reader's shell
  the script carries on, so one run reports every broken block;
- a ```text block right after a ```bash block (blank lines between are fine) is that block's
  promised output: each non-blank line must appear, in order, within the output lines;
  `<...>` in it stands for text that varies (ids, times, counts), runs of blanks compare
  equal to one blank (table padding varies) and a line `...` is ignored;
- `<!-- test: skip -->` on the line before a ```bash block: not run here (it needs Docker,
  Airflow or a person); its ```text block is not checked either.

The scratch directory is a copy of what the HOWTOs touch (Makefile, sandbox/, howto/) with
the test's virtualenv linked in as `.venv`; `DATASURFACE_LOCAL_STATE` puts the local stack's
state (`.sandbox/`) there and `DATASURFACE_LOCAL_PG_PORT` moves its Postgres to a free port, which the
HOWTOs read as `${DATASURFACE_LOCAL_PG_PORT:-55432}`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from datasurface import embedded_pg

REPO_ROOT = Path(__file__).resolve().parents[2]
HOWTO_DIR = REPO_ROOT / "howto"
# Run in this order, sharing one stack: Setup_Local starts it, the others build on it.
LOCAL_HOWTOS = [
    "HOWTO_Setup_Local.md",
    "HOWTO_Add_A_Producer.md",
    "HOWTO_Add_A_Consumer.md",
    "HOWTO_Add_A_Forensic_Platform.md",
    "HOWTO_Migrate_A_DSG_Between_Platforms.md",
    "HOWTO_Pilot_A_Second_Source.md",
    "HOWTO_Troubleshoot.md",
]
SKIP_MARKER = "<!-- test: skip -->"
HOWTO_TIMEOUT_SECONDS = 300
# Under .pytest_pg like the Postgres fixtures: as root, the server's OS user must traverse it.
SCRATCH_ROOT = REPO_ROOT / ".pytest_pg"
# Variables a user's shell would not have: the HOWTOs must set up their own environment.
_STRIPPED_PREFIXES = ("DATASURFACE_", "POSTGRES_", "CUSTOMER_DB_", "VIRTUAL_ENV")


@dataclass
class Block:
    index: int
    line: int
    script: str
    expected: list[str] = field(default_factory=list)
    skip: bool = False


def parse_blocks(markdown: str) -> list[Block]:
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    pending_skip = False
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("```") and stripped != "```":
            lang = stripped[3:].strip()
            start = i
            i += 1
            body: list[str] = []
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            if lang == "bash":
                blocks.append(Block(len(blocks), start + 1, "\n".join(body), skip=pending_skip))
            elif lang == "text" and blocks and blocks[-1].line == _previous_fence_end(lines, start):
                blocks[-1].expected = [b.strip() for b in body if b.strip() and b.strip() != "..."]
            pending_skip = False
        elif stripped:
            pending_skip = stripped == SKIP_MARKER
        i += 1
    return blocks


def _previous_fence_end(lines: list[str], start: int) -> int:
    """The 1-based line of the opening fence of the block that ends just above `start`, with
    only blank lines between; -1 if there is none."""
    j = start - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0 or lines[j].strip() != "```":
        return -1
    j -= 1
    while j >= 0 and not lines[j].strip().startswith("```"):
        j -= 1
    return j + 1


def _squeeze(line: str) -> str:
    return " ".join(line.split())


def expectation_regex(line: str) -> re.Pattern[str]:
    parts = re.split(r"<[^<>]+>", _squeeze(line))
    return re.compile(".*?".join(re.escape(p) for p in parts))


def missing_lines(expected: list[str], output: str) -> list[str]:
    """Expected lines not found, in order, in the output's lines."""
    out_lines = [_squeeze(line) for line in output.splitlines()]
    position = 0
    missing: list[str] = []
    for line in expected:
        pattern = expectation_regex(line)
        for k in range(position, len(out_lines)):
            if pattern.search(out_lines[k]):
                position = k + 1
                break
        else:
            missing.append(line)
    return missing


@dataclass
class Sandbox:
    root: Path
    env: dict[str, str]
    setup_done: bool = False

    def run(self, name: str) -> None:
        blocks = parse_blocks((HOWTO_DIR / name).read_text())
        runnable = [b for b in blocks if not b.skip]
        assert runnable, f"{name}: no ```bash blocks to run"
        # errtrace: the trap also fires inside shell functions a HOWTO defines (they run
        # under the same rules: a function called as `f || echo ...` may fail).
        script = [
            "set -E",
            "__block=-1",
            "trap '__rc=$?; echo \"@@failed block=$__block exit=$__rc line=$LINENO@@\"' ERR",
        ]
        for block in runnable:
            script += [f"__block={block.index}", f"echo '@@block {block.index}@@'", block.script]
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=HOWTO_TIMEOUT_SECONDS,
            check=False,
        )
        elapsed = time.monotonic() - started
        outputs = dict(_split_outputs(result.stdout))
        failures = [
            f"{name}: a command of the block at line {blocks[b].line} exited {rc} (script line {line}):\n"
            f"{blocks[b].script}\n--- output ---\n{outputs.get(b, '')[-3000:]}"
            for b, rc, line in _failures(result.stdout)
            if b >= 0
        ]
        if result.returncode != 0 and not failures:
            last = max(outputs, default=-1)
            failures.append(f"{name}: the shell exited {result.returncode}\n{outputs.get(last, result.stdout)[-3000:]}")
        assert not failures, "\n\n".join(failures)
        for block in runnable:
            gone = missing_lines(block.expected, outputs.get(block.index, ""))
            assert not gone, (
                f"{name}, block at line {block.line}:\n{block.script}\n--- promised but missing ---\n"
                + "\n".join(gone)
                + f"\n--- output ---\n{outputs.get(block.index, '')[-4000:]}"
            )
        print(f"{name}: {len(runnable)} blocks in {elapsed:.1f} s")

    def require_setup(self) -> None:
        if not self.setup_done:
            self.run("HOWTO_Setup_Local.md")
            self.setup_done = True


_FAILED = re.compile(r"^@@failed block=(-?\d+) exit=(\d+) line=(\d+)@@$", re.MULTILINE)


def _failures(text: str) -> list[tuple[int, int, int]]:
    """(block index, exit code, script line) of every command the ERR trap caught."""
    return [(int(b), int(rc), int(line)) for b, rc, line in _FAILED.findall(text)]


def _split_outputs(text: str) -> Iterator[tuple[int, str]]:
    pieces = re.split(r"^@@block (\d+)@@\n", text, flags=re.MULTILINE)
    for k in range(1, len(pieces), 2):
        yield int(pieces[k]), pieces[k + 1]


def _scratch_copy(root: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".env", ".sandbox")
    for name in ("sandbox", "howto"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=ignore)
    shutil.copy2(REPO_ROOT / "Makefile", root / "Makefile")
    # make's install stamp depends on pyproject.toml: an old copy keeps make from reinstalling.
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    os.utime(root / "pyproject.toml", (0, 0))
    (root / ".venv").symlink_to(Path(sys.prefix))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    root = SCRATCH_ROOT / f"howto-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    _scratch_copy(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_PREFIXES)}
    env |= {
        "DATASURFACE_LOCAL_PG_PORT": str(embedded_pg.free_port()),
        "DATASURFACE_LOCAL_STATE": str(root / ".sandbox"),
    }
    try:
        yield Sandbox(root, env)
    finally:
        subprocess.run(
            [sys.executable, "-m", "datasurface.local_stack", "down"],
            cwd=root,
            env=env,
            capture_output=True,
            check=False,
        )
        embedded_pg.stop_all(root)
        shutil.rmtree(root, ignore_errors=True)


def test_marker_parsing() -> None:
    blocks = parse_blocks(
        "1. Run:\n\n```bash\necho hi\n```\n\n```text\nhi <who>\n...\n```\n\n"
        "<!-- test: skip -->\n```bash\nmake up-local\n```\n```text\nAirflow\n```\n```python\nx = 1\n```\n"
    )
    assert [(b.script, b.expected, b.skip) for b in blocks] == [
        ("echo hi", ["hi <who>"], False),
        ("make up-local", ["Airflow"], True),
    ]
    assert missing_lines(["a <n> c", "d"], "x\na 12 c\nd\n") == []
    assert missing_lines(["d", "a <n> c"], "a 1 c\nd\n") == ["a <n> c"]


def test_blocks_run_as_a_plain_shell_and_every_failure_is_caught(tmp_path: Path) -> None:
    """The harness's own shell rules, on a tiny HOWTO: no -e (later blocks still run), no
    pipefail (a failure piped into tail is the reader's exit 0, but the doc then fails on
    the output it promised), failures under `||` are the doc's business, failures inside a
    function are caught."""
    doc = (
        "```bash\nfalse\necho after-false\n```\n\n"
        "```bash\nf() { false; }\nf\nf || echo 'exit code: 1'\n```\n\n"
        "```bash\n(echo REJECTED; exit 1) | tail -n 1 || echo 'exit code: 1'\n```\n\n"
        "```text\nexit code: 1\n```\n"
    )
    (tmp_path / "howto").mkdir()
    (tmp_path / "howto" / "HOWTO_Tiny.md").write_text(doc)
    box = Sandbox(tmp_path, dict(os.environ))
    global HOWTO_DIR
    saved, HOWTO_DIR = HOWTO_DIR, tmp_path / "howto"
    try:
        with pytest.raises(AssertionError) as caught:
            box.run("HOWTO_Tiny.md")
    finally:
        HOWTO_DIR = saved
    message = str(caught.value)
    assert "the block at line 1 exited 1" in message and "after-false" in message  # carried on
    assert message.count("the block at line 6 exited 1") == 2  # `false` in f, then `f` itself
    assert "promised but missing" not in message  # the checks of outputs come after the exit codes

    # The pipe alone: exit 0 for the shell, so the promised "exit code: 1" is what fails it.
    (tmp_path / "howto" / "HOWTO_Pipe.md").write_text(doc[doc.index("```bash\n(echo") :])
    HOWTO_DIR = tmp_path / "howto"
    try:
        with pytest.raises(AssertionError) as caught:
            box.run("HOWTO_Pipe.md")
    finally:
        HOWTO_DIR = saved
    assert re.search(r"promised but missing ---\s+exit code: 1", str(caught.value))


def test_setup_local(sandbox: Sandbox) -> None:
    sandbox.run("HOWTO_Setup_Local.md")
    sandbox.setup_done = True


@pytest.mark.parametrize("name", LOCAL_HOWTOS[1:])
def test_howto(sandbox: Sandbox, name: str) -> None:
    sandbox.require_setup()
    sandbox.run(name)
