"""Decoded streams, kept while they do not change.

Reading a stream from the store means parsing and re-checking every entry's
canonical form; streams only ever grow, so a stream decoded at head ``seq`` stays
valid until its head moves. :class:`StreamCache` keeps the decoded entries (and
each one's log index) of recently read streams, keyed by their head in the
caught-up ledger state, and reads a stream again only when it has grown — or
when someone was erased since it was read: an erased person's content is then
withheld (:func:`ledger.erasure.withhold_erased`) and dropped from the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ledger.erasure import withhold_erased
from ledger.errors import NotFound
from ledger.service import LedgerService, StoredEntry
from ledger.state import LedgerState

from .positions import EntryPositions

__all__ = ["StreamCache"]

Indexed = tuple[tuple[StoredEntry, int | None], ...]


class StreamCache:
    """The entries of recently read streams, as of their head. Thread-safe."""

    def __init__(
        self, service: LedgerService, positions: EntryPositions, *, size: int = 2_000
    ) -> None:
        self._service = service
        self._positions = positions
        self._size = size
        self._lock = threading.Lock()
        # stream -> (head seq, number of erasures, entries) as of the state it was read at
        self._streams: OrderedDict[str, tuple[int, int, Indexed]] = OrderedDict()

    def read(self, stream: str, state: LedgerState) -> Indexed:
        """``stream``'s entries with their log indexes, up to its head in ``state``.

        Raises :class:`NotFound` if the stream has no entry in ``state``.
        """
        head = state.heads.get(stream)
        if head is None:
            raise NotFound(f"no stream {stream!r}")
        version = (head.seq, len(state.erased))
        with self._lock:
            cached = self._streams.get(stream)
            if cached is not None and cached[:2] == version:
                self._streams.move_to_end(stream)
                return cached[2]
        entries = self._service.read_stream(stream)[: head.seq]
        indexes = self._positions.indexes_of(stream)
        indexed = tuple((withhold_erased(e, state), indexes.get(e.entry.seq)) for e in entries)
        with self._lock:
            self._streams[stream] = (*version, indexed)
            self._streams.move_to_end(stream)
            while len(self._streams) > self._size:
                self._streams.popitem(last=False)
        return indexed

    def entries(self, stream: str, state: LedgerState) -> list[StoredEntry]:
        """``stream``'s entries up to its head in ``state`` (see :meth:`read`)."""
        return [e for e, _ in self.read(stream, state)]

    def __len__(self) -> int:
        """How many streams are kept (at most the size given)."""
        return len(self._streams)

    def clear(self) -> None:
        """Forget every stream read so far."""
        with self._lock:
            self._streams.clear()
