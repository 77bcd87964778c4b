"""`datasurface bootstrap --ring 0|1`: stand a Yellow sandbox up in two steps.

Ring 0 renders the Kubernetes manifests (no cluster, no database, no secret values);
ring 1 creates the merge database and tables and runs the first merge handler.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from datasurface.commands.common import EXIT_OK, EXIT_PROBLEM, echo_json, fail, json_option, load_or_fail
from datasurface.platforms.yellow.bootstrap import BootstrapError, build_settings, run_ring1, write_ring0
from datasurface.platforms.yellow.bootstrap.settings import (
    DEFAULT_AIRFLOW_IMAGE,
    DEFAULT_MODELS_ACCESS_MODE,
    read_env_file,
)


@click.command("bootstrap")
@click.option("--ring", type=click.IntRange(0, 1), required=True, help="0: render manifests; 1: databases and tables.")
@click.option(
    "--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False), help="The model folder."
)
@click.option("--platform", "platforms", multiple=True, help="A Yellow platform (repeatable; default: all of them).")
@click.option("--out", type=click.Path(file_okay=False), help="Ring 0: folder for the manifests (created).")
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Ring 0: KEY=VALUE file whose non-secret DATASURFACE_* settings go into the settings ConfigMap.",
)
@click.option("--airflow-image", default=DEFAULT_AIRFLOW_IMAGE, show_default=True, help="Ring 0: the Airflow image.")
@click.option(
    "--models-access-mode",
    type=click.Choice(["ReadWriteOnce", "ReadWriteMany"]),
    default=DEFAULT_MODELS_ACCESS_MODE,
    show_default=True,
    help="Ring 0: access mode of the models volume (ReadWriteMany for multi-node clusters).",
)
@click.option(
    "--simulator-rate", type=click.FloatRange(min=0), default=2.0, show_default=True, help="Ring 0: changes/second."
)
@click.option(
    "--resources",
    "resource_profile",
    type=click.Choice(["standard", "low"]),
    default="standard",
    show_default=True,
    help="Ring 0: resource profile; `low` for an 8 GB laptop (parallelism 3, smaller limits).",
)
@click.option("--repo", envvar="DATASURFACE_MODEL_REPO", help="Ring 1: model git repository for the merge handler.")
@click.option("--branch", envvar="DATASURFACE_MODEL_BRANCH", default="main", show_default=True, help="Ring 1: branch.")
@click.option(
    "--models-dir", envvar="DATASURFACE_MODELS_DIR", type=click.Path(file_okay=False), help="Ring 1: models folder."
)
@click.option(
    "--seed-from",
    type=click.Path(exists=True, file_okay=False),
    help="Ring 1: first commit this folder's files into --repo (a local path; created if missing).",
)
@json_option
def bootstrap_command(
    ring: int,
    model_dir: str,
    platforms: tuple[str, ...],
    out: str | None,
    env_file: str | None,
    airflow_image: str,
    models_access_mode: str,
    simulator_rate: float,
    resource_profile: str,
    repo: str | None,
    branch: str,
    models_dir: str | None,
    seed_from: str | None,
    as_json: bool,
) -> None:
    """Bootstrap Yellow platforms of the model in ring levels.

    \b
    --ring 0 --out DIR   write the sandbox's Kubernetes manifests and create-secrets.sh
                         (needs neither a cluster nor a database; no secret values)
    --ring 1             create each platform's merge database if missing, its batch-metadata
                         and DAG-config tables, then (with --repo and --models-dir) run the
                         merge handler. Idempotent. Credentials from <NAME>_USER/_PASSWORD.
    Exit codes: 0 done; 1 an error naming the platform or object; 2 usage error.
    """
    model = load_or_fail(model_dir)
    try:
        if ring == 0:
            if not out:
                raise click.UsageError("--ring 0 needs --out DIR")
            settings = build_settings(
                model.ecosystem,
                Path(model_dir),
                platforms,
                read_env_file(Path(env_file)) if env_file else None,
                airflow_image=airflow_image,
                models_access_mode=models_access_mode,
                simulator_rate=simulator_rate,
                resource_profile=resource_profile,
            )
            written = write_ring0(settings, Path(out))
            if as_json:
                echo_json({"ring": 0, "namespace": settings.namespace, "files": [str(p) for p in written]})
            else:
                for path in written:
                    click.echo(str(path))
            return
        result = run_ring1(
            model.ecosystem,
            platforms,
            os.environ,
            repo=repo,
            branch=branch,
            models_dir=models_dir,
            seed_from=Path(seed_from) if seed_from else None,
            progress=lambda line: click.echo(line, err=True),
        )
    except BootstrapError as exc:
        fail(str(exc))
    if as_json:
        echo_json({"ring": 1, **result.to_json()})
    else:
        click.echo(
            f"ring 1 done: platforms {', '.join(result.platforms)}; databases created: "
            f"{', '.join(result.databases_created) or 'none'}"
        )
    sys.exit(EXIT_OK if result.ok else EXIT_PROBLEM)
