"""The refresh step in a short-lived child process, so a service's memory and GIL stay its own.

A refresh reads every active rating into columns, scores them and writes the results
(:meth:`projections.reputation.ReputationModel.refresh`): at 10^6 entries 5.5-6.1 s of CPU
and 141 MiB more at its peak, growing with the ledger (about 60 s and 1.4 GiB at 10^7),
and its Python parts hold the GIL while the requests of the process that runs it wait.
:func:`refresh_in_child` runs the whole refresh cycle (:meth:`Projector.refresh
<projections.runner.Projector.refresh>`, read, compute and write, exactly as in process)
in a new Python process that opens its own store and engine on the same database URL,
and waits for it without holding the GIL. The child's memory is given back when it ends,
so a long-running process (``trackrecord serve``, ``trackrecord projections follow``)
stays bounded independently of the ledger's size (docs/operations.md, "Memory"). The
one-shot commands that refresh (``projections rebuild``, ``migrate``, ``projections verify``
and ``audit`` on their scratch copy) refresh in process: their memory ends with them, and
a child would not lower their peak (they wait for it).

The process machinery (a ``python -P -m projections.child_main`` subprocess, the wait
without the GIL, the child's CPU and peak RSS, the timeout and the stop event, the
environment it is handed) is :mod:`ledger.child_process`, shared with the checkpoint's
heads tree (:mod:`ledger.tree_child`).

The child opens the ledger with the service key the parent read (the same key file, named
in ``TRACKRECORD_SERVICE_KEY``) and the database URL on stdin (not on its command line,
where another user of the host could read a PostgreSQL password). A child that dies
(killed by the kernel's OOM killer or by the timeout, or an exception) leaves the read
models as readers saw them: it publishes nothing, and the rows of the generation it was
writing are removed by the next refresh that publishes
(:mod:`projections.reputation.generations`). That is a
:class:`RefreshFailed`, which the projector spaces like a refresh that ran
(:meth:`~projections.runner.Projector.due_refreshes`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ledger.child_process import RUN_IN, ChildFailed, RunIn, child_unavailable, run_child
from ledger.store import Store

from .errors import ProjectionError

__all__ = [
    "CHILD_TIMEOUT",
    "REFRESH_IN",
    "ChildRefresh",
    "RefreshFailed",
    "RefreshIn",
    "child_unavailable",
    "refresh_in_child",
]

RefreshIn = RunIn
"""Where a refresh runs: in a short-lived ``child`` process, or in this ``process``."""
REFRESH_IN: tuple[RefreshIn, ...] = RUN_IN

CHILD_TIMEOUT = 3600.0
"""Seconds a refresh child may run before it is killed (a refresh at 10^7 entries is
expected to take about a minute of CPU)."""

_LOG = logging.getLogger("projections")
_MODULE = "projections.child_main"  # the child's entry point


@dataclass(frozen=True)
class ChildRefresh:
    """What one refresh child did: how long each refresh step took in it (``took``, by
    read model, as the in-process refresh measures it), and the child's own wall-clock
    ``seconds`` (start to exit), ``cpu`` seconds (user + system) and ``peak_rss`` (bytes)."""

    took: dict[str, float]
    seconds: float
    cpu: float
    peak_rss: int


class RefreshFailed(ProjectionError):
    """A refresh child ended without refreshing: killed (by the kernel's OOM killer, by the
    timeout or by an operator), exited with an error, or could not be started. The read
    models keep their last refresh; ``seconds``: how long the attempt ran."""

    code = "refresh_failed"

    def __init__(self, names: list[str], reason: str, seconds: float) -> None:
        super().__init__(
            f"the refresh of {', '.join(names)} in a child process failed after "
            f"{seconds:.1f} s: {reason}"
        )
        self.names = names
        self.reason = reason
        self.seconds = seconds


def refresh_in_child(
    store: Store,
    names: list[str],
    *,
    at: int,
    timeout: float = CHILD_TIMEOUT,
    stop: threading.Event | None = None,
) -> ChildRefresh:
    """Run the refresh steps of the read models ``names`` as of Unix time ``at`` in a new
    child process on ``store``'s database (:func:`child_unavailable` must be None); wait
    for it, at most ``timeout`` seconds and until ``stop`` is set (the process that waits
    is stopping: the child must not outlive it, writing to a database an operator may be
    upgrading), without holding the GIL.

    Raises :class:`RefreshFailed` if the child was killed or exited with an error.
    """
    try:
        run = run_child(
            _MODULE,
            {"names": names, "at": at},
            store=store,
            what=f"the refresh of {', '.join(names)}",
            timeout=timeout,
            stop=stop,
        )
    except ChildFailed as exc:
        raise RefreshFailed(names, exc.reason, exc.seconds) from exc
    try:
        took = {str(k): float(v) for k, v in run.report["took"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RefreshFailed(names, f"its report is not one: {run.report!r}", run.seconds) from exc
    done = ChildRefresh(took, run.seconds, run.cpu, run.peak_rss)
    _LOG.info(
        "refreshed %s in child process %d: %.1f s (%.1f s CPU), peak RSS %.0f MiB",
        ", ".join(names),
        run.pid,
        done.seconds,
        done.cpu,
        done.peak_rss / 2**20,
    )
    return done
