"""The rule state kept in the store (ledger.store.rule_state), on every backend.

- it gives the verdicts and the state the in-memory state gives, on random ledgers;
- a refused batch leaves neither entries nor state rows;
- the audit catches a tampered state row, located like a tampered entry;
- a ledger written before the state was kept in the store is upgraded from its log.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.audit import audit
from ledger.errors import RuleViolation
from ledger.rules import apply_entry
from ledger.service import LedgerService, UpgradeProgress
from ledger.state import LedgerState
from ledger.state_rows import STATE_TABLES
from ledger.store import Store, open_store
from ledger.store.rule_state import StoredState
from ledger.vault import SERVICE_KEY_ENV
from tests.factories import (
    MemoryLedger,
    random_statements,
    standard_world,
    state_snapshot,
)
from tests.support.cli import Cli
from tests.support.sql import execute_sql
from tests.support.tamper import audit_url

BEFORE = Path(__file__).parent / "data" / "ledger_before_rule_state"


def _rows(store: Store) -> dict[str, list[tuple[str, str]]]:
    """Every stored rule-state row, table by table."""
    return {t: list(store.state_scan(t)) for t in STATE_TABLES}


def _comparable(state: LedgerState) -> dict[str, dict[Any, Any]]:
    """``state``'s tables, stream heads by seq only: an entry's hash covers the time the
    ledger recorded it, which differs between ledgers fed the same statements."""
    snapshot = state_snapshot(state)
    snapshot["heads"] = {stream: head.seq for stream, head in snapshot["heads"].items()}
    return snapshot


def _folded(store: Store) -> LedgerState:
    """The state the store's log produces, folded in memory."""
    state = LedgerState()
    service = LedgerService(store)
    for _, stored in service.read_log(after=0, limit=10**6):
        apply_entry(state, stored.entry, log_index=state.size, verify_signature=False)
    return state


# -- the same verdicts and state as in memory ------------------------------------------------


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_ledgers_same_verdicts_and_state_as_in_memory(
    seed: int, fresh_url: Callable[[], AbstractContextManager[str]]
) -> None:
    rng = random.Random(seed)
    world, statements = random_statements(rng, 40, seed=f"s{seed}")
    with fresh_url() as url:
        store = open_store(url)
        try:
            service = LedgerService(store)
            memory = MemoryLedger()
            done = 0
            while done < len(statements):
                batch = statements[done : done + rng.randint(1, 12)]
                service.append_batch(batch)
                memory.append_batch(batch)
                done += len(batch)
                again = statements[rng.randrange(done)]  # a replay: refused by both alike
                with pytest.raises(RuleViolation) as stored_verdict:
                    service.append(again)
                with pytest.raises(RuleViolation) as memory_verdict:
                    memory.append(again)
                assert stored_verdict.value.code == memory_verdict.value.code
            expected = _comparable(world.ledger.state)
            assert _comparable(memory.state) == expected
            assert _comparable(service.state) == expected
        finally:
            store.close()


# -- a refused batch leaves no trace -----------------------------------------------------------


def test_batch_refused_at_its_last_statement_leaves_no_rows(database_url: str) -> None:
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        alice, carol = w["alice"], w["carol"]
        claim = w.claim(alice)
        batch = [
            claim,
            w.ask_review(alice, claim.statement.id, (carol, "peer")),
            w.endorse(carol, alice, claim.statement.id),
            w.endorse(alice, alice, claim.statement.id),  # self-endorsement: refused
        ]
        position, rows = store.max_position(), _rows(store)
        with pytest.raises(RuleViolation) as info:
            service.append_batch(batch)
        assert info.value.code == "self_endorsement"
        assert "statement 3 of the batch" in info.value.message
        assert store.max_position() == position
        assert _rows(store) == rows
        accepted = service.append_batch(batch[:3])
        assert [r.log_index for r in accepted] == [6, 7, 8]
        assert state_snapshot(service.state) == state_snapshot(_folded(store))
    finally:
        store.close()


class _CountingReads:
    """A store's rule-state reads, counting the counts asked and the rows scanned."""

    def __init__(self, store: Store) -> None:
        self.store, self.counted, self.rows, self.scans = store, 0, 0, 0

    def state_values(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return self.store.state_values(keys)

    def state_scan(self, table: str, *, chunk: int = 1000) -> Iterator[tuple[str, str]]:
        self.scans += 1
        for row in self.store.state_scan(table, chunk=chunk):
            self.rows += 1
            yield row

    def state_count(self, table: str) -> int:
        self.counted += 1
        return self.store.state_count(table)

    def get_node(self, level: int, index: int) -> bytes:
        return self.store.get_node(level, index)


def test_a_tables_size_and_emptiness_count_its_pending_changes(database_url: str) -> None:
    """``len`` and truth of a stored table inside a batch are the stored rows with the
    pending changes applied (as the in-memory dict's), read without a scan: ``if not
    state.erased`` is asked for every statement appended."""
    store = open_store(database_url)
    try:
        reads = _CountingReads(store)
        state = StoredState(reads)
        state.begin()
        assert (len(state.erased), bool(state.erased)) == (0, False)
        state.rollback()
        store.write_state([("erased", "p-1", "4", 4), ("erased", "p-2", "7", 7)], expect_size=0)
        model = {"p-1": 4, "p-2": 7}
        state.begin()
        try:
            for change in ("add p-3", "delete p-1", "delete p-3", "delete p-2", "add p-1"):
                assert (len(state.erased), bool(state.erased)) == (len(model), bool(model))
                what, person = change.split()
                if what == "add":
                    state.erased[person] = model[person] = 9
                else:
                    del state.erased[person], model[person]
            assert (len(state.erased), bool(state.erased)) == (len(model), bool(model)) == (1, True)
            reads.counted, reads.rows = 0, 0
            assert state.erased  # the pending row answers: nothing read
            assert (reads.counted, reads.rows) == (0, 0)
            del state.erased["p-1"]
            assert (len(state.erased), bool(state.erased)) == (0, False)  # all deleted
        finally:
            state.rollback()
        reads.counted, reads.rows = 0, 0
        assert state.erased  # no count: the first row of a range read
        assert (reads.counted, reads.rows) == (0, 1)
        assert len(state.erased) == 2
    finally:
        store.close()


def test_a_tables_emptiness_is_read_once_a_batch(database_url: str) -> None:
    """``if not state.erased``, asked for each statement of a batch, reads the store once
    a batch, whether the table is empty or not (it was one range read per statement: on
    PostgreSQL most of batched ingest's time, bench/README.md); a batch that deletes the
    first stored row still gets the true answer, and the next batch reads again."""
    store = open_store(database_url)
    try:
        reads = _CountingReads(store)
        state = StoredState(reads)
        state.begin()
        assert not any(bool(state.erased) for _ in range(1000))
        assert reads.scans == 1
        state.rollback()
        store.write_state([("erased", "p-1", "4", 4), ("erased", "p-2", "7", 7)], expect_size=0)
        reads.scans = 0
        state.begin()
        try:
            assert all(bool(state.erased) for _ in range(1000))
            assert reads.scans == 1  # a row stored before the batch: read once, kept
            del state.erased["p-1"]  # the first stored row, deleted in the batch
            assert state.erased  # p-2 is still stored: read again, past the deletion
            del state.erased["p-2"]
            assert not state.erased
        finally:
            state.rollback()
        reads.scans = 0
        state.begin()
        assert state.erased  # the rollback forgot the deletions and what was read
        assert reads.scans == 1
        state.rollback()
    finally:
        store.close()


# -- a tampered state row is caught ------------------------------------------------------------


def test_audit_catches_a_tampered_state_row(database_url: str) -> None:
    store = open_store(database_url)
    try:
        w = standard_world(LedgerService(store))
        alice = w["alice"]
        LedgerService(store).append(w.claim(alice))
        assert audit_url(database_url).ok
        registered = LedgerService(store).state.people["alice"].registered_at
        # alice made a manager behind the log's back: the rules would now trust her
        execute_sql(
            store,
            "UPDATE rule_state SET value = replace(value, '[]', '[[\"manager\",\"minbzk/dgo\"]]') "
            "WHERE tbl = 'people' AND key = 'alice'",
        )
    finally:
        store.close()
    report = audit_url(database_url)
    assert report.failure is not None
    failure = report.failure
    assert failure.code == "rule_state_mismatch"
    assert (failure.stream, failure.log_index) == ("identity/alice", registered)
    assert "people" in failure.message
    assert "manager" in failure.evidence["actual"]
    assert "manager" not in failure.evidence["expected"]


def test_audit_catches_a_removed_state_row(database_url: str) -> None:
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        claimed = service.append(w.claim(w["alice"]))
        execute_sql(
            store,
            "DELETE FROM rule_state WHERE tbl = 'statement_ids' AND key = ?",
            (claimed.entry.statement.id,),
        )  # the claim could now be replayed
    finally:
        store.close()
    failure = audit_url(database_url).failure
    assert failure is not None
    assert failure.code == "rule_state_mismatch"
    assert failure.log_index == claimed.log_index
    assert "actual" not in failure.evidence  # no such row
    assert failure.evidence["expected"] == str(claimed.log_index)


# -- upgrading a ledger written before the state was kept in the store -------------------------


def test_ledger_of_the_previous_version_is_upgraded_and_audits_clean(tmp_path: Path) -> None:
    """tests/data/ledger_before_rule_state: ``trackrecord demo --people 5`` run by the
    version before this one (no rule_state table)."""
    for name in ("trackrecord.db", "trackrecord.db.service-key"):
        shutil.copy(BEFORE / name, tmp_path / name)
    url = f"sqlite://{tmp_path / 'trackrecord.db'}"
    key = (tmp_path / "trackrecord.db.service-key").read_bytes()
    store = open_store(url, service_key=key)
    try:
        service = LedgerService(store)
        assert service.behind()
        folded: list[int] = []
        entries = service.catch_up(progress=folded.append)
        assert entries == store.count_nodes(0) > 0
        assert folded[-1] == entries
        assert store.indexed_size() == entries  # the entries' positions too
        assert not service.behind()
        assert state_snapshot(service.state) == state_snapshot(_folded(store))
        report = audit(store)
        assert report.ok, report.as_json()
    finally:
        store.close()


def test_bringing_a_ledger_up_to_date_says_so_before_it_works_and_only_then(
    tmp_path: Path,
) -> None:
    """:meth:`LedgerService.bring_up_to_date` on the previous version's ledger: ``begin``
    once, before any progress; then how many entries were indexed and folded. On a ledger
    up to date (the second call, and a new process) nothing is said."""
    for name in ("trackrecord.db", "trackrecord.db.service-key"):
        shutil.copy(BEFORE / name, tmp_path / name)
    url = f"sqlite://{tmp_path / 'trackrecord.db'}"
    key = (tmp_path / "trackrecord.db.service-key").read_bytes()
    heard: list[tuple[str, int]] = []
    progress = UpgradeProgress(
        begin=lambda: heard.append(("begin", 0)),
        indexed=lambda n: heard.append(("indexed", n)),
        folded=lambda n: heard.append(("folded", n)),
    )
    for opened in range(2):
        store = open_store(url, service_key=key)
        try:
            service = LedgerService(store)
            done = service.bring_up_to_date(progress)
            entries = store.count_nodes(0)
            if opened == 0:
                assert done == (entries, entries)
                assert heard[0] == ("begin", 0)
                assert [w for w, _ in heard].count("begin") == 1
                assert ("indexed", entries) in heard
                assert heard[-1] == ("folded", entries)
                heard.clear()
            assert service.bring_up_to_date(progress) == (0, 0)
            assert heard == []
            assert not service.behind()
        finally:
            store.close()


def test_state_dropped_from_a_ledger_is_built_again_from_its_log(database_url: str) -> None:
    """The schema of the previous version, on every backend: the same ledger without
    its rule_state rows."""
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        service.append_batch([w.claim(w["alice"]), w.claim(w["carol"])])
        before = state_snapshot(service.state)
        execute_sql(store, "DELETE FROM rule_state")
        # opened by a process of this version (which stamps the state's version row)
        service = LedgerService(store)
        w.ledger = service
        assert service.state.size == 0
        assert audit_url(database_url).ok  # nothing stored to compare yet
        assert service.catch_up() == 8
        assert state_snapshot(service.state) == before
        accepted = service.append(w.claim(w["dave"]))
        assert accepted.log_index == 8
    finally:
        store.close()
    report = audit_url(database_url)
    assert report.ok, report.as_json()


def test_migrate_command_builds_the_state_once(tmp_path: Path) -> None:
    for name in ("trackrecord.db", "trackrecord.db.service-key"):
        shutil.copy(BEFORE / name, tmp_path / name)
    cli = Cli(f"sqlite://{tmp_path / 'trackrecord.db'}", tmp_path / "keys")
    key_beside_db = {SERVICE_KEY_ENV: str(tmp_path / "trackrecord.db.service-key")}
    first = cli("migrate", "--json", env=key_beside_db)
    assert first.exit_code == 0, first.output
    migrated = json.loads(first.stdout)
    assert migrated["folded"] == migrated["indexed"] == migrated["entries"] == 78
    assert migrated["read_models_applied"] == 78  # the next start reads a bounded amount
    assert migrated["read_models_refreshed"]  # nor refreshes the reputation snapshots
    again = cli("migrate", env=key_beside_db)
    assert again.exit_code == 0, again.output
    assert "already follows all 78 entries" in again.stdout
    assert "the read models follow the log" in again.stdout
    audited = cli("audit", env=key_beside_db)
    assert audited.exit_code == 0, audited.output
