"""The `datasurface` command. Each subcommand lives in its own module under `commands/`.

Exit codes everywhere: 0 success, 1 a problem found or an error (with a message naming the
object), 2 a usage error. `job run` adds 75 (KEEP_WORKING). User errors never print a
traceback.

Subcommands are imported only when they run: a job pod should not pay for Faker (the
simulator) or Kubernetes rendering in start-up time and memory.
"""

from __future__ import annotations

import sys

import click

from datasurface import __version__
from datasurface.commands.common import UserError
from datasurface.commands.lazy import LazyGroup
from datasurface.errors import DataSurfaceError

#: command name -> "module:attribute" of its click command.
SUBCOMMANDS: dict[str, str] = {
    "lint": "datasurface.commands.lint:lint_command",
    "compile": "datasurface.commands.compile:compile_command",
    "check-change": "datasurface.commands.check_change:check_change_command",
    "graph": "datasurface.commands.graph:graph_command",
    "job": "datasurface.commands.job:job_group",
    "transformer": "datasurface.commands.transformer:transformer_group",
    "views": "datasurface.commands.views:views_group",
    "merge-handler": "datasurface.commands.merge_handler:merge_handler_command",
    "bootstrap": "datasurface.commands.bootstrap:bootstrap_command",
    "simulate": "datasurface.commands.simulate:simulate_command",
}


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="datasurface")
def cli() -> None:
    """DataSurface: data-ecosystem-as-code.

    Producers declare datastores, consumers declare workspaces, a central team assigns data
    platforms; these commands check models and build and run the pipelines.
    """


def main(argv: list[str] | None = None) -> None:
    """Run the command; the one place a `DataSurfaceError` becomes an `error:` line and exit code."""
    try:
        cli.main(args=argv, prog_name="datasurface", standalone_mode=True)
    except UserError as exc:  # raised outside click's own handling (should be rare)
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except DataSurfaceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
