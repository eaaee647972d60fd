"""What the store keeps beside the log, checked by the audit (issue 15, item 6c): a
checkpoint deleted between stored ones is found through the signed chain of
``trackrecord-previous`` lines; on both backends."""

from __future__ import annotations

import sqlite3

import psycopg

from keys import Identity
from ledger import commands
from ledger.audit import audit
from ledger.checkpoint import verify_checkpoint
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import PREVIOUS_LINE, TransparencyLog

OP = Identity(bytes([3]) * 32)


def _checkpointed(url: str, count: int) -> list[int]:
    """A ledger with ``count`` checkpoints, two ambitions apart; their sizes."""
    store = open_store(url)
    try:
        service = LedgerService(store)
        service.append(
            commands.register_identity(
                OP, person="op", public_key=OP.public_key.raw, organisation="o",
                department="o/d", display_name="Op",
            )
        )  # fmt: skip
        log = TransparencyLog(service)
        log.set_origin("trackrecord.example/test")
        sizes = []
        for i in range(count):
            for j in range(2):
                service.append(commands.state_ambition(OP, person="op", goal=f"goal {i}.{j}"))
            sizes.append(log.issue_checkpoint(OP).size)
        return sizes
    finally:
        store.close()


def _delete_checkpoint(url: str, size: int) -> None:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            db.execute("DELETE FROM checkpoints WHERE size=?", (size,))
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DELETE FROM ledger_checkpoints WHERE size=%s", (size,))


def _failure(url: str) -> tuple[str, int | None, dict[str, object]] | None:
    store = open_store(url)
    try:
        failure = audit(store).failure
    finally:
        store.close()
    return None if failure is None else (failure.code, failure.log_index, failure.evidence)


def test_each_checkpoint_names_the_one_before_it(sqlite_url: str) -> None:
    sizes = _checkpointed(sqlite_url, 3)
    store = open_store(sqlite_url)
    try:
        log = TransparencyLog(LedgerService(store))
        notes = [log.checkpoint(s).note for s in sizes]
        extensions = [verify_checkpoint(n, verifiers=[log.verifier()]).extensions for n in notes]
    finally:
        store.close()
    previous = [[x for x in lines if x.startswith(PREVIOUS_LINE)] for lines in extensions]
    assert previous == [[f"{PREVIOUS_LINE}{n}"] for n in (0, sizes[0], sizes[1])]
    assert _failure(sqlite_url) is None


def test_a_checkpoint_deleted_between_stored_ones_is_reported(database_url: str) -> None:
    sizes = _checkpointed(database_url, 3)
    _delete_checkpoint(database_url, sizes[1])
    assert _failure(database_url) == (
        "checkpoint_missing",
        sizes[1] - 1,
        {"checkpoint_size": sizes[2], "previous": sizes[1]},
    )


def test_the_oldest_checkpoint_deleted_is_reported(database_url: str) -> None:
    sizes = _checkpointed(database_url, 2)
    _delete_checkpoint(database_url, sizes[0])
    found = _failure(database_url)
    assert found is not None
    assert found[:2] == ("checkpoint_missing", sizes[0] - 1)


def test_the_latest_checkpoint_deleted_is_the_monitors_to_find(sqlite_url: str) -> None:
    """Nothing later names it: the audit cannot tell; a monitor or the service's memory of
    its last signed checkpoint (ledger.rollback) does."""
    sizes = _checkpointed(sqlite_url, 2)
    _delete_checkpoint(sqlite_url, sizes[-1])
    assert _failure(sqlite_url) is None
