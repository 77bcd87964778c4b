"""`datasurface views reconcile|list`: the consumer views of a Yellow platform."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from datasurface.commands.common import EXIT_OK, EXIT_PROBLEM, echo_json, fail, json_option, model_option
from datasurface.model.lint import lint_ecosystem
from datasurface.model.loader import LoadedModel, ModelLoadError, load_model
from datasurface.platforms.yellow.connections import ConnectionFailedError, CredentialError, engine_for
from datasurface.platforms.yellow.platform import YellowDataPlatform
from datasurface.platforms.yellow.stream_context import StreamLookupError, resolve_model_dir, resolve_platform
from datasurface.platforms.yellow.view_reconcile import ViewOutcome, reconcile_views, views_exist
from datasurface.platforms.yellow.views import SinkViews, plan_sink_views


def load_clean_model(model_dir: str) -> LoadedModel:
    try:
        model = load_model(resolve_model_dir(model_dir))
    except ModelLoadError as exc:
        fail(str(exc))
    problems = lint_ecosystem(model.ecosystem, model.assignments)
    if problems.has_errors():
        fail(
            f"the model in {model.directory} does not lint ({len(problems.errors)} error(s), first: "
            f"{problems.errors[0]}); run `datasurface lint {model.directory}`"
        )
    return model


def _platform(model: LoadedModel, name: str) -> YellowDataPlatform:
    try:
        return resolve_platform(model, name)
    except StreamLookupError as exc:
        fail(str(exc))


@click.group("views")
def views_group() -> None:
    """Create, update and list the consumer views of a Yellow platform.

    Views live in one schema per platform and workspace in the platform's merge database;
    `views list --json` prints every fully qualified name.
    """


@views_group.command("reconcile")
@model_option
@click.option("--platform", required=True, help="The Yellow data platform's name.")
@click.option(
    "--pending-ok",
    is_flag=True,
    help="Exit 0 when views are only pending (their first batch hasn't committed yet); for schedulers.",
)
@json_option
def reconcile_command(model_dir: str, platform: str, pending_ok: bool, as_json: bool) -> None:
    """Create or update a live view (and, for forensic DSGs, a history view) for every sink of
    every DSG assigned to PLATFORM, and drop the views this platform made for sinks that are
    gone (each named, with the reason). Views others created are never touched.

    \b
    Exit codes:
      0  every view is up to date
      1  some views are pending (their merge table does not exist yet or lacks a new column:
         run the stream's job, then reconcile again) or failed; each is named. Every other
         view was still created or updated. With --pending-ok, pending views alone exit 0.
    Credentials: <NAME>_USER / <NAME>_PASSWORD of the platform's merge credential.
    """
    model = load_clean_model(model_dir)
    plat = _platform(model, platform)
    specs = [spec for sink in plan_sink_views(model.ecosystem, model.assignments, plat) for spec in sink.specs()]
    try:
        engine = engine_for(plat.merge_database, plat.merge_credential)
        try:
            outcomes = reconcile_views(engine, plat.name, specs)
        finally:
            engine.dispose()
    except CredentialError as exc:
        fail(f"Platform '{platform}': {exc}")
    except (SQLAlchemyError, ConnectionFailedError) as exc:
        fail(f"Platform '{platform}' / merge database '{plat.merge_database.name}': {str(exc).splitlines()[0]}")
    _report(platform, outcomes, as_json)
    tolerated = ("pending",) if pending_ok else ()
    sys.exit(EXIT_OK if all(o.ok or o.status in tolerated for o in outcomes) else EXIT_PROBLEM)


def _report(platform: str, outcomes: list[ViewOutcome], as_json: bool) -> None:
    pending = [o for o in outcomes if o.status == "pending"]
    failed = [o for o in outcomes if o.status == "failed"]
    dropped = [o for o in outcomes if o.status == "dropped"]
    if as_json:
        echo_json(
            {
                "platform": platform,
                "views": [o.to_json() for o in outcomes],
                "pending": [o.spec.qualified for o in pending],
                "failed": [o.spec.qualified for o in failed],
                "dropped": [o.spec.qualified for o in dropped],
            }
        )
        return
    for o in outcomes:
        click.echo(f"{o.status:<9} {o.spec.qualified}" + (f": {o.reason}" if o.reason else ""))
    click.echo(
        f"Platform '{platform}': {len(outcomes) - len(pending) - len(failed) - len(dropped)} view(s) up to date, "
        f"{len(pending)} pending, {len(failed)} failed, {len(dropped)} dropped",
        err=bool(pending or failed),
    )


@views_group.command("list")
@model_option
@click.option("--platform", default=None, help="Only this Yellow platform (default: every Yellow platform).")
@click.option("--no-db", is_flag=True, help="Don't connect to the merge databases; `exists` is null.")
@json_option
def list_command(model_dir: str, platform: str | None, no_db: bool, as_json: bool) -> None:
    """List, per workspace / DSG / store / dataset, the fully qualified live view and, for
    forensic DSGs, the history view.

    Whether each view exists is checked in the platform's merge database, logged in with the
    merge credential from the environment (5 s connect timeout). If that fails, `exists` is
    null and `databases.<platform>.reason` says why; the command still exits 0.
    """
    model = load_clean_model(model_dir)
    if platform is not None:
        platforms = [_platform(model, platform)]
    else:
        platforms = [p for p in model.ecosystem.platforms if isinstance(p, YellowDataPlatform)]
    entries: list[dict[str, Any]] = []
    databases: dict[str, dict[str, Any]] = {}
    for plat in platforms:
        sinks = plan_sink_views(model.ecosystem, model.assignments, plat)
        exists, databases[plat.name] = (
            ({}, {"checked": False, "reason": "--no-db"}) if no_db else _existing(plat, sinks)
        )
        entries += [_sink_json(sink, exists) for sink in sinks]
    if as_json:
        echo_json({"model": str(model.directory), "views": entries, "databases": databases})
        return
    for e in entries:
        click.echo(f"{e['platform']} / {e['workspace']} / {e['dsg']} / {e['store']} / {e['dataset']}:")
        for key in ("live_view", "history_view"):
            view = e[key]
            if view is not None:
                state = {True: "exists", False: "missing", None: "not checked"}[view["exists"]]
                click.echo(f"  {view['kind']:<8} {view['qualified']}  ({state})")


def _existing(plat: YellowDataPlatform, sinks: list[SinkViews]) -> tuple[dict[str, bool], dict[str, Any]]:
    names = [spec.qualified for sink in sinks for spec in sink.specs()]
    try:
        engine = engine_for(plat.merge_database, plat.merge_credential, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                return views_exist(conn, names), {"checked": True, "reason": ""}
        finally:
            engine.dispose()
    except (CredentialError, ConnectionFailedError, SQLAlchemyError) as exc:
        return {}, {"checked": False, "reason": str(exc).splitlines()[0]}


def _sink_json(sink: SinkViews, exists: dict[str, bool]) -> dict[str, Any]:
    def view(spec: Any) -> dict[str, Any] | None:
        return None if spec is None else {**spec.to_json(), "exists": exists.get(spec.qualified)}

    return {
        "platform": sink.platform,
        "workspace": sink.workspace,
        "dsg": sink.dsg,
        "store": sink.store,
        "dataset": sink.dataset,
        "stream": sink.stream,
        "milestoning": sink.milestoning.value,
        "merge_table": sink.merge_table,
        "live_view": view(sink.live),
        "history_view": view(sink.history),
    }
