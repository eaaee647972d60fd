"""The heads tree of a checkpoint, hashed and stored in a short-lived child process, so a
service's memory and GIL stay its own while it issues a checkpoint (issue 13).

Issuing a checkpoint at 10^6 entries costs 4-5 s of CPU and lifts the issuing process's
peak RSS by about 180 MiB (bench/README.md), nearly all of it the heads tree: every
stream's head read, hashed and stored (:meth:`TransparencyLog.store_heads_tree
<ledger.transparency.TransparencyLog.store_heads_tree>`). In a service its Python parts
held the GIL while the requests waited. :func:`store_heads_tree_in_child` runs that step in
``python -m ledger.tree_child_main`` (:mod:`ledger.child_process`: waited for without the
GIL, its CPU and peak RSS logged, killed after a timeout), which reports the tree's size,
width and root; the service then signs that root with the operator's key, which never
leaves it, after reading the root back from the store
(:meth:`~ledger.transparency.TransparencyLog.issue_checkpoint`).

A child that dies leaves at most part of an unpublished tree: no checkpoint is published
without its whole tree, the next issue of the same size completes it (the rows of a size
are always the same) and one of a larger size deletes it.
"""

from __future__ import annotations

import base64
import logging
import threading

from .child_process import ChildFailed, run_child
from .store import Store
from .transparency import StoredHeadsTree

__all__ = ["TREE_TIMEOUT", "store_heads_tree_in_child"]

TREE_TIMEOUT = 600.0
"""Seconds a tree child may run before it is killed (4-5 s of CPU at 10^6 entries)."""

_LOG = logging.getLogger("ledger.tree_child")
_MODULE = "ledger.tree_child_main"  # the child's entry point


def store_heads_tree_in_child(
    store: Store, *, timeout: float = TREE_TIMEOUT, stop: threading.Event | None = None
) -> StoredHeadsTree:
    """Hash the heads tree of ``store``'s log as it is now and store it, unpublished, in a
    child process (:func:`ledger.child_process.child_unavailable` must be None); wait for it
    without holding the GIL, at most ``timeout`` seconds and until ``stop`` is set (the
    service stops: the child is killed with it).

    Raises :class:`~ledger.child_process.ChildFailed` if the child was killed, exited with
    an error or reported no tree.
    """
    what = "storing a checkpoint's heads tree"
    run = run_child(_MODULE, {}, store=store, what=what, timeout=timeout, stop=stop)
    try:
        tree = StoredHeadsTree(
            int(run.report["size"]),
            int(run.report["width"]),
            base64.b64decode(run.report["root"], validate=True),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ChildFailed(what, f"its report is not one: {run.report!r}", run.seconds) from exc
    _LOG.info(
        "stored the heads tree of size %d (%d leaves) in child process %d: %.1f s "
        "(%.1f s CPU), peak RSS %.0f MiB",
        tree.size,
        tree.width,
        run.pid,
        run.seconds,
        run.cpu,
        run.peak_rss / 2**20,
    )
    return tree
