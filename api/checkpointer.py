"""The operator's checkpointer: signs a checkpoint whenever the log has grown.

With witnesses configured (``ApiConfig.witnesses``) each new checkpoint is
cosigned by those that answer (:mod:`ledger.witnessing`) before it is stored.

Only when the service is started with the operator's key (``trackrecord --as
OPERATOR serve``): the operator runs the service and signs the log's
checkpoints (DESIGN.md §2), so the operator's own key may sign them here. No
other private key is ever held by the service. Without a key, checkpoints are
signed by the operator with ``trackrecord checkpoint`` and the service serves
the stored ones.
"""

from __future__ import annotations

import logging
import threading

from keys import Identity
from ledger.errors import NotFound
from ledger.transparency import SignedCheckpoint, TransparencyLog
from ledger.witnessing import Cosigners

from .periodic import Periodic

__all__ = ["Checkpointer"]

_LOG = logging.getLogger("api.checkpointer")


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
        self._lock = threading.Lock()
        self._rounds = Periodic(
            "checkpointer",
            self.ensure_fresh,
            interval,
            log=_LOG,
            failed="signing a checkpoint failed",
        )

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
            return self.log.issue_checkpoint(self.operator, cosign=self.cosigners)

    def start(self) -> None:
        """Sign now if behind, then every ``interval`` seconds on a background thread."""
        self._rounds.start()

    def close(self) -> None:
        """Stop the background thread."""
        self._rounds.close()
