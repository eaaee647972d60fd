"""The one place that wires the ledger's parts together from the settings.

Adapters (the command-line tool, the demo) call :func:`bootstrap` and get a
:class:`Ledger`: the opened store and the application service over it. Nothing
is opened at import time.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.errors import StoreError
from ledger.rollback import CheckpointMemory
from ledger.service import LedgerService
from ledger.store import Store, open_store
from ledger.store.base import redact

from .settings import Settings

__all__ = ["Ledger", "bootstrap", "opened", "tune_gc"]


def tune_gc() -> None:
    """Collect young garbage less often, for a process that folds and appends many entries.

    The ledger allocates many small, short-lived, acyclic objects (parsed JSON,
    statements, entries); with CPython's default first-generation threshold (700)
    the cyclic collector ran often enough to halve batched ingest in bench/ingest.py.
    Reference counting still frees those objects at once; this only spaces out the
    scans for cycles. Called by the command-line entry point (and so by ``serve``).
    """
    gc.set_threshold(100_000, 50, 100)


@dataclass(frozen=True)
class Ledger:
    """An opened ledger: its store and the service that appends to and reads it."""

    settings: Settings
    store: Store
    service: LedgerService

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()


def bootstrap(settings: Settings, *, create: bool = False) -> Ledger:
    """Open the store at ``settings.database_url`` and build the service over it.

    Only with ``create`` (the commands that make a new ledger: ``init``, ``demo``) is a
    missing ledger created; otherwise it raises :class:`ledger.errors.NoLedger` and
    creates nothing. The service is not caught up yet: callers that need the ledger
    state call ``service.catch_up()`` (appending does so itself), and the audit reads
    the store without trusting any state. The service remembers the checkpoints it
    signs in ``<keys dir>/signed-checkpoints.json`` and refuses to append to a store
    behind them (:mod:`ledger.rollback`). Raises :class:`ledger.errors.StoreError` if
    the store cannot be opened.
    """
    try:
        store = open_store(settings.database_url, create=create)
    except OSError as exc:  # e.g. the SQLite file's directory cannot be created
        raise StoreError(
            f"cannot open the store at {redact(settings.database_url)}: {exc}"
        ) from exc
    memory = CheckpointMemory.in_keys_dir(settings.keys_dir)
    return Ledger(settings=settings, store=store, service=LedgerService(store, memory=memory))


@contextmanager
def opened(settings: Settings, *, create: bool = False) -> Iterator[Ledger]:
    """:func:`bootstrap` as a context manager that closes the store on exit."""
    ledger = bootstrap(settings, create=create)
    try:
        yield ledger
    finally:
        ledger.close()
