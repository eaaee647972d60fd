"""``trackrecord service-key``: the key that wraps the per-person data keys (docs/privacy.md §2)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from .context import cli_context
from .options import JsonFlag, confirm
from .output import print_json

__all__ = ["service_key_app"]


def show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show where the service key is and its key id (never the key)."""
    cli = cli_context(ctx)
    store = cli.ledger.store
    facts = {
        "file": None if store.service_key_file is None else str(store.service_key_file),
        "key_id": store.vault.key_id,
    }
    if as_json:
        print_json(facts)
        return
    cli.console.print(f"service key {facts['key_id']} at {escape(str(facts['file']))}")


def rotate(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for confirmation (stop other processes).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Wrap every data key under a new service key and replace the key file with it.

    Afterwards a database backup taken before no longer opens anyone's content (its
    data keys are wrapped under the old key, which is gone) — run it after an erasure
    to reach old backups too. Stop the service first, or restart it afterwards: a
    process still holding the old key refuses to add new data keys.
    """
    cli = cli_context(ctx)
    confirm(
        yes,
        "Replace the service key (restart running services after)?",
        without_terminal="rotating the service key replaces its file: confirm on a terminal "
        "or pass --yes",
        cancelled="rotation cancelled; nothing was changed",
    )
    store = cli.ledger.store
    before = store.vault.key_id
    count = store.rotate_service_key()
    facts: dict[str, str | int] = {
        "file": str(store.service_key_file),
        "old_key_id": before,
        "key_id": store.vault.key_id,
        "data_keys": count,
    }
    if as_json:
        print_json(facts)
        return
    cli.console.print(
        f"[green]✓[/green] service key {before} replaced by {store.vault.key_id} at "
        f"{escape(str(store.service_key_file))}; {count} data keys rewrapped",
        soft_wrap=True,
    )


def service_key_app() -> typer.Typer:
    """The ``service-key`` command group."""
    app = typer.Typer(
        no_args_is_help=True,
        help="The service key that wraps the per-person data keys (docs/privacy.md).",
    )
    app.command("show")(show)
    app.command("rotate")(rotate)
    return app
