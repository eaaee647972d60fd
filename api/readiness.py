"""Liveness and readiness of the service, for load balancers and orchestrators.

Alive means the process answers (``GET /healthz``). Ready (``GET /readyz``) means it
can serve: the store answers, its stored rule state follows the log (the schema
``trackrecord migrate`` brings up to date), the store is not behind the last
checkpoint the operator signed nor behind what this process already read
(:mod:`ledger.rollback`), and every read model is at most
:attr:`api.config.ApiConfig.ready_max_lag` log positions behind the ledger. A check's
outcome is ``ok`` or a short code, never an error message: the answer is public and
shows no personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late
from dataclasses import dataclass
from typing import TypeVar

from ledger.errors import NotFound
from ledger.rollback import RolledBack

from .context import AppContext
from .observability import Gauges

__all__ = [
    "Readiness",
    "ReadinessProbe",
    "check_readiness",
    "checkpoint_age",
    "gauges_of",
    "read_model_lag",
]

_LOG = logging.getLogger("api.readiness")
T = TypeVar("T")
CHECKS = ("store", "schema", "signed_checkpoint", "read_models")


@dataclass(frozen=True)
class Readiness:
    """The outcome of each readiness check: ``ok``, or why not."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(outcome == "ok" for outcome in self.checks.values())


class ReadinessProbe:
    """Runs :func:`check_readiness` on a thread of its own and waits at most ``timeout``
    seconds: a store that hangs (PostgreSQL gone: the driver retries and waits for a
    connection) makes the answer "not ready" in time, not a request that never ends.
    While one check hangs no second one starts, so hanging checks never pile up."""

    def __init__(self, ctx: AppContext, *, timeout: float) -> None:
        self.ctx = ctx
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")
        self._lock = threading.Lock()
        self._running: Future[Readiness] | None = None

    def check(self) -> Readiness:
        """The readiness now, or every check ``timeout`` if the store did not answer."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._pool.submit(check_readiness, self.ctx)
            running = self._running
        try:
            return running.result(timeout=self.timeout)
        except Late:
            _LOG.warning("readiness: no answer within %.1f s", self.timeout)
            return Readiness(dict.fromkeys(CHECKS, "timeout"))

    def bounded(self, read: Callable[[], T]) -> T:
        """``read()`` on the probe's thread, waited for at most ``timeout`` seconds (the
        metrics' gauges: a scrape during an outage answers in time, without them).
        Raises what ``read`` raises, or :class:`TimeoutError` (then it never runs, if it
        had not started)."""
        future = self._pool.submit(read)
        try:
            return future.result(timeout=self.timeout)
        except Late:
            future.cancel()
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def read_model_lag(ctx: AppContext, position: int | None = None) -> dict[str, int]:
    """How many log positions each read model is behind the ledger's store."""
    end = ctx.store.max_position() if position is None else position
    applied = ctx.read_models.projector.positions()
    return {name: max(0, end - at) for name, at in applied.items()}


def check_readiness(ctx: AppContext) -> Readiness:
    """Run the checks in order; a check that cannot run for an earlier failure is
    ``unknown``."""
    checks = dict.fromkeys(CHECKS, "unknown")
    try:
        position = ctx.store.max_position()
    except Exception as exc:  # any driver error means the same: the store does not answer
        _LOG.warning("readiness: the store does not answer (%s)", type(exc).__name__)
        checks["store"] = "unreachable"
        return Readiness(checks)
    checks["store"] = "ok"
    try:  # the stored rule state follows the log (trackrecord migrate; built at start)
        checks["schema"] = "migration_pending" if ctx.service.behind() else "ok"
    except Exception as exc:
        _LOG.warning("readiness: the schema check failed (%s)", type(exc).__name__)
        checks["schema"] = "unreachable"
    try:
        ctx.service.verify_not_rolled_back()
        checks["signed_checkpoint"] = "ok"
    except RolledBack:
        checks["signed_checkpoint"] = "rolled_back"
    except Exception as exc:
        _LOG.warning("readiness: the rollback check failed (%s)", type(exc).__name__)
        checks["signed_checkpoint"] = "unreachable"
    try:
        lag = read_model_lag(ctx, position)
        worst = max(lag.values(), default=0)
        checks["read_models"] = "ok" if worst <= ctx.config.ready_max_lag else "behind"
    except Exception as exc:
        _LOG.warning("readiness: the read models do not answer (%s)", type(exc).__name__)
        checks["read_models"] = "unreachable"
    return Readiness(checks)


def checkpoint_age(ctx: AppContext) -> tuple[int, float] | None:
    """The latest signed checkpoint's size and seconds since it was signed (its
    ``trackrecord-time`` line), or None if none was signed."""
    try:
        latest = ctx.log.checkpoint()
    except NotFound:
        return None
    signed = latest.signed_at
    if signed is None:
        return latest.size, float("nan")
    return latest.size, (dt.datetime.now(dt.UTC) - signed).total_seconds()


def gauges_of(ctx: AppContext, probe: ReadinessProbe) -> Gauges:
    """The values the metrics read from ``ctx`` at every scrape."""
    return Gauges(
        log_size=lambda: probe.bounded(lambda: ctx.state().size),
        checkpoint=lambda: probe.bounded(lambda: checkpoint_age(ctx)),
        read_model_lag=lambda: probe.bounded(lambda: read_model_lag(ctx)),
        ready=lambda: probe.check().ready,
        caches=lambda: {
            "streams": (ctx.streams.bytes, ctx.streams.max_bytes),
            "answers": (ctx.answers.bytes, ctx.answers.max_bytes),
        },
    )
