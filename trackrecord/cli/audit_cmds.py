"""The ``audit`` command: verify the whole ledger from scratch, with a progress bar."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from ledger.audit import SPILL_AT, AuditReport, Failure

from .audit_report import print_report, run_audit
from .context import CliContext, cli_context
from .errors import ExitCode
from .options import JsonFlag
from .output import print_json

__all__ = ["audit_command"]


def _with_read_models(cli: CliContext, report: AuditReport) -> AuditReport:
    """``report``, failed with ``read_model_mismatch`` if the read models differ from a
    rebuild from the log (``trackrecord projections verify``)."""
    from projections.verify import ReadModelMismatch

    try:
        cli.verify_read_models()
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
    spill_at: Annotated[
        int,
        typer.Option(
            min=1,
            help="Past this many entries, keep the re-derived rule state in a temporary "
            "file instead of memory (docs/audit.md §8).",
        ),
    ] = SPILL_AT,
    as_json: JsonFlag = False,
) -> None:
    """Verify the whole ledger from the store, trusting nothing cached; exit 3 on failure.

    Checks every entry in log order: canonical form, stream chain, signature by a
    key valid at that log position, every rule, and the Merkle log.
    """
    cli = cli_context(ctx)
    # the store as it is: the audit brings nothing up to date, and writes nothing
    report = run_audit(cli, cli.stored_ledger().store, workers=workers, spill_at=spill_at)
    if report.ok:
        report = _with_read_models(cli, report)
    if as_json:
        print_json(report.as_json())
    else:
        print_report(cli, report)
    if not report.ok:
        raise typer.Exit(ExitCode.INTEGRITY)
