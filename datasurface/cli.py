"""The `datasurface` command. Each subcommand lives in its own module under `commands/`.

Exit codes everywhere: 0 success, 1 a problem found or an error (with a message naming the
object), 2 a usage error. `job run` adds 75 (KEEP_WORKING). User errors never print a
traceback.
"""

from __future__ import annotations

import sys

import click

from datasurface import __version__
from datasurface.commands.check_change import check_change_command
from datasurface.commands.common import UserError
from datasurface.commands.graph import graph_command
from datasurface.commands.job import job_group
from datasurface.commands.lint import lint_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="datasurface")
def cli() -> None:
    """DataSurface: data-ecosystem-as-code.

    Producers declare datastores, consumers declare workspaces, a central team assigns data
    platforms; these commands check models and build and run the pipelines.
    """


cli.add_command(lint_command)
cli.add_command(check_change_command)
cli.add_command(graph_command)
cli.add_command(job_group)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="datasurface", standalone_mode=True)
    except UserError as exc:  # raised outside click's own handling (should be rare)
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
