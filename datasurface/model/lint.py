"""Lint: every rule a model must satisfy before it can be merged or deployed.

Each rule appends a Problem with severity, the object's path, a message and a hint saying
how to fix it. Rules walk the model once and use name indexes, so linting stays linear in
the size of the model (tens of thousands of datasets lint in a fraction of a second).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from datasurface.model.assignments import PlatformAssignments
from datasurface.model.containers import DataContainer, SQLDatabase
from datasurface.model.dataset import Dataset
from datasurface.model.datastore import Datastore
from datasurface.model.ecosystem import Ecosystem, StoreEntry
from datasurface.model.identifiers import (
    MAX_COLUMN_NAME_LENGTH,
    RESERVED_COLUMN_PREFIX,
    is_env_prefix,
    is_sql_identifier,
)
from datasurface.model.ingestion import SQLSnapshotIngestion
from datasurface.model.lifecycle import DeprecationStatus
from datasurface.model.lint_transformers import lint_transformer_platforms, lint_transformers
from datasurface.model.manifest.codec import check_values
from datasurface.model.problems import ProblemList, path_of
from datasurface.model.repository import Repository, repository_name_problem
from datasurface.model.schema import DDLColumn, Decimal
from datasurface.model.team import Team
from datasurface.model.triggers import CronTrigger
from datasurface.model.workspace import Workspace
from datasurface.model.zone import GovernanceZone


def lint_ecosystem(eco: Ecosystem, assignments: PlatformAssignments | None = None) -> ProblemList:
    """Run every rule over the ecosystem and (when given) its platform assignments."""
    problems = ProblemList()
    if not _lint_values(eco, assignments, problems):
        return problems
    _check_name(problems, path_of(("Ecosystem", eco.name)), "ecosystem", eco.name)
    _check_unique(problems, path_of(("Ecosystem", eco.name)), "platform", (p.name for p in eco.platforms))
    for platform in eco.platforms:
        _check_name(problems, path_of(("Platform", platform.name)), "platform", platform.name)
        platform.lint_platform(path_of(("Platform", platform.name)), problems)
    _lint_zones(eco, problems)
    _lint_global_uniqueness(eco, problems)
    _lint_repositories(eco, problems)
    stores = eco.stores()
    for zone in eco.zones:
        for team in zone.teams:
            for store in team.datastores:
                _lint_datastore(zone, team, store, problems)
            for ws in team.workspaces:
                _lint_workspace(zone, team, ws, stores, problems)
    lint_transformers(eco, problems)
    if assignments is not None:
        _lint_assignments(eco, assignments, problems)
        lint_transformer_platforms(eco, assignments, problems)
    return problems


def _lint_values(eco: Ecosystem, assignments: PlatformAssignments | None, problems: ProblemList) -> bool:
    """Every attribute has its declared type (and range): `VarChar("10")`, `VarChar(400.5)` or a
    string where a column type belongs is an error naming the object, never a traceback. The
    other rules assume well-typed objects, so they run only when no attribute has a wrong type."""
    issues = check_values(eco) if assignments is None else check_values(eco, assignments)
    for issue in issues:
        problems.error(
            issue.rule,
            issue.path,
            issue.message,
            "use the DSL's types, e.g. DDLColumn('email', VarChar(100)), VarChar(10), Decimal(12, 2)",
        )
    return not any(issue.wrong_type for issue in issues)


# -- zones and teams ---------------------------------------------------------------------------


def _lint_zones(eco: Ecosystem, problems: ProblemList) -> None:
    eco_path = path_of(("Ecosystem", eco.name))
    _check_unique(problems, eco_path, "governance zone declaration", (d.name for d in eco.zone_declarations))
    _check_unique(problems, eco_path, "governance zone", (z.name for z in eco.zones))
    declared = {d.name for d in eco.zone_declarations}
    for decl in eco.zone_declarations:
        _check_name(problems, path_of(("Zone", decl.name)), "zone", decl.name)
    for zone in eco.zones:
        zpath = path_of(("Zone", zone.name))
        if zone.name not in declared:
            problems.error(
                "zone-not-declared",
                zpath,
                "zone is defined but the ecosystem does not declare it",
                "ask the ecosystem's owners to add a GovernanceZoneDeclaration for it",
            )
        _check_unique(problems, zpath, "team declaration", (t.name for t in zone.team_declarations))
        _check_unique(problems, zpath, "team", (t.name for t in zone.teams))
        team_declared = {t.name for t in zone.team_declarations}
        for tdecl in zone.team_declarations:
            _check_name(problems, path_of(("Zone", zone.name), ("Team", tdecl.name)), "team", tdecl.name)
        for team in zone.teams:
            if team.name not in team_declared:
                problems.error(
                    "team-not-declared",
                    path_of(("Zone", zone.name), ("Team", team.name)),
                    "team is defined but its zone does not declare it",
                    f"add a TeamDeclaration for '{team.name}' to zone '{zone.name}'",
                )
            _lint_team_containers(zone, team, problems)


def _lint_global_uniqueness(eco: Ecosystem, problems: ProblemList) -> None:
    """Teams, datastores and workspaces are referenced by name alone, so names are unique
    across the whole ecosystem."""
    eco_path = path_of(("Ecosystem", eco.name))
    teams = [team for zone in eco.zones for team in zone.teams]
    _check_unique(problems, eco_path, "team", (t.name for t in teams))
    declaring: dict[str, list[str]] = {}
    for zone in eco.zones:
        for name in {d.name.lower() for d in zone.team_declarations}:
            declaring.setdefault(name, []).append(zone.name)
    for name, zones in declaring.items():
        if len(zones) > 1:
            problems.error(
                "team-declared-twice",
                eco_path,
                f"team '{name}' is declared by zones {' and '.join(repr(z) for z in zones)}; a team name is unique "
                "across the ecosystem (ownership is decided by team name)",
                "rename one of the teams",
            )
    _check_unique(problems, eco_path, "datastore", (s.name for t in teams for s in t.datastores))
    _check_unique(problems, eco_path, "workspace", (w.name for t in teams for w in t.workspaces))


def _lint_repositories(eco: Ecosystem, problems: ProblemList) -> None:
    """Owning repositories follow GitHub's naming rules (so no look-alike can match them) and
    declared file patterns stay inside the model folder."""
    eco_path = path_of(("Ecosystem", eco.name))
    repos: list[tuple[str, Repository | None]] = [(eco_path, eco.owning_repo), (eco_path, eco.live_repo)]
    patterns: list[tuple[str, list[str]]] = []
    for zdecl in eco.zone_declarations:
        where = path_of(("Ecosystem", eco.name), ("Zone", zdecl.name))
        repos.append((where, zdecl.owning_repo))
        patterns.append((where, zdecl.files))
    for zone in eco.zones:
        for tdecl in zone.team_declarations:
            where = path_of(("Zone", zone.name), ("Team", tdecl.name))
            repos.append((where, tdecl.owning_repo))
            patterns.append((where, tdecl.files))
    for where, repo in repos:
        if repo is None:
            continue
        problem = repository_name_problem(repo.full_name())
        if problem is not None:
            problems.error(
                "repository-name",
                where,
                f"repository '{repo.full_name()}' {problem}",
                "write the repository as GitHub spells it, OWNER/NAME in ASCII",
            )
        branch = repo.branch_name()
        if not branch or not branch.isprintable() or any(ch.isspace() for ch in branch):
            problems.error(
                "repository-branch",
                where,
                f"branch {branch!r} of repository '{repo.full_name()}' is empty or holds spaces or control characters",
                "name the branch exactly as git does, e.g. main",
            )
    for where, declared in patterns:
        for pattern in declared:
            parts = pattern.replace("\\", "/").split("/")
            if not pattern.strip() or pattern.startswith("/") or ".." in parts:
                problems.error(
                    "file-pattern",
                    where,
                    f"file pattern {pattern!r} must be a relative path inside the model folder",
                    "use a pattern like 'teams/sales/**' or 'teams/sales_*.py'",
                )


def _lint_team_containers(zone: GovernanceZone, team: Team, problems: ProblemList) -> None:
    tpath = path_of(("Team", team.name))
    used: list[tuple[str, DataContainer]] = [(tpath, c) for c in team.containers]
    for store in team.datastores:
        if isinstance(store.capture, SQLSnapshotIngestion):
            used.append((path_of(("Team", team.name), ("Datastore", store.name)), store.capture.source))
    for ws in team.workspaces:
        if ws.container is not None:
            used.append((path_of(("Team", team.name), ("Workspace", ws.name)), ws.container))
    for where, container in used:
        if not zone.policies.allows_container(container.name):
            problems.error(
                "container-not-allowed",
                where,
                f"uses data container '{container.name}' which zone '{zone.name}' does not allow",
                f"use an allowed container or ask zone '{zone.name}' to allow '{container.name}'",
            )


# -- producers ---------------------------------------------------------------------------------


def _lint_datastore(zone: GovernanceZone, team: Team, store: Datastore, problems: ProblemList) -> None:
    spath = path_of(("Team", team.name), ("Datastore", store.name))
    _check_name(problems, spath, "datastore", store.name)
    if not store.datasets:
        problems.warning("store-has-no-datasets", spath, "datastore declares no datasets", "add a Dataset")
    _check_unique(problems, spath, "dataset", (d.name for d in store.datasets))
    capture = store.capture
    if capture is None:
        problems.error(
            "store-has-no-capture",
            spath,
            "datastore has no capture metadata, so no platform can ingest it",
            "set capture=SQLSnapshotIngestion(...)",
        )
    elif isinstance(capture, SQLSnapshotIngestion):
        _lint_snapshot_ingestion(spath, store, capture, problems)
    for dataset in store.datasets:
        _lint_dataset(spath, dataset, problems)


def _lint_snapshot_ingestion(
    spath: str, store: Datastore, capture: SQLSnapshotIngestion, problems: ProblemList
) -> None:
    if not is_env_prefix(capture.credential.name):
        problems.error(
            "credential-name",
            spath,
            f"credential name '{capture.credential.name}' is not a legal environment-variable prefix",
            "use letters, digits and underscores, starting with a letter or underscore",
        )
    if isinstance(capture.trigger, CronTrigger):
        _check_cron(problems, spath, capture.trigger.cron)
    for dataset_name in capture.table_names:
        if store.dataset(dataset_name) is None:
            problems.error(
                "table-map-unknown-dataset",
                spath,
                f"table_names maps dataset '{dataset_name}' which the store does not declare",
                "remove the entry or fix the dataset name",
            )
    rules = capture.source.identifier_rules() if isinstance(capture.source, SQLDatabase) else None
    if rules is not None:
        for dataset in store.datasets:
            table = capture.source_table(dataset.name)
            # Source tables may be schema-qualified: check each part.
            if not all(rules.is_legal(part) for part in table.split(".")):
                problems.error(
                    "source-table-name",
                    f"{spath} / Dataset '{dataset.name}'",
                    f"source table '{table}' is not a legal identifier for {capture.source.kind()} "
                    f"(at most {rules.max_length} characters)",
                    "map the dataset to the real table name with table_names",
                )


def _lint_dataset(spath: str, dataset: Dataset, problems: ProblemList) -> None:
    dpath = f"{spath} / Dataset '{dataset.name}'"
    _check_name(problems, dpath, "dataset", dataset.name)
    schema = dataset.schema
    if not schema.columns:
        problems.error("dataset-has-no-columns", dpath, "dataset schema has no columns", "add DDLColumns")
    _check_unique(problems, dpath, "column", (c.name for c in schema.columns))
    by_name = {}
    for col in schema.columns:
        by_name[col.name] = col
        name = col.name
        if not is_sql_identifier(name) or len(name) > MAX_COLUMN_NAME_LENGTH:
            problems.error(
                "illegal-name",
                f"{dpath} / Column '{name}'",
                f"column name '{name}' is not a legal SQL identifier of at most {MAX_COLUMN_NAME_LENGTH} characters",
                "use letters, digits and underscores, starting with a letter or underscore",
            )
        elif name.lower().startswith(RESERVED_COLUMN_PREFIX):
            problems.error(
                "reserved-column-name",
                f"{dpath} / Column '{name}'",
                f"column names starting with '{RESERVED_COLUMN_PREFIX}' are reserved for the platform",
                "rename the column",
            )
        ctype = col.type
        if col.allow_lossy:
            _lint_lossy(f"{dpath} / Column '{name}'", col, name in schema.primary_key, problems)
        # Lengths, precision and scale each have a range (checked with every attribute's type);
        # only the relation between two of them is a rule of its own.
        if isinstance(ctype, Decimal) and ctype.scale > ctype.precision:
            problems.error(
                "bad-type",
                f"{dpath} / Column '{name}'",
                f"{ctype.sql()} needs 0 < precision and 0 <= scale <= precision",
                "fix precision and scale",
            )
    if not schema.primary_key:
        problems.error(
            "no-primary-key",
            dpath,
            "dataset has no primary key; snapshot merges match rows by key",
            "set primary_key=[...] on its DDLTable",
        )
    for key in schema.primary_key:
        pk_col = by_name.get(key)
        if pk_col is None:
            problems.error(
                "primary-key-column-missing",
                dpath,
                f"primary key column '{key}' is not a column of the dataset",
                "add the column or fix the primary key",
            )
        elif pk_col.nullable:
            problems.error(
                "primary-key-nullable",
                f"{dpath} / Column '{key}'",
                "primary key column is nullable",
                "declare it with nullable=False",
            )
    _check_unique(problems, dpath, "primary key column", schema.primary_key)


def _lint_lossy(cpath: str, col: DDLColumn, is_key: bool, problems: ProblemList) -> None:
    """`allow_lossy` explained: by default a source value that doesn't fit the column's type
    exactly fails its batch; with the option the platform converts it (truncates, rounds,
    drops a time zone) and history keeps the converted value as if the source had held it."""
    if is_key:
        problems.error(
            "lossy-primary-key",
            cpath,
            "allow_lossy=True on a primary key column: two source keys could convert to the same value "
            "and be merged as one row",
            "remove allow_lossy from the key column, or give it a type that holds the source's keys",
        )
        return
    problems.warning(
        "lossy-column",
        cpath,
        f"allow_lossy=True: source values that don't fit {col.type.sql()} are converted (strings truncated, "
        "numbers rounded, time zones dropped) instead of failing the batch; live tables and forensic history "
        "then hold values the source never had",
        "remove allow_lossy to have such values fail the batch (naming the column and a key), "
        "or widen the column's type",
    )


# -- consumers ---------------------------------------------------------------------------------


def _lint_workspace(
    zone: GovernanceZone, team: Team, ws: Workspace, stores: dict[str, StoreEntry], problems: ProblemList
) -> None:
    wpath = path_of(("Team", team.name), ("Workspace", ws.name))
    _check_name(problems, wpath, "workspace", ws.name)
    if ws.container is None:
        problems.error(
            "workspace-has-no-container",
            wpath,
            "workspace has no data container",
            "set container=DataPlatformManagedDataContainer(...) to let the platform place it",
        )
    if not ws.dsgs:
        problems.warning("workspace-has-no-dsgs", wpath, "workspace declares no dataset groups", "add a DatasetGroup")
    _check_unique(problems, wpath, "dataset group", (g.name for g in ws.dsgs))
    for dsg in ws.dsgs:
        gpath = f"{wpath} / DSG '{dsg.name}'"
        _check_name(problems, gpath, "dataset group", dsg.name)
        if not dsg.sinks:
            problems.error("dsg-has-no-sinks", gpath, "dataset group has no sinks", "add a DatasetSink")
        _check_unique(problems, gpath, "sink", (f"{s.store}.{s.dataset}" for s in dsg.sinks))
        for sink in dsg.sinks:
            spath = f"{gpath} / Sink '{sink.store}.{sink.dataset}'"
            entry = stores.get(sink.store)
            if entry is None:
                problems.error(
                    "sink-unknown-store", spath, f"datastore '{sink.store}' does not exist", "fix the store name"
                )
                continue
            store = entry.store
            dataset = store.dataset(sink.dataset)
            if dataset is None:
                problems.error(
                    "sink-unknown-dataset",
                    spath,
                    f"datastore '{sink.store}' has no dataset '{sink.dataset}'",
                    "fix the dataset name",
                )
                continue
            deprecated = (
                dataset.deprecation is DeprecationStatus.DEPRECATED or store.deprecation is DeprecationStatus.DEPRECATED
            )
            if deprecated and not sink.allow_deprecated:
                # A warning, not an error: the producer must be able to deprecate first and
                # tell consumers; removal stays blocked while any sink uses the dataset.
                problems.warning(
                    "deprecated-dataset-used",
                    spath,
                    "dataset is deprecated and the sink does not allow deprecated datasets",
                    "move off the dataset, or set allow_deprecated=True on the sink while you do",
                )


def _lint_assignments(eco: Ecosystem, assignments: PlatformAssignments, problems: ProblemList) -> None:
    workspaces = eco.workspaces()
    seen: Counter[tuple[str, str, str]] = Counter(a.key() for a in assignments.assignments)
    for key, count in seen.items():
        if count > 1:
            problems.error(
                "duplicate-assignment",
                path_of(("Assignment", "/".join(key))),
                f"assignment appears {count} times in dsg_platform_mapping.json",
                "keep one entry per workspace, DSG and platform",
            )
    for a in assignments.assignments:
        apath = path_of(("Assignment", f"{a.workspace}/{a.dsg}/{a.platform}"))
        entry = workspaces.get(a.workspace)
        platform = eco.platform(a.platform)
        if entry is None:
            problems.error(
                "assignment-unknown-workspace",
                apath,
                f"workspace '{a.workspace}' does not exist",
                "fix the workspace name in dsg_platform_mapping.json or remove the entry",
            )
            continue
        dsg = entry.workspace.dsg(a.dsg)
        if dsg is None:
            problems.error(
                "assignment-unknown-dsg",
                apath,
                f"workspace '{a.workspace}' has no dataset group '{a.dsg}'",
                "fix the DSG name in dsg_platform_mapping.json or remove the entry",
            )
            continue
        if platform is None:
            problems.error(
                "assignment-unknown-platform",
                apath,
                f"data platform '{a.platform}' does not exist",
                "add the platform to the ecosystem or fix the name",
            )
            continue
        if not entry.zone.policies.allows_platform(a.platform):
            problems.error(
                "platform-not-allowed",
                apath,
                f"zone '{entry.zone.name}' does not allow data platform '{a.platform}' for team '{entry.team.name}'",
                f"assign an allowed platform or ask zone '{entry.zone.name}' to allow it",
            )
        if a.is_active():
            platform.lint_assignment(entry.workspace, dsg, apath, problems)


# -- shared checks -----------------------------------------------------------------------------


def _check_name(problems: ProblemList, path: str, what: str, name: str) -> None:
    if not is_sql_identifier(name):
        problems.error(
            "illegal-name",
            path,
            f"{what} name '{name}' is not a legal SQL identifier",
            "use letters, digits and underscores, starting with a letter or underscore",
        )


def _check_unique(problems: ProblemList, path: str, what: str, names: Iterable[str]) -> None:
    """Names are unique ignoring case: they become SQL identifiers, which fold case."""
    spellings: dict[str, list[str]] = {}
    for name in names:
        spellings.setdefault(name.lower(), []).append(name)
    for found in spellings.values():
        if len(found) > 1:
            shown = " and ".join(sorted(set(found), key=found.index))
            problems.error(
                f"duplicate-{what.replace(' ', '-')}",
                path,
                f"{what} '{found[0]}' is defined {len(found)} times"
                + (f" ({shown}: names are compared ignoring case)" if len(set(found)) > 1 else ""),
                f"give each {what} a unique name",
            )


def _check_cron(problems: ProblemList, path: str, cron: str) -> None:
    # Imported here: every `job run` lints its model, and a model without a cron trigger
    # need not pay for croniter and dateutil (8 ms of a 0.25 s start-up).
    from croniter import croniter

    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        problems.error(
            "invalid-cron",
            path,
            f"cron expression '{cron}' is not a valid five-field cron string",
            "use minute hour day-of-month month day-of-week, e.g. '*/5 * * * *'",
        )
