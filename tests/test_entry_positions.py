"""The entries' log indexes and store positions kept in the store
(ledger.store.position_tables), on every backend:

- every append writes each entry's (log index, position) row with the entry, and every
  look-up (by log index, by position, by stream) answers from the table;
- an append that fails writes none;
- a ledger written before the table existed is indexed by ``trackrecord migrate``
  (or the catch-up of the first command that appends) and then audits clean;
- a tampered row (pointing elsewhere, removed, or beyond the log) is caught by the audit
  as ``position_mismatch``, located like a tampered entry (ledger/positions_audit.py),
  also when the audit spills its state to a file.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from ledger.audit import audit
from ledger.service import LedgerService
from ledger.store import Store, open_store
from ledger.vault import SERVICE_KEY_ENV
from projections.schema import head_revision
from tests.factories import standard_world
from tests.support.api_server import live_server
from tests.support.cli import Cli
from tests.support.sql import execute_sql
from tests.support.tamper import audit_url

BEFORE = Path(__file__).parent / "data" / "ledger_before_rule_state"


def _expected(store: Store) -> tuple[list[int], dict[str, dict[int, int]]]:
    """Each entry's position by log index, and each stream's log indexes by seq, read
    from the log itself."""
    positions: list[int] = []
    streams: dict[str, dict[int, int]] = {}
    for i, rec in enumerate(store.read(after=0, limit=10**6)):
        positions.append(rec.position)
        head = json.loads(rec.head)
        streams.setdefault(head["stream"], {})[head["seq"]] = i
    return positions, streams


def _assert_indexed(store: Store) -> None:
    positions, streams = _expected(store)
    assert store.indexed_size() == len(positions) > 0
    for i, position in enumerate(positions):
        assert store.position_of(i) == position
        assert store.log_index_of(position) == i
    assert store.position_of(len(positions)) is None
    assert store.log_index_of(positions[-1] + 1) is None
    for stream, indexes in streams.items():
        assert store.stream_log_indexes(stream) == indexes
    assert store.stream_log_indexes("record/nobody") == {}


def test_each_append_writes_its_entries_positions(database_url: str) -> None:
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        accepted = service.append_batch([w.claim(w["alice"]), w.claim(w["carol"])])
        assert [store.position_of(a.log_index) for a in accepted] == [a.position for a in accepted]
        _assert_indexed(store)
    finally:
        store.close()


def _tampered_ledger(database_url: str) -> tuple[list[int], dict[str, dict[int, int]]]:
    """The standard world plus two claims; each entry's position and each stream's log
    indexes by seq, read from the log. Audits clean as written."""
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        service.append_batch([w.claim(w["alice"]), w.claim(w["carol"])])
        expected = _expected(store)
    finally:
        store.close()
    assert audit_url(database_url).ok
    return expected


def _where(streams: dict[str, dict[int, int]], index: int) -> tuple[str, int]:
    return next(
        (s, seq) for s, by_seq in streams.items() for seq, i in by_seq.items() if i == index
    )


@pytest.mark.parametrize("spill_at", [None, 3], ids=["in_memory", "spilled"])
def test_a_position_row_pointing_elsewhere_is_caught_by_the_audit(
    database_url: str, spill_at: int | None
) -> None:
    positions, streams = _tampered_ledger(database_url)
    index = len(positions) // 2
    store = open_store(database_url)
    try:  # two rows swapped: each points at the other's entry (positions stay unique)
        a, b = positions[index], positions[index + 1]
        execute_sql(store, "UPDATE entry_positions SET position=-1 WHERE log_index=?", (index,))
        execute_sql(
            store, "UPDATE entry_positions SET position=? WHERE log_index=?", (a, index + 1)
        )
        execute_sql(store, "UPDATE entry_positions SET position=? WHERE log_index=?", (b, index))
        failure = audit(store, spill_at=spill_at).failure
    finally:
        store.close()
    assert failure is not None
    stream, seq = _where(streams, index)
    assert (failure.code, failure.log_index, failure.stream, failure.seq) == (
        "position_mismatch", index, stream, seq,
    )  # fmt: skip
    assert failure.evidence["expected"] == str(a)
    assert failure.evidence["actual"] == str(b)


def test_a_removed_position_row_is_caught_by_the_audit(database_url: str) -> None:
    _, streams = _tampered_ledger(database_url)
    index = 3
    store = open_store(database_url)
    try:
        execute_sql(store, "DELETE FROM entry_positions WHERE log_index=?", (index,))
        failure = audit(store).failure
    finally:
        store.close()
    assert failure is not None
    stream, seq = _where(streams, index)
    assert (failure.code, failure.log_index, failure.stream, failure.seq) == (
        "position_mismatch", index, stream, seq,
    )  # fmt: skip


def test_a_position_row_beyond_the_log_is_caught_by_the_audit(database_url: str) -> None:
    positions, _ = _tampered_ledger(database_url)
    size = len(positions)
    store = open_store(database_url)
    try:
        execute_sql(
            store, "INSERT INTO entry_positions VALUES (?, ?)", (size, positions[-1] + 1000)
        )
        failure = audit(store).failure
    finally:
        store.close()
    assert failure is not None
    assert (failure.code, failure.log_index) == ("position_mismatch", size)


def test_a_partly_indexed_ledger_audits_clean(database_url: str) -> None:
    """Rows for a first part of the log and none after (a migration not finished yet):
    no tampering, the audit passes; the next catch-up indexes the rest."""
    positions, _ = _tampered_ledger(database_url)
    store = open_store(database_url)
    try:
        execute_sql(store, "DELETE FROM entry_positions WHERE log_index>=?", (len(positions) - 3,))
        assert store.indexed_size() == len(positions) - 3
        report = audit(store)
        assert report.ok, report.as_json()
    finally:
        store.close()


def test_a_ledger_written_before_the_positions_were_kept_is_indexed_by_migrate(
    database_url: str, tmp_path: Path
) -> None:
    """The previous version's schema on every backend: the same ledger without the
    positions table (and without rule-state rows, as before that)."""
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        service.append_batch([w.claim(w["alice"]), w.claim(w["carol"])])
        size = service.state.size
        execute_sql(store, "DROP TABLE entry_positions")
        execute_sql(store, "DELETE FROM rule_state")
    finally:
        store.close()
    store = open_store(database_url)  # creates the missing table, empty
    try:
        assert store.indexed_size() == 0
        assert LedgerService(store).behind()
    finally:
        store.close()

    cli = Cli(database_url, tmp_path / "keys")
    first = cli("migrate", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) | {"seconds": 0} == {
        "folded": size,
        "indexed": size,
        "entries": size,
        "schema_before": None,  # no read model tables yet: created at the newest revision
        "schema": head_revision(),
        "read_models_applied": size,  # no read model followed the log yet
        "read_models_refreshed": True,  # nor was refreshed: not left to the service's start
        "heads_tree_stored": None,  # no checkpoint
        "imports_stamp_stored": True,  # no import yet: counted once, stored
        "seconds": 0,
    }
    again = cli("migrate")
    assert again.exit_code == 0, again.output
    assert f"already follows all {size} entries" in again.stdout
    report = audit_url(database_url)
    assert report.ok, report.as_json()

    store = open_store(database_url)
    try:
        _assert_indexed(store)
        accepted = LedgerService(store).append(w.claim(w["dave"]))
        assert accepted.log_index == size
        assert store.position_of(size) == accepted.position
        _assert_indexed(store)
    finally:
        store.close()


def test_serving_a_previous_versions_ledger_builds_what_it_lacks_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """tests/data/ledger_before_rule_state (78 entries, no rule state, no positions table)
    served as it is: the service says it builds them, then answers by log index."""
    for name in ("trackrecord.db", "trackrecord.db.service-key"):
        shutil.copy(BEFORE / name, tmp_path / name)
    monkeypatch.setenv(SERVICE_KEY_ENV, str(tmp_path / "trackrecord.db.service-key"))
    url = f"sqlite://{tmp_path / 'trackrecord.db'}"
    with caplog.at_level(logging.WARNING, logger="api.app"), live_server(url) as live:
        last = live.client.get("/entries/77")
        beyond = live.client.get("/entries/78")
    assert "written by an earlier version" in caplog.text
    assert last.status_code == 200, last.text
    assert last.json()["log_index"] == 77
    assert beyond.status_code == 404
