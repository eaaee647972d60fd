"""Erased people's content is never served, whatever the service held before the erasure.

After ``PersonErased`` the store opens none of the person's disclosures again, but
this process may hold them from earlier reads: decoded streams
(:class:`~api.streams.StreamCache`), postings (:class:`~api.board.AssignmentBoard`)
and rendered answers (:class:`~api.cache.ResponseCache`). Two measures, both
keyed on the caught-up ledger state (so an erasure appended by another process,
such as the CLI, counts as soon as the service state catches up on a read):

- :func:`withhold_erased` strips the disclosures of every entry whose content
  owner (:func:`ledger.privacy.content_owner`) is erased; the stream cache and
  the entry views apply it, so every committed field then reads as withheld;
- :class:`ErasureWatch` tells when the set of erased people grew, and the
  application context then drops its caches (:meth:`api.context.AppContext.state`).
"""

from __future__ import annotations

import threading

from ledger.errors import LedgerError
from ledger.privacy import content_owner
from ledger.service import StoredEntry
from ledger.state import LedgerState

__all__ = ["ErasureWatch", "is_erased_content", "withhold_erased"]


def is_erased_content(stored: StoredEntry, state: LedgerState) -> bool:
    """True if ``stored``'s personal content belongs to a person erased in ``state``."""
    if not state.erased:
        return False
    try:
        return content_owner(stored.entry.statement, state) in state.erased
    except LedgerError:  # an author unknown to this state: not attributable, so withheld
        return True


def withhold_erased(stored: StoredEntry, state: LedgerState) -> StoredEntry:
    """``stored`` without disclosures if its content owner is erased in ``state``."""
    if stored.disclosures and is_erased_content(stored, state):
        return StoredEntry(stored.entry, ())
    return stored


class ErasureWatch:
    """Notices when more people are erased than last time it looked. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = 0

    def grew(self, state: LedgerState) -> bool:
        """True once for each look at which ``state`` holds more erasures than before."""
        count = len(state.erased)
        with self._lock:
            if count <= self._seen:
                return False
            self._seen = count
            return True
