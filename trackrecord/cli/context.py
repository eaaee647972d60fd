"""The per-invocation context every command works with: settings, consoles, the ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ledger.errors import NotFound
from ledger.service import UpgradeProgress
from ledger.statement import Signer

from ..settings import Settings
from .errors import CliError, ExitCode
from .keyfiles import load_identity

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, MetaData

    from ledger.app import Ledger
    from ledger.service import LedgerService
    from ledger.state import LedgerState

# The read models (projections, SQLAlchemy) are imported by the methods that use them, not
# here: a command that only appends never loads them (issue 13: a CLI append within a second).

__all__ = ["CliContext", "cli_context"]


@dataclass
class CliContext:
    """What one run of ``trackrecord`` knows; the ledger is opened on first use."""

    settings: Settings
    console: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    _ledger: Ledger | None = None
    # (positions indexed, entries folded) when the ledger was brought up to date: one an
    # earlier version wrote is, on first use of :attr:`ledger` (:meth:`_bring_up_to_date`)
    upgraded: tuple[int, int] | None = None

    @property
    def ledger(self) -> Ledger:
        """The opened ledger (:class:`ledger.app.Ledger`), opened now if need be, and
        brought up to date once: what a ledger an earlier version wrote lacks is built
        first (:meth:`_bring_up_to_date`).

        Raises :class:`ledger.errors.NoLedger` (and creates nothing) if there is no
        ledger at ``--db``: only :meth:`create_ledger` makes one. An erasure appended or
        caught up with through it purges the read models (:meth:`purge_read_models`).
        """
        ledger = self.stored_ledger()
        if self.upgraded is None:
            self.upgraded = self._bring_up_to_date(ledger.service)
        return ledger

    def stored_ledger(self) -> Ledger:
        """The ledger as its store holds it, opened if need be but nothing brought up to
        date, and so nothing written: for the audit, which checks the store as it is.
        Raises :class:`ledger.errors.NoLedger` as :attr:`ledger` does."""
        if self._ledger is None:
            self._ledger = self.settings.open_ledger(on_erasure=(self.purge_read_models,))
        return self._ledger

    def _bring_up_to_date(self, service: LedgerService) -> tuple[int, int]:
        """Catch the service up (:meth:`ledger.service.LedgerService.bring_up_to_date`):
        index the positions of, and fold into the stored rule state, the entries a
        ledger written by an earlier version does not follow yet (once; normally there
        are none and this costs a few indexed reads); return how many (indexed, folded).
        Before any such work it says so on stderr, then shows progress: on a large
        ledger this takes minutes, and a command that is silent meanwhile looks hung."""

        def begin() -> None:
            self.err.print(
                "this ledger was written by an earlier version: building its rule state and "
                f"entry positions from its {service.store.count_nodes(0):,} entries, once…"
            )

        def shown(what: str) -> Callable[[int], None]:
            return lambda n: self.err.print(f"  {n:,} {what}")

        return service.bring_up_to_date(
            UpgradeProgress(
                begin=begin, indexed=shown("positions indexed"), folded=shown("entries folded")
            )
        )

    def create_ledger(self) -> Ledger:
        """The ledger at ``--db``, created (tables, service key) if there is none yet."""
        if self._ledger is None:
            self._ledger = self.settings.open_ledger(
                create=True, on_erasure=(self.purge_read_models,)
            )
        return self._ledger

    @property
    def service(self) -> LedgerService:
        return self.ledger.service

    def state(self) -> LedgerState:
        """The ledger state, caught up with the store."""
        self.service.catch_up()
        return self.service.state

    def acting(self, default: str | None = None, *, reading: str | None = None) -> str:
        """The person acting (``--as``), else ``default``; raise :class:`CliError` if neither.
        ``reading``: what a reading command shows the acting person, said in the error
        instead of asking who signs (it signs nothing)."""
        person = self.settings.acting or default
        if person is None:
            asked = (
                "say who signs this statement" if reading is None else f"{reading}: say who you are"
            )
            raise CliError(
                "no_acting_person",
                f"{asked}: trackrecord --as PERSON ... (or set TRACKRECORD_AS)",
            )
        return person

    def reader(self, state: LedgerState) -> str | None:
        """Who reads, for the reading commands: the acting person (``--as``), who must be
        registered in ``state``; None (a caller without a session) without ``--as``.
        Raises :class:`ledger.errors.NotFound` for an unregistered one."""
        viewer = self.settings.acting
        if viewer is not None and viewer not in state.people:
            raise NotFound(f"no person {viewer!r} is registered to read as (--as)")
        return viewer

    def signer(self, default: str | None = None) -> tuple[str, Signer]:
        """The acting person and their key, opened from their keystore, signing for this
        ledger (its origin); raise :class:`CliError` if the ledger has no origin yet."""
        person = self.acting(default)
        return person, Signer(load_identity(self.settings, person), self.origin())

    def origin(self) -> str:
        """This ledger's name (its checkpoint origin), which every statement for it names."""
        origin = self.service.origin
        if origin is None:
            raise CliError(
                "no_origin", "this ledger has no origin yet: create it with 'trackrecord init'"
            )
        return origin

    def purge_read_models(self, person: str) -> set[str]:
        """Purge erased ``person``'s content from the read models now; return the tables
        changed. An erasure subscriber (:mod:`ledger.erasure`) of :attr:`ledger`.

        A projector following the log would purge the same rows when it reaches the
        ``PersonErased`` entry; doing it here means no read model keeps the content
        until then, also when nobody runs the projector.
        """
        from projections import purge_erased

        with self._read_model_engine() as engine:
            # the stored ledger: this runs while the ledger is brought up to date
            _bind_key(engine, self.stored_ledger())
            return purge_erased(engine, person)

    def keep_addresses(self, pairs: list[tuple[str, str]]) -> int:
        """Keep ``(person, e-mail)`` pairs for e-mail notifications
        (:mod:`projections.notices`); return how many."""
        if not pairs:
            return 0
        from projections.notices import remember_addresses

        with self._read_model_engine() as engine:
            _bind_key(engine, self.ledger)
            return remember_addresses(engine, pairs)

    @contextmanager
    def read_models(self, name: str, metadata: MetaData) -> Iterator[Connection]:
        """A connection to the read models in the ledger's database (their key bound), as
        they are: a reading command catches nothing up. Raise :class:`CliError`
        (``no_read_models``) if read model ``name``'s tables (``metadata``) are not built."""
        from sqlalchemy import inspect

        with self._read_model_engine() as engine, engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            if not {t.name for t in metadata.sorted_tables} <= present:
                raise CliError(
                    "no_read_models",
                    f"the {name} read model is not built: run `trackrecord projections "
                    f"rebuild {name}` first",
                    exit_code=ExitCode.STORE,
                )
            # only now: the key is created on first use, and a read creates nothing
            _bind_key(engine, self.ledger)
            yield conn

    def verify_read_models(self) -> None:
        """Verify the read models in the ledger's database against a rebuild from the log
        of the stored ledger (:meth:`stored_ledger`: the audit's, which writes nothing;
        :func:`projections.verify.verify_read_models`); raise its ``ReadModelMismatch``."""
        from sqlalchemy import inspect

        from projections import EntryReader, ProjectionError
        from projections.tracking import tracking_table
        from projections.verify import ReadModelMismatch, verify_read_models

        with self._read_model_engine() as engine:
            with engine.connect() as conn:  # pooled: the verification reuses it
                if not inspect(conn).has_table(tracking_table.name):
                    return  # no read model was ever built: nothing to compare, nothing to create
            ledger = self.stored_ledger()
            _bind_key(engine, ledger)
            try:
                verify_read_models(EntryReader(ledger.store), engine)
            except ReadModelMismatch:
                raise
            except ProjectionError as exc:
                raise CliError(exc.code, exc.message) from exc

    @contextmanager
    def _read_model_engine(self) -> Iterator[Engine]:
        """An engine on the read models in the ledger's database, disposed after the
        block; raise :class:`CliError` if the URL names no database they can live in."""
        from projections import ProjectionError, create_read_model_engine

        try:
            engine = create_read_model_engine(self.settings.database_url)
        except ProjectionError as exc:
            raise CliError(exc.code, exc.message) from exc
        try:
            yield engine
        finally:
            engine.dispose()

    def close(self) -> None:
        """Close the ledger if it was opened."""
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def _bind_key(engine: Engine, ledger: Ledger) -> None:
    """Bind the read-model key of ``ledger``'s store to ``engine``
    (:func:`projections.sealed.bind_read_model_key`)."""
    from projections.sealed import bind_read_model_key, read_model_key

    bind_read_model_key(engine, read_model_key(ledger.store))


def cli_context(ctx: typer.Context) -> CliContext:
    """The :class:`CliContext` the root command stored for this run."""
    obj = ctx.find_object(CliContext)
    if obj is None:  # pragma: no cover - the root callback always sets it
        raise RuntimeError("trackrecord commands run under the trackrecord root command")
    return obj
