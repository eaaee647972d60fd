"""The audit's re-derived rule state spilled to a temporary file (ledger.audit_spill):
the same report as in memory, chunk by chunk on the file, and the same failures."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

import ledger.audit as audit_module
from ledger.audit import audit
from ledger.audit_spill import SpillFile, spill
from ledger.rules import apply_entry
from ledger.service import LedgerService
from ledger.state import LedgerState
from ledger.state_rows import STATE_TABLES
from ledger.store import open_store
from tests.factories import random_statements, standard_world, state_snapshot
from tests.support.cli import Cli
from tests.support.sql import execute_sql


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit 7 entries at a time, so most chunks run on the spilled state."""
    monkeypatch.setattr(audit_module, "_CHUNK", 7)


def test_a_spilled_state_is_the_state_it_was_made_from(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        service = LedgerService(store)
        _, statements = random_statements(random.Random(3), 60, seed="spill")
        service.append_batch(statements)
        state = LedgerState()
        for _, stored in service.read_log(after=0, limit=1000):
            apply_entry(state, stored.entry, log_index=state.size, verify_signature=False)
        spilled, file = spill(state)
        try:
            assert state_snapshot(spilled) == state_snapshot(state)
            for table in STATE_TABLES:  # the rules see each table in the same order
                assert list(getattr(spilled, table)) == list(getattr(state, table))
            path = file.path
            assert path.is_file()
        finally:
            file.close()
        assert not path.exists()
    finally:
        store.close()


@pytest.mark.usefixtures("small_chunks")
def test_a_spilling_audit_reports_what_an_audit_in_memory_does(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        service = LedgerService(store)
        _, statements = random_statements(random.Random(5), 80, seed="spill")
        for start in range(0, len(statements), 9):
            service.append_batch(statements[start : start + 9])
        in_memory = audit(store, spill_at=None)
        spilling = audit(store, spill_at=10)
    finally:
        store.close()
    assert in_memory.ok, in_memory.as_json()
    assert spilling.ok, spilling.as_json()
    keep = ("entries", "streams", "identities", "keys", "erased")
    assert {k: getattr(spilling, k) for k in keep} == {k: getattr(in_memory, k) for k in keep}


@pytest.mark.usefixtures("small_chunks")
def test_a_spilling_audit_catches_a_removed_state_row(database_url: str) -> None:
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        claimed = service.append(w.claim(w["alice"]))
        service.append(w.claim(w["carol"]))
        execute_sql(
            store,
            "DELETE FROM rule_state WHERE tbl = 'statement_ids' AND key = ?",
            (claimed.entry.statement.id,),
        )
        failure = audit(store, spill_at=1).failure
    finally:
        store.close()
    assert failure is not None
    assert failure.code == "rule_state_mismatch"
    assert failure.log_index == claimed.log_index
    assert failure.evidence["expected"] == str(claimed.log_index)


@pytest.mark.usefixtures("small_chunks")
def test_a_spilling_audit_catches_a_tampered_entry(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        accepted = [service.append(w.claim(w[p])) for p in ("alice", "carol", "dave")]
    finally:
        store.close()
    victim = accepted[-1]
    with sqlite3.connect(Path(sqlite_url.removeprefix("sqlite://"))) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = ?", (victim.position,))
    store = open_store(sqlite_url)
    try:
        in_memory = audit(store, spill_at=None).failure
        spilling = audit(store, spill_at=1).failure
    finally:
        store.close()
    assert in_memory is not None
    assert spilling is not None
    assert (spilling.code, spilling.log_index) == (in_memory.code, in_memory.log_index)


def test_a_spill_file_keeps_a_rows_first_at() -> None:
    file = SpillFile()
    try:
        file.write([("heads", "b", '"1"', 5), ("heads", "a", '"1"', 7)])
        file.write([("heads", "b", '"2"', 9), ("heads", "c", None, 9)])
        assert list(file.state_scan("heads", chunk=1)) == [("b", '"2"'), ("a", '"1"')]
        assert file.state_values([("heads", "b"), ("heads", "z")]) == {("heads", "b"): '"2"'}
        assert file.state_count("heads") == 2
    finally:
        file.close()


@pytest.mark.usefixtures("small_chunks")
def test_the_audit_command_spills_when_asked(sqlite_url: str, tmp_path: Path) -> None:
    store = open_store(sqlite_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        service.append_batch([w.claim(w[p]) for p in ("alice", "carol", "dave")])
        size = service.state.size
    finally:
        store.close()
    cli = Cli(sqlite_url, tmp_path / "keys")
    for spill_at in ("1", "100000"):
        result = cli("audit", "--json", "--spill-at", spill_at)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["entries"] == size
