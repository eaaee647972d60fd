"""``trackrecord backup`` and ``trackrecord restore``: copies of the data, never of the keys.

``backup DEST`` copies an SQLite ledger online with SQLite's backup API
(:mod:`ledger.store.backup`) while the service keeps serving; a PostgreSQL ledger is
copied with ``pg_dump`` or ``pg_basebackup``, and the command says so instead of
pretending. ``restore SRC`` copies a backup into the new database at ``--db`` and
refuses it if it is behind the last checkpoint the operator signed
(:mod:`ledger.rollback`) unless ``--accept-rollback`` says the loss is meant.
Without SRC, ``restore`` checks the database at ``--db`` in place (after a
``pg_restore``, or a copy made by hand) the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ledger.app import Ledger
from ledger.rollback import CheckpointMemory, RestoreCheck, RolledBack, check_restore
from ledger.store import open_store
from ledger.store.backup import copy_sqlite, sqlite_path
from ledger.store.base import redact
from ledger.vault import service_key_path

from .context import cli_context
from .errors import CliError, ExitCode
from .options import JsonFlag, file_option
from .output import print_json

__all__ = ["PG_RECIPE", "backup", "restore"]

PG_RECIPE = (
    "a PostgreSQL ledger is backed up with PostgreSQL's own tools, which copy it online "
    "and consistently: 'pg_dump --format=custom --file=ledger.dump DBNAME' (one database) "
    "or 'pg_basebackup --pgdata=DIR --wal-method=stream' (the whole cluster, for "
    "point-in-time recovery); restore with 'pg_restore --dbname=NEWDB ledger.dump', then run "
    "'trackrecord --db NEWURL restore' to check it against the last signed checkpoint "
    "(docs/operations.md)"
)

Dest = Annotated[Path, typer.Argument(metavar="DEST", dir_okay=False, help="A new file.")]


def backup(ctx: typer.Context, dest: Dest, as_json: JsonFlag = False) -> None:
    """Copy the SQLite ledger at --db to the new file DEST, online: the service keeps serving.

    The copy holds every entry acknowledged before it began, and no key: back up the
    service key and the operator's keystore apart from it (docs/operations.md).
    """
    cli = cli_context(ctx)
    source = sqlite_path(cli.settings.database_url)
    if source is None:
        raise CliError("use_pg_dump", PG_RECIPE)
    if not source.is_file():
        raise CliError("not_found", f"there is no ledger at {source}", exit_code=ExitCode.NOT_FOUND)
    copy = copy_sqlite(source, dest)
    key_file = service_key_path(str(source))
    facts = {
        "backup": str(copy.path),
        "entries": copy.entries,
        "checkpoint_size": copy.checkpoint_size,
        "service_key": str(key_file),
        "keys": str(cli.settings.keys_dir),
    }
    if as_json:
        print_json(facts)
        return
    cli.console.print(
        f"[green]✓[/green] {escape(str(copy.path))}: {copy.entries} entries"
        + ("" if copy.checkpoint_size is None else f", last checkpoint {copy.checkpoint_size}"),
        soft_wrap=True,
    )
    cli.err.print(
        f"not in it: the service key {escape(str(key_file))} and the keystores in "
        f"{escape(str(cli.settings.keys_dir))}; keep copies of them apart from the data "
        "(docs/operations.md)",
        soft_wrap=True,
    )


def restore(
    ctx: typer.Context,
    source: Annotated[
        Path | None,
        typer.Argument(
            metavar="[SRC]",
            dir_okay=False,
            help="An SQLite backup; without it the ledger at --db is checked in place.",
        ),
    ] = None,
    service_key: Annotated[
        Path | None,
        file_option(
            "--service-key",
            "The service key file of the backed-up ledger (kept apart from the backup).",
        ),
    ] = None,
    accept_rollback: Annotated[
        bool,
        typer.Option(
            "--accept-rollback",
            help="Accept a backup older than the last signed checkpoint: the newer entries "
            "are lost, and monitors and witnesses will see a fork.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Restore the backup SRC into the new ledger at --db, unless it is behind the last
    checkpoint the operator signed (then only with --accept-rollback)."""
    cli = cli_context(ctx)
    memory = CheckpointMemory.in_keys_dir(cli.settings.keys_dir)
    installed: Path | None = None
    if source is None:
        check = check_restore(cli.ledger.store, memory)
    else:
        check, installed = _restore_copy(cli.settings.database_url, source, service_key, memory)
    try:
        if check.behind is not None and not accept_rollback:
            raise RolledBack(_refusal(check), **check.behind.details)
        given_up = None
        if check.behind is not None and check.key is not None:
            latest = None
            if check.latest is not None:
                latest = (check.latest[1], _verifier_at(cli.settings.database_url, check))
            given_up = memory.accept_rollback(
                check.key, restored_size=check.store_size, replacement=latest
            )
    except BaseException:
        if source is not None:
            _remove_database(cli.settings.database_url)
        if installed is not None:
            installed.unlink(missing_ok=True)
        raise
    facts: dict[str, Any] = {
        "ledger": redact(cli.settings.database_url),
        "entries": check.store_size,
        "checkpoint_size": None if check.latest is None else check.latest[0],
        "signed_size": None if check.remembered is None else check.remembered.size,
        "rolled_back": given_up is not None,
        "lost_entries": check.lost,
    }
    if as_json:
        print_json(facts)
        return
    cli.console.print(
        f"[green]✓[/green] {facts['ledger']}: {check.store_size} entries", soft_wrap=True
    )
    if given_up is not None:
        cli.err.print(_refusal(check, accepted=True), style="yellow", soft_wrap=True)


def _restore_copy(
    url: str, source: Path, service_key: Path | None, memory: CheckpointMemory
) -> tuple[RestoreCheck, Path | None]:
    """Copy ``source`` to the new SQLite database at ``url`` with its service key, and
    check it; return the check and the key file installed (None if it was there).
    Nothing is left behind if the copy or its key is refused."""
    target = sqlite_path(url)
    if target is None:
        raise CliError("use_pg_restore", PG_RECIPE)
    if target.exists():
        raise CliError(
            "exists", f"{target} exists: restore into a new file (stop the service, then move it)"
        )
    key_file = service_key_path(str(target))
    if service_key is None and not key_file.is_file():
        raise CliError(
            "no_service_key",
            f"give the backed-up ledger's service key with --service-key FILE (it is not in "
            f"the backup); it is installed at {key_file}",
        )
    copy_sqlite(source, target)
    installed = False
    try:
        if service_key is not None and not key_file.is_file():
            _install_key(service_key, key_file)
            installed = True
        store = open_store(url)  # refuses a service key that is not the ledger's
        try:
            return check_restore(store, memory), key_file if installed else None
        finally:
            store.close()
    except BaseException:
        _remove_database(url)
        if installed:
            key_file.unlink(missing_ok=True)
        raise


def _install_key(given: Path, key_file: Path) -> None:
    try:
        data = given.read_bytes()
    except OSError as exc:
        raise CliError("unreadable_file", f"cannot read {given}: {exc}") from exc
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _remove_database(url: str) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _verifier_at(url: str, check: RestoreCheck) -> Any:
    """The note verifier of the restored store's own latest checkpoint."""
    assert check.latest is not None
    with Ledger(open_store(url)) as restored:
        return restored.log.verifier_at(check.latest[0])


def _refusal(check: RestoreCheck, *, accepted: bool = False) -> str:
    """What restoring this store loses, and what monitors and witnesses will see."""
    assert check.remembered is not None
    signed = check.remembered.size
    head = "restored a ledger that is behind" if accepted else "refused: this ledger is behind"
    return (
        f"{head} the checkpoint of {signed} entries the operator signed "
        f"(it holds {check.store_size}). Lost: every entry after its first "
        f"{check.store_size} — {check.lost} or more acknowledged statements, signed in that "
        "checkpoint, and whatever was appended after it; their authors must submit them "
        "again. Monitors and witnesses that saw the checkpoint of "
        f"{signed} will find the next checkpoint of this ledger does not extend it "
        "(history_rewritten): they hold the operator's signatures on two histories, the "
        "evidence of a fork."
        + (
            ""
            if accepted
            else " Restore a newer backup, or pass --accept-rollback if this loss is meant."
        )
    )
