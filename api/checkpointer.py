"""The operator's checkpointer: signs a checkpoint whenever the log has grown.

With witnesses configured (``ApiConfig.witnesses``) each new checkpoint is
cosigned by those that answer (:mod:`ledger.witnessing`) before it is stored.

The rounds are spaced by their cost, as the reputation refresh is
(:data:`projections.runner.REFRESH_SPACING`): a round signs only once the latest
checkpoint, by whichever process, is ``interval`` seconds old and
:data:`CHECKPOINT_SPACING` times as old as this process's last issuing took
(:func:`checkpoint_due`), so issuing takes at most about a tenth of a core however long
it takes (4-5 s of CPU at 10^6 entries; bench/README.md). A request that needs a fresh
checkpoint (a bundle, a credential: :meth:`Checkpointer.ensure_fresh`) does not wait for
the spacing.

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

from keys import Identity
from ledger.checkpoint import note_signatures, parse_checkpoint_body
from ledger.errors import LedgerError, NotFound
from ledger.transparency import SignedCheckpoint, TransparencyLog
from ledger.witnessing import Cosigners

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
    return age is None or age >= max(interval, CHECKPOINT_SPACING * took)


class Checkpointer:
    """Issues a checkpoint of ``log`` with ``operator`` when it is behind the log."""

    def __init__(
        self,
        log: TransparencyLog,
        operator: Identity,
        *,
        origin: str,
        interval: float,
        cosigners: Cosigners | None = None,
    ) -> None:
        self.log = log
        self.cosigners = cosigners
        self.operator = operator
        self.origin = origin
        self.interval = interval
        self.took = 0.0  # seconds the last issuing took (wall clock), for the spacing
        self._lock = threading.Lock()
        self._rounds = Periodic(
            "checkpointer",
            self.round,
            interval,
            log=_LOG,
            failed="signing a checkpoint failed",
        )

    def round(self) -> SignedCheckpoint | None:
        """One round of the background thread: :meth:`ensure_fresh` if a checkpoint is due
        (:func:`checkpoint_due`: the latest one, by any process, is old enough)."""
        if not checkpoint_due(age=self._latest_age(), interval=self.interval, took=self.took):
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
        """Sign a checkpoint of the whole log if the latest one is smaller; return it.

        Returns None when the log is empty (there is nothing to sign yet).
        """
        with self._lock:
            size = self.log.size()
            if size == 0:
                return None
            latest = self.log.store.get_checkpoint()
            if latest is not None and latest[0] >= size:
                return None
            try:
                self.log.origin  # noqa: B018 - raises NotFound when no origin is set
            except NotFound:
                self.log.set_origin(self.origin)
            began = time.perf_counter()
            signed = self.log.issue_checkpoint(self.operator, cosign=self.cosigners)
            self.took = time.perf_counter() - began
            _LOG.info(
                "signed checkpoint %d in %.2f s; the next one no sooner than %.0f s after it",
                signed.size,
                self.took,
                max(self.interval, CHECKPOINT_SPACING * self.took),
            )
            return signed

    def start(self) -> None:
        """Sign now if behind, then look every ``interval`` seconds on a background thread
        and sign when the log grew and a checkpoint is due (:meth:`round`)."""
        self._rounds.start()

    def close(self) -> None:
        """Stop the background thread."""
        self._rounds.close()
