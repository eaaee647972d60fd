"""Tampering with the stored rows is found by the audit, at the entry that was tampered with.

For random valid ledgers (8-25 entries), written through the real service to the real
store, one tampering chosen by hypothesis is applied with plain SQL on the backend's
own tables (SQLite ``stored_events`` with ``rowid`` as position; PostgreSQL
``ledger_events`` with ``notification_id``), bypassing the library as an attacker with
database access would. The Merkle node tables are left alone. Stored disclosures are
sealed (``ledger.vault``); a forged entry gets a correctly sealed tail, as if the
attacker also held the service key, so that only the log's own checks can find it. Then
``audit(open_store(url))`` must fail, and name the entry:

=================  ===========================================================
tampering          the failure's ``log_index`` (0-based position in the log)
=================  ===========================================================
flip_statement     k, the row whose statement bytes were flipped
flip_signature     k, the row whose signature text was flipped
flip_prev          k, the row whose ``prev`` text was flipped
resign             k, the row re-signed by another key valid at k
delete             k, where the deleted entry was (the next one now sits there)
swap               i, the earlier of the two rows whose records were swapped
insert_copy        p, where a copy of a row, re-keyed to a new version, was put
insert_forged      p, where a new, validly signed, correctly chained entry was put
=================  ===========================================================

For the kinds that leave the tampered entry at its place and in its stream, a failure
that names a stream and seq must name that entry's.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from keys import Purpose
from ledger import commands
from ledger.audit import AuditReport, audit
from ledger.canonical import b64encode, canonical_bytes
from ledger.entry import GENESIS_PREV, Entry, decode_record, encode_record, make_entry
from ledger.rules import apply_entry
from ledger.service import LedgerService
from ledger.state import LedgerState
from ledger.statement import SignedStatement
from ledger.store import open_store, stream_originator_id
from ledger.store.base import ENTRY_TOPIC
from tests import pgcluster
from tests.factories import ORG, OTHER_DEPT, TickClock, World, identity_for, random_statements

KINDS = (
    "flip_statement",
    "flip_signature",
    "flip_prev",
    "resign",
    "delete",
    "swap",
    "insert_copy",
    "insert_forged",
)
IN_PLACE = frozenset({"flip_statement", "flip_signature", "flip_prev", "resign"})
# Half of the profile's examples per backend: 25 in "ci", 500 in "thorough".
EXAMPLES = max(10, settings().max_examples // 2)


@dataclass(frozen=True)
class Row:
    """A stored entry row as the database holds it."""

    position: int
    originator_id: uuid.UUID
    version: int
    state: bytes


class Rows(Protocol):
    """Raw SQL access to one backend's entry table, for tampering."""

    url: str

    def rows(self) -> list[Row]: ...

    def set_state(self, position: int, state: bytes) -> None: ...

    def delete(self, position: int) -> None: ...

    def insert(self, position: int, originator_id: uuid.UUID, version: int, state: bytes) -> None:
        """Insert a row at an unused ``position``."""

    def spread(self) -> None:
        """Double every position, so that there is a free position between any two rows."""

    def close(self) -> None: ...


class SqliteRows:
    def __init__(self, url: str) -> None:
        self.url = url
        self.db = sqlite3.connect(url.removeprefix("sqlite://"), isolation_level=None)

    def rows(self) -> list[Row]:
        cur = self.db.execute(
            "SELECT rowid, originator_id, originator_version, state FROM stored_events "
            "ORDER BY rowid"
        )
        return [Row(p, uuid.UUID(o), v, bytes(s)) for p, o, v, s in cur]

    def set_state(self, position: int, state: bytes) -> None:
        self.db.execute("UPDATE stored_events SET state=? WHERE rowid=?", (state, position))

    def delete(self, position: int) -> None:
        self.db.execute("DELETE FROM stored_events WHERE rowid=?", (position,))

    def insert(self, position: int, originator_id: uuid.UUID, version: int, state: bytes) -> None:
        self.db.execute(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            (position, originator_id.hex, version, ENTRY_TOPIC, state),
        )

    def spread(self) -> None:
        self.db.execute("UPDATE stored_events SET rowid = rowid + 1000000")
        self.db.execute("UPDATE stored_events SET rowid = (rowid - 1000000) * 2")

    def close(self) -> None:
        self.db.close()


class PostgresRows:
    def __init__(self, url: str) -> None:
        self.url = url
        self.db = psycopg.connect(url, autocommit=True)

    def rows(self) -> list[Row]:
        cur = self.db.execute(
            "SELECT notification_id, originator_id, originator_version, state FROM ledger_events "
            "ORDER BY notification_id"
        )
        return [Row(p, o, v, bytes(s)) for p, o, v, s in cur]

    def set_state(self, position: int, state: bytes) -> None:
        self.db.execute(
            "UPDATE ledger_events SET state=%s WHERE notification_id=%s", (state, position)
        )

    def delete(self, position: int) -> None:
        self.db.execute("DELETE FROM ledger_events WHERE notification_id=%s", (position,))

    def insert(self, position: int, originator_id: uuid.UUID, version: int, state: bytes) -> None:
        self.db.execute(
            "INSERT INTO ledger_events "
            "(notification_id, originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s, %s)",
            (position, originator_id, version, ENTRY_TOPIC, state),
        )

    def spread(self) -> None:
        self.db.execute("UPDATE ledger_events SET notification_id = notification_id + 1000000")
        self.db.execute(
            "UPDATE ledger_events SET notification_id = (notification_id - 1000000) * 2"
        )

    def reset(self) -> None:
        self.db.execute(
            "DO $$ BEGIN IF to_regclass('ledger_events') IS NOT NULL THEN "
            "TRUNCATE ledger_events, ledger_merkle_nodes RESTART IDENTITY; END IF; END $$"
        )

    def close(self) -> None:
        self.db.close()


class Backend:
    """Hands out one empty database per hypothesis example on one storage backend.

    SQLite: a new file each time. PostgreSQL: one database for the module, emptied
    between examples (creating a database per example would cost far more than the test).
    """

    def __init__(self, name: str, directory: Path, postgres_url: str | None) -> None:
        self.name = name
        self._directory = directory
        self._postgres_url = postgres_url
        self._count = 0

    def fresh(self) -> Rows:
        self._count += 1
        if self._postgres_url is None:
            path = self._directory / f"tamper-{self._count}.db"
            return SqliteRows(f"sqlite://{path.resolve().as_posix()}")
        rows = PostgresRows(self._postgres_url)
        rows.reset()
        return rows


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    directory = tmp_path_factory.mktemp("tamper")
    if request.param == "sqlite":
        yield Backend("sqlite", directory, None)
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    with pgcluster.fresh_database(server_url) as url:
        yield Backend("postgres", directory, url)


# -- helpers ----------------------------------------------------------------------------------


def write_ledger(url: str, signed: list[SignedStatement], cuts: list[int]) -> None:
    """Append ``signed`` through the real service, in batches split at ``cuts``."""
    store = open_store(url)
    try:
        service = LedgerService(store, clock=TickClock())
        bounds = [0, *sorted(set(cuts)), len(signed)]
        for lo, hi in itertools.pairwise(bounds):
            if hi > lo:
                service.append_batch(signed[lo:hi])
    finally:
        store.close()


def audit_url(url: str) -> AuditReport:
    store = open_store(url)
    try:
        return audit(store)
    finally:
        store.close()


def fold(entries: list[Entry], upto: int) -> LedgerState:
    """The ledger state before log index ``upto``."""
    state = LedgerState()
    for index, entry in enumerate(entries[:upto]):
        apply_entry(state, entry, log_index=index, verify_signature=False)
    return state


def flip(blob: bytes, index: int, mask: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ mask]) + blob[index + 1 :]


def span_of(head: bytes, start_marker: bytes, end_marker: bytes) -> tuple[int, int]:
    """The byte range strictly between the first ``start_marker`` and the next ``end_marker``."""
    start = head.index(start_marker) + len(start_marker)
    return start, head.index(end_marker, start)


# -- the tamperings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tampered:
    """What was done and which log index the audit must name."""

    description: str
    log_index: int
    entry: Entry | None = None  # the tampered entry, for the kinds that leave it in place


def entry_of(state: bytes) -> Entry:
    """The entry of a stored row (its tail holds sealed disclosures, not JSON)."""
    return decode_record(state.partition(b"\n")[0] + b"\n[]")[0]


def sealed(url: str, record: bytes, owner: str) -> bytes:
    """``record`` (``encode_record`` output) as the store keeps it, sealed for ``owner``."""
    store = open_store(url)
    try:
        return store.vault.seal_record(record, owner)
    finally:
        store.close()


def tamper(kind: str, data: st.DataObject, db: Rows, w: World) -> Tampered:
    rows = db.rows()
    entries = [entry_of(r.state) for r in rows]
    n = len(rows)
    if kind in ("flip_statement", "flip_signature", "flip_prev"):
        k = data.draw(st.integers(0, n - 1), label="k")
        head, _, tail = rows[k].state.partition(b"\n")
        if kind == "flip_statement":
            lo, hi = span_of(head, b'"statement":', b',"stream":"')
        elif kind == "flip_signature":
            lo, hi = span_of(head, b'"signature":"', b'"')
        else:
            lo, hi = span_of(head, b'"prev":"', b'"')
        at = data.draw(st.integers(lo, hi - 1), label="byte")
        mask = data.draw(st.integers(1, 255), label="mask")
        db.set_state(rows[k].position, flip(head, at, mask) + b"\n" + tail)
        return Tampered(f"{kind} at {k}, byte {at} ^ {mask:#x}", k, entries[k])
    if kind == "resign":
        return _resign(data, db, rows, entries, w)
    if kind == "delete":
        k = data.draw(st.integers(0, n - 1), label="k")
        db.delete(rows[k].position)
        return Tampered(f"delete {k}", k)
    if kind == "swap":
        pair = st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)
        i, j = sorted(data.draw(pair, label="i, j"))
        db.set_state(rows[i].position, rows[j].state)
        db.set_state(rows[j].position, rows[i].state)
        return Tampered(f"swap {i} and {j}", i)
    p = data.draw(st.integers(0, n), label="p")
    if kind == "insert_copy":
        k = data.draw(st.integers(0, n - 1), label="k")
        stream = entries[k].stream
        version = max(e.seq for e in entries if e.stream == stream) + 1
        _insert(db, p, rows, stream_originator_id(stream), version, rows[k].state)
        return Tampered(f"copy of {k} as {stream}#{version} at {p}", p)
    assert kind == "insert_forged"
    entry, blob = _forged_entry(data, entries, p, w)
    blob = sealed(db.url, blob, entry.stream.partition("/")[2])  # identity/P or record/P
    _insert(db, p, rows, stream_originator_id(entry.stream), entry.seq, blob)
    return Tampered(f"forged {entry.statement.type} {entry.stream}#{entry.seq} at {p}", p)


def _insert(
    db: Rows, p: int, rows: list[Row], originator: uuid.UUID, version: int, blob: bytes
) -> None:
    """Insert a row so that it becomes log index ``p`` (``p == len(rows)``: at the end)."""
    db.spread()
    positions = [r.position * 2 for r in rows]
    position = positions[p] - 1 if p < len(rows) else positions[-1] + 1
    db.insert(position, originator, version, blob)


def _resign(
    data: st.DataObject, db: Rows, rows: list[Row], entries: list[Entry], w: World
) -> Tampered:
    """Replace one entry's author by another key valid at that point, with its signature."""
    options: list[tuple[int, str]] = []
    for k, entry in enumerate(entries):
        state = fold(entries, k)
        for key in state.keys.values():
            if key.retired_at is None and key.key_id != entry.statement.author:
                options.append((k, key.key_id))
    k, key_id = data.draw(st.sampled_from(options), label="k, key")
    head, _, tail = rows[k].state.partition(b"\n")
    doc: dict[str, Any] = json.loads(head)
    doc["statement"]["author"] = key_id
    signature = w.identities[key_id].sign(Purpose.STATEMENT, canonical_bytes(doc["statement"]))
    doc["signature"] = b64encode(signature)
    db.set_state(rows[k].position, canonical_bytes(doc) + b"\n" + tail)
    return Tampered(f"re-sign {k} with {key_id}", k, entries[k])


def _forged_entry(
    data: st.DataObject, entries: list[Entry], p: int, w: World
) -> tuple[Entry, bytes]:
    """A new entry that would pass every rule at log index ``p``, validly signed."""
    state = fold(entries, p)
    mallory = identity_for("mallory")
    register: dict[str, Any] = {
        "person": "mallory",
        "public_key": mallory.public_key.raw,
        "organisation": ORG,
        "department": OTHER_DEPT,
        "display_name": "Mallory",
    }
    if p == 0:  # a rival genesis
        choices: list[SignedStatement] = [commands.register_identity(mallory, **register)]
    else:
        assert state.operator is not None
        operator_key = state.people[state.operator].current_key
        assert operator_key is not None
        choices = [commands.register_identity(w.identities[operator_key], **register)]
        later_streams = {e.stream for e in entries[p:]}
        for person in sorted(state.people.values(), key=lambda x: x.id):
            if person.current_key and f"record/{person.id}" not in later_streams:
                signer = w.identities[person.current_key]
                choices.append(commands.state_ambition(signer, person=person.id, goal="Forged"))
    signed = data.draw(st.sampled_from(choices), label="forged")
    s = signed.statement
    head = state.heads.get(s.stream)
    entry = make_entry(
        stream=s.stream,
        seq=head.seq + 1 if head else 1,
        prev=head.hash if head else GENESIS_PREV,
        statement=s,
        signature=signed.signature,
        recorded_at=entries[max(p - 1, 0)].recorded_at,
    )
    apply_entry(state, entry, log_index=p)  # it really is valid there
    return entry, encode_record(entry, signed.disclosures)


# -- the property ---------------------------------------------------------------------------------


# No shrinking: a failing example is already small and the assertion message describes the
# tampering exactly, while each shrink step costs a database round trip (shrinking would run
# into hypothesis's five-minute limit).
@settings(max_examples=EXAMPLES, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    size=st.integers(8, 25),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(1, 24), max_size=2),
    kind=st.sampled_from(KINDS),
    data=st.data(),
)
def test_audit_names_the_tampered_entry(
    backend: Backend, size: int, seed: int, cuts: list[int], kind: str, data: st.DataObject
) -> None:
    w, signed = random_statements(random.Random(seed), size, seed=f"tamper-{seed}")
    db = backend.fresh()
    try:
        write_ledger(db.url, signed, [c for c in cuts if c < size])
        clean = audit_url(db.url)
        assert clean.ok, clean.as_json()
        assert clean.entries == size

        done = tamper(kind, data, db, w)
        report = audit_url(db.url)
    finally:
        db.close()

    failure = report.failure
    assert failure is not None, f"{done.description}: the audit found nothing"
    where = (failure.log_index, failure.stream, failure.seq, failure.code, failure.message)
    assert failure.log_index == done.log_index, f"{done.description}: reported {where}"
    if done.entry is not None and failure.stream is not None:
        assert (failure.stream, failure.seq) == (done.entry.stream, done.entry.seq), where


# -- one deterministic sweep: the same tampering at every index of one ledger ---------------------


@pytest.fixture(scope="module")
def fixed_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-entry SQLite ledger, written once; tests tamper with copies of the file."""
    path = tmp_path_factory.mktemp("fixed") / "ledger.db"
    _, signed = random_statements(random.Random(2026), 16, seed="fixed")
    write_ledger(f"sqlite://{path.resolve().as_posix()}", signed, [5, 11])
    return path


@pytest.mark.parametrize("k", range(16))
def test_other_valid_signature_is_named_at_its_index(fixed_ledger: Path, k: int) -> None:
    """A signature replaced by other valid base64 of the right length: the signature check
    and the Merkle leaf both fail at k; nodes above leaf k must not be blamed on k's left
    neighbours."""
    copy = fixed_ledger.with_name(f"copy-{k}.db")
    copy.write_bytes(fixed_ledger.read_bytes())
    db = SqliteRows(f"sqlite://{copy.resolve().as_posix()}")
    try:
        row = db.rows()[k]
        head, _, tail = row.state.partition(b"\n")
        at = span_of(head, b'"signature":"', b'"')[0] + 10
        swapped = b"B" if head[at : at + 1] == b"A" else b"A"
        db.set_state(row.position, head[:at] + swapped + head[at + 1 :] + b"\n" + tail)
    finally:
        db.close()
    report = audit_url(db.url)
    assert report.failure is not None
    assert report.failure.code in ("bad_signature", "merkle_mismatch")
    assert report.failure.log_index == k, report.failure.as_json()
