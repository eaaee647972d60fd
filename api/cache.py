"""Answers of read-model queries, kept until the log or the read models change.

A portfolio, a reputation list or a ranked candidate list depends only on the
log (as applied to the read models) and on the reputation snapshot; so an
answer computed at log size ``n`` and snapshot generation ``g`` is the answer
for every request until either moves. :class:`ResponseCache` keeps such answers
as their JSON bytes, keyed by what was asked and who asked (the viewer: what one
viewer may see is never served to another).

The cache is bounded by memory: an answer's JSON bytes (plus a fixed overhead per
answer for its key and version) count against ``max_bytes``, least recently used
dropped first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from cachetools import LRUCache
from pydantic import BaseModel

__all__ = ["ANSWER_OVERHEAD", "DEFAULT_ANSWER_CACHE_BYTES", "ResponseCache"]

DEFAULT_ANSWER_CACHE_BYTES = 16 * 1024 * 1024
"""The answer cache's default bound: some 2,800 records of the demo ledger's people
(5.4 KiB of JSON each; bench/README.md, "The service's memory, bounded in bytes")."""

ANSWER_OVERHEAD = 400
"""Bytes counted per answer besides its JSON: the bytes object, the key and version
tuples and the cache's own entry."""


class ResponseCache:
    """JSON answers by (question, version), least recently used dropped first once their
    bytes (:data:`ANSWER_OVERHEAD` each besides their JSON) pass ``max_bytes`` (0: none
    kept), or their number passes ``max_answers`` (None: no such bound). Thread-safe."""

    def __init__(
        self, max_bytes: int = DEFAULT_ANSWER_CACHE_BYTES, *, max_answers: int | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self._max_answers = max_answers
        self._lock = threading.Lock()
        self._answers: LRUCache[Hashable, tuple[Hashable, bytes]] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda found: len(found[1]) + ANSWER_OVERHEAD
        )

    def get(
        self, key: Hashable, version: Hashable, compute: Callable[[], BaseModel | list[BaseModel]]
    ) -> bytes:
        """The JSON of ``compute()`` for ``key`` at ``version``, computed once per version."""
        with self._lock:
            found = self._answers.get(key)
        if found is not None and found[0] == version:
            return found[1]
        body = _json(compute())
        with self._lock:
            if len(body) + ANSWER_OVERHEAD > self.max_bytes or self._max_answers == 0:
                self._answers.pop(key, None)  # never kept: nor is its earlier version
                return body
            self._answers[key] = (version, body)  # drops the least recently used past the bound
            while self._max_answers is not None and len(self._answers) > self._max_answers:
                self._answers.popitem()
        return body

    def __len__(self) -> int:
        """How many answers are kept."""
        return len(self._answers)

    @property
    def bytes(self) -> int:
        """The bytes the answers kept count for (at most ``max_bytes``)."""
        return int(self._answers.currsize)

    def clear(self) -> None:
        """Forget every answer (after an erasure: none may stay in memory)."""
        with self._lock:
            self._answers.clear()


def _json(value: BaseModel | list[BaseModel]) -> bytes:
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode("utf-8")
    return b"[" + b",".join(v.model_dump_json().encode("utf-8") for v in value) + b"]"
