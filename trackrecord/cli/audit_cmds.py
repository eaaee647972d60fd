"""The ``audit`` command: verify the whole ledger from scratch, with a progress bar."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ledger.audit import AuditReport, Failure, audit
from ledger.store import Store

from .context import CliContext, cli_context
from .errors import ExitCode
from .options import JsonFlag
from .output import print_json

__all__ = ["audit_command", "print_report", "run_audit"]


def run_audit(cli: CliContext, store: Store, *, workers: int) -> AuditReport:
    """Audit ``store`` with a progress bar on standard error; return the report."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=cli.err,
    ) as progress:
        task = progress.add_task("auditing", total=None)

        def advance(position: int, total: int) -> None:
            progress.update(task, completed=position, total=total)

        report = audit(store, workers=workers, progress=advance)
        progress.update(task, completed=report.entries, total=report.entries)
    return report


def print_report(cli: CliContext, report: AuditReport) -> None:
    """Print an audit report: the summary, and the first bad entry in red if any."""
    summary = Table(title="audit", title_justify="left", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    for what, value in (
        ("entries", f"{report.entries:,}"),
        ("streams", f"{report.streams:,}"),
        ("identities", f"{report.identities:,}"),
        ("keys", f"{report.keys:,}"),
        ("erased entries", f"{report.erased:,}"),
        ("time", f"{report.seconds:.2f} s"),
        ("entries/s", f"{report.entries_per_second:,.0f}"),
    ):
        summary.add_row(what, value)
    cli.console.print(summary)
    failure = report.failure
    if failure is None:
        cli.console.print(
            "[bold green]✓ audit passed[/bold green]: every entry is well formed, chained, "
            "signed by a key valid at its log position, keeps every rule, "
            "and matches the Merkle log"
        )
        return
    lines = [
        "[bold red]✗ audit FAILED[/bold red] at the first bad entry:",
        f"  stream:       {escape(str(failure.stream))}",
        f"  seq:          {failure.seq}",
        f"  log position: {failure.log_index}",
        f"  code:         {escape(failure.code)}",
        f"  reason:       {escape(failure.message)}",
    ]
    lines += [f"  {escape(k)}: {escape(str(v))}" for k, v in failure.evidence.items()]
    for line in lines:
        cli.console.print(line, style="red", soft_wrap=True)


def _with_read_models(cli: CliContext, report: AuditReport) -> AuditReport:
    """``report``, failed with ``read_model_mismatch`` if the read models differ from a
    rebuild from the log (``trackrecord projections verify``)."""
    from projections.verify import ReadModelMismatch

    from .projections import verify_read_models_of

    try:
        verify_read_models_of(cli)
    except ReadModelMismatch as exc:
        first = exc.differences[0]
        failure = Failure(
            code=exc.code,
            message=exc.message,
            evidence={"read_model": first.read_model, "table": first.table, **exc.evidence()},
        )
        return dataclasses.replace(report, failure=failure)
    return report


def audit_command(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Threads verifying signatures.")] = 2,
    as_json: JsonFlag = False,
) -> None:
    """Verify the whole ledger from the store, trusting nothing cached; exit 3 on failure.

    Checks every entry in log order: canonical form, stream chain, signature by a
    key valid at that log position, every rule, and the Merkle log.
    """
    cli = cli_context(ctx)
    report = run_audit(cli, cli.ledger.store, workers=workers)
    if report.ok:
        report = _with_read_models(cli, report)
    if as_json:
        print_json(report.as_json())
    else:
        print_report(cli, report)
    if not report.ok:
        raise typer.Exit(ExitCode.INTEGRITY)
