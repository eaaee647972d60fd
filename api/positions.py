"""Where each entry sits: log index <-> store position, (stream, seq) -> log index.

The store numbers its rows by notification position, which may have gaps
(PostgreSQL sequences skip numbers of rolled-back transactions); the log index
is the entry's place in the Merkle tree, counted without gaps. The store keeps
both for every entry (:mod:`ledger.store.position_tables`), written with the
entry: each look-up here is one indexed read, and nothing is read at start or
held in memory, however long the log.
"""

from __future__ import annotations

from ledger.store import Store, StoredRecord

__all__ = ["EntryPositions"]


class EntryPositions:
    """The log indexes and store positions of the log's entries, looked up in the store.
    Thread-safe (it holds nothing)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def position_of(self, log_index: int) -> int | None:
        """The store position of the entry at ``log_index``, or None if beyond the log."""
        return None if log_index < 0 else self._store.position_of(log_index)

    def indexes_of(self, stream: str) -> dict[int, int]:
        """The log index of each entry of ``stream``, by seq (one read)."""
        return self._store.stream_log_indexes(stream)

    def index_of(self, stream: str, seq: int) -> int | None:
        """The log index of entry ``seq`` of ``stream``, or None if unknown."""
        return self.indexes_of(stream).get(seq)

    def read(self, log_index: int, limit: int) -> list[tuple[int, StoredRecord]]:
        """Up to ``limit`` stored rows from ``log_index`` on, as ``(log index, row)``."""
        position = self.position_of(log_index)
        if position is None:
            return []
        records = self._store.read(after=position - 1, limit=limit)
        return [(log_index + i, rec) for i, rec in enumerate(records)]
