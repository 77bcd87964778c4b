"""`datasurface compile MODEL_DIR [--out FILE]`: run eco.py once, confined; write model.json.

The compiled model is what production runs: the merge handler deploys it next to the model
folder and every consumer (lint, graph, views, the DAG factory, jobs, transformers) loads it
instead of executing `eco.py` again. See howto/HOWTO_Governance.md, "Threat model".
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from datasurface.commands.common import EXIT_OK, EXIT_PROBLEM, echo_json, fail, json_option
from datasurface.commands.isolated_load import compile_isolated
from datasurface.model.manifest.document import dumps, write_manifest
from datasurface.sandboxing import DEFAULT_TIMEOUT_SECONDS, is_secret_name

timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.5, max=3600),
    default=DEFAULT_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds the model may take to build before it is stopped.",
)


@click.command("compile")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False), required=False)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Where to write the JSON.")
@click.option(
    "--env",
    "env_names",
    multiple=True,
    metavar="NAME",
    help="Pass this environment variable to eco.py (repeatable; names that look like credentials are refused).",
)
@click.option("--schema", is_flag=True, help="Print the JSON Schema of compiled models and exit.")
@timeout_option
@json_option
def compile_command(
    model_dir: str | None, out: str | None, env_names: tuple[str, ...], schema: bool, timeout: float, as_json: bool
) -> None:
    """Compile the model in MODEL_DIR into a compiled model (default: MODEL_DIR/model.json).

    eco.py runs in a confined child (minimal environment, resource limits, the timeout, a
    scratch folder, no network and a read-only file system where the machine allows); its
    output is validated strictly and rebuilt before anything is written. Prints the content
    hash and which confinement was in force. Exit 0 compiled, 1 the model is invalid.
    """
    if schema:
        from datasurface.model.manifest.validation import json_schema

        click.echo(json.dumps(json_schema(), indent=2))
        sys.exit(EXIT_OK)
    if model_dir is None:
        fail("give the MODEL_DIR to compile (or --schema)")
    refused = [n for n in env_names if is_secret_name(n)]
    if refused:
        fail(f"--env {', '.join(refused)}: looks like a credential; credentials are never passed to model code")
    passed = {n: os.environ[n] for n in env_names if n in os.environ}
    outcome = compile_isolated(model_dir, timeout=timeout, env=passed)
    if outcome.document is None:
        if as_json:
            echo_json(
                {
                    "compiled": False,
                    "confinement": outcome.confinement.value,
                    "error": outcome.error,
                    "problems": [{"path": p.path, "rule": p.rule, "message": p.message} for p in outcome.problems],
                }
            )
        else:
            for p in outcome.problems:
                click.echo(f"ERROR [{p.rule}] {p.path}: {p.message}")
            click.echo(f"confinement: {outcome.confinement.describe()}", err=True)
        fail(outcome.error or f"{model_dir}: {len(outcome.problems)} attribute(s) have the wrong type or range")
    target = Path(out) if out else Path(model_dir) / "model.json"
    write_manifest(target, outcome.document)
    digest = str(outcome.document["sha256"])
    if as_json:
        echo_json(
            {
                "compiled": True,
                "out": str(target),
                "sha256": digest,
                "bytes": len(dumps(outcome.document)),
                "confinement": outcome.confinement.value,
                "seconds": round(outcome.elapsed_seconds, 3),
            }
        )
    else:
        click.echo(f"compiled {model_dir} -> {target} (sha256 {digest})")
        click.echo(f"confinement: {outcome.confinement.describe()}")
    sys.exit(EXIT_OK if outcome.model is not None else EXIT_PROBLEM)
