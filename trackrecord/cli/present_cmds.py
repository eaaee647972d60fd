"""``trackrecord present verify FILE``: check an SD-JWT VC presentation of this ledger.

A thin adapter over :func:`ledger.credentials.verify_presentation` for a relying party
with the ledger at hand: the issuer key is this ledger's operator key, the audience and
nonce are what the verifier asked the holder to sign, with ``--inclusion`` every
disclosed ledger entry is checked against the log (RFC 9162 inclusion proofs), and
with ``--fetch-status`` the credential's status list is fetched from its URI. Prints
the disclosed claims as JSON; a presentation that does not verify exits 3 with its code.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from ledger.credentials import verify_inclusion_evidence, verify_presentation

from .context import cli_context
from .errors import CliError
from .output import print_json

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True, help="SD-JWT VC presentations of this ledger's credentials."
)


def _read(path: str) -> str:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError("unreadable_file", f"cannot read {path}: {exc}") from exc
    return text.strip()


def _fetch(uri: str) -> str:
    """The Status List Token at ``uri`` (an HTTP GET)."""
    try:
        answer = httpx.get(uri, timeout=10, headers={"Accept": "application/statuslist+jwt"})
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise CliError("status_unavailable", f"cannot fetch the status list {uri}: {exc}") from exc
    return answer.text.strip()


@app.command("verify")
def verify(
    ctx: typer.Context,
    presentation: Annotated[
        str,
        typer.Argument(metavar="FILE", help="The presentation (<jwt>~…~<kb-jwt>); - for stdin."),
    ],
    audience: Annotated[str, typer.Option("--audience", help="The aud the holder signed.")],
    nonce: Annotated[str, typer.Option("--nonce", help="The nonce the holder signed.")],
    inclusion: Annotated[
        bool, typer.Option("--inclusion", help="Check the disclosed entries against the log.")
    ] = False,
    max_age: Annotated[
        int, typer.Option("--max-age", min=1, help="Seconds the key binding may be old.")
    ] = 300,
    fetch_status: Annotated[
        bool,
        typer.Option("--fetch-status", help="Fetch the credential's status list from its uri."),
    ] = False,
) -> None:
    """Verify a presentation: this ledger's issuer key, the disclosures, the key binding."""
    cli = cli_context(ctx)
    log = cli.ledger.log
    verified = verify_presentation(
        _read(presentation),
        issuer_key=log.operator_key(),
        audience=audience,
        nonce=nonce,
        now=int(time.time()),
        max_age=max_age,
        status_token=_fetch if fetch_status else None,
    )
    out = verified.as_json()
    if inclusion:
        out["inclusion_checked"] = verify_inclusion_evidence(
            verified, root_at=log.root, inclusion_proof=log.inclusion_proof
        )
    cli.err.print(
        f"[green]✓[/green] a {verified.kind} credential of this ledger, "
        f"{verified.disclosed} field(s) disclosed",
        soft_wrap=True,
    )
    print_json(out)
