"""Decoded streams, kept while they do not change.

Reading a stream from the store means parsing and re-checking every entry's
canonical form; streams only ever grow, so a stream decoded at head ``seq`` stays
valid until its head moves. :class:`StreamCache` keeps the decoded entries (and
each one's log index) of recently read streams, keyed by their head in the
caught-up ledger state, and reads a stream again only when it has grown — or
when someone was erased since it was read: an erased person's content is then
withheld (:func:`ledger.erasure.withhold_erased`) and dropped from the cache.

The cache is bounded by memory, not by a number of streams: a person's streams
differ a hundredfold in size. What a decoded stream holds is estimated from its
stored bytes (:func:`decoded_size`); the least recently read streams are dropped
while the estimates of those kept add up to more than the bound.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from cachetools import LRUCache

from ledger.erasure import withhold_erased
from ledger.errors import NotFound
from ledger.service import LedgerService, StoredEntry
from ledger.state import LedgerState

from .positions import EntryPositions

__all__ = ["DEFAULT_STREAM_CACHE_BYTES", "StreamCache", "decoded_size"]

Indexed = tuple[tuple[StoredEntry, int | None], ...]

MiB = 1024 * 1024
DEFAULT_STREAM_CACHE_BYTES = 64 * MiB
"""The stream cache's default bound: some 650 people's identity and record streams of the
demo ledger (bench/README.md, "The service's memory, bounded in bytes")."""

# What a decoded stream holds in memory, from the stored bytes of its entries: Python
# objects for every field of the entry, its statement, the statement's body as a dict and
# as its typed model, and both canonical forms, some 7 bytes per byte of the canonical
# entry; a disclosure holds its text once, and three strings and an object besides.
# Fitted to the deep size (sys.getsizeof over every object a stream's tuple reaches) of
# the 1,999 identity and record streams of the first 1,000 people of the 10^6 demo
# ledger: each estimate within -12 % .. +25 % of the size measured, their sum 4 % over it;
# tests/test_service_caches.py keeps it within bounds for streams a hundred times apart.
BYTES_PER_CANONICAL_BYTE = 6.8
BYTES_PER_DISCLOSURE = 400
BYTES_PER_STREAM = 1_400


def decoded_size(entries: Indexed) -> int:
    """An estimate of the memory (bytes) the decoded ``entries`` of one stream hold."""
    canonical = sum(len(e.entry.canonical) for e, _ in entries)
    disclosed = sum(
        BYTES_PER_DISCLOSURE + len(d.salt) + len(d.field) + len(d.value)
        for e, _ in entries
        for d in e.disclosures
    )
    return round(BYTES_PER_CANONICAL_BYTE * canonical) + disclosed + BYTES_PER_STREAM


class _Kept(NamedTuple):
    """A decoded stream as of the state it was read at."""

    seq: int  # its head
    erased: int  # how many people were erased
    entries: Indexed
    size: int  # decoded_size(entries)


class StreamCache:
    """The entries of recently read streams, as of their head, least recently read dropped
    first once their estimated memory (:func:`decoded_size`) passes ``max_bytes`` (0:
    none kept), or their number passes ``max_streams`` (None: no such bound). Thread-safe."""

    def __init__(
        self,
        service: LedgerService,
        positions: EntryPositions,
        *,
        max_bytes: int = DEFAULT_STREAM_CACHE_BYTES,
        max_streams: int | None = None,
    ) -> None:
        self._service = service
        self._positions = positions
        self.max_bytes = max_bytes
        self._max_streams = max_streams
        self._lock = threading.Lock()
        self._streams: LRUCache[str, _Kept] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda kept: kept.size
        )

    def read(self, stream: str, state: LedgerState) -> Indexed:
        """``stream``'s entries with their log indexes, up to its head in ``state``.

        Raises :class:`NotFound` if the stream has no entry in ``state``.
        """
        head = state.heads.get(stream)
        if head is None:
            raise NotFound(f"no stream {stream!r}")
        erased = len(state.erased)
        with self._lock:
            cached = self._streams.get(stream)
        if cached is not None and (cached.seq, cached.erased) == (head.seq, erased):
            return cached.entries
        entries = self._service.read_stream(stream)[: head.seq]
        indexes = self._positions.indexes_of(stream)
        indexed = tuple((withhold_erased(e, state), indexes.get(e.entry.seq)) for e in entries)
        self._keep(stream, _Kept(head.seq, erased, indexed, decoded_size(indexed)))
        return indexed

    def _keep(self, stream: str, kept: _Kept) -> None:
        with self._lock:
            if kept.size > self.max_bytes:  # never kept: nor is its earlier version
                self._streams.pop(stream, None)
                return
            self._streams[stream] = kept  # drops the least recently read past max_bytes
            while self._max_streams is not None and len(self._streams) > self._max_streams:
                self._streams.popitem()

    def entries(self, stream: str, state: LedgerState) -> list[StoredEntry]:
        """``stream``'s entries up to its head in ``state`` (see :meth:`read`)."""
        return [e for e, _ in self.read(stream, state)]

    def __len__(self) -> int:
        """How many streams are kept."""
        return len(self._streams)

    @property
    def bytes(self) -> int:
        """The estimated memory of the streams kept (:func:`decoded_size`), at most
        ``max_bytes``."""
        return int(self._streams.currsize)

    def clear(self) -> None:
        """Forget every stream read so far."""
        with self._lock:
            self._streams.clear()
