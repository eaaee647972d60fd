"""Answers of read-model queries, kept until the log or the read models change.

A portfolio, a reputation list or a ranked candidate list depends only on the
log (as applied to the read models) and on the reputation snapshot; so an
answer computed at log size ``n`` and snapshot generation ``g`` is the answer
for every request until either moves. :class:`ResponseCache` keeps such answers
as their JSON bytes, keyed by what was asked and who asked (the viewer: what one
viewer may see is never served to another).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from pydantic import BaseModel

__all__ = ["ResponseCache"]


class ResponseCache:
    """JSON answers by (question, version), least recently used dropped first. Thread-safe."""

    def __init__(self, size: int = 5_000) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()

    def get(
        self, key: Hashable, version: Hashable, compute: Callable[[], BaseModel | list[BaseModel]]
    ) -> bytes:
        """The JSON of ``compute()`` for ``key`` at ``version``, computed once per version."""
        with self._lock:
            found = self._answers.get(key)
            if found is not None and found[0] == version:
                self._answers.move_to_end(key)
                return found[1]
        body = _json(compute())
        with self._lock:
            self._answers[key] = (version, body)
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return body

    def __len__(self) -> int:
        """How many answers are kept (at most the size given)."""
        return len(self._answers)

    def clear(self) -> None:
        """Forget every answer (after an erasure: none may stay in memory)."""
        with self._lock:
            self._answers.clear()


def _json(value: BaseModel | list[BaseModel]) -> bytes:
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode("utf-8")
    return b"[" + b",".join(v.model_dump_json().encode("utf-8") for v in value) + b"]"
