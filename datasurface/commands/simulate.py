"""`datasurface simulate`: keep the example model's customer database changing (see `simulator/`)."""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from datasurface.commands.common import echo_json, fail
from simulator.operations import Operation, WeightsError, parse_weights
from simulator.progress import Progress
from simulator.runner import Simulator, SimulatorConfig, SimulatorError
from simulator.source import DEFAULT_STORE, SourceError, make_engine, url_from_model, url_from_text


def _weights(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[Operation, int]:
    try:
        return parse_weights(value or "")
    except WeightsError as exc:
        raise click.BadParameter(str(exc)) from None


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C / SIGTERM: finish the current change set and print the summary; second: abort."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signum, previous[signal.Signals(signum)])

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@click.command("simulate")
@click.option("--url", help="SQLAlchemy URL of the customer database (wins over --model).")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False),
    help="Model folder (or models folder): write to the source database of --store, with its credential.",
)
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="Datastore of --model whose source to change.")
@click.option("--create-tables", is_flag=True, help="Create the customers and addresses tables if missing.")
@click.option(
    "--rate", type=click.FloatRange(min=0), default=10.0, show_default=True, help="Changes per second; 0 = flat out."
)
@click.option("--max-changes", type=click.IntRange(min=0), help="Stop after this many changes.")
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds of changes.")
@click.option("--seed", type=int, help="Seed of all randomness; default: random (printed in the summary).")
@click.option(
    "--initial-customers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="First bulk-load customers (with billing addresses) until there are at least this many.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="Changes per transaction.")
@click.option(
    "--weights",
    callback=_weights,
    metavar="OP=N,...",
    help="Override operation weights, e.g. delete_customer=30,insert_address=0 (defaults below).",
)
@click.option(
    "--reconnect-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to keep retrying when the database is unreachable before giving up.",
)
@click.option("--quiet", is_flag=True, help="No progress lines (warnings and the summary are still printed).")
@click.option("--json", "as_json", is_flag=True, help="Print the final summary as JSON on stdout.")
def simulate_command(
    url: str | None,
    model_dir: str | None,
    store: str,
    create_tables: bool,
    rate: float,
    max_changes: int | None,
    duration: float | None,
    seed: int | None,
    initial_customers: int,
    batch_size: int,
    weights: dict[Operation, int],
    reconnect_timeout: float,
    quiet: bool,
    as_json: bool,
) -> None:
    """Keep the customer database of the example model changing, like a live OLTP application.

    Inserts, updates and deletes customers and their billing and shipping addresses with
    Faker values. Integrity always holds: every address has its customer and every customer
    has exactly one billing address (only shipping addresses are deleted on their own; a
    customer is deleted with all its addresses). The same --seed on the same starting data
    gives the same changes and values; timestamps come from a simulated clock, not the
    wall clock. Ids continue after the highest existing `c…`/`a…` id, so runs can be resumed.

    Without --max-changes or --duration it runs until Ctrl-C (then prints the summary).
    If the database goes away it retries for --reconnect-timeout seconds and continues;
    each change set is one transaction, written again in full after a reconnect.

    \b
    Examples:
      datasurface simulate --url postgresql://postgres@localhost:5432/customer_db --create-tables
      datasurface simulate --model sandbox/model --rate 0 --max-changes 1000 --seed 7 --json
      datasurface simulate --url ... --weights delete_customer=30,insert_address=0

    \b
    Operations and their default weights (--weights changes them):
      insert_customer=25  a customer with its billing address
      update_customer=25  new email, phone or last name
      insert_address=15   a shipping address of an existing customer
      update_address=20   a billing or shipping address changes (the customer moved)
      delete_address=8    a shipping address (billing addresses go only with their customer)
      delete_customer=7   a customer with all its addresses
    Exit codes: 0 done; 1 the database is unreachable or a run failed (message says why); 2 usage.
    """
    if url is None and model_dir is None:
        raise click.UsageError("give --url URL or --model DIR to say which database to change")
    try:
        source_url = url_from_text(url) if url is not None else url_from_model(str(model_dir), store)
    except SourceError as exc:
        fail(str(exc))
    config = SimulatorConfig(
        seed=seed if seed is not None else random.SystemRandom().randrange(2**31),
        rate=rate,
        max_changes=max_changes,
        duration=duration,
        batch_size=batch_size,
        initial_customers=initial_customers,
        create_tables=create_tables,
        weights=weights,
        reconnect_timeout=reconnect_timeout,
    )
    stop = threading.Event()
    simulator = Simulator(make_engine(source_url, reconnect_timeout), config, Progress(quiet=quiet), stop)
    try:
        with _stop_on_signals(stop):
            summary = simulator.run()
    except SimulatorError as exc:
        fail(str(exc))
    if as_json:
        echo_json(summary.to_json())
    else:
        click.echo(summary.to_text())
    if summary.error:
        fail(summary.error)
    if summary.integrity_problems:
        fail(f"{summary.database}: integrity broken: {'; '.join(summary.integrity_problems)}")
