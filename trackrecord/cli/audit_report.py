"""How the command-line tool runs an audit (a progress bar on stderr) and shows its report:
for ``trackrecord audit`` and the demo's closing audit, apart from :mod:`.output` so that
a command that appends loads neither Rich's progress bar nor the audit (issue 13)."""

from __future__ import annotations

import json

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger.audit import SPILL_AT, AuditReport, audit
from ledger.store import Store

from .context import CliContext

__all__ = ["print_report", "progress_bar", "run_audit"]


def progress_bar(cli: CliContext) -> Progress:
    """A progress bar on standard error: what, a bar, done of all, time elapsed."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=cli.err,
    )


def run_audit(
    cli: CliContext, store: Store, *, workers: int, spill_at: int | None = SPILL_AT
) -> AuditReport:
    """Audit ``store`` with a progress bar on standard error; return the report.
    ``spill_at``: see :func:`ledger.audit.audit`."""
    with progress_bar(cli) as progress:
        task = progress.add_task("auditing", total=None)

        def advance(position: int, total: int) -> None:
            progress.update(task, completed=position, total=total)

        report = audit(store, workers=workers, progress=advance, spill_at=spill_at)
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
    where = {
        "stream:      ": failure.stream,
        "seq:         ": failure.seq,
        "log position:": failure.log_index,
    }
    # no place when it is not an entry: e.g. a read model differs from the log
    at = " at the first bad entry" if any(v is not None for v in where.values()) else ""
    lines = [f"[bold red]✗ audit FAILED[/bold red]{at}:"]
    lines += [f"  {label} {escape(str(v))}" for label, v in where.items() if v is not None]
    lines += [
        f"  code:         {escape(failure.code)}",
        f"  reason:       {escape(failure.message)}",
    ]
    for key, value in failure.evidence.items():
        if isinstance(value, list) and len(value) > 1:  # the first; --json prints them all
            value = f"{json.dumps(value[0], ensure_ascii=False)} and {len(value) - 1} more (--json)"
        elif not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False)
        lines.append(f"  {escape(key)}: {escape(value)}")
    for line in lines:
        cli.console.print(line, style="red", soft_wrap=True)
