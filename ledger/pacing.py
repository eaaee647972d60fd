"""Pacing for background writes made of many short transactions (a checkpoint's heads
tree, a reputation refresh's generation of rows).

Short transactions alone do not let an append in on SQLite: a writer waiting for the
database's one write lock is not queued; its busy handler retries on its own clock
(sleeping up to 100 ms between tries), so a job that commits chunk after chunk back to
back can hold the lock at every try and keep an append waiting for the whole job. After
each chunk the job therefore sleeps as long as the chunk took: it holds the lock at most
half the time, and a waiting append gets it after about one chunk. Hand-written because
it is one sleep; no library offers this for SQLite's busy handler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["paced", "pause"]

T = TypeVar("T")


def pause(took: float) -> None:
    """After one chunk's transaction (``took`` seconds): sleep as long."""
    time.sleep(took)


def paced(step: Callable[[], T]) -> T:
    """Run ``step`` (one short write transaction), then :func:`pause` as long as it took;
    return its result."""
    began = time.monotonic()
    done = step()
    pause(time.monotonic() - began)
    return done
