"""Tampering with what the store keeps beside the log: does ``trackrecord audit`` notice?

Each case builds a small ledger on a fresh database through the real service — a random
ledger (``tests.factories.random_statements``), three chained checkpoints, a trusted
origin with a bundle imported from it, the read models built and refreshed — and then
makes one edit in plain SQL, as someone with the database but without the service key
would, to the rows the log's own checks do not cover (issue 15, item 6):

- a read-model row: a personal value replaced by forged plaintext, a row's sealed
  personal value swapped with another row's, a grade changed, a row deleted;
- an imported bundle: a grade in its stored text, the key it was imported under;
- a checkpoint between stored ones deleted;
- a trusted origin added, or edited into another key.

A case is *detected* when the audit — the log's audit and then the read models against
a rebuild (``projections.verify``), as ``trackrecord audit`` runs them — reports a
failure. ``data_keys.created_at`` edits are made too and only counted as a note: that
column is read by nothing and not bound (docs/audit.md §7).
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

from ledger.audit import audit
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from projections import EntryReader, create_read_model_engine
from projections.sealed import bind_read_model_key, read_model_key
from projections.verify import ReadModelMismatch, verify_read_models
from tests import pgcluster
from tests.factories import TickClock, identity_for, random_statements
from tests.support.bundles import ALICE_LAST_KEY, import_and_project, origin_bundle
from tests.support.links import link_record

from .report import Tally, timed

__all__ = ["ROW_KINDS", "run_row_tampering"]

ROW_KINDS = (
    "read_model_plaintext",
    "read_model_swap",
    "read_model_grade",
    "read_model_delete",
    "import_grade",
    "import_key",
    "checkpoint_between",
    "trusted_added",
    "trusted_edited",
)
ORIGIN = "trackrecord.example/rows"
Say = Callable[[str], None]


def run_row_tampering(
    backend: str, server: str | None, total: int, *, seed: int, say: Say
) -> Tally:
    """Run ``total`` edits beside the log on ``backend``; count what the audit detects."""
    tally = Tally("Audit finds edits beside the log", backend, "detected / tried")
    rng = random.Random(seed)
    with timed(tally), tempfile.TemporaryDirectory(prefix="bench-rows-") as tmp:
        bundle, key = origin_bundle(Path(tmp))
        for i in range(total + total // len(ROW_KINDS)):
            kind = ROW_KINDS[i % len(ROW_KINDS)] if i < total else "created_at"
            with _database(backend, server, Path(tmp), i) as url:
                _build(url, rng, bundle, key, seed=f"rows-{seed}-{i}")
                done = _tamper(kind, url, rng)
                try:
                    found = _audit(url)
                except Exception as exc:  # the audit must report, never raise
                    tally.fail("crash", f"{done}: {type(exc).__name__}: {str(exc)[:120]}")
                    continue
            if kind == "created_at":
                tally.note("data_keys.created_at edits (not bound; read by nothing)")
            elif found is None:
                tally.fail("undetected", done)
            else:
                tally.ok()
                tally.note(f"{kind} → {found}")
            say(f"edits beside the log on {backend}: {min(i + 1, total):,} / {total:,}")
    return tally


@contextlib.contextmanager
def _database(backend: str, server: str | None, tmp: Path, i: int) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite://{(tmp / f'rows-{i}.db').resolve().as_posix()}"
        return
    assert server is not None
    with pgcluster.fresh_database(server) as url:
        yield url


def _build(url: str, rng: random.Random, bundle: str, key: str, *, seed: str) -> None:
    w, signed = random_statements(rng, rng.randint(20, 40), seed=seed)
    store = open_store(url)
    try:
        service = LedgerService(store, clock=TickClock())
        log = TransparencyLog(service)
        third = len(signed) // 3
        for part in (signed[:third], signed[third : 2 * third], signed[2 * third :]):
            service.append_batch(part)
            if log.store.get_meta("origin") is None:
                log.set_origin(ORIGIN)
            operator = service.state.people[service.state.operator or ""].current_key
            log.issue_checkpoint(w.identities[operator or ""])  # its key may have rotated
        # alice of this ledger (the standard cast) links her record on the origin ledger
        alice = service.state.people["alice"].current_key
        link_record(service, bundle, here=w.identities[alice or ""], there=ALICE_LAST_KEY)
        import_and_project(service, bundle, key)
    finally:
        store.close()


def _audit(url: str) -> str | None:
    """What ``trackrecord audit`` reports first (its code), or None."""
    store = open_store(url)
    engine = create_read_model_engine(url)
    try:
        failure = audit(store).failure
        if failure is not None:
            return failure.code
        bind_read_model_key(engine, read_model_key(store))
        try:
            verify_read_models(EntryReader(store), engine)
        except ReadModelMismatch as exc:
            return exc.code
        return None
    finally:
        engine.dispose()
        store.close()


def _sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run one statement (``?`` marks) on the database at ``url``; return its rows."""
    if url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite://"))) as db, db:
            return list(db.execute(statement, params).fetchall())
    with psycopg.connect(url, autocommit=True) as db:
        cursor = db.execute(statement.replace("?", "%s"), params)
        return list(cursor.fetchall()) if cursor.description else []


def _tamper(kind: str, url: str, rng: random.Random) -> str:
    pg = not url.startswith("sqlite://")
    prefix = "ledger_" if pg else ""
    if kind == "read_model_plaintext":
        rows = _sql(url, "SELECT id FROM pf_contributions")
        (target,) = rng.choice(rows)
        forged = '{"description":null,"evidence_link":null,"title":"Forged title"}'
        _sql(url, "UPDATE pf_contributions SET personal=? WHERE id=?", (forged, target))
        return f"pf_contributions {target}: personal replaced by forged plaintext"
    if kind == "read_model_swap":
        rows = _sql(url, "SELECT person, personal FROM pf_people ORDER BY person")
        (a, _), (b, pb) = rng.sample(rows, 2)
        _sql(url, "UPDATE pf_people SET personal=? WHERE person=?", (pb, a))
        return f"pf_people: {a}'s sealed personal value replaced by {b}'s"
    if kind == "read_model_grade":
        rows = _sql(url, "SELECT subject, id, grade FROM rep_ratings")
        subject, rid, grade = rng.choice(rows)
        _sql(
            url,
            "UPDATE rep_ratings SET grade=? WHERE subject=? AND id=?",
            (grade % 5 + 1, subject, rid),
        )
        return f"rep_ratings {rid}: grade {grade} changed"
    if kind == "read_model_delete":
        rows = _sql(url, "SELECT id FROM pf_contributions")
        (target,) = rng.choice(rows)
        _sql(url, "DELETE FROM pf_contributions WHERE id=?", (target,))
        return f"pf_contributions {target} deleted"
    if kind == "import_grade":
        edited = "replace(bundle, '\"grade\":4', '\"grade\":5')"
        _sql(url, f"UPDATE {prefix}imported_bundles SET bundle={edited}")
        return "a grade in the stored imported bundle changed"
    if kind == "import_key":
        mallory = identity_for("mallory").public_key.raw.hex()
        _sql(
            url,
            f"UPDATE {prefix}imported_bundles SET verifier_key=?",
            (f"{ORIGIN}+{mallory[:8]}+x",),
        )
        return "the imported bundle's verifier key replaced"
    if kind == "checkpoint_between":
        table = f"{prefix}checkpoints"
        sizes = sorted(s for (s,) in _sql(url, f"SELECT size FROM {table}"))
        _sql(url, f"DELETE FROM {table} WHERE size=?", (sizes[1],))
        return f"checkpoint {sizes[1]} (between {sizes[0]} and {sizes[2]}) deleted"
    if kind in ("trusted_added", "trusted_edited"):
        table = f"{prefix}trusted_origins"
        key = "AaeGvMCZIInXv2nQ5HV+hiwg2N8GjUicw4ITPa/7uOtu"  # well formed, nobody's
        other = f"trackrecord.example/m+{rng.randrange(16**8):08x}+{key}"
        if kind == "trusted_added":
            _sql(url, f"INSERT INTO {table} VALUES (?, ?)", ("trackrecord.example/m", other))
            return "a trusted origin added"
        _sql(url, f"UPDATE {table} SET verifier_key=?", (other,))
        return "the trusted origin's key replaced"
    assert kind == "created_at"
    _sql(url, f"UPDATE {prefix}data_keys SET created_at='2001-01-01T00:00:00Z'")
    return "data_keys.created_at changed"
