"""The audit's check of the entries' positions: the ``entry_positions`` rows the store
keeps (:mod:`ledger.store.position_tables`) say where each entry of the log is.

Every read that finds an entry by its log index (a record, an export, a proof) goes
through those rows, so an edited row would show one entry in another's place. The
audit reads the log in order and knows each entry's log index and store position; it
compares them, chunk by chunk, with one range read of the rows (bounded memory), and
at the end checks that no row lies beyond the log. A row that differs, is missing or
is extra is ``position_mismatch``, located like a tampered entry: the stream, seq and
log index of the entry it should point at.

The rows are written by the appends, and by ``trackrecord migrate`` for the entries
of a ledger written before they were kept, from the first entry on: a ledger not
(fully) indexed yet has rows for a first part of the log and none after it, and that
is no tampering. A row missing below the last indexed one is.
"""

from __future__ import annotations

from collections.abc import Sequence

from .entry import Entry
from .errors import IntegrityViolation
from .store import Store, StoredRecord

__all__ = ["PositionCheck"]


class PositionCheck:
    """Compares the stored positions with the log, as the audit reads it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: the first entry found without a row: (log index, stream, seq)
        self.first_missing: tuple[int, str, int] | None = None

    def check_chunk(
        self, first: int, records: Sequence[StoredRecord], entries: Sequence[Entry]
    ) -> None:
        """Check the rows of the entries at log indexes ``first``, ``first + 1``, ... (the
        ``entries`` decoded from the stored ``records``, in log order); return None or
        raise :class:`~ledger.errors.IntegrityViolation` (``position_mismatch``) for the
        first row that points elsewhere or sits where the log has no entry."""
        if not entries:
            return
        stored = self.store.positions_between(first, first + len(entries))
        for offset, (rec, entry) in enumerate(zip(records, entries, strict=False)):
            index = first + offset
            found = stored.get(index)
            if found is None:
                if self.first_missing is None:
                    self.first_missing = (index, entry.stream, entry.seq)
                continue
            if self.first_missing is not None:  # a row after a missing one: removed
                raise _missing(*self.first_missing)
            if found != rec.position:
                raise _mismatch(index, entry, expected=rec.position, actual=found)

    def finish(self, size: int) -> None:
        """After the whole log (``size`` entries): raise ``position_mismatch`` for a row
        missing below the last indexed one, or for rows beyond the log (unless the log
        grew while the audit ran: then the rows follow entries it did not read)."""
        indexed = self.store.indexed_size()
        if self.first_missing is not None and indexed > self.first_missing[0]:
            raise _missing(*self.first_missing)
        if indexed > size:
            try:
                self.store.get_node(0, size)
                return  # appended to since the audit read the log
            except KeyError:
                pass
            raise IntegrityViolation(
                "position_mismatch",
                f"the store keeps a position row for log index {indexed - 1}, but the log "
                f"has {size} entries",
                log_index=size,
                expected=None,
                actual=str(self.store.position_of(indexed - 1)),
            )


def _missing(index: int, stream: str, seq: int) -> IntegrityViolation:
    return IntegrityViolation(
        "position_mismatch",
        f"the entry at log index {index} ({stream}#{seq}) has no stored position row, but "
        "later entries have: the row was removed",
        stream=stream,
        seq=seq,
        log_index=index,
    )


def _mismatch(index: int, entry: Entry, *, expected: int, actual: int) -> IntegrityViolation:
    return IntegrityViolation(
        "position_mismatch",
        f"the stored position row of log index {index} ({entry.stream}#{entry.seq}) points "
        f"at store position {actual}, but that entry is at {expected}",
        stream=entry.stream,
        seq=entry.seq,
        log_index=index,
        expected=str(expected),
        actual=str(actual),
    )
