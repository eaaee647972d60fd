"""The service's caches are bounded by their configured sizes (docs/operations.md,
"Memory"), and a stream read again after it was dropped gives the same answer."""

from __future__ import annotations

from api.cache import ResponseCache
from api.models import Health
from api.positions import EntryPositions
from api.streams import StreamCache
from ledger.service import LedgerService
from ledger.store import open_store
from tests.factories import standard_world


def test_stream_cache_keeps_at_most_its_size_and_reads_dropped_streams_again(
    sqlite_url: str,
) -> None:
    store = open_store(sqlite_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        service.append_batch([w.claim(w[p]) for p in ("alice", "carol", "dave")])
        streams = StreamCache(service, EntryPositions(store), size=2)
        names = ["record/alice", "record/carol", "record/dave"]
        first = {name: streams.read(name, service.state) for name in names}
        assert len(streams) == 2
        again = streams.read("record/alice", service.state)  # dropped, read from the store
        assert again == first["record/alice"]
        assert len(streams) == 2
        for name, entries in first.items():
            indexes = store.stream_log_indexes(name)
            assert [i for _, i in entries] == [indexes[e.entry.seq] for e, _ in entries]
    finally:
        store.close()


def test_answer_cache_keeps_at_most_its_size() -> None:
    answers = ResponseCache(size=3)
    for i in range(5):
        answers.get(("q", i), 1, lambda: Health(status="alive"))
    assert len(answers) == 3
    off = ResponseCache(size=0)
    off.get("q", 1, lambda: Health(status="alive"))
    assert len(off) == 0


def test_read_model_connections_keep_a_bounded_sqlite_page_cache(sqlite_url: str) -> None:
    """Each pooled read-model connection keeps its page cache while it waits in the pool,
    so the bound per connection, times the pool, bounds it for any ledger size."""
    from sqlalchemy import text

    from projections.db import create_read_model_engine

    engine = create_read_model_engine(sqlite_url)
    try:
        connections = [engine.connect() for _ in range(3)]
        kib = [-int(c.execute(text("PRAGMA cache_size")).scalar_one()) for c in connections]
        for conn in connections:
            conn.close()
        assert kib == [16 * 1024] * 3
        assert engine.pool.size() == 5  # type: ignore[attr-defined]
    finally:
        engine.dispose()
