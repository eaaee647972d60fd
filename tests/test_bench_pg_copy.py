"""bench.pg_copy: a SQLite ledger copied table for table into PostgreSQL is the same
ledger there: it audits clean (log, rule state, positions, Merkle), its read models equal
their rebuild from the log, and it takes the next append at the next log index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.pg_copy import copy_ledger
from ledger.audit import audit
from ledger.service import LedgerService
from ledger.store import open_store
from projections import open_projector
from projections.db import create_read_model_engine
from projections.verify import verify_read_models
from tests import pgcluster
from trackrecord.demo import DemoPlan

pytestmark = pytest.mark.postgres

KEY = bytes(range(32))


def _demo_sqlite(directory: Path) -> tuple[Path, int, list[object]]:
    """A small demo ledger with its read models caught up and refreshed; the statement
    that follows it (generated, not appended)."""
    file = directory / "ledger.db"
    url = f"sqlite://{file.resolve().as_posix()}"
    statements = [s for batch in DemoPlan(people=12, seed=3).run(batch_size=50) for s in batch]
    store = open_store(url, service_key=KEY, create=True)
    try:
        LedgerService(store).append_batch(statements[:-1])
        engine = create_read_model_engine(url)
        try:
            projector = open_projector(store, engine=engine)
            projector.catch_up()
            projector.refresh()
        finally:
            engine.dispose()
    finally:
        store.close()
    return file, len(statements) - 1, statements[-1:]


def test_a_copied_ledger_audits_clean_and_takes_the_next_append(
    tmp_path: Path, postgres_server_url: str
) -> None:
    file, entries, rest = _demo_sqlite(tmp_path)
    with pgcluster.fresh_database(postgres_server_url) as url:
        rows = copy_ledger(file, url, KEY, say=False)
        assert rows > entries
        store = open_store(url, service_key=KEY, create=False)
        try:
            report = audit(store)
            assert report.ok, report.failure
            assert report.entries == entries
            engine = create_read_model_engine(url)
            try:
                projector = open_projector(store, engine=engine)
                verify_read_models(projector.log, engine)  # raises on any differing row
            finally:
                engine.dispose()
            service = LedgerService(store)
            service.append_batch(rest)  # type: ignore[arg-type]
            assert service.state.size == entries + 1
            assert audit(store).ok
        finally:
            store.close()


def test_a_table_without_a_counterpart_stops_the_copy(
    tmp_path: Path, postgres_server_url: str
) -> None:
    file, _, _ = _demo_sqlite(tmp_path)
    with sqlite3.connect(file) as conn:
        conn.execute("CREATE TABLE stray (x INTEGER)")
    with (
        pgcluster.fresh_database(postgres_server_url) as url,
        pytest.raises(SystemExit, match="'stray' has no counterpart"),
    ):
        copy_ledger(file, url, KEY, say=False)
