"""``trackrecord credentials export PERSON -o DIR``: a record as Verifiable Credentials.

A thin adapter over :func:`ledger.credentials.issue_credentials`: export the
person's bundle at the latest checkpoint, verify it with the operator's key,
and write one signed Open Badges 3.0 / VC 2.0 credential per file into DIR.
Run as the ledger's operator (``--as``), whose key signs the credentials.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ledger.credentials import did_key_for, issue_credentials

from .context import cli_context
from .errors import CliError, ExitCode
from .keyfiles import load_identity

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Verifiable Credentials and Open Badges 3.0.")


@app.command("export")
def export(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(metavar="PERSON", help="Whose record to export.")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", file_okay=False, help="Directory to write the credentials to."),
    ],
) -> None:
    """Write PERSON's endorsed contributions and completed assignments as signed credentials."""
    cli = cli_context(ctx)
    erased_at = cli.state().erased.get(person)
    if erased_at is not None:
        raise CliError(
            "erased",
            f"{person} was erased at log index {erased_at}: no credentials are issued "
            f"about an erased person",
            exit_code=ExitCode.RULE,
        )
    operator = load_identity(cli.settings, cli.acting())
    bundle = cli.ledger.export(person)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    issued = issue_credentials(bundle, operator=operator, created=created)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for c in issued:
            (out / c.filename).write_text(c.dumps(), encoding="utf-8")
    except OSError as exc:
        raise CliError("unwritable_file", f"cannot write to {out}: {exc}") from exc
    did = did_key_for(operator.public_key.raw)
    cli.err.print(
        f"[green]✓[/green] wrote {len(issued)} credentials to {escape(str(out))}, "
        f"issuer {escape(did)}",
        soft_wrap=True,
    )
