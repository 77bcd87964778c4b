"""Run a workspace's DataTransformer on one Yellow platform.

The transformer's code reads the workspace's live views on the platform and writes the
output datastore's tables, all in ONE transaction: the output tables are emptied and
refilled, so a failing transformer rolls back and leaves the previous output in place. The
output store is then ingested like any snapshot store whose source is the merge database
(`stream_context` maps it), into live or forensic tables according to its assignments.

Transformer code is a callable `fn(ctx: TransformerContext) -> None` in a module under the
model folder (`CodeReference.folder`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from datasurface.errors import DataSurfaceError
from datasurface.model.ecosystem import Ecosystem, WorkspaceEntry
from datasurface.model.ingestion import DataTransformerOutput
from datasurface.model.loader import LoadedModel
from datasurface.model.transformer import DataTransformer

from .batch_metadata import stream_lock_key
from .naming import physical_name, quote_ident
from .pgconn import AnyConnection, AnyEngine, text
from .platform import YellowDataPlatform
from .projection import ensure_plain_table
from .views import plan_sink_views

log = logging.getLogger("datasurface.transformer")


class TransformerError(DataSurfaceError):
    """The transformer could not run or its code failed; nothing was written."""


def output_table(platform: str, store: str, dataset: str) -> str:
    """Where a transformer writes one dataset of its output store, in the merge database."""
    return physical_name(platform, store, dataset, "xout")


@dataclass(slots=True)
class TransformerContext:
    """What transformer code gets: a connection inside the output transaction and the names
    of its inputs (the workspace's live views) and outputs (tables to fill)."""

    connection: AnyConnection
    inputs: dict[tuple[str, str], str]
    outputs: dict[str, str]
    batch_time: dt.datetime
    code_version: str

    def input(self, store: str, dataset: str) -> str:
        """The quoted, schema-qualified live view of `store.dataset`: safe to put in SQL."""
        try:
            return self.inputs[(store, dataset)]
        except KeyError:
            known = ", ".join(f"{s}.{d}" for s, d in sorted(self.inputs)) or "none"
            raise TransformerError(f"no input {store}.{dataset} in this workspace (inputs: {known})") from None

    def output(self, dataset: str) -> str:
        """The quoted output table of `dataset`: safe to put in SQL."""
        try:
            return self.outputs[dataset]
        except KeyError:
            known = ", ".join(sorted(self.outputs)) or "none"
            raise TransformerError(f"no output dataset {dataset} (outputs: {known})") from None


@dataclass(slots=True)
class TransformerResult:
    workspace: str
    platform: str
    output_store: str
    code_version: str
    rows_written: dict[str, int] = field(default_factory=dict)


def transformer_of(eco: Ecosystem, workspace: str) -> tuple[WorkspaceEntry, DataTransformer]:
    entry = eco.workspaces().get(workspace)
    if entry is None:
        raise TransformerError(f"Workspace '{workspace}' is not in the model")
    if entry.workspace.transformer is None:
        raise TransformerError(f"Workspace '{workspace}' has no DataTransformer")
    return entry, entry.workspace.transformer


class TransformerJob:
    def __init__(
        self,
        model: LoadedModel,
        platform: YellowDataPlatform,
        workspace: str,
        merge_engine: AnyEngine,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.model = model
        self.platform = platform
        self.entry, self.transformer = transformer_of(model.ecosystem, workspace)
        self.merge_engine = merge_engine
        self.clock = clock
        self.where = f"Platform '{platform.name}' / Workspace '{workspace}' / DataTransformer"

    def _inputs(self) -> dict[tuple[str, str], str]:
        """The workspace's live views on this platform, by (store, dataset)."""
        views = plan_sink_views(self.model.ecosystem, self.model.assignments, self.platform)
        return {(sv.store, sv.dataset): sv.live.sql_name for sv in views if sv.workspace == self.entry.workspace.name}

    def run(self) -> TransformerResult:
        store = self.model.ecosystem.datastore(self.transformer.output_store)
        if store is None or not isinstance(store.capture, DataTransformerOutput):
            raise TransformerError(
                f"{self.where}: output store '{self.transformer.output_store}' is not a transformer output"
            )
        code = self.transformer.code
        function = self._load_code()
        outputs = {ds.name: output_table(self.platform.name, store.name, ds.name) for ds in store.datasets}
        result = TransformerResult(self.entry.workspace.name, self.platform.name, store.name, code.version)
        with self._lock():
            with self.merge_engine.begin() as conn:
                for ds in store.datasets:
                    ensure_plain_table(conn, outputs[ds.name], ds.schema)
            try:
                with self.merge_engine.begin() as conn:
                    for table in outputs.values():
                        conn.execute(text(f"TRUNCATE {quote_ident(table)}"))
                    context = TransformerContext(
                        conn,
                        self._inputs(),
                        {name: quote_ident(table) for name, table in outputs.items()},
                        self.clock(),
                        code.version,
                    )
                    function(context)
                    for name, table in outputs.items():
                        count = conn.execute(text(f"SELECT count(*) FROM {quote_ident(table)}")).scalar_one()  # noqa: S608
                        result.rows_written[name] = int(count)
            except TransformerError as exc:
                raise TransformerError(f"{self.where}: {exc}; the previous output is unchanged") from exc
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [""])[0]
                raise TransformerError(
                    f"{self.where}: code {code.module}:{code.callable} (version {code.version}) failed: "
                    f"{type(exc).__name__}: {first}; the previous output is unchanged"
                ) from exc
        log.info("%s: wrote %s", self.where, ", ".join(f"{k}={v} rows" for k, v in result.rows_written.items()))
        return result

    @contextmanager
    def _lock(self) -> Iterator[None]:
        key = stream_lock_key(self.platform.name, f"transformer:{self.entry.workspace.name}")
        with self.merge_engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
                raise TransformerError(f"{self.where}: busy, another run holds the transformer; nothing was changed")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    def _load_code(self) -> Callable[[TransformerContext], None]:
        code = self.transformer.code
        folder = (self.model.directory / code.folder).resolve()
        if not folder.is_dir():
            raise TransformerError(
                f"{self.where}: code folder '{code.folder}' does not exist in {self.model.directory}"
            )
        before = set(sys.modules)
        sys.path.insert(0, str(folder))
        try:
            module = importlib.import_module(code.module)
            function = getattr(module, code.callable, None)
        except Exception as exc:
            raise TransformerError(f"{self.where}: cannot import {code.module}: {type(exc).__name__}: {exc}") from exc
        finally:
            sys.path.remove(str(folder))
            # Forget the transformer's modules: a later model version must load its own code.
            for name in set(sys.modules) - before:
                if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(folder)):
                    del sys.modules[name]
        if not callable(function):
            raise TransformerError(f"{self.where}: {code.module} has no callable '{code.callable}'")
        return function  # type: ignore[no-any-return]
