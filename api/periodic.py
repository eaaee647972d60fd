"""A background thread that does one piece of work every few seconds, for the service's
own chores (signing checkpoints, delivering notifications).

Hand-written rather than a scheduler library: a daemon thread, an event to stop it and a
log line for a failed round are all it needs, and the rounds share the service's threads
and connections, which an asyncio or APScheduler job would not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Periodic"]


class Periodic:
    """Runs ``work`` at once and then every ``interval`` seconds on a daemon thread, until
    :meth:`close`; a round that raises is logged (``failed``) and the next one tries again."""

    def __init__(
        self,
        name: str,
        work: Callable[[], object],
        interval: float,
        *,
        log: logging.Logger,
        failed: str,
    ) -> None:
        self.name = name
        self.work = work
        self.interval = interval
        self._log = log
        self._failed = failed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.work()
            except Exception:  # keep going: the next round tries again
                self._log.exception(self._failed)
            if self._stop.wait(self.interval):
                return

    def close(self) -> None:
        """Stop the thread (waiting up to 10 s for a round under way)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
