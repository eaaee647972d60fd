"""No personal plaintext at rest (issue 15, item 3): after a demo-sized run — the demo's
statements appended, the read models built and refreshed, a bundle imported from another
ledger — and with the service-key file moved away, no table and no file of the database
holds any disclosed value, on SQLite and PostgreSQL. (Before, ``pf_contributions.personal``,
the other read-model ``personal`` columns and ``imported_bundles`` held them in the clear.)

The scan is the erasure tests' (:mod:`tests.support.scan`: every value of every table,
reflected, so nothing is opened) plus the raw bytes of every file: the SQLite database,
its WAL and shared memory; PostgreSQL's files of this database and the WAL segments
written during the test.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger import commands
from ledger.service import LedgerService
from ledger.store import open_store
from projections import create_read_model_engine, open_projector
from tests.factories import DEPT, ORG, TickClock, World, identity_for
from tests.support.bundles import ALICE_LAST_KEY, import_and_project, origin_bundle
from tests.support.links import link_record
from tests.support.scan import every_value, holds
from trackrecord.demo import populate

PEOPLE, SEED = 30, 11
_WAL_SAMPLE = 80  # values looked for in the (large, shared) PostgreSQL WAL segments


def _files(url: str, since: float) -> Iterator[tuple[Path, bytes, bool]]:
    """Every file of the database at ``url``, its bytes, and whether it is a shared WAL
    segment. A file PostgreSQL removes between the listing and the read (it drops and
    rewrites its relation-cache file ``pg_internal.init`` at will) holds nothing at rest
    any more and is passed over."""
    for f, shared in _paths(url, since):
        try:
            yield f, f.read_bytes(), shared
        except FileNotFoundError:
            continue


def _paths(url: str, since: float) -> Iterator[tuple[Path, bool]]:
    if url.startswith("sqlite://"):
        path = Path(url.removeprefix("sqlite://"))
        for f in sorted(path.parent.iterdir()):
            if f.name.startswith(path.name) and f.is_file():
                yield f, False
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CHECKPOINT")  # every dirty page of the test written to the files
        [(data,)] = db.execute("SHOW data_directory").fetchall()
        [(oid,)] = db.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchall()
    for f in sorted(Path(data, "base", str(oid)).iterdir()):
        yield f, False
    for f in sorted(Path(data, "pg_wal").iterdir()):
        if f.is_file() and f.stat().st_mtime >= since:
            yield f, True


def test_a_copy_without_the_service_key_reveals_no_content(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time() - 2
    key_file = tmp_path / "keys" / "service.key"
    monkeypatch.setenv("TRACKRECORD_SERVICE_KEY", str(key_file))
    bundle, origin_key = origin_bundle(tmp_path)
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        demo = populate(service, people=PEOPLE, seed=SEED)
        operator = demo.identities[demo.featured["operator"]]
        link_record(  # alice joins this ledger and links her record there to her
            service, bundle, here=identity_for("alice-here"), there=ALICE_LAST_KEY,
            registrar=operator,
        )  # fmt: skip
        registry = import_and_project(service, bundle, origin_key)
        disclosed = {d.value for _, e in service.read_log(limit=100_000) for d in e.disclosures}
        [record] = registry.imported_records()
        text = registry.bundle_text(record.origin, record.person, record.checkpoint_size)
        entries = json.loads(text)["entries"]
        disclosed |= {d[2] for item in entries for d in item["disclosures"]}
    finally:
        store.close()
    # Values too short to tell from chance matches in ciphertext are left out.
    values = sorted(v for v in disclosed if len(v) >= 8)
    assert len(values) > 100, len(values)
    assert "Policy brief" in values  # the imported bundle's content is among them
    key_file.rename(tmp_path / "moved-away.key")

    engine = create_read_model_engine(database_url)
    try:
        in_tables = {
            (t, c, v) for t, c, value in every_value(engine) for v in values if holds(value, v)
        }
    finally:
        engine.dispose()
    assert in_tables == set()

    sample = values[:: max(1, len(values) // _WAL_SAMPLE)]
    scanned = 0
    for path, raw, shared_wal in _files(database_url, started):
        scanned += 1
        found = [v for v in (sample if shared_wal else values) if v.encode() in raw]
        assert found == [], (path.name, found[:3])
    assert scanned >= (1 if database_url.startswith("sqlite") else 2)


def test_after_an_erasure_no_file_holds_the_persons_texts(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15, item 8a: the erasure's own writes (the read models' purge, the data key's
    deletion) copy no plaintext into the WAL any more, because none is stored; what the
    WAL segments and backups from before the erasure still hold is ciphertext, and on
    PostgreSQL the person's wrapped data key: privacy.md §3 says what an operator does."""
    started = time.time() - 2
    monkeypatch.setenv("TRACKRECORD_SERVICE_KEY", str(tmp_path / "service.key"))
    tag = uuid.uuid4().hex[:10]
    texts = [f"Erin's {what} {tag}" for what in ("name", "title", "text", "comment", "goal")]
    store = open_store(database_url)
    try:
        service = LedgerService(store, clock=TickClock())
        w = World(service, seed=f"wal-{tag}")
        w.do_all([w.genesis(), w.register("bob")])
        erin = w.member("erin")
        w.do(
            commands.register_identity(
                w.signer_for(w.operator.identity),
                person="erin",
                public_key=erin.identity.public_key.raw,
                organisation=ORG,
                department=DEPT,
                display_name=texts[0],
                **w.opts(),
            )
        )
        claim = w.do(w.claim(erin, title=texts[1], description=texts[2]))
        w.asked(erin, claim.statement.id, w["bob"])
        w.do(
            commands.endorse(
                w.signer_for(w["bob"].identity),
                person="erin",
                contribution=claim.statement.id,
                grade=4,
                role="peer",
                comment=texts[3],
                **w.opts(),
            )
        )
        w.do(w.ambition(erin, goal=texts[4]))
        projector = open_projector(store)
        projector.catch_up()
        wrapped = _wrapped_key(database_url, "erin")
        w.do(w.erase(erin))
        projector.catch_up()  # purges and compacts the read models
        projector.engine.dispose()
    finally:
        store.close()
    shared_wal = []
    for path, raw, in_wal in _files(database_url, started):
        assert [t for t in texts if t.encode() in raw] == [], path.name
        if in_wal:
            shared_wal.append(_holds(raw, wrapped))
    if database_url.startswith("sqlite"):
        assert shared_wal == []  # the WAL was truncated; the database file scrubbed
    else:
        # The remaining exposure (privacy.md §3): the erased person's wrapped data key in
        # WAL segments written before the erasure, until they are recycled and the
        # service key that wraps it is rotated away.
        assert any(shared_wal)


def _holds(raw: bytes, value: bytes) -> bool:
    """Whether ``raw`` (a WAL segment) holds ``value``: a WAL record that crosses an 8 KiB
    WAL page carries the page's header in its middle, so a value written whole may be
    split in two there (it did, whenever the test ran after the one above in this order);
    the half it was not split in is then still whole."""
    half = len(value) // 2
    return value[:half] in raw or value[half:] in raw


def _wrapped_key(url: str, person: str) -> bytes:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            [(wrapped,)] = db.execute("SELECT wrapped FROM data_keys WHERE person=?", (person,))
            return bytes(wrapped)
    with psycopg.connect(url) as db:
        [(wrapped,)] = db.execute(
            "SELECT wrapped FROM ledger_data_keys WHERE person=%s", (person,)
        ).fetchall()
        return bytes(wrapped)
