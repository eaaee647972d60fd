"""Store.append on both backends: one batch keeps its row order in the log.

The PostgreSQL recorder inserts a batch with its own multi-row statement (not the
library's); readers rely on the notification positions following the rows as given.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.store import Store, open_store, stream_originator_id


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


def test_a_batch_gets_positions_in_row_order(store: Store) -> None:
    """Positions ascend in the order of the rows, streams interleaved, and reading the
    log back gives the rows in that order with those positions."""
    streams = ["record/b", "record/a", "identity/c"]
    rows = [
        (streams[i % 3], i // 3 + 1, f'{{"i":{i}}}\n["s","f","{i}"]'.encode(), "owner")
        for i in range(300)
    ]
    nodes = [(0, i, bytes([i % 256]) * 32) for i in range(300)] + [(1, 0, b"\x01" * 32)]
    before = store.max_position()

    positions = store.append(rows, nodes)

    assert len(positions) == len(rows)
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    assert positions[0] > before
    read = store.read(after=before, limit=1000)
    assert [r.position for r in read] == positions
    assert [(r.originator_id, r.version, r.blob) for r in read] == [
        (stream_originator_id(stream), seq, blob) for stream, seq, blob, _ in rows
    ]
    assert store.nodes(0, 0, 300) == [(i, h) for _, i, h in nodes[:300]]
    assert store.get_node(1, 0) == b"\x01" * 32


def test_an_empty_append_writes_nothing(store: Store) -> None:
    before = store.max_position()
    assert store.append([], []) == []
    assert store.max_position() == before
    assert store.count_nodes(0) == 0


def test_read_records_gives_what_read_gives_and_forgets_an_erased_key_at_once(
    store: Store,
) -> None:
    """``Store.read_records``, the read models' raw read, gives each entry's position, head
    and opened disclosures as :meth:`Store.read` does; once the owner's data key is
    destroyed (by any process), the next read gives their disclosures as ``[]``."""
    rows = [
        ("record/a", i + 1, f'{{"i":{i}}}\n["s","f","{i}"]'.encode(), "alice" if i % 2 else "bob")
        for i in range(6)
    ]
    before = store.max_position()
    store.append(rows, [(0, i, bytes([i]) * 32) for i in range(6)])

    full = store.read(after=before, limit=10)
    raw = store.read_records(after=before, limit=10)
    assert [(r.position, r.head, r.disclosures) for r in raw] == [
        (r.position, r.head, r.disclosures) for r in full
    ]
    assert [r.disclosures for r in raw] == [f'["s","f","{i}"]'.encode() for i in range(6)]
    assert [r.position for r in store.read_records(after=raw[3].position, limit=1)] == [
        raw[4].position
    ]

    assert store.destroy_data_key("alice")
    after = store.read_records(after=before, limit=10)
    assert [r.disclosures for r in after] == [
        b"[]" if i % 2 else f'["s","f","{i}"]'.encode() for i in range(6)
    ]
    assert [r.head for r in after] == [r.head for r in raw]
