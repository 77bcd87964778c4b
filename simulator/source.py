"""Which database the simulator writes to: `--url`, or the example model's customer database.

With `--model DIR` the datastore (default `Store1`) is looked up in the model and its
SQL snapshot capture's source container and credential are used, exactly as the ingestion
job would: host, port and database from the model (the example model reads them from
DATASURFACE_SOURCE_HOST/PORT/DB), user and password from `<CREDENTIAL>_USER` /
`<CREDENTIAL>_PASSWORD`. `--url` wins when both are given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from datasurface.errors import DataSurfaceError
from datasurface.model.ingestion import SQLSnapshotIngestion
from datasurface.model.loader import ECO_FILE, ModelLoadError, load_model, newest_model_dir

DEFAULT_STORE = "Store1"


class SourceError(DataSurfaceError):
    """The source database can't be determined; the message names the object and the fix."""


def url_from_text(text: str) -> URL:
    try:
        url = make_url(text)
    except ArgumentError:
        raise SourceError(
            f"--url '{text}' is not a database URL (expected e.g. postgresql+psycopg://user:pass@host:5432/db)"
        ) from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver the project installs
    return url


def url_from_model(model_dir: str, store: str = DEFAULT_STORE, env: Mapping[str, str] | None = None) -> URL:
    # Imported here: it pulls in the platform code, which --url users never need.
    from datasurface.platforms.yellow.connections import CredentialError, credential_values

    folder = Path(model_dir)
    if folder.is_dir() and not (folder / ECO_FILE).is_file():
        try:
            folder = newest_model_dir(folder)
        except ModelLoadError:
            raise SourceError(
                f"--model {model_dir}: neither a model folder (no {ECO_FILE}) nor a models folder "
                "(no model-<seconds> folders); pass e.g. sandbox/model"
            ) from None
    try:
        model = load_model(folder)
    except ModelLoadError as exc:
        raise SourceError(str(exc)) from None
    datastore = model.ecosystem.datastore(store)
    if datastore is None:
        raise SourceError(f"{folder}: Datastore '{store}' is not in the model; pass --store NAME or use --url")
    capture = datastore.capture
    if not isinstance(capture, SQLSnapshotIngestion):
        raise SourceError(
            f"Datastore '{store}': capture is {type(capture).__name__}, not a SQL snapshot ingestion "
            "with a source database; use --url"
        )
    try:
        user, password = credential_values(capture.credential, env)
    except CredentialError as exc:
        raise SourceError(f"Datastore '{store}' / {exc}") from None
    return make_url(capture.source.sqlalchemy_url()).set(username=user, password=password or None)


def make_engine(url: URL, reconnect_timeout: float) -> Engine:
    connect_args: dict[str, object] = {}
    if url.get_backend_name() in ("postgresql", "mysql", "mariadb"):
        # Bound each connection attempt, so an unreachable host fails within the reconnect
        # deadline instead of hanging on TCP; libpq counts whole seconds, minimum 2.
        connect_args["connect_timeout"] = max(2, min(10, math.ceil(reconnect_timeout)))
    # hide_parameters keeps customer data out of error messages.
    return create_engine(url, hide_parameters=True, pool_pre_ping=True, connect_args=connect_args)
