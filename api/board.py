"""The assignment board: the facts of each posting that the rules state does not keep.

:class:`~ledger.state.Assignment` holds owner, department, skills and status;
ring, hours and title are in the ``AssignmentPosted`` entry (seq 1 of the
assignment's stream), which never changes, so it is read once and kept — its
title only while its poster is not erased (:mod:`ledger.erasure`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cachetools import LRUCache

from ledger.erasure import withhold_erased
from ledger.service import LedgerService

from .positions import EntryPositions

__all__ = ["AssignmentBoard", "Posting"]


@dataclass(frozen=True)
class Posting:
    """What an ``AssignmentPosted`` statement said."""

    ring: str
    hours_per_week: int
    title: str | None
    posted_at: int | None


class AssignmentBoard:
    """Postings by assignment id, read on first use. Thread-safe."""

    def __init__(
        self, service: LedgerService, positions: EntryPositions, *, size: int = 2_000
    ) -> None:
        self._service = service
        self._positions = positions
        self._lock = threading.Lock()
        # least recently used dropped first (read again from the store on demand)
        self._postings: LRUCache[str, Posting] = LRUCache(maxsize=max(size, 1))

    def posting(self, assignment: str) -> Posting:
        """The posting of ``assignment``; raise :class:`ledger.errors.NotFound`."""
        with self._lock:
            found = self._postings.get(assignment)
        if found is not None:
            return found
        stream = f"assignment/{assignment}"
        first = withhold_erased(self._service.read_stream(stream)[0], self._service.state)
        body = first.entry.statement.body
        posting = Posting(
            ring=str(body["ring"]),
            hours_per_week=int(body["hours_per_week"]),
            title=first.disclosed().get("title"),
            posted_at=self._positions.index_of(stream, 1),
        )
        with self._lock:
            self._postings[assignment] = posting
        return posting

    def clear(self) -> None:
        """Forget every posting read so far."""
        with self._lock:
            self._postings.clear()
