"""Lint rules for DataTransformers: workspace code that produces a new datastore.

Kept apart from `lint.py` because they look across workspaces and stores (ownership of the
output store, cycles between transformers) rather than at one object at a time.
"""

from __future__ import annotations

import re

from datasurface.model.assignments import PlatformAssignments
from datasurface.model.ecosystem import Ecosystem, StoreEntry, WorkspaceEntry
from datasurface.model.ingestion import DataTransformerOutput
from datasurface.model.problems import ProblemList, path_of
from datasurface.model.transformer import CodeReference

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def lint_transformers(eco: Ecosystem, problems: ProblemList) -> None:
    stores = eco.stores()
    workspaces = eco.workspaces()
    for entry in workspaces.values():
        _lint_one(entry, stores, problems)
    _lint_orphan_outputs(stores, workspaces, problems)
    _lint_cycles(stores, workspaces, problems)


def _wpath(entry: WorkspaceEntry) -> str:
    return path_of(("Team", entry.team.name), ("Workspace", entry.workspace.name))


def _lint_one(entry: WorkspaceEntry, stores: dict[str, StoreEntry], problems: ProblemList) -> None:
    transformer = entry.workspace.transformer
    if transformer is None:
        return
    tpath = f"{_wpath(entry)} / DataTransformer"
    _lint_code(tpath, transformer.code, problems)
    output = stores.get(transformer.output_store)
    if output is None:
        problems.error(
            "transformer-output-unknown",
            tpath,
            f"output datastore '{transformer.output_store}' does not exist",
            f"add Datastore '{transformer.output_store}' to team '{entry.team.name}'",
        )
        return
    if output.team is not entry.team:
        problems.error(
            "transformer-output-other-team",
            tpath,
            f"output datastore '{output.store.name}' belongs to team '{output.team.name}', "
            f"not to the workspace's team '{entry.team.name}'",
            "a transformer may only write a datastore of its own team",
        )
    capture = output.store.capture
    if not isinstance(capture, DataTransformerOutput) or capture.workspace != entry.workspace.name:
        problems.error(
            "transformer-output-capture",
            path_of(("Team", output.team.name), ("Datastore", output.store.name)),
            f"datastore is the output of workspace '{entry.workspace.name}''s transformer but its capture "
            "metadata does not say so",
            f"set capture=DataTransformerOutput(workspace='{entry.workspace.name}')",
        )


def _lint_code(tpath: str, code: CodeReference, problems: ProblemList) -> None:
    bad: list[str] = []
    if not _DOTTED.fullmatch(code.module):
        bad.append(f"module '{code.module}' is not a dotted Python module name")
    if not _IDENTIFIER.fullmatch(code.callable):
        bad.append(f"callable '{code.callable}' is not a Python identifier")
    if not code.version.strip():
        bad.append("version is empty")
    parts = code.folder.replace("\\", "/").split("/")
    if code.folder.startswith("/") or ".." in parts:
        bad.append(f"folder '{code.folder}' must be a relative path inside the model")
    elif [p for p in parts if p not in ("", ".")] == [] and code.module.split(".")[0] == "eco":
        # eco.py is judged by the objects it builds, not as code: as transformer code, any
        # repository could change what runs by editing it without changing an object.
        bad.append("module 'eco' is the model definition (eco.py), not transformer code")
    for message in bad:
        problems.error(
            "transformer-code-reference",
            tpath,
            message,
            "use CodeReference(module='pkg.mod', callable='fn', version='1.0', folder='transformers')",
        )


def _lint_orphan_outputs(
    stores: dict[str, StoreEntry], workspaces: dict[str, WorkspaceEntry], problems: ProblemList
) -> None:
    for entry in stores.values():
        capture = entry.store.capture
        if not isinstance(capture, DataTransformerOutput):
            continue
        ws = workspaces.get(capture.workspace)
        transformer = ws.workspace.transformer if ws else None
        if transformer is None or transformer.output_store != entry.store.name:
            problems.error(
                "transformer-output-orphan",
                path_of(("Team", entry.team.name), ("Datastore", entry.store.name)),
                f"datastore says it is written by workspace '{capture.workspace}''s transformer, "
                "but that workspace has no transformer writing it",
                "add the DataTransformer to the workspace or change the store's capture metadata",
            )


def _lint_cycles(stores: dict[str, StoreEntry], workspaces: dict[str, WorkspaceEntry], problems: ProblemList) -> None:
    """A transformer's output must never feed, directly or through other transformers, its
    own inputs: the pipelines would trigger each other forever."""
    # Edge: input store -> output store, for every transformer.
    edges: dict[str, set[str]] = {}
    for entry in workspaces.values():
        transformer = entry.workspace.transformer
        if transformer is None or transformer.output_store not in stores:
            continue
        for dsg in entry.workspace.dsgs:
            for sink in dsg.sinks:
                edges.setdefault(sink.store, set()).add(transformer.output_store)
    reported: set[frozenset[str]] = set()
    for start in sorted(edges):
        cycle = _find_cycle(start, edges)
        if cycle and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            problems.error(
                "transformer-cycle",
                path_of(("Datastore", cycle[0])),
                "transformers form a cycle: " + " -> ".join([*cycle, cycle[0]]),
                "break the cycle: a transformer may not consume, even indirectly, its own output",
            )


def _find_cycle(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, trail = stack.pop()
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                return trail
            if nxt not in trail:
                stack.append((nxt, [*trail, nxt]))
    return None


def lint_transformer_platforms(eco: Ecosystem, assignments: PlatformAssignments, problems: ProblemList) -> None:
    """A transformer runs on each platform that ingests its output store, reading its
    workspace's views *on that platform* and writing that platform's output tables. So every
    active assignment of a DSG sinking a transformer output needs the transformer's workspace
    to be served on the same platform too; otherwise the output stream would wait forever."""
    stores = eco.stores()
    workspaces = eco.workspaces()
    served: set[tuple[str, str]] = {(a.workspace, a.platform) for a in assignments.assignments if a.is_active()}
    for a in assignments.assignments:
        entry = workspaces.get(a.workspace)
        dsg = entry.workspace.dsg(a.dsg) if entry and a.is_active() else None
        if dsg is None:
            continue  # unknown names and decommissioned entries are _lint_assignments' business
        for store_name in sorted({sink.store for sink in dsg.sinks}):
            store = stores.get(store_name)
            capture = store.store.capture if store else None
            if not isinstance(capture, DataTransformerOutput) or (capture.workspace, a.platform) in served:
                continue
            problems.error(
                "transformer-output-platform",
                path_of(("Assignment", f"{a.workspace}/{a.dsg}/{a.platform}")),
                f"DSG '{a.dsg}' reads datastore '{store_name}', the output of workspace '{capture.workspace}''s "
                f"transformer, but platform '{a.platform}' serves no DSG of workspace '{capture.workspace}', "
                "so the transformer can't run there",
                f"also assign a DSG of workspace '{capture.workspace}' to platform '{a.platform}', "
                f"or assign DSG '{a.dsg}' to a platform that serves it",
            )
