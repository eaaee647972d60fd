"""Rotating the service key: data keys rewrapped, old backups shut out, nothing lost.

The service key wraps every person's data key (docs/privacy.md §2). Rotating it
rewraps them under a new key in one transaction and replaces the key file, so a
database backup taken before (with its data keys wrapped under the old key) no
longer opens anyone's content — the way an erasure reaches old backups.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import StoreError
from ledger.service import LedgerService
from ledger.store import Store, open_store
from ledger.vault import pending_key_path, service_key_id
from tests.factories import World, standard_cast
from tests.support.cli import Cli

TITLE = "Canary-Rotation-5b7e"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "secrets" / "service.key"
    monkeypatch.setenv("TRACKRECORD_SERVICE_KEY", str(path))
    return path


@pytest.fixture
def ledger(database_url: str, key_file: Path) -> Iterator[tuple[Store, World]]:
    store = open_store(database_url)
    service = LedgerService(store)
    w = World(service, seed="rotation")
    w.do_all(standard_cast(w))
    w.do(w.claim(w["alice"], title=TITLE))
    try:
        yield store, w
    finally:
        store.close()


def _titles(store: Store, person: str) -> list[str]:
    service = LedgerService(store)
    return [
        e.disclosed().get("title", "")
        for e in service.read_stream(f"record/{person}")
        if e.entry.statement.type == "ContributionClaimed"
    ]


def test_rotation_rewraps_every_data_key_and_keeps_all_content(
    ledger: tuple[Store, World], key_file: Path, database_url: str, tmp_path: Path
) -> None:
    store, w = ledger
    old_key = key_file.read_bytes()
    people = sorted(w.state.people)
    old_wrapped = store.vault._table.select_data_keys(people)
    backup = None
    if database_url.startswith("sqlite"):
        backup = tmp_path / "backup.db"  # an online backup, as sqlite3's .backup makes it
        source = sqlite3.connect(database_url.removeprefix("sqlite://"))
        target = sqlite3.connect(backup)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

    count = store.rotate_service_key()

    assert count == len(old_wrapped) > 0
    new_key = key_file.read_bytes()
    assert new_key != old_key
    assert not pending_key_path(key_file).exists()
    assert store.vault.key_id == service_key_id(new_key)
    new_wrapped = store.vault._table.select_data_keys(people)
    assert new_wrapped.keys() == old_wrapped.keys()
    assert all(new_wrapped[p] != old_wrapped[p] for p in old_wrapped)
    # Everything still opens, in this process and in a fresh one (reading the new file).
    assert _titles(store, "alice") == [TITLE]
    fresh = open_store(database_url)
    try:
        assert _titles(fresh, "alice") == [TITLE]
        w.ledger = LedgerService(fresh)  # new people get data keys under the new key
        w.do(w.register("erin"))
        w.do(w.claim(w["erin"], title="After the rotation"))
        assert _titles(fresh, "erin") == ["After the rotation"]
    finally:
        fresh.close()
    # The old key is refused by the ledger now.
    with pytest.raises(StoreError, match="does not belong to this ledger"):
        open_store(database_url, service_key=old_key).close()
    if backup is not None:
        # The old wrappings are scrubbed from the file; a backup from before opens only
        # with the old key, which no longer exists anywhere but in this test.
        raw = Path(database_url.removeprefix("sqlite://")).read_bytes()
        assert not any(wrapped in raw for wrapped in old_wrapped.values())
        with pytest.raises(StoreError, match="does not belong to this ledger"):
            open_store(f"sqlite://{backup}", service_key=new_key).close()


def test_a_process_with_the_old_key_is_told_to_restart(
    ledger: tuple[Store, World], database_url: str
) -> None:
    store, _ = ledger
    other = open_store(database_url)  # a second process, opened before the rotation
    try:
        store.rotate_service_key()
        # It cannot open a data key it had not cached (instead of calling it corrupt) ...
        other_service = LedgerService(other)
        with pytest.raises(StoreError, match="rotated"):
            other_service.read_stream("record/alice")
        # ... nor add one under the old key.
        with pytest.raises(StoreError, match="rotated"):
            other.vault.data_key("erin")
        assert "erin" not in other.vault._table.select_data_keys(["erin"])
    finally:
        other.close()


def test_an_interrupted_rotation_says_where_the_ledgers_key_is(
    ledger: tuple[Store, World], key_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = ledger

    def crash(*args: object) -> None:
        raise OSError("power cut")

    with monkeypatch.context() as m:
        m.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="power cut"):
            store.rotate_service_key()
    pending = pending_key_path(key_file)
    assert pending.exists()  # the database switched; the file did not
    with pytest.raises(StoreError, match="rotation was interrupted") as info:
        open_store(database_url).close()
    assert str(pending) in str(info.value)
    os.replace(pending, key_file)  # what the message says to do
    reopened = open_store(database_url)
    try:
        assert _titles(reopened, "alice") == [TITLE]
    finally:
        reopened.close()


def test_rotation_refuses_a_leftover_pending_key(
    ledger: tuple[Store, World], key_file: Path
) -> None:
    store, _ = ledger
    pending_key_path(key_file).write_bytes(os.urandom(32))
    with pytest.raises(StoreError, match="interrupted"):
        store.rotate_service_key()
    assert _titles(store, "alice") == [TITLE]


def test_cli_shows_and_rotates_the_service_key(
    sqlite_url: str, tmp_path: Path, key_file: Path
) -> None:
    cli = Cli(sqlite_url, tmp_path / "keys")
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    shown = cli.json("service-key", "show")
    assert shown == {"file": str(key_file), "key_id": service_key_id(key_file.read_bytes())}
    unconfirmed = cli("service-key", "rotate")
    assert unconfirmed.exit_code == 1
    assert "--yes" in unconfirmed.stderr
    rotated = cli.json("service-key", "rotate", "--yes")
    assert rotated["old_key_id"] == shown["key_id"]
    assert rotated["key_id"] == service_key_id(key_file.read_bytes()) != shown["key_id"]
    assert rotated["data_keys"] == 1  # the operator's display name
    assert cli.json("audit")["ok"] is True
    assert cli.json("show", "op")["identity"][0]["disclosures"][0][2] == "Operator"
