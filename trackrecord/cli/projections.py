"""``trackrecord projections``: rebuild the read models, keep them current, show where they are."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .context import CliContext, cli_context
from .errors import CliError, ExitCode
from .options import JsonFlag, RefreshInOption
from .output import print_json

if TYPE_CHECKING:  # imported when a command runs: every other command starts faster
    from projections import CatchUp, Projector

__all__ = ["app"]

app = typer.Typer(
    name="projections",
    help="Read models (portfolio, reputation, matching): rebuild them, follow the ledger.",
    no_args_is_help=True,
)


@contextmanager
def _projector(cli: CliContext, *, batch_size: int) -> Iterator[Projector]:
    from projections import ProjectionError, open_projector
    from projections.db import create_read_model_engine

    try:
        engine = create_read_model_engine(cli.settings.database_url)
        projector = open_projector(cli.ledger.store, engine=engine, batch_size=batch_size)
    except ProjectionError as exc:
        raise CliError(exc.code, exc.message) from exc
    try:
        yield projector
    finally:
        engine.dispose()


def _names(name: str | None) -> list[str] | None:
    from projections import READ_MODEL_NAMES

    if name is None:
        return None
    if name not in READ_MODEL_NAMES:
        raise CliError(
            "unknown_read_model",
            f"no read model {name!r}; choose one of {', '.join(READ_MODEL_NAMES)}",
            exit_code=ExitCode.USAGE,
        )
    return [name]


@app.command()
def rebuild(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(help="portfolio, reputation or matching (all read models if omitted)"),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Entries per transaction.")
    ] = 25_000,
) -> None:
    """Drop a read model's rows and tracking record and replay the ledger from position 0."""
    cli = cli_context(ctx)
    names = _names(name)
    label = name or "all read models"
    with _projector(cli, batch_size=batch_size) as projector:
        started = time.perf_counter()
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[where]}"),
            TextColumn("{task.fields[rate]} entries/s"),
            TimeElapsedColumn(),
            console=cli.err,
        ) as progress:
            task = progress.add_task(f"rebuilding {label}", total=None, rate="-", where="")

            def advance(applied: int, position: int, last: int) -> None:
                elapsed = time.perf_counter() - started
                rate = f"{applied / elapsed:,.0f}" if elapsed > 0 else "-"
                where = f"position {position:,}/{last:,}"
                progress.update(task, completed=position, total=last, rate=rate, where=where)

            result = projector.rebuild(names, progress=advance)
        seconds = time.perf_counter() - started
    cli.console.print(
        f"rebuilt {label}: {result.applied:,} entries in {seconds:.2f} s "
        f"({result.applied / seconds if seconds else 0:,.0f} entries/s, refresh included)"
    )


@app.command()
def follow(
    ctx: typer.Context,
    interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between polls when the log is idle.")
    ] = 0.5,
    refresh_every: Annotated[
        float, typer.Option(min=0.0, help="Seconds between reputation refreshes.")
    ] = 30.0,
    refresh_in: RefreshInOption = "child",
    stop_after: Annotated[
        float | None,
        typer.Option(min=0.0, help="Stop after this many seconds (default: run until stopped)."),
    ] = None,
) -> None:
    """Keep every read model current: poll the ledger and apply new entries until stopped.

    Stops on Ctrl-C, SIGTERM or after --stop-after seconds; an interrupted
    batch is rolled back and applied again by the next run.
    """
    cli = cli_context(ctx)
    stop = threading.Event()
    with _projector(cli, batch_size=2000) as projector, _stop_on_signals(stop):
        projector.refresh_in = refresh_in
        timer = threading.Timer(stop_after, stop.set) if stop_after is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        positions = projector.positions()
        cli.err.print(f"following from {positions}; Ctrl-C stops")

        def report(result: CatchUp) -> None:
            cli.err.print(
                f"applied {result.applied:,} entries up to position {result.position:,} "
                f"({result.rate:,.0f} entries/s)"
            )

        try:
            projector.follow(
                stop, interval=interval, refresh_every=refresh_every, on_catch_up=report
            )
        except KeyboardInterrupt:
            stop.set()
        finally:
            if timer is not None:
                timer.cancel()
        cli.console.print(f"stopped at {projector.positions()}")


@app.command()
def verify(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Rebuild every read model from the log aside and compare it row by row; exit 3 if not equal.

    Reads only: the rebuild goes to a temporary file, the read models are not changed.
    """
    from projections.verify import ReadModelMismatch

    cli = cli_context(ctx)
    try:
        cli.verify_read_models()
    except ReadModelMismatch as exc:
        if as_json:
            print_json({"ok": False, "code": exc.code, "message": exc.message, **exc.evidence()})
        else:
            cli.console.print(
                f"[bold red]✗ read models differ from the log[/bold red]: {exc.count}"
            )
            for d in exc.differences:
                cli.console.print(f"  {d.read_model}: {d.describe()}", style="red", soft_wrap=True)
        raise typer.Exit(ExitCode.INTEGRITY) from exc
    if as_json:
        print_json({"ok": True})
    else:
        cli.console.print("[bold green]✓ the read models match a rebuild from the log[/bold green]")


@app.command()
def status(ctx: typer.Context) -> None:
    """Show each read model's applied position and how far it is behind the ledger."""
    cli = cli_context(ctx)
    with _projector(cli, batch_size=1) as projector:
        last = projector.log.max_position()
        table = Table(title="read models", title_justify="left")
        table.add_column("read model")
        table.add_column("position", justify="right")
        table.add_column("behind", justify="right")
        for model, position in projector.positions().items():
            table.add_row(model, f"{position:,}", f"{max(0, last - position):,}")
        cli.console.print(table)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
