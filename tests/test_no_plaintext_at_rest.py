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
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.bundle import dump_bundle
from ledger.export import export_bundle
from ledger.imports import ImportRegistry
from ledger.service import LedgerService
from ledger.store import open_store
from projections import create_read_model_engine, open_projector
from tests.support.bundles import build_scenario
from tests.support.scan import every_value, holds
from trackrecord.demo import populate

PEOPLE, SEED = 30, 11
_WAL_SAMPLE = 80  # values looked for in the (large, shared) PostgreSQL WAL segments


def _files(url: str, since: float) -> Iterator[tuple[Path, bool]]:
    """Every file of the database at ``url`` and whether it is a shared WAL segment."""
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


def _imported(tmp_path: Path) -> tuple[str, str]:
    """A bundle from another ledger (tests.support.bundles) and its verifier key."""
    sc = build_scenario(f"sqlite://{(tmp_path / 'origin.db').resolve().as_posix()}")
    try:
        return dump_bundle(export_bundle(sc.log, "alice")), str(sc.key)
    finally:
        sc.log.service.store.close()


def test_a_copy_without_the_service_key_reveals_no_content(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time() - 2
    key_file = tmp_path / "keys" / "service.key"
    monkeypatch.setenv("TRACKRECORD_SERVICE_KEY", str(key_file))
    bundle, origin_key = _imported(tmp_path)
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        populate(service, people=PEOPLE, seed=SEED)
        registry = ImportRegistry(store)
        registry.trust(origin_key)
        registry.import_bundle(bundle)
        projector = open_projector(store)
        projector.catch_up()
        projector.refresh()
        projector.engine.dispose()
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
    for path, shared_wal in _files(database_url, started):
        raw = path.read_bytes()
        scanned += 1
        found = [v for v in (sample if shared_wal else values) if v.encode() in raw]
        assert found == [], (path.name, found[:3])
    assert scanned >= (1 if database_url.startswith("sqlite") else 2)
