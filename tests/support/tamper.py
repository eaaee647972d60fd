"""Tampering with a stored ledger by plain SQL, as someone with database access would.

:class:`Backend` hands out empty databases; :class:`SqliteRows` / :class:`PostgresRows`
give raw access to one backend's entry table; :func:`tamper` applies one kind of
:data:`KINDS` (chosen by hypothesis) and returns what was done and which log index the
audit must name. A forged entry gets a correctly sealed tail (:func:`sealed`), as if the
attacker also held the service key. Used by ``tests/test_tamper.py`` and the long runs of
``bench/reliability``.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psycopg
from hypothesis import strategies as st

from keys import Purpose
from ledger import commands
from ledger.audit import AuditReport, audit
from ledger.canonical import b64encode, canonical_bytes
from ledger.entry import Entry, decode_record, encode_record, next_entry
from ledger.rules import apply_entry
from ledger.service import LedgerService
from ledger.state import LedgerState
from ledger.statement import SignedStatement, Signer
from ledger.store import open_store, stream_originator_id
from ledger.store.base import ENTRY_TOPIC
from ledger.vault import sealed_owner
from tests.factories import ORG, OTHER_DEPT, TEST_ORIGIN, TickClock, World, identity_for

__all__ = [
    "IN_PLACE",
    "KINDS",
    "Backend",
    "PostgresRows",
    "Row",
    "Rows",
    "SqliteRows",
    "Tampered",
    "audit_url",
    "entry_of",
    "flip",
    "fold",
    "sealed",
    "span_of",
    "tamper",
    "write_ledger",
]

KINDS = (
    "flip_statement",
    "flip_signature",
    "flip_prev",
    "resign",
    "delete",
    "swap",
    "insert_copy",
    "insert_forged",
    "cut_tail",
)
IN_PLACE = frozenset({"flip_statement", "flip_signature", "flip_prev", "resign", "cut_tail"})


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
        # Every table of the database, so that a table a later version adds (say the entries'
        # positions) cannot carry one example's rows into the next.
        self.db.execute(
            "DO $$ DECLARE tables text; BEGIN "
            "SELECT string_agg(format('%I', tablename), ', ') INTO tables "
            "FROM pg_tables WHERE schemaname = current_schema(); "
            "IF tables IS NOT NULL THEN "
            "EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY'; "
            "END IF; END $$"
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
    if kind == "cut_tail":  # the sealed disclosures cut off: content deleted, not erased
        erased = {e.statement.subject for e in entries if e.statement.type == "PersonErased"}
        owners = [sealed_owner(r.state.partition(b"\n")[2]) for r in rows]
        sealed_rows = [i for i, o in enumerate(owners) if o is not None and o not in erased]
        k = data.draw(st.sampled_from(sealed_rows), label="k")
        db.set_state(rows[k].position, rows[k].state.partition(b"\n")[0] + b"\n")
        return Tampered(f"sealed disclosures cut off at {k}", k, entries[k])
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
        choices: list[SignedStatement] = [
            commands.register_identity(Signer(mallory, TEST_ORIGIN), **register)
        ]
    else:
        assert state.operator is not None
        operator_key = state.people[state.operator].current_key
        assert operator_key is not None
        choices = [
            commands.register_identity(Signer(w.identities[operator_key], TEST_ORIGIN), **register)
        ]
        later_streams = {e.stream for e in entries[p:]}
        for person in sorted(state.people.values(), key=lambda x: x.id):
            if person.current_key and f"record/{person.id}" not in later_streams:
                signer = w.identities[person.current_key]
                choices.append(
                    commands.state_ambition(
                        Signer(signer, TEST_ORIGIN), person=person.id, goal="Forged"
                    )
                )
    signed = data.draw(st.sampled_from(choices), label="forged")
    s = signed.statement
    recorded_at = entries[max(p - 1, 0)].recorded_at
    entry = next_entry(state.heads.get(s.stream), s, signed.signature, recorded_at)
    apply_entry(state, entry, log_index=p)  # it really is valid there
    return entry, encode_record(entry, signed.disclosures)
