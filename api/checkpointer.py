"""The operator's checkpointer: signs a checkpoint whenever the log has grown.

With witnesses configured (``ApiConfig.witnesses``) each new checkpoint is
cosigned by those that answer (:mod:`ledger.witnessing`) before it is stored.

The rounds are spaced by their cost, as the reputation refresh is
(:data:`projections.runner.REFRESH_SPACING`): a round signs only once the latest
checkpoint, by whichever process, is ``interval`` seconds old and
:data:`CHECKPOINT_SPACING` times as old as this process's last issuing took
(:func:`checkpoint_due`), so issuing takes at most about a tenth of a core however long
it takes (4-5 s of CPU at 10^6 entries; bench/README.md).

A request that needs a checkpoint holding a person's entries (a bundle, a credential:
:meth:`Checkpointer.ensure_covers` of :meth:`~ledger.transparency.TransparencyLog.size_covering`)
does not wait for the spacing, but issues none when the latest checkpoint covers them
already, and requests at the same time share one issue: while one is under way the others
wait for it, and those it does not cover share the next one.

The costly part of an issue, hashing and storing the heads tree, runs in a short-lived
child process by default (``issue_in``; :mod:`ledger.tree_child`), so its memory and CPU
are not the service's and the requests do not wait for the GIL meanwhile. The child holds
no key: this process signs the root it stored, read back from the store. Where a child
cannot see the database (an in-memory SQLite database, a service key handed over in
memory: :func:`ledger.child_process.child_unavailable`) the tree is hashed in process.

Only when the service is started with the operator's key (``trackrecord --as
OPERATOR serve``): the operator runs the service and signs the log's
checkpoints (DESIGN.md §2), so the operator's own key may sign them here. No
other private key is ever held by the service. Without a key, checkpoints are
signed by the operator with ``trackrecord checkpoint`` and the service serves
the stored ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from keys import Identity
from ledger.checkpoint import note_signatures, parse_checkpoint_body
from ledger.child_process import ChildFailed, RunIn, child_unavailable
from ledger.errors import LedgerError, NotFound
from ledger.transparency import SignedCheckpoint, StoredHeadsTree, TransparencyLog
from ledger.tree_child import TREE_TIMEOUT, store_heads_tree_in_child
from ledger.witnessing import Cosigners

from .errors import ApiError
from .periodic import Periodic

__all__ = ["CHECKPOINT_SPACING", "Checkpointer", "checkpoint_due"]

_LOG = logging.getLogger("api.checkpointer")

CHECKPOINT_SPACING = 10.0
"""A round signs no sooner after the latest checkpoint than this many times as long as the
last issuing took: issuing then takes at most about a tenth of a core."""


def checkpoint_due(*, age: float | None, interval: float, took: float) -> bool:
    """Whether a round should sign now: no checkpoint yet (``age`` None), or the latest one
    was signed ``age`` seconds ago, at least ``interval`` and :data:`CHECKPOINT_SPACING`
    times the duration of the last issuing (``took`` seconds; 0 before the first)."""
    return age is None or age >= spacing(interval, took)


def spacing(interval: float, took: float) -> float:
    """Seconds a round waits after a checkpoint (or a failed issue) before the next:
    ``interval``, or :data:`CHECKPOINT_SPACING` times ``took`` if that is longer."""
    return max(interval, CHECKPOINT_SPACING * took)


@dataclass
class _Issue:
    """One issue under way, which requests at the same time wait for."""

    done: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0  # calls waiting for it
    signed: SignedCheckpoint | None = None
    failed: BaseException | None = None


class Checkpointer:
    """Issues a checkpoint of ``log`` with ``operator`` when it is behind the log; the heads
    tree in a short-lived child process (``issue_in`` ``"child"``) or in this process."""

    def __init__(
        self,
        log: TransparencyLog,
        operator: Identity,
        *,
        origin: str,
        interval: float,
        cosigners: Cosigners | None = None,
        issue_in: RunIn = "process",
        tree_timeout: float = TREE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.cosigners = cosigners
        self.operator = operator
        self.origin = origin
        self.interval = interval
        self.issue_in: RunIn = issue_in
        self.tree_timeout = tree_timeout
        self._clock = clock  # monotonic seconds: a failed issue's spacing
        self.took = 0.0  # seconds the last issuing took (wall clock), for the spacing
        self.issued = 0  # issues this process started (for the log and the tests)
        self._failed: tuple[float, float] | None = None  # (monotonic time, seconds) of a failure
        self._stop = threading.Event()  # set by close: a tree child running then is killed
        self._mutex = threading.Lock()  # guards _running
        self._running: _Issue | None = None
        self._rounds = Periodic(
            "checkpointer",
            self.round,
            interval,
            log=_LOG,
            failed="signing a checkpoint failed",
        )

    def round(self) -> SignedCheckpoint | None:
        """One round of the background thread: :meth:`ensure_fresh` if a checkpoint is due
        (:func:`checkpoint_due`: the latest one, by any process, is old enough) and no
        failed issue is to be waited out (spaced like an issue that took as long)."""
        if not checkpoint_due(age=self._latest_age(), interval=self.interval, took=self.took):
            return None
        if self._failed is not None:
            at, seconds = self._failed
            if not checkpoint_due(age=self._clock() - at, interval=self.interval, took=seconds):
                return None
        return self.ensure_fresh()

    def _latest_age(self) -> float | None:
        """Seconds since the latest stored checkpoint was signed (its ``trackrecord-time``
        line, read without checking its signature: it only spaces the rounds); None if
        there is none, or it says no time."""
        latest = self.log.store.get_checkpoint()
        if latest is None:
            return None
        try:
            text, _ = note_signatures(latest[1])
            signed = SignedCheckpoint(parse_checkpoint_body(text), latest[1]).signed_at
        except (LedgerError, ValueError):  # not one this service signed: none due to wait for
            return None
        return None if signed is None else (dt.datetime.now(dt.UTC) - signed).total_seconds()

    def ensure_fresh(self) -> SignedCheckpoint | None:
        """:meth:`ensure_covers` the whole log as it is now (None when it is empty)."""
        return self.ensure_covers(self.log.size())

    def ensure_covers(self, size: int) -> SignedCheckpoint | None:
        """Make sure a checkpoint of ``size`` entries or more is stored: return None if the
        latest one is (nothing is issued), else the one issued, of the whole log.

        Calls at the same time share one issue: while one is under way, the others wait
        for it and, if it does not cover them (it read the log before their entries came),
        share the next one. Raises :class:`~api.errors.ApiError` (503 ``busy``) if the
        issue failed (its child died: logged, and the next round tries again).
        """
        if size <= 0:
            return None
        while True:
            with self._mutex:
                running, lead = self._running, False
                if running is None:
                    latest = self.log.store.get_checkpoint()
                    if latest is not None and latest[0] >= size:
                        return None
                    running = self._running = _Issue()
                    lead = True
                else:
                    running.waiting += 1
            if not lead:
                running.done.wait()
                if running.failed is not None:
                    raise _busy() from running.failed
                if running.signed is not None and running.signed.size >= size:
                    return running.signed
                continue  # issued before what this call needs came: the next one
            try:
                running.signed = self._issue()
            except BaseException as exc:
                running.failed = exc
                if isinstance(exc, ChildFailed):
                    raise _busy() from exc
                raise
            finally:
                with self._mutex:
                    self._running = None
                running.done.set()
            return running.signed

    def waiting(self) -> int:
        """How many calls wait for the issue under way (0 when none is)."""
        with self._mutex:
            return 0 if self._running is None else self._running.waiting

    def _issue(self) -> SignedCheckpoint | None:
        """Sign a checkpoint of the whole log (its heads tree stored in a child process or
        in this one); None when the log is empty."""
        if self.log.size() == 0:
            return None
        try:
            self.log.origin  # noqa: B018 - raises NotFound when no origin is set
        except NotFound:
            self.log.set_origin(self.origin)
        self.issued += 1
        began = time.perf_counter()
        try:
            signed = self.log.issue_checkpoint(
                self.operator, cosign=self.cosigners, tree=self._tree_step()
            )
        except ChildFailed as exc:
            self._failed = (self._clock(), time.perf_counter() - began)
            _LOG.error("issuing a checkpoint failed: %s", exc)
            raise
        self._failed = None
        self.took = time.perf_counter() - began
        _LOG.info(
            "signed checkpoint %d in %.2f s; the next one no sooner than %.0f s after it",
            signed.size,
            self.took,
            spacing(self.interval, self.took),
        )
        return signed

    def _tree_step(self) -> Callable[[], StoredHeadsTree] | None:
        """How the heads tree is stored: in a child process, or None (in this process)."""
        if self.issue_in == "child":
            unavailable = child_unavailable(self.log.store)
            if unavailable is None:
                store, timeout, stop = self.log.store, self.tree_timeout, self._stop
                return lambda: store_heads_tree_in_child(store, timeout=timeout, stop=stop)
            _LOG.debug("hashing the heads tree in process: %s", unavailable)
        return None

    def start(self) -> None:
        """Sign now if behind, then look every ``interval`` seconds on a background thread
        and sign when the log grew and a checkpoint is due (:meth:`round`)."""
        self._rounds.start()

    def close(self) -> None:
        """Stop the background thread, killing a tree child it waits for (it published
        nothing: the next issue, of this process or another, stores the tree again)."""
        self._stop.set()
        self._rounds.close()


def _busy() -> ApiError:
    return ApiError(
        503,
        "busy",
        "no checkpoint could be issued just now; try again in a moment",
        headers={"Retry-After": "10"},
    )
