"""`datasurface lint MODEL_DIR`: load a model and report every problem."""

from __future__ import annotations

import sys

import click

from datasurface.commands.common import EXIT_OK, EXIT_PROBLEM, echo_json, json_option, load_or_fail
from datasurface.model.lint import lint_ecosystem


@click.command("lint")
@click.argument("model_dir", type=click.Path(file_okay=False))
@json_option
def lint_command(model_dir: str, as_json: bool) -> None:
    """Check the model in MODEL_DIR (eco.py + dsg_platform_mapping.json).

    Exits 0 when the model is clean or has warnings only, 1 when it has errors (each printed
    with the object's path and how to fix it), 2 on usage errors.
    """
    loaded = load_or_fail(model_dir)
    problems = lint_ecosystem(loaded.ecosystem, loaded.assignments)
    if as_json:
        echo_json(
            {
                "model": str(loaded.directory),
                "ecosystem": loaded.ecosystem.name,
                "errors": len(problems.errors),
                "warnings": len(problems.warnings),
                "problems": [p.to_json() for p in problems.items],
            }
        )
    else:
        for problem in problems.items:
            click.echo(str(problem))
        click.echo(
            f"{loaded.ecosystem.name}: {len(problems.errors)} error(s), {len(problems.warnings)} warning(s)",
            err=bool(problems.items),
        )
    sys.exit(EXIT_PROBLEM if problems.has_errors() else EXIT_OK)
