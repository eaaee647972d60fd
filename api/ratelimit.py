"""Per-key token buckets for logins and writes, kept in memory.

Each key (a signing key id, or a client address) has a bucket of ``capacity``
tokens refilled at ``per_second``; a request takes one token or is refused with
``429 rate_limited`` and a ``Retry-After`` header.

A bucket named by a signing key is spent only by requests that key signed: the
endpoint :meth:`RateLimiter.check` s it before the work and :meth:`RateLimiter.charge` s
it once the signature (or signed login challenge) has verified. Anyone can *name*
a key id, so charging it before the check would let a stranger spend the key
holder's budget and lock them out. Refused requests are charged instead to the
address they came from (:func:`charged_on_refusal`), a cheap limit on junk that
spends only its sender's budget.

The buckets live in the service process: with several processes behind a load
balancer each enforces its own limit (the effective limit is multiplied by the
number of processes). That is enough to blunt password-less guessing of login
signatures and runaway clients; a shared limiter (in the database or a proxy)
is the step up when the service is scaled out.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.errors import MalformedInput, RuleViolation

from .config import Bucket
from .errors import ApiError

__all__ = ["RateLimiter", "charged_on_refusal"]

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
        with self._lock:
            state = self._refilled(key)
            if state.tokens >= tokens:
                state.tokens -= tokens
                return
            missing = tokens - state.tokens
        raise self._limited(key, missing)

    def check(self, key: str) -> None:
        """Raise a 429 :class:`ApiError` if ``key``'s bucket has no token left; take none."""
        if self.bucket.capacity <= 0:
            return
        with self._lock:
            missing = 1 - self._refilled(key).tokens
        if missing > 0:
            raise self._limited(key, missing)

    def charge(self, key: str, tokens: int = 1) -> None:
        """Take up to ``tokens`` from ``key``'s bucket for work already done; never raises."""
        if self.bucket.capacity <= 0:
            return
        with self._lock:
            state = self._refilled(key)
            state.tokens = max(0.0, state.tokens - tokens)

    def _refilled(self, key: str) -> _State:
        """``key``'s bucket, refilled up to now (called with the lock held)."""
        now = self._clock()
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
        return state

    def _limited(self, key: str, missing: float) -> ApiError:
        per_second = self.bucket.per_second
        wait = math.ceil(missing / per_second) if per_second > 0 else 3600
        return ApiError(
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


@contextmanager
def charged_on_refusal(limiter: RateLimiter, client: str) -> Iterator[None]:
    """Refuse ``client`` (its address) with 429 if its refusals are used up; charge it one
    refusal if the block raises a client error (a bad signature, an unknown key or
    challenge, a broken rule, malformed input)."""
    limiter.check(client)
    try:
        yield
    except ApiError as exc:
        if exc.status < 500:
            limiter.charge(client)
        raise
    except (RuleViolation, MalformedInput):
        limiter.charge(client)
        raise
