"""Tampering with a stored ledger, many times over: does the audit, or the monitor, notice?

**Audit runs.** Random valid ledgers (8-40 entries, ``tests.factories.random_statements``)
are written through the real service; each one is snapshotted and then, hundreds of times,
restored, tampered with by one random edit in plain SQL on the backend's own tables, and
audited from scratch (``ledger.audit.audit`` on a newly opened store). The edits are the
kinds of ``tests/support/tamper.py`` (its ``tamper`` function, driven by hypothesis as there:
flipped statement, signature and ``prev`` bytes, a re-signature by another valid key,
deleted, swapped, copied and validly forged rows) plus, here: an edited disclosure (a
personal value beside the signed statement), random bytes, a re-serialised
(non-canonical) record, a 100,000-deep nested record, and edits of the Merkle
node table (a flipped node, a deleted node, the leaves truncated from an index on with
every node above them). A tampering is *detected* when the audit reports a failure and
*located* when the failure names the log index that was touched.

**Checkpoint runs.** A monitor (``ledger.monitor.Monitor``) has seen the latest signed
checkpoint; then the stored checkpoints are edited (a changed character, the latest note
replaced by an older genuine one or by one signed with another key, the latest deleted),
or the log is rolled back consistently (entries, Merkle nodes and checkpoints removed from
the end; the audit cannot see this) and the honest operator signs what is left, or rolled
back and extended differently (a fork). A client then fetches the latest checkpoint and a
consistency proof from the log, as a monitor does: detected when that raises a typed error.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from keys import Identity
from ledger import commands
from ledger.audit import audit
from ledger.canonical import canonical_bytes
from ledger.checkpoint import NoteVerifier, sign_checkpoint, verify_checkpoint
from ledger.errors import LedgerError
from ledger.monitor import Monitor
from ledger.rollback import CheckpointMemory, RolledBack
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from ledger.vault import Opened
from tests.factories import TEST_ORIGIN, TickClock, World, identity_for, random_statements
from tests.support.hostile import nested_text
from tests.support.tamper import (
    KINDS,
    Backend,
    PostgresRows,
    Row,
    Rows,
    Tampered,
    sealed,
    tamper,
    write_ledger,
)

from .report import Tally, timed

__all__ = [
    "ALL_KINDS",
    "CHECKPOINT_KINDS",
    "run_audit_tampering",
    "run_checkpoint_tampering",
]

EXTRA_KINDS = (
    "disclosure_value",
    "garbage",
    "reserialise",
    "deep_nesting",
    "merkle_flip",
    "merkle_delete",
    "merkle_truncate",
)
ALL_KINDS = (*KINDS, *EXTRA_KINDS)
CHECKPOINT_KINDS = (
    "note_changed",
    "note_older",
    "note_other_key",
    "note_deleted",
    "rollback",
    "fork",
)
ORIGIN = TEST_ORIGIN  # what random_statements sign for
_PER_LEDGER = 250
Say = Callable[[str], None]


# -- raw tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    nodes: str
    checkpoints: str
    rule_state: str
    mark: str  # the driver's parameter placeholder


def _tables(db: Rows) -> _Tables:
    if isinstance(db, PostgresRows):
        return _Tables("ledger_merkle_nodes", "ledger_checkpoints", "ledger_rule_state", "%s")
    return _Tables("merkle_nodes", "checkpoints", "rule_state", "?")


def _sql(db: Rows, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run one statement on the tampering connection (``?`` becomes the driver's mark)."""
    conn: Any = db.db  # type: ignore[attr-defined]
    cursor = conn.execute(statement.replace("?", _tables(db).mark), params)
    return list(cursor.fetchall()) if cursor.description else []


@contextlib.contextmanager
def _transaction(db: Rows) -> Iterator[None]:
    conn: Any = db.db  # type: ignore[attr-defined]
    if isinstance(db, PostgresRows):
        with conn.transaction():
            yield
        return
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@dataclass(frozen=True)
class Snapshot:
    """Every row a tampering may touch: entries, Merkle nodes, checkpoints."""

    rows: list[Row]
    nodes: list[tuple[int, int, bytes]]
    checkpoints: list[tuple[int, str]]


def snapshot(db: Rows) -> Snapshot:
    t = _tables(db)
    nodes = [(int(a), int(b), bytes(c)) for a, b, c in _sql(db, f"SELECT * FROM {t.nodes}")]
    cps = [(int(s), str(n)) for s, n in _sql(db, f"SELECT size, note FROM {t.checkpoints}")]
    return Snapshot(db.rows(), nodes, cps)


def restore(db: Rows, snap: Snapshot) -> None:
    """Put the snapshotted rows back exactly (positions included), in one transaction."""
    t = _tables(db)
    events = "ledger_events" if isinstance(db, PostgresRows) else "stored_events"
    with _transaction(db):
        for table in (events, t.nodes, t.checkpoints):
            _sql(db, f"DELETE FROM {table}")
        for r in snap.rows:
            db.insert(r.position, r.originator_id, r.version, r.state)
        for node in snap.nodes:
            _sql(db, f"INSERT INTO {t.nodes} VALUES (?, ?, ?)", node)
        for cp in snap.checkpoints:
            _sql(db, f"INSERT INTO {t.checkpoints} (size, note) VALUES (?, ?)", cp)


def fresh(backend: Backend) -> Rows:
    """An empty database of ``backend`` (PostgreSQL: emptied, checkpoints and settings too)."""
    db = backend.fresh()
    if not isinstance(db, PostgresRows):
        _sql(db, "PRAGMA synchronous=OFF")  # this connection's writes need no fsync
    else:
        _sql(
            db,
            "DO $$ BEGIN IF to_regclass('ledger_checkpoints') IS NOT NULL THEN "
            "TRUNCATE ledger_checkpoints, ledger_meta; END IF; END $$",
        )
    return db


def _audit_failure(url: str) -> tuple[int | None, str] | None:
    store = open_store(url)
    try:
        failure = audit(store).failure
    finally:
        store.close()
    return None if failure is None else (failure.log_index, failure.code)


# -- the extra kinds ------------------------------------------------------------------------


def _open_row(url: str, state: bytes) -> tuple[bytes, Opened]:
    """A stored row's entry bytes and its opened disclosures."""
    store = open_store(url)
    try:
        [(head, opened)] = store.open_records([state])
    finally:
        store.close()
    return head, opened


def _tamper_more(kind: str, data: st.DataObject, db: Rows) -> Tampered:
    rows = db.rows()
    n = len(rows)
    if kind == "disclosure_value":
        # The disclosures are sealed (ledger.vault): this attacker holds the service key
        # too, opens them, edits a value and seals them again, so that only the signed
        # commitment can give the edit away.
        k = data.draw(st.sampled_from([i for i, r in enumerate(rows) if b"\nTRS1" in r.state]))
        head, opened = _open_row(db.url, rows[k].state)
        disclosures = json.loads(opened.disclosures)
        d = data.draw(st.sampled_from(disclosures), label="disclosure")
        d[2] = d[2] + data.draw(st.sampled_from(["!", " (edited)", "\u00e9"]), label="edit")
        record = head + b"\n" + canonical_bytes(disclosures)
        db.set_state(rows[k].position, sealed(db.url, record, opened.owner or ""))
        return Tampered(f"the {d[1]} disclosed at {k} edited", k)
    if kind in ("garbage", "reserialise", "deep_nesting"):
        k = data.draw(st.integers(0, n - 1), label="k")
        head, _, tail = rows[k].state.partition(b"\n")
        if kind == "garbage":
            blob = data.draw(st.binary(min_size=1, max_size=300), label="bytes")
        elif kind == "reserialise":
            blob = json.dumps(json.loads(head)).encode() + b"\n" + tail
        else:
            blob = nested_text(100_000).encode() + b"\n" + tail
        db.set_state(rows[k].position, blob)
        return Tampered(f"{kind} at {k}", k)
    t = _tables(db)
    nodes = sorted((int(a), int(b)) for a, b in _sql(db, f"SELECT level, idx FROM {t.nodes}"))
    if kind == "merkle_truncate":
        k = data.draw(st.integers(0, n - 1), label="k")
        doomed = [(lv, i) for lv, i in nodes if (i + 1) << lv > k]
        for lv, i in doomed:
            _sql(db, f"DELETE FROM {t.nodes} WHERE level=? AND idx=?", (lv, i))
        return Tampered(f"Merkle leaves from {k} on and the {len(doomed)} nodes over them", k)
    level, index = data.draw(st.sampled_from(nodes), label="node")
    where = "level=? AND idx=?"
    if kind == "merkle_delete":
        _sql(db, f"DELETE FROM {t.nodes} WHERE {where}", (level, index))
        return Tampered(f"Merkle node ({level}, {index}) deleted", index << level)
    [(old,)] = _sql(db, f"SELECT hash FROM {t.nodes} WHERE {where}", (level, index))
    at, mask = data.draw(st.integers(0, 31), label="byte"), data.draw(st.integers(1, 255))
    new = bytes(old[:at]) + bytes([old[at] ^ mask]) + bytes(old[at + 1 :])
    _sql(db, f"UPDATE {t.nodes} SET hash=? WHERE {where}", (new, level, index))
    return Tampered(f"Merkle node ({level}, {index}) byte {at} ^ {mask:#x}", index << level)


# -- audit runs -------------------------------------------------------------------------------


def run_audit_tampering(
    backend: Backend,
    total: int,
    *,
    seed: int,
    say: Say,
    kinds: tuple[str, ...] = ALL_KINDS,
) -> Tally:
    """Run ``total`` random single tamperings on ``backend``; count what the audit detects."""
    tally = Tally("Audit finds tampering", backend.name, "detected / tried")
    rng = random.Random(seed)
    with timed(tally):
        for ledger in range(10 * (total // _PER_LEDGER + 1)):
            if tally.tried >= total:
                break
            size = rng.randint(8, 40)
            w, signed = random_statements(rng, size, seed=f"bench-{seed}-{ledger}")
            db = fresh(backend)
            try:
                write_ledger(db.url, signed, [rng.randint(1, size - 1)])
                snap = snapshot(db)
                _tamper_ledger(db, snap, w, min(_PER_LEDGER, total - tally.tried), kinds, tally)
            finally:
                db.close()
            say(f"audit tampering on {backend.name}: {tally.tried:,} / {total:,}")
    return tally


def _tamper_ledger(
    db: Rows, snap: Snapshot, w: World, count: int, kinds: tuple[str, ...], tally: Tally
) -> None:
    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(kind=st.sampled_from(kinds), data=st.data())
    def one(kind: str, data: st.DataObject) -> None:
        restore(db, snap)
        done = tamper(kind, data, db, w) if kind in KINDS else _tamper_more(kind, data, db)
        try:
            found = _audit_failure(db.url)
        except Exception as exc:  # the audit must report, never raise
            tally.fail("crash", f"{done.description}: {type(exc).__name__}: {str(exc)[:120]}")
            return
        if found is None:
            tally.fail("undetected", done.description)
        else:
            tally.ok(located=found[0] == done.log_index)

    one()


# -- checkpoint runs ------------------------------------------------------------------------------


@dataclass
class _Checkpointed:
    url: str
    operator: Identity
    verifier: NoteVerifier
    notes: list[str]  # oldest first


def _checkpointed_ledger(
    db: Rows, rng: random.Random, seed: str, *, memory: CheckpointMemory | None = None
) -> _Checkpointed:
    """A random ledger with two checkpoints: at its end, and three entries later
    (remembered in ``memory`` as the operator's service does)."""
    w, signed = random_statements(rng, rng.randint(8, 30), seed=seed)
    store = open_store(db.url)
    try:
        service = LedgerService(store, clock=TickClock(), memory=memory)
        log = TransparencyLog(service)
        service.append_batch(signed)
        operator = w.operator.identity
        log.set_origin(ORIGIN)
        first = log.issue_checkpoint(operator)
        service.append_batch(_ambitions(operator, "extra", 3))
        second = log.issue_checkpoint(operator)
        return _Checkpointed(db.url, operator, log.verifier(), [first.note, second.note])
    finally:
        store.close()


def _ambitions(operator: Identity, tag: str, count: int) -> list[Any]:
    return [
        commands.state_ambition(Signer(operator, ORIGIN), person="operator", goal=f"{tag} {i}")
        for i in range(count)
    ]


def _truncate(db: Rows, keep: int) -> None:
    """Remove the entries after the first ``keep``, with their nodes and later checkpoints:
    a consistent rollback, as a restored backup is. The stored rule state goes too (the
    next service builds it again from the log, as for a ledger of an earlier version):
    left as it was, it would still follow the removed entries."""
    t = _tables(db)
    rows = db.rows()
    with _transaction(db):
        for r in rows[keep:]:
            db.delete(r.position)
        for level, index in _sql(db, f"SELECT level, idx FROM {t.nodes}"):
            if (int(index) + 1) << int(level) > keep:
                _sql(db, f"DELETE FROM {t.nodes} WHERE level=? AND idx=?", (level, index))
        _sql(db, f"DELETE FROM {t.checkpoints} WHERE size > ?", (keep,))
        _sql(db, f"DELETE FROM {t.rule_state}")


def _resign(url: str, operator: Identity, fork: int) -> None:
    """The honest operator restarts on the database and signs what it holds (after
    appending ``fork`` new entries)."""
    store = open_store(url)
    try:
        service = LedgerService(store, clock=TickClock())
        if fork:
            service.append_batch(_ambitions(operator, "fork", fork))
        TransparencyLog(service).issue_checkpoint(operator)
    finally:
        store.close()


def _tamper_checkpoint(kind: str, rng: random.Random, db: Rows, c: _Checkpointed) -> str:
    t = _tables(db)
    latest = verify_checkpoint(c.notes[-1], verifiers=[c.verifier])
    if kind == "note_changed":
        note = c.notes[-1]
        i = rng.randrange(len(note))
        other = rng.choice([ch for ch in "0123456789abcdefABCDEF+/= \n\u2014" if ch != note[i]])
        changed = note[:i] + other + note[i + 1 :]
        _sql(db, f"UPDATE {t.checkpoints} SET note=? WHERE size=?", (changed, latest.size))
        return f"character {i} of the latest checkpoint changed"
    if kind == "note_older":
        _sql(db, f"UPDATE {t.checkpoints} SET note=? WHERE size=?", (c.notes[0], latest.size))
        return "the latest checkpoint replaced by the older one"
    if kind == "note_other_key":
        note = sign_checkpoint(latest, name=ORIGIN, signer=identity_for("mallory"))
        _sql(db, f"UPDATE {t.checkpoints} SET note=? WHERE size=?", (note, latest.size))
        return "the latest checkpoint re-signed by another key"
    if kind == "note_deleted":
        _sql(db, f"DELETE FROM {t.checkpoints} WHERE size=?", (latest.size,))
        return "the latest checkpoint deleted"
    k = rng.randint(1, 3)
    _truncate(db, latest.size - k)
    fork = k + 1 if kind == "fork" else 0
    _resign(c.url, c.operator, fork)
    what = "rolled back" if not fork else f"rolled back and extended by {fork} other entries"
    return f"the last {k} entries {what}, the operator signed what was left"


def _client_check(c: _Checkpointed, monitor: Monitor) -> None:
    """Fetch the latest checkpoint and a consistency proof as a monitor does; raise if wrong."""
    store = open_store(c.url)
    try:
        log = TransparencyLog(LedgerService(store))
        latest = log.checkpoint()
        seen = monitor.last(ORIGIN)
        assert seen is not None
        old = seen[0]
        proof = log.consistency_proof(old.size, latest.size) if latest.size >= old.size else []
        monitor.observe(latest.note, proof, c.verifier)
    finally:
        store.close()


def _rounds(
    backend: Backend,
    tally: Tally,
    total: int,
    per_ledger: int,
    setup: Callable[[Rows, int], _Checkpointed],
    say: Say,
) -> Iterator[tuple[Rows, _Checkpointed, int, int]]:
    """Until ``tally`` has ``total`` cases: a fresh database per ledger, made by
    ``setup(db, ledger number)``, and ``per_ledger`` cases on it, each from the same
    snapshot. Yields ``(db, made, ledger number, case number)``."""
    ledger = 0
    while tally.tried < total:
        db = fresh(backend)
        try:
            made = setup(db, ledger)
            snap = snapshot(db)
            for i in range(min(per_ledger, total - tally.tried)):
                restore(db, snap)
                yield db, made, ledger, i
        finally:
            db.close()
        ledger += 1
        say(f"{tally.suite.lower()} on {backend.name}: {tally.tried:,} / {total:,}")


def run_checkpoint_tampering(backend: Backend, total: int, *, seed: int, say: Say) -> Tally:
    """Run ``total`` checkpoint tamperings and rollbacks; count what the monitor detects."""
    tally = Tally("Monitor finds checkpoint tampering", backend.name, "detected / tried")
    rng = random.Random(seed)
    per_ledger = 20

    def setup(db: Rows, ledger: int) -> _Checkpointed:
        return _checkpointed_ledger(db, rng, f"bench-cp-{seed}-{ledger}")

    with timed(tally), tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        for db, c, ledger, i in _rounds(backend, tally, total, per_ledger, setup, say):
            monitor = Monitor(Path(tmp, f"monitor-{ledger}-{i}.json"))
            monitor.observe(c.notes[-1], [], c.verifier)
            kind = CHECKPOINT_KINDS[(ledger * per_ledger + i) % len(CHECKPOINT_KINDS)]
            done = _tamper_checkpoint(kind, rng, db, c)
            if _audit_failure(c.url) is not None:
                tally.note("also reported by the audit")
            elif kind in ("rollback", "fork"):
                tally.note("rollbacks and forks the audit alone passes")
            _judge(tally, done, functools.partial(_client_check, c, monitor))
    return tally


def run_rollback_refusal(backend: Backend, total: int, *, seed: int, say: Say) -> Tally:
    """Take the store back behind the operator's last signed checkpoint ``total`` times
    (as a restored backup does; every second time also extended by other entries, as
    if writers carried on from there) and count how often the operator's own service
    (the checkpoint remembered outside the database, ledger.rollback) refuses to
    append, with ``rolled_back`` and nothing written."""
    tally = Tally("Service refuses a rolled-back store", backend.name, "refused / tried")
    rng = random.Random(seed)
    with timed(tally), tempfile.TemporaryDirectory(prefix="bench-rollback-") as tmp:
        memories: dict[int, CheckpointMemory] = {}

        def setup(db: Rows, ledger: int) -> _Checkpointed:
            memories[ledger] = CheckpointMemory(Path(tmp, f"signed-{ledger}.json"))
            seed_text = f"bench-rb-{seed}-{ledger}"
            return _checkpointed_ledger(db, rng, seed_text, memory=memories[ledger])

        for db, c, ledger, i in _rounds(backend, tally, total, 10, setup, say):
            latest = verify_checkpoint(c.notes[-1], verifiers=[c.verifier])
            k = rng.randint(1, 3)
            _truncate(db, latest.size - k)
            fork = k + 1 if i % 2 else 0
            if fork:  # writers without the memory carried on from the old state
                _append_unguarded(c.url, _ambitions(c.operator, "fork", fork))
            what = f"{k} entries rolled back, {fork} added"
            _judge_refusal(tally, c, memories[ledger], what)
    return tally


def _append_unguarded(url: str, batch: list[Any]) -> None:
    store = open_store(url)
    try:
        LedgerService(store, clock=TickClock()).append_batch(batch)
    finally:
        store.close()


def _judge_refusal(tally: Tally, c: _Checkpointed, memory: CheckpointMemory, what: str) -> None:
    """The operator's service on the store: its append must be refused as rolled back."""
    store = open_store(c.url)
    try:
        before = store.max_position()
        try:
            LedgerService(store, memory=memory).append_batch(_ambitions(c.operator, "late", 1))
        except RolledBack:
            if store.max_position() == before:
                tally.ok()
            else:
                tally.fail("written", f"{what}: refused, but something was written")
        except Exception as exc:
            tally.fail("crash", f"{what}: {type(exc).__name__}: {str(exc)[:120]}")
        else:
            tally.fail("undetected", f"{what}: appended on top of the rolled-back log")
    finally:
        store.close()


def _judge(tally: Tally, description: str, check: Callable[[], None]) -> None:
    try:
        check()
    except LedgerError:
        tally.ok()
    except Exception as exc:
        tally.fail("crash", f"{description}: {type(exc).__name__}: {str(exc)[:120]}")
    else:
        tally.fail("undetected", description)
