"""Per-key token buckets for logins and writes, kept in memory.

Each key (a signing key id, or a client address for login challenges) has a
bucket of ``capacity`` tokens refilled at ``per_second``; a request takes one
token or is refused with ``429 rate_limited`` and a ``Retry-After`` header.

The buckets live in the service process: with several processes behind a load
balancer each enforces its own limit (the effective limit is multiplied by the
number of processes). That is enough to blunt password-less guessing of login
signatures and runaway clients; a shared limiter (in the database or a proxy)
is the step up when the service is scaled out.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .config import Bucket
from .errors import ApiError

__all__ = ["RateLimiter"]

_MAX_KEYS = 100_000


@dataclass
class _State:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets of one kind (``what``: ``"writes"``, ``"logins"`` ...), one per key."""

    def __init__(self, what: str, bucket: Bucket, clock: Callable[[], float]) -> None:
        self.what = what
        self.bucket = bucket
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def take(self, key: str, tokens: int = 1) -> None:
        """Take ``tokens`` from ``key``'s bucket; raise a 429 :class:`ApiError` if empty."""
        if self.bucket.capacity <= 0:
            return
        now = self._clock()
        with self._lock:
            state = self._states.get(key)
            if state is None:
                if len(self._states) >= _MAX_KEYS:
                    self._evict(now)
                state = _State(float(self.bucket.capacity), now)
                self._states[key] = state
            state.tokens = min(
                float(self.bucket.capacity),
                state.tokens + (now - state.updated) * self.bucket.per_second,
            )
            state.updated = now
            if state.tokens >= tokens:
                state.tokens -= tokens
                return
            missing = tokens - state.tokens
        wait = math.ceil(missing / self.bucket.per_second) if self.bucket.per_second > 0 else 3600
        raise ApiError(
            429,
            "rate_limited",
            f"too many {self.what} for {key}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )

    def _evict(self, now: float) -> None:
        """Forget buckets that have refilled completely (they behave like new ones)."""
        full_after = self.bucket.capacity / self.bucket.per_second if self.bucket.per_second else 0
        stale = [k for k, s in self._states.items() if now - s.updated >= full_after]
        for key in stale:
            del self._states[key]
        if len(self._states) >= _MAX_KEYS:  # still full: drop the oldest half
            oldest = sorted(self._states, key=lambda k: self._states[k].updated)
            for key in oldest[: _MAX_KEYS // 2]:
                del self._states[key]
