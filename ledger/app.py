"""The application facade: one opened ledger and its use cases, for every adapter.

The command-line tool, the web API and its pages hold a :class:`Ledger` and go
through it: it owns the store, the application service
(:class:`~ledger.service.LedgerService`, given its erasure subscribers here), the
transparency log and the imported records, and carries out the use cases that
span them — export, verify, import — with their policies: who may export or
import which record. Adapters translate requests and answers; they build none of
these parts themselves.

Nothing is opened at import time: :meth:`Ledger.open` opens the store at a
database URL.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection
from types import TracebackType
from typing import Any

from .access import AccessGiven, AccessHeld, access_given, access_held, may_read, today_utc
from .bundle import BundleReport, disclose_for_viewer, load_bundle, verify_bundle, withhold_parts
from .catalogue import Part
from .checkpoint import NoteVerifier
from .erasure import ErasureSubscriber
from .errors import NotFound, NotPermitted, StoreError
from .export import export_bundle
from .imported_view import ImportedRecordView, imported_views
from .imports import ImportedRecord, ImportRegistry
from .rollback import CheckpointMemory
from .service import LedgerService
from .state import Contribution, LedgerState
from .statement import utc_timestamp
from .store import Store, open_store
from .store.base import redact
from .transparency import TransparencyLog

__all__ = ["Ledger", "tune_gc"]


def tune_gc() -> None:
    """Collect young garbage less often, for a process that folds and appends many entries.

    The ledger allocates many small, short-lived, acyclic objects (parsed JSON,
    statements, entries); with CPython's default first-generation threshold (700)
    the cyclic collector ran often enough to halve batched ingest in bench/ingest.py.
    Reference counting still frees those objects at once; this only spaces out the
    scans for cycles. Called by the command-line entry point (and so by ``serve``).
    """
    gc.set_threshold(100_000, 50, 100)


class Ledger:
    """One opened ledger: its store, service, transparency log and imported records."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], str] = utc_timestamp,
        memory: CheckpointMemory | None = None,
        on_erasure: Collection[ErasureSubscriber] = (),
    ) -> None:
        """Wire the parts over ``store``. The service is not caught up yet: reading the
        state (:meth:`state`) or appending does so. ``memory``: where the checkpoints
        signed through it are remembered, outside the database (:mod:`ledger.rollback`).
        ``on_erasure``: the erasure subscribers (:mod:`ledger.erasure`)."""
        self.store = store
        self.imports = ImportRegistry(store)
        self.service = LedgerService(store, clock=clock, memory=memory, on_erasure=on_erasure)
        self.log = TransparencyLog(self.service)

    @classmethod
    def open(
        cls,
        database_url: str,
        *,
        create: bool = False,
        memory: CheckpointMemory | None = None,
        on_erasure: Collection[ErasureSubscriber] = (),
    ) -> Ledger:
        """Open the store at ``database_url`` and build the ledger over it.

        Only with ``create`` (the commands that make a new ledger: ``init``, ``demo``) is a
        missing ledger created; otherwise it raises :class:`~ledger.errors.NoLedger` and
        creates nothing. ``memory``, ``on_erasure``: see :class:`Ledger`. Raises
        :class:`~ledger.errors.StoreError` if the store cannot be opened.
        """
        try:
            store = open_store(database_url, create=create)
        except OSError as exc:  # e.g. the SQLite file's directory cannot be created
            raise StoreError(f"cannot open the store at {redact(database_url)}: {exc}") from exc
        return cls(store, memory=memory, on_erasure=on_erasure)

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def state(self) -> LedgerState:
        """The ledger state, caught up with the store."""
        self.service.catch_up()
        return self.service.state

    # -- export -------------------------------------------------------------------------------
    def export(
        self,
        person: str,
        *,
        by: str | None = None,
        size: int | None = None,
        withhold: Collection[Part] = (),
        viewer: str | None = None,
    ) -> dict[str, Any]:
        """``person``'s record as a bundle at the stored checkpoint of ``size`` (latest if
        None; :func:`ledger.export.export_bundle`), without the personal content of the
        ``withhold`` parts, and as disclosed to ``viewer`` if given
        (:func:`ledger.bundle.disclose_for_viewer`).

        The policy: a record is exported by its owner only (``by``): a bundle holds every
        entry of their streams with its clear facts, so handing it out is their decision.
        ``by`` None is the ledger's operator at its database (the command-line tool).
        Raises :class:`NotPermitted` (``not_yours``) for anyone else, :class:`NotFound`
        for an unregistered viewer or a missing checkpoint.
        """
        if by is not None and by != person:
            raise NotPermitted(
                "not_yours",
                "a record is exported by its owner only (who may export it for a viewer: ?for=)",
            )
        if viewer is not None and viewer not in self.state().people:
            raise NotFound(f"no person {viewer!r} is registered")
        bundle = export_bundle(self.log, person, size=size)
        if withhold:
            withhold_parts(bundle, person, set(withhold))
        if viewer is not None and viewer != person:
            disclose_for_viewer(bundle, self.state(), viewer)
        return bundle

    # -- verify -------------------------------------------------------------------------------
    def trusted_for(self, origin: object) -> list[NoteVerifier] | None:
        """The keys a bundle of ``origin`` must be signed with: the trusted keys of that
        origin, and this ledger's own operator key if it is this ledger's. None when this
        ledger knows no key of ``origin`` (the bundle's own key is then used, and the
        report says so)."""
        keys = [k for k in self.imports.trusted() if k.name == origin]
        try:
            if self.log.origin == origin:
                keys.append(self.log.verifier())
        except NotFound:
            pass
        return keys or None

    def verify(self, bundle: str | bytes | dict[str, Any]) -> BundleReport:
        """Verify ``bundle`` offline, its checkpoint key pinned by :meth:`trusted_for`.

        Raises :class:`~ledger.bundle.BundleError` naming the first thing wrong.
        """
        doc = bundle if isinstance(bundle, dict) else load_bundle(bundle)
        return verify_bundle(doc, trusted=self.trusted_for(doc.get("origin")))

    # -- import -------------------------------------------------------------------------------
    def import_bundle(self, bundle: str | bytes, *, by: str | None = None) -> ImportedRecord:
        """Verify ``bundle`` against the trusted keys and store it
        (:meth:`ledger.imports.ImportRegistry.import_bundle`).

        The policy: a record is imported by the person it is of, or by an admin (of any
        organisation) or the operator (``by``); ``by`` None is the ledger's operator at
        its database (the command-line tool). Raises :class:`NotPermitted`
        (``not_yours``) for anyone else, :class:`~ledger.bundle.BundleError` for a bundle
        that does not verify.
        """
        if by is not None:
            person = load_bundle(bundle).get("person")
            state = self.state()
            me = state.people.get(by)
            admin = me is not None and (
                state.is_operator(me) or any(role == "admin" for role, _ in me.roles)
            )
            if person != by and not admin:
                raise NotPermitted(
                    "not_yours", "a record is imported by the person it is of, or by an admin"
                )
        with self.service.reading() as state:
            return self.imports.import_bundle(bundle, state=state)

    def imported_views(
        self, person: str, viewer: str | None, *, today: str | None = None
    ) -> list[ImportedRecordView]:
        """``person``'s records from other ledgers as ``viewer`` may read them on ``today``
        (:func:`ledger.imported_view.imported_views`)."""
        stored = self.imports.with_bundles(person)
        if not stored:
            return []
        with self.service.reading() as state:
            return imported_views(stored, state, viewer, today=today)

    # -- who may read whose parts ---------------------------------------------------------------
    def access_given(self, owner: str, *, today: str | None = None) -> AccessGiven:
        """The access requests made to ``owner`` and the grants they gave, on ``today``
        (:func:`ledger.access.access_given`)."""
        with self.service.reading() as state:
            return access_given(state, owner, today=today or today_utc())

    def access_held(self, viewer: str, *, today: str | None = None) -> AccessHeld:
        """``viewer``'s access requests and the grants they hold, on ``today``
        (:func:`ledger.access.access_held`)."""
        with self.service.reading() as state:
            return access_held(state, viewer, today=today or today_utc())

    # -- what a manager is asked ----------------------------------------------------------------
    def awaiting_endorsement(
        self, manager: str, *, limit: int = 50, today: str | None = None
    ) -> list[Contribution]:
        """Contributions of people in the departments ``manager`` manages that they have not
        endorsed yet and may read on ``today`` (:func:`ledger.access.may_read`: one in a
        part its owner has not shown them is not listed at all), newest first, at most
        ``limit``; none for a non-manager."""
        with self.service.reading() as state:
            person = state.people.get(manager)
            if person is None:
                return []
            departments = {d for role, d in person.roles if role == "manager"}
            waiting: list[Contribution] = []
            for c in reversed(list(state.contributions.values())):
                if len(waiting) == limit:
                    break
                owner = state.people.get(c.owner)
                if (
                    not c.withdrawn
                    and c.owner != manager
                    and owner is not None
                    and owner.department in departments
                    and (manager, c.id) not in state.active_endorsements
                    and may_read(state, c.owner, manager, Part(c.part), today=today)
                ):
                    waiting.append(c)
            return waiting
