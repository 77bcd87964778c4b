"""What every subcommand shares: user errors, JSON output and the model loading step."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import click

from datasurface.model.loader import LoadedModel, ModelLoadError, load_model

#: Exit codes (see ARCHITECTURE.md, "Contracts").
EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_KEEP_WORKING = 75


class UserError(click.ClickException):
    """A problem the user can fix: printed as one line, exit code 1, no traceback."""

    exit_code = EXIT_PROBLEM

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def fail(message: str) -> NoReturn:
    raise UserError(message)


def load_or_fail(model_dir: str) -> LoadedModel:
    try:
        return load_model(model_dir)
    except ModelLoadError as exc:
        fail(str(exc))


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")

model_option = click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="A model folder, or a models folder (its newest model-<seconds> folder is used).",
)
