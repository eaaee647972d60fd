"""Where each entry sits: its log index and its store position, kept in the store.

The store numbers its rows by notification position, which may have gaps
(PostgreSQL sequences skip the numbers of rolled-back transactions); the log index
is the entry's place in the Merkle tree, counted without gaps. The table
``entry_positions`` (PostgreSQL: ``ledger_entry_positions``) holds one row
``(log_index, position)`` per entry, written in the transaction that writes the
entry and its Merkle leaf, with an index each way: every look-up is one indexed
read, so nothing of the log is read or held to answer it.

A ledger written before the table existed has no rows for its entries:
:meth:`EntryPositionTables.index_positions` fills them in from the log in chunks
(``trackrecord migrate``, or the catch-up of the first command that appends).
"""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError, OperationalError

from .entry_tables import stream_originator_id, write_error
from .recorder import LedgerRecorder

__all__ = ["EntryPositionTables"]


class EntryPositionTables:
    """The entries' log indexes and store positions (a part of :class:`~ledger.store.Store`)."""

    _recorder: LedgerRecorder

    def position_of(self, log_index: int) -> int | None:
        """The store position of the entry at ``log_index``, None if none is indexed there."""
        return self._recorder.select_position(log_index)

    def log_index_of(self, position: int) -> int | None:
        """The log index of the entry stored at ``position``, None if none is indexed there."""
        return self._recorder.select_log_index(position)

    def stream_log_indexes(self, stream: str) -> dict[int, int]:
        """The log index of each indexed entry of ``stream``, by seq (one indexed read)."""
        return dict(self._recorder.select_stream_log_indexes(stream_originator_id(stream)))

    def positions_between(self, start: int, stop: int) -> dict[int, int]:
        """The store position of each indexed entry with a log index from ``start`` to
        ``stop`` (exclusive), by log index (one indexed range read)."""
        return dict(self._recorder.select_positions(start, stop))

    def indexed_size(self) -> int:
        """How many entries, from the first, have their position indexed."""
        last = self._recorder.select_last_indexed()
        return 0 if last is None else last[0] + 1

    def index_positions(self, *, limit: int = 10_000) -> int:
        """Index the positions of up to ``limit`` more entries written before the table
        existed, in one transaction; return how many (0: all are indexed). Raises
        :class:`~ledger.errors.ConcurrencyConflict` if another process indexed or
        appended meanwhile (nothing is written then; call again)."""
        try:
            return self._recorder.index_positions(limit)
        except (IntegrityError, OperationalError) as exc:
            raise write_error(exc) from exc
