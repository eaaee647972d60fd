"""Witness keys and options: ``trackrecord witness-key``, ``--witness VKEY@URL``, ``--witness-key``.

A thin adapter over :mod:`ledger.cosignature`, :mod:`ledger.witness` and
:mod:`ledger.witnessing` (docs/witness.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keys import Identity
from ledger.checkpoint import parse_verifier_key
from ledger.cosignature import (
    CosignerKey,
    cosigner_key,
    cosigner_signer_key,
    parse_cosigner_key,
    parse_cosigner_signer_key,
)
from ledger.witness import Witness, WitnessState
from ledger.witnessing import WitnessEndpoint, parse_witness_endpoint

from .errors import CliError

__all__ = [
    "WitnessEndpoints",
    "WitnessKeys",
    "app",
    "cosigner_keys",
    "endpoints",
    "open_witness",
]

app = typer.Typer()

WitnessEndpoints = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        metavar="VKEY@URL",
        help="A witness to ask for a cosignature of each new checkpoint: its key and URL; "
        "repeatable.",
    ),
]
WitnessKeys = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        metavar="WITNESS_KEY",
        help="A trusted witness's verifier key (name+hash+base64); repeatable.",
    ),
]


def endpoints(texts: list[str] | None) -> tuple[WitnessEndpoint, ...]:
    """The witnesses of ``--witness VKEY@URL`` options."""
    return tuple(parse_witness_endpoint(t) for t in texts or [])


def cosigner_keys(texts: list[str] | None) -> list[CosignerKey]:
    """The witness keys of ``--witness VKEY`` options."""
    return [parse_cosigner_key(t) for t in texts or []]


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError("unreadable_file", f"cannot read {path}: {exc}") from exc


def open_witness(key_file: Path | None, logs: list[str], state: Path | None) -> Witness | None:
    """The witness of ``--witness-key``/``--witness-log``/``--witness-state``, or None."""
    if key_file is None:
        if logs or state is not None:
            raise CliError("usage", "--witness-log and --witness-state need --witness-key")
        return None
    if not logs:
        raise CliError("usage", "a witness needs at least one --witness-log VERIFIER_KEY")
    name, signer = parse_cosigner_signer_key(_read_secret(key_file))
    return Witness.for_log_keys(
        name=name,
        signer=signer,
        log_keys=[parse_verifier_key(k) for k in logs],
        state=WitnessState(state or Path(f"{key_file}.state")),
    )


@app.command("witness-key", rich_help_panel="Transparency and portable records")
def witness_key(
    name: Annotated[str, typer.Argument(help="The witness's name, e.g. witness.example.org/w1.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", dir_okay=False, help="Write the secret key here.")
    ],
) -> None:
    """Make a witness's cosigning key: write the secret key to --out, print its verifier key."""
    signer = Identity.generate()
    secret = cosigner_signer_key(name, signer)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise CliError("unwritable_file", f"cannot create {out}: {exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    typer.echo(cosigner_key(name, signer.public_key.raw))
    typer.echo(f"secret key written to {escape(str(out))}", err=True)
