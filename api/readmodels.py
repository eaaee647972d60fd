"""The read models (portfolio, reputation, matching) as the service keeps them up to date.

Before a query, :meth:`ReadModels.connection` applies the entries appended since
the last catch-up (so a client reads its own writes), under one lock, so two
requests never race for the same tracking record; across service processes the
projector's own lock (:data:`projections.db.CATCH_UP_LOCK`) lets one apply while
the others wait and then find the entries applied. A background thread catches
up while the service is idle and runs the reputation refresh (standing and
score snapshots, used to rank matches) when it is due: after new entries, once the
last refresh by any process is ``refresh_every`` seconds old and ten times as old as it
took (:data:`projections.runner.REFRESH_SPACING`). The refresh runs in a short-lived
child process by default (``refresh_in``, :mod:`projections.child`), so its memory and
CPU are not the service's and the requests do not wait for the GIL meanwhile; a child
that dies is logged, and the refresh tried again when it is next due.

Cached answers (:meth:`api.context.AppContext.version`) are keyed on the log's size,
read from the store, and on :attr:`ReadModels.generation`, which moves when this
process refreshes, when the background thread finds that another process refreshed
(the stored refresh mark changed: within ``interval`` seconds), and when a catch-up
gave up waiting for another process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from ledger.store import Store
from projections import Projector, ProjectorBusy, RefreshFailed, RefreshIn, open_projector

__all__ = ["ReadModels"]

_LOG = logging.getLogger("api.readmodels")
_FAR_BEHIND = 10_000  # log positions: a catch-up at start that is worth a warning


class ReadModels:
    """A projector over the ledger's store, caught up on demand and in the background."""

    def __init__(
        self,
        store: Store,
        *,
        log_size: Callable[[], int],
        interval: float = 1.0,
        refresh_every: float = 30.0,
        lock_wait: float = 10.0,
        refresh_in: RefreshIn = "child",
    ) -> None:
        self.projector: Projector = open_projector(store)
        self.projector.refresh_in = refresh_in
        # How long a request waits for another process's catch-up (a rebuild can hold it
        # for minutes) before it reads the rows committed so far.
        self.projector.lock_wait = lock_wait
        self._log_size = log_size
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()  # one refresh at a time in this process
        self._applied_size = -1
        self._stop = threading.Event()
        self._interval = interval
        self._refresh_every = refresh_every
        self._refresh_from = 0.0  # monotonic time: no refresh before (set by start)
        self._thread: threading.Thread | None = None
        self._refreshed: dict[str, tuple[int, int] | None] | None = None
        self.generation = 0

    def catch_up(self, log_size: int | None = None) -> None:
        """Apply what the log gained since the last catch-up (cheap when nothing did);
        ``log_size``: the log's size when the caller just read it (else it is read).

        If another service process held the read models' catch-up lock for too long,
        the rows it committed are read as they are, and :attr:`generation` moves so that
        no answer computed from them is cached as the answer for this log size.

        A caller's size may be older than another's that caught up first: the projector
        applies every entry it finds, never fewer than ``size`` (the log's size is
        committed with its entries) and never one twice (the tracking records), so the
        applied size only grows, and a caller behind it has nothing to apply.
        """
        size = self._log_size() if log_size is None else log_size
        if size <= self._applied_size:
            return
        with self._lock:
            if size <= self._applied_size:
                return
            try:
                self.projector.catch_up()
            except ProjectorBusy:
                _LOG.warning("another process held the read models' catch-up lock too long")
                self.generation += 1
                return
            self._applied_size = size

    def refresh(self, names: Iterable[str] | None = None) -> None:
        """Recompute reputation standing and score snapshots (of the read models ``names``,
        or all); raises :class:`~projections.RefreshFailed` if the refresh child died.

        Not under the catch-up lock: a request that applies new entries meanwhile does not
        wait for the refresh (which reads in a snapshot and writes only its own tables)."""
        with self._refreshing:
            self.projector.refresh(names)
            mark = self.projector.refreshed()
        with self._lock:
            self._refreshed = mark
            self.generation += 1

    def notice_refresh(self) -> None:
        """Move :attr:`generation` if the stored refresh mark changed: another service
        process refreshed the snapshots (checked by the background thread every interval)."""
        mark = self.projector.refreshed()
        with self._lock:
            if mark != self._refreshed:
                self._refreshed = mark
                self.generation += 1

    @contextmanager
    def connection(self, log_size: int | None = None) -> Iterator[Connection]:
        """A read connection on the read models caught up with the log (of ``log_size``
        entries, when the caller just read it: one look-up less)."""
        self.catch_up(log_size)
        with self.projector.engine.connect() as conn:
            yield conn

    def start(self) -> None:
        """Catch up now, then keep the read models caught up and refreshed on a background
        thread (its first round ``interval`` seconds later, its first refresh no sooner
        than ``refresh_every`` seconds after the start).

        Normally the read models follow the log and this reads a bounded amount; read
        models far behind (a ledger migrated by a version that rebuilds one, or written by
        ``trackrecord demo``) are caught up once, here, with a warning. A refresh that is
        due (:meth:`projections.Projector.refresh_due`) runs on the background thread, not
        before the first answer: it scores every person, a cost that grows with the
        ledger, and until it is done the stored snapshots of the last refresh serve, as
        they do between two refreshes. Not at once either: a process's first answers are
        not slowed by it, and one that restarts again and again does not recompute each
        time. Only read models that were never refreshed (no snapshots to serve) are
        refreshed here."""
        end = self.projector.log.max_position()
        behind = max((end - at for at in self.projector.positions().values()), default=0)
        if behind > _FAR_BEHIND:
            _LOG.warning(
                "the read models are %d entries behind the log: catching them up before "
                "serving, once ('trackrecord migrate' does it ahead of time, with progress)",
                behind,
            )
        self.catch_up()
        self._refresh_from = time.monotonic() + self._refresh_every
        if any(mark is None for mark in self.projector.refreshed().values()):
            try:
                self.refresh()
            except RefreshFailed as exc:  # serve without snapshots; tried again when due
                _LOG.error("%s; tried again when due", exc)
        else:
            self.notice_refresh()
        self._thread = threading.Thread(target=self._follow, name="read-models", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.catch_up()
                due = (
                    self.projector.due_refreshes(every=self._refresh_every)
                    if time.monotonic() >= self._refresh_from
                    else []
                )
                if due:
                    self.refresh(due)
                else:
                    self.notice_refresh()
            except RefreshFailed as exc:
                if self._stop.is_set():  # the service stops: its child was stopped with it
                    _LOG.info("%s", exc)
                else:
                    _LOG.error("%s; the read models keep their last refresh until the next", exc)
            except Exception:  # keep following; a request meets the same error and reports it
                _LOG.exception("catching up the read models failed")

    def close(self) -> None:
        """Stop the background thread (killing a refresh child it waits for) and release the
        engine's connections."""
        self._stop.set()
        self.projector.refresh_stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.projector.engine.dispose()
