"""The ``keys`` commands: create, rotate, revoke, show."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from keys import Identity, KeystoreError, key_id_for
from ledger import commands
from ledger.access import shows_directory_entry
from ledger.canonical import b64encode
from ledger.catalogue import RevocationReason
from ledger.errors import NotFound
from ledger.statement import Signer

from ..settings import check_person
from .context import CliContext, cli_context
from .errors import CliError
from .keyfiles import (
    get_passphrase,
    load_identity,
    public_key_from,
    read_public_key,
    write_keystore,
)
from .options import JsonFlag, resolve_id
from .output import print_appended, print_json

__all__ = ["keys_app"]

Person = Annotated[str, typer.Argument(metavar="PERSON", help="Person id, e.g. alice.")]


def create(ctx: typer.Context, person: Person, as_json: JsonFlag = False) -> None:
    """Generate a new key for PERSON and write it to their keystore file.

    Prints the key id and the public key (base64) to hand to an admin, who
    registers you with 'trackrecord --as ADMIN register PERSON --public-key B64 ...'.
    The private key never leaves this machine.
    """
    cli = cli_context(ctx)
    path = cli.settings.keystore_path(check_person(person))
    if path.exists():
        raise KeystoreError(f"a keystore for {person} already exists at {path}")
    identity = Identity.generate()
    write_keystore(cli.settings, identity, path, label=person)
    info = {
        "person": person,
        "key_id": identity.key_id,
        "public_key": b64encode(identity.public_key.raw),
        "keystore": str(path),
    }
    if as_json:
        print_json(info)
        return
    cli.console.print(f"[green]✓[/green] new key for {escape(person)} in {escape(str(path))}")
    cli.console.print(f"  key id:     [bold]{info['key_id']}[/bold]")
    cli.console.print(f"  public key: [bold]{info['public_key']}[/bold]")


def rotate(
    ctx: typer.Context,
    person: Person,
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", metavar="B64", help="Rotate to this key (made elsewhere)."),
    ] = None,
    keystore: Annotated[
        Path | None,
        typer.Option(
            "--keystore", exists=True, dir_okay=False, help="Rotate to this keystore's key."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replace PERSON's current key (as PERSON, or as an admin for recovery).

    Without --public-key/--keystore a new key is generated and replaces PERSON's
    keystore file once the ledger accepted the rotation (same passphrase).
    """
    cli = cli_context(ctx)
    who = cli.acting(default=person)
    if public_key is not None or keystore is not None:
        _, signer = cli.signer(default=person)
        signed = commands.rotate_key(
            signer, person=person, new_public_key=public_key_from(public_key, keystore)
        )
        print_appended(cli, cli.service.append(signed), as_json=as_json)
        return
    if who != person:
        raise CliError(
            "bad_arguments",
            f"{who} rotates {person}'s key only to a key {person} made: pass --public-key",
        )
    _rotate_own_key(cli, person, as_json=as_json)


def _rotate_own_key(cli: CliContext, person: str, *, as_json: bool) -> None:
    path = cli.settings.keystore_path(person)
    passphrase = get_passphrase(cli.settings, path=path, new=False)
    signer = Signer(load_identity(cli.settings, person, passphrase=passphrase), cli.origin())
    new = Identity.generate()
    pending = path.with_name(path.name + ".new")
    if pending.exists():
        raise KeystoreError(f"{pending} is left from an interrupted rotation: check and remove it")
    write_keystore(cli.settings, new, pending, label=person, passphrase=passphrase)
    try:
        result = cli.service.append(
            commands.rotate_key(signer, person=person, new_public_key=new.public_key.raw)
        )
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    os.replace(pending, path)
    print_appended(
        cli, result, as_json=as_json, ids={"new_key_id": new.key_id, "keystore": str(path)}
    )


def revoke(
    ctx: typer.Context,
    person: Person,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key id (or its start).")],
    reason: Annotated[RevocationReason, typer.Option(help="Why the key is revoked.")],
    note: Annotated[str | None, typer.Option(help="A free-text note (personal field).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke one of PERSON's keys (as PERSON or an admin): it signs nothing after this."""
    cli = cli_context(ctx)
    state = cli.state()
    mine = (k.key_id for k in state.keys.values() if k.person == person)
    full = resolve_id(key_id, mine, "key id")
    _, signer = cli.signer(default=person)
    signed = commands.revoke_key(signer, person=person, key_id=full, reason=reason.value, note=note)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def show(ctx: typer.Context, person: Person, as_json: JsonFlag = False) -> None:
    """Show PERSON's key history in the ledger and the local keystore, if any; their
    organisation, department and roles only if the reader (--as) may see their directory
    entry (docs/privacy.md §9)."""
    cli = cli_context(ctx)
    state = cli.state()
    record = state.people.get(person)
    directory = record is not None and shows_directory_entry(state, person, cli.reader(state))
    path = cli.settings.keystore_path(check_person(person))
    local = read_public_key(path) if path.exists() else None
    if record is None and local is None:
        raise NotFound(f"{person} is not registered and has no keystore at {path}")
    keys = sorted(
        (k for k in state.keys.values() if k.person == person), key=lambda k: k.valid_from
    )
    info: dict[str, Any] = {
        "person": person,
        "registered": record is not None,
        "directory": "shown" if directory else "withheld",
        "organisation": record.organisation if record and directory else None,
        "department": record.department if record and directory else None,
        "roles": sorted([r, s] for r, s in record.roles) if record and directory else [],
        "current_key": record.current_key if record else None,
        "keys": [
            {
                "key_id": k.key_id,
                "public_key": b64encode(k.public_key),
                "valid_from": k.valid_from,
                "retired_at": k.retired_at,
                "revoked": k.revoked,
            }
            for k in keys
        ],
        "keystore": None
        if local is None
        else {"path": str(path), "key_id": key_id_for(local), "public_key": b64encode(local)},
    }
    if as_json:
        print_json(info)
        return
    _print_keys(cli, info)


def _print_keys(cli: CliContext, info: dict[str, Any]) -> None:
    person = escape(info["person"])
    if info["registered"] and info["directory"] == "withheld":
        cli.console.print(
            f"{person}: registered; directory entry withheld (shown to members, or to "
            "anyone once they make their dossier public)",
            soft_wrap=True,
        )
    elif info["registered"]:
        roles = ", ".join(f"{r} of {s}" for r, s in info["roles"]) or "none"
        cli.console.print(
            f"{person}: {escape(info['department'])} ({escape(info['organisation'])}); "
            f"roles: {escape(roles)}",
            soft_wrap=True,
        )
    else:
        cli.console.print(f"{person} is not registered in this ledger")
    table = Table(title="keys in the ledger", title_justify="left")
    for column in ("key id", "from log index", "until", "status"):
        table.add_column(column)
    for k in info["keys"]:
        status = (
            "revoked"
            if k["revoked"]
            else "current"
            if k["key_id"] == info["current_key"]
            else "rotated out"
        )
        until = "" if k["retired_at"] is None else str(k["retired_at"])
        table.add_row(k["key_id"], str(k["valid_from"]), until, status)
    if info["keys"]:
        cli.console.print(table)
    local = info["keystore"]
    if local is not None:
        cli.console.print(
            f"local keystore {escape(local['path'])}: key {local['key_id']}", soft_wrap=True
        )


def keys_app() -> typer.Typer:
    """The ``keys`` command group."""
    app = typer.Typer(help="Create, rotate, revoke and show keys.", no_args_is_help=True)
    app.command()(create)
    app.command()(rotate)
    app.command()(revoke)
    app.command()(show)
    return app
