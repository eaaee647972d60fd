"""Where each entry sits: log index <-> store position, (stream, seq) -> log index.

The store numbers its rows by notification position, which may have gaps
(PostgreSQL sequences skip numbers of rolled-back transactions); the log index
is the entry's place in the Merkle tree, counted without gaps. This index is
built by reading the store's row keys in order (no entry is parsed) and is
extended on demand as the log grows.
"""

from __future__ import annotations

import bisect
import threading
import uuid

from ledger.store import Store, StoredRecord, stream_originator_id

__all__ = ["EntryPositions"]

_CHUNK = 5000


def _row_key(originator_id: uuid.UUID, version: int) -> int:
    return (originator_id.int << 32) | version


class EntryPositions:
    """The store positions of the log's entries by log index, followed incrementally.
    Thread-safe."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._positions: list[int] = []
        self._rows: dict[int, int] = {}

    @property
    def size(self) -> int:
        """How many entries the index knows (call :meth:`refresh` to catch up)."""
        return len(self._positions)

    def refresh(self) -> int:
        """Read the rows appended since the last refresh; return the new size."""
        with self._lock:
            while True:
                after = self._positions[-1] if self._positions else 0
                records = self._store.read(after=after, limit=_CHUNK)
                if not records:
                    return len(self._positions)
                for rec in records:
                    self._rows[_row_key(rec.originator_id, rec.version)] = len(self._positions)
                    self._positions.append(rec.position)

    def position_of(self, log_index: int) -> int | None:
        """The store position of the entry at ``log_index``, or None if beyond the log."""
        if log_index >= len(self._positions):
            self.refresh()
        if 0 <= log_index < len(self._positions):
            return self._positions[log_index]
        return None

    def index_of_position(self, position: int) -> int:
        """The log index of the entry stored at ``position`` (which must exist)."""
        return bisect.bisect_left(self._positions, position)

    def index_of(self, stream: str, seq: int) -> int | None:
        """The log index of entry ``seq`` of ``stream``, or None if unknown."""
        key = _row_key(stream_originator_id(stream), seq)
        found = self._rows.get(key)
        if found is None:
            self.refresh()
            found = self._rows.get(key)
        return found

    def read(self, log_index: int, limit: int) -> list[tuple[int, StoredRecord]]:
        """Up to ``limit`` stored rows from ``log_index`` on, as ``(log index, row)``."""
        position = self.position_of(log_index)
        if position is None:
            return []
        records = self._store.read(after=position - 1, limit=limit)
        return [(log_index + i, rec) for i, rec in enumerate(records)]
