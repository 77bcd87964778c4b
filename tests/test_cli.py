"""The `datasurface` command as a whole: every subcommand loads and explains itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from datasurface.cli import SUBCOMMANDS, cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "datasurface.cli", *args], capture_output=True, text=True, check=False)


def test_top_level_help_lists_every_subcommand() -> None:
    result = run("--help")
    assert result.returncode == 0
    for name in SUBCOMMANDS:
        assert f"  {name} " in result.stdout


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_loads_and_has_help(name: str) -> None:
    command = cli.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None and command.name == name
    result = run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) > 3


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2 and "No such command 'frobnicate'" in result.stderr
