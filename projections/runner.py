"""The projector: feeds read models from the ledger's log, exactly once, by polling.

Each batch is one database transaction that, for every read model behind the
batch's end, compare-and-sets its tracking record from the position it had to
the batch's last position and writes the rows the batch's entries cause. A
crash loses at most the uncommitted batch, which the next run applies again
from the recorded position.

Several processes (service processes, ``trackrecord projections follow``) may follow
one database. On PostgreSQL one of them at a time catches up: it holds the advisory
lock :data:`~projections.db.CATCH_UP_LOCK`, and the others wait for it and then
find the entries applied, instead of preparing the same batches and losing the
race for the tracking records. On SQLite, and should the lock ever be bypassed, a
second projector racing for the same read model finds the record moved and rolls
back (:class:`~projections.errors.TrackingConflict`), then re-reads its positions.

There is no subscription on SQLite (the library's SQLite recorder has no
``subscribe()``), so :meth:`Projector.follow` polls the log on both backends.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from ledger.store.base import SCHEMA_LOCK

from .base import ReadModel
from .batch import WriteBatch
from .child import CHILD_TIMEOUT, RefreshFailed, RefreshIn, child_unavailable, refresh_in_child
from .db import CATCH_UP_LOCK, exclusive, writing, xact_lock
from .entries import AcceptedEntry, EntryReader, ImportedBundles
from .erasure import PURGED, compact
from .errors import ProjectorBusy, TrackingConflict, UnknownReadModel
from .schema import SchemaChange
from .schema import upgrade as upgrade_schema
from .tracking import SqlTrackingRecorder, refresh_cost_table, tracking_metadata

_LOG = logging.getLogger("projections")

__all__ = ["REFRESH_SPACING", "CatchUp", "Progress", "Projector", "Refreshable", "trim_heap"]

REFRESH_SPACING = 10.0
"""A refresh step is due no sooner than this many times as long as its last run took
(wall clock, :data:`~projections.tracking.refresh_cost_table`) after that run's moment,
however short ``refresh_every``: so refreshing takes at most a tenth of the time (and of
one core) whatever the ledger's size, and a refresh that grows with the ledger runs less
often instead of more of the time (docs/reputation.md, "What is stored, what is computed
when")."""


def refresh_spacing(every: float, took: float) -> float:
    """Seconds a refresh step waits after its last run (or failed attempt) that took
    ``took`` seconds: ``every``, or :data:`REFRESH_SPACING` times ``took`` if longer."""
    return max(every, REFRESH_SPACING * took)


Progress = Callable[[int, int, int], None]
"""``progress(applied, position, last)``: entries applied so far, position reached, log end."""

_CONFLICT_RETRIES = 5
_FOLLOW_RETRIES = 10


@runtime_checkable
class Refreshable(Protocol):
    """A read model with a refresh step (derived values that are not incremental)."""

    name: str
    refresh_tables: tuple[str, ...]
    """The tables only the refresh step writes, the last one its record ``(position, at)``."""

    def refresh(
        self, engine: Engine, *, at: int, log: EntryReader, imports: ImportedBundles
    ) -> None:
        """Recompute derived values from the read model's rows and from what ``log``
        holds besides entries, its imported records (``imports``, read once for every
        refresh step of the cycle), as of Unix time ``at``; record it
        (:func:`projections.refresh.record_refresh`)."""

    def refreshed(self, conn: Connection) -> tuple[int, int] | None:
        """The last refresh as stored: ``(position, at)``, the log position and the Unix
        time it reflects; None before the first."""


@dataclass(frozen=True)
class CatchUp:
    """What one :meth:`Projector.catch_up` did."""

    applied: int
    position: int
    seconds: float

    @property
    def rate(self) -> float:
        """Entries applied per second."""
        return self.applied / self.seconds if self.seconds > 0 else 0.0


class Projector:
    """Keeps ``models`` up to date with the ledger log of ``log``, in ``engine``'s database."""

    def __init__(
        self,
        log: EntryReader,
        engine: Engine,
        models: Sequence[ReadModel],
        *,
        batch_size: int = 2000,
        clock: Callable[[], int] | None = None,
        lock_wait: float = 30.0,
        refresh_in: RefreshIn = "process",
    ) -> None:
        self.log = log
        #: where :meth:`refresh` runs the refresh steps: in a short-lived ``child`` process
        #: (:mod:`projections.child`; a long-running process's choice) or in this ``process``
        self.refresh_in: RefreshIn = refresh_in
        #: seconds a refresh child may run before it is killed
        self.refresh_timeout = CHILD_TIMEOUT
        #: set when this process stops: a refresh child running then is killed (its writes
        #: roll back), so that it does not outlive the process (ReadModels.close)
        self.refresh_stop = threading.Event()
        self.lock_wait = lock_wait
        self.engine = engine
        self.models = {m.name: m for m in models}
        self.batch_size = batch_size
        self._clock = clock or (lambda: int(_dt.datetime.now(_dt.UTC).timestamp()))
        #: per read model, the imports and trust weights its last refresh here read (or that
        #: its stored refresh counted, as far as this process knows: when it first looked)
        self._imports_seen: dict[str, tuple[object, ...]] = {}
        #: how long the last refresh step of each read model took here (seconds)
        self._took: dict[str, float] = {}
        #: per read model, the Unix time of its last failed refresh here and how long the
        #: attempt ran (seconds), until one succeeds: spaced like a refresh that ran
        self._failed: dict[str, tuple[int, float]] = {}
        #: what :meth:`setup` did to the schema revision (None before it ran)
        self.schema_change: SchemaChange | None = None

    # -- set-up ---------------------------------------------------------------------------
    def setup(self) -> SchemaChange:
        """Bring the SQLAlchemy-managed tables to this version's schema revision
        (:func:`projections.schema.upgrade`), then create the tracking table and every read
        model's tables and tracking record; return what the upgrade did."""
        with writing(self.engine) as conn:
            xact_lock(conn, SCHEMA_LOCK)  # processes starting together create tables in turn
            change = self.schema_change = upgrade_schema(conn)
            if change.changed and not change.fresh:
                _LOG.warning(
                    "upgraded the read models' schema from revision %s to %s",
                    change.before,
                    change.after,
                )
            tracking_metadata.create_all(conn)
            for model in self.models.values():
                model.create_tables(conn)
                model.view.reset(conn, position=0, only_if_missing=True)
        return change

    def select(self, names: Iterable[str] | None) -> list[ReadModel]:
        """The read models called ``names`` (all if None); raise :class:`UnknownReadModel`."""
        if names is None:
            return list(self.models.values())
        chosen = []
        for name in names:
            if name not in self.models:
                known = ", ".join(self.models)
                raise UnknownReadModel(f"no read model {name!r}; known: {known}")
            chosen.append(self.models[name])
        return chosen

    def positions(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """The applied position of each read model."""
        with self.engine.connect() as conn:
            return {m.name: m.view.position(conn) for m in self.select(names)}

    def refreshed(self) -> dict[str, tuple[int, int] | None]:
        """The stored mark of every refresh step (:meth:`Refreshable.refreshed`), by read
        model: it differs as soon as any process refreshed, so a service can tell that
        its cached answers are out of date."""
        with self.engine.connect() as conn:
            refreshable = [m for m in self.models.values() if isinstance(m, Refreshable)]
            return {m.name: m.refreshed(conn) for m in refreshable}

    def refresh_due(self, *, every: float, at: int | None = None) -> bool:
        """True if some refresh step should run now (:meth:`due_refreshes`)."""
        return bool(self.due_refreshes(every=every, at=at))

    def due_refreshes(self, *, every: float, at: int | None = None) -> list[str]:
        """The read models whose refresh step should run now (as of Unix time ``at``): it never ran,
        or its read model has applied entries since (or the imported records or the
        declared trust in their origins changed since this process last looked) and the
        last refresh, by whichever process, is ``every`` seconds old — and
        :data:`REFRESH_SPACING` times as old as that refresh took
        (:meth:`refresh_seconds`). So the processes over one database refresh about once
        per ``every`` seconds between them (less often once a refresh takes more than a
        tenth of that), and not at all while no entry comes in; a service that starts does
        not recompute what is already stored. Each step by its own spacing: a quick one that
        is due does not make a slow one run with it. A refresh that failed here (a killed
        refresh child, :class:`~projections.child.RefreshFailed`) is tried again under the
        same spacing, counted from the failed attempt and its duration."""
        now = self._clock() if at is None else at
        marks = self.refreshed()
        positions = self.positions(marks)
        took = self.refresh_seconds()
        imports = self.log.imports_stamp()
        for name in marks:  # what the stored refresh counted, as far as we know
            self._imports_seen.setdefault(name, imports)
        failed = self._failed
        return [
            name
            for name, mark in marks.items()
            if (
                name not in failed
                or now - failed[name][0] >= refresh_spacing(every, failed[name][1])
            )
            and (
                mark is None
                or (
                    (mark[0] < positions[name] or imports != self._imports_seen[name])
                    and now - mark[1] >= refresh_spacing(every, took.get(name, 0.0))
                )
            )
        ]

    def refresh_seconds(self) -> dict[str, float]:
        """How long the last refresh step of each read model took, by whichever process ran
        it (wall clock seconds; absent before the first)."""
        c = refresh_cost_table.c
        with self.engine.connect() as conn:
            return {name: float(s) for name, s in conn.execute(select(c.read_model, c.seconds))}

    def _record_refresh_seconds(self, name: str, seconds: float) -> None:
        values = {"read_model": name, "seconds": seconds}
        with writing(self.engine) as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            insert = dialect.insert(refresh_cost_table).values(**values)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[refresh_cost_table.c.read_model], set_={"seconds": seconds}
                )
            )

    # -- applying ---------------------------------------------------------------------------
    def catch_up(
        self,
        names: Iterable[str] | None = None,
        *,
        max_entries: int | None = None,
        progress: Progress | None = None,
    ) -> CatchUp:
        """Apply every entry not yet applied to the read models ``names`` (all if None).

        ``max_entries`` stops after that many entries. A helper thread reads and
        prepares the next batch (pure Python) while this one is written (mostly
        inside the database driver, which releases the GIL). Returns how many
        entries were applied and the position reached.

        On PostgreSQL one process at a time catches up (:data:`~projections.db.CATCH_UP_LOCK`):
        the others wait for it, up to ``lock_wait`` seconds, and then find what it applied,
        instead of preparing the same batches and losing the race for the tracking
        records. Raises :class:`~projections.errors.ProjectorBusy` if the wait ran out.
        """
        with exclusive(self.engine, CATCH_UP_LOCK, timeout=self.lock_wait):
            return self._catch_up(names, max_entries=max_entries, progress=progress)

    def _catch_up(
        self,
        names: Iterable[str] | None,
        *,
        max_entries: int | None = None,
        progress: Progress | None = None,
    ) -> CatchUp:
        models = self.select(names)
        started = time.perf_counter()
        applied = 0
        positions = self.positions(m.name for m in models)
        last = self.log.max_position()
        conflicts = 0
        with (
            _gc_paused(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="projector-read") as reader,
        ):
            pending = reader.submit(
                self._read_and_prepare, models, dict(positions), self._limit(applied, max_entries)
            )
            while True:
                entries, work = pending.result()
                if not entries:
                    break
                end = entries[-1].position
                ahead = {name: max(p, end) for name, p in positions.items()}
                limit = self._limit(applied + len(entries), max_entries)
                pending = reader.submit(self._read_and_prepare, models, ahead, limit)
                try:
                    self._write(work, positions, end)
                except TrackingConflict:
                    conflicts += 1
                    if conflicts > _CONFLICT_RETRIES:
                        raise
                    pending.result()
                    positions = self.positions(m.name for m in models)
                    limit = self._limit(applied, max_entries)
                    pending = reader.submit(self._read_and_prepare, models, dict(positions), limit)
                    continue
                applied += len(entries)
                if progress is not None:
                    progress(applied, end, max(last, end))
        end = min(positions.values(), default=0)
        return CatchUp(applied, end, time.perf_counter() - started)

    def _limit(self, applied: int, max_entries: int | None) -> int:
        if max_entries is None:
            return self.batch_size
        return max(0, min(self.batch_size, max_entries - applied))

    def _read_and_prepare(
        self, models: list[ReadModel], positions: dict[str, int], limit: int
    ) -> tuple[list[AcceptedEntry], list[tuple[ReadModel, int, WriteBatch]]]:
        """Read the entries after the lowest position and prepare each model's writes."""
        entries = self.log.read(after=min(positions.values(), default=0), limit=limit)
        work = []
        for model in models:
            behind = positions[model.name]
            todo = [e for e in entries if e.position > behind] if behind else entries
            if todo:
                work.append((model, behind, model.prepare(todo)))
        return entries, work

    def _write(
        self,
        work: list[tuple[ReadModel, int, WriteBatch]],
        positions: dict[str, int],
        end: int,
    ) -> None:
        """One transaction: move each model's tracking record to ``end`` and write its rows.

        When the batch erased someone and the purge overwrote rows, the tables are
        compacted after the commit (:func:`~projections.erasure.compact`).
        """
        with writing(self.engine) as conn:
            for model, behind, batch in work:
                if not model.view.advance(conn, expected=behind, new=end):
                    raise TrackingConflict(model.name, behind, model.view.position(conn))
                model.write(conn, batch)
        for name in positions:
            positions[name] = max(positions[name], end)
        purged = set().union(*(batch.touched.get(PURGED, ()) for _, _, batch in work))
        if purged:
            compact(self.engine, purged)

    def _apply(
        self, models: list[ReadModel], positions: dict[str, int], entries: list[AcceptedEntry]
    ) -> None:
        """Prepare and write ``entries`` in one go (no helper thread)."""
        work = []
        for model in models:
            behind = positions[model.name]
            todo = [e for e in entries if e.position > behind] if behind else entries
            if todo:
                work.append((model, behind, model.prepare(todo)))
        if entries:
            self._write(work, positions, entries[-1].position)

    # -- rebuilding and refreshing ------------------------------------------------------------
    def rebuild(
        self, names: Iterable[str] | None = None, *, progress: Progress | None = None
    ) -> CatchUp:
        """Drop the read models' rows and tracking records, then replay the log from position 0.

        The drop is one transaction; the replay commits batch by batch, so an
        interrupted rebuild resumes where it stopped on the next catch-up.
        (Replaying the read models in parallel processes was measured slower on
        SQLite: they contend for its single write lock and each decodes the log.)
        """
        models = self.select(names)
        with exclusive(self.engine, CATCH_UP_LOCK, timeout=self.lock_wait):
            with writing(self.engine) as conn:
                for model in models:
                    self._reset(conn, model)
            result = self._catch_up([m.name for m in models], progress=progress)
        self.refresh([m.name for m in models])
        return result

    @staticmethod
    def _reset(conn: Connection, model: ReadModel) -> None:
        model.drop_tables(conn)
        model.create_tables(conn)
        model.view.reset(conn, position=0)

    def refresh(
        self, names: Iterable[str] | None = None, *, at: int | None = None
    ) -> dict[str, float]:
        """Run the refresh step of the read models that have one, as of Unix time ``at``:
        one cycle, which reads the imported records once and hands them to every step;
        then give the memory it freed back to the operating system (:func:`trim_heap`).
        Returns how long each step took (seconds, by read model).

        With :attr:`refresh_in` ``"child"`` the cycle runs in a short-lived child process
        (:func:`~projections.child.refresh_in_child`) that does exactly this in process,
        while this one waits without holding the GIL; raises
        :class:`~projections.child.RefreshFailed` if the child died, and the steps are
        then tried again when due (:meth:`due_refreshes`). Where a child cannot open the
        database (an in-memory SQLite database, a service key handed over in memory:
        :func:`~projections.child.child_unavailable`), the cycle runs in process.
        """
        moment = self._clock() if at is None else at
        stamp = self.log.imports_stamp()
        steps = [m for m in self.select(names) if isinstance(m, Refreshable)]
        seen = dict(self._imports_seen)
        self._imports_seen.update((m.name, stamp) for m in steps)
        if not steps:
            return {}
        if self.refresh_in == "child":
            unavailable = child_unavailable(self.log.store)
            if unavailable is None:
                return self._refresh_in_child([m.name for m in steps], moment, seen)
            _LOG.debug("refreshing in process: %s", unavailable)
        _LOG.info("refreshing %s in process", ", ".join(m.name for m in steps))
        imports = self.log.imported_bundles()
        self.log.row_key_ready()  # before any write transaction: the steps MAC their record
        took: dict[str, float] = {}
        with _gc_paused():
            for model in steps:
                started = time.monotonic()
                model.refresh(self.engine, at=moment, log=self.log, imports=imports)
                took[model.name] = self._took[model.name] = time.monotonic() - started
                self._record_refresh_seconds(model.name, took[model.name])
        trim_heap()
        _LOG.info("refreshed %s in process: %.1f s", ", ".join(took), sum(took.values()))
        return took

    def _refresh_in_child(
        self, names: list[str], moment: int, seen: dict[str, tuple[object, ...]]
    ) -> dict[str, float]:
        """:meth:`refresh` of ``names`` in a child process; on a failure, forget that this
        refresh saw the imports (``seen``: what was seen before) and space the next try."""
        try:
            done = refresh_in_child(
                self.log.store,
                names,
                at=moment,
                timeout=self.refresh_timeout,
                stop=self.refresh_stop,
            )
        except RefreshFailed as exc:
            for name in names:  # not counted: due again, after the spacing
                self._failed[name] = (moment, exc.seconds)
                if name in seen:
                    self._imports_seen[name] = seen[name]
                else:
                    self._imports_seen.pop(name, None)
            raise
        for name in names:
            self._failed.pop(name, None)
        self._took.update(done.took)
        return done.took

    # -- following ----------------------------------------------------------------------
    def follow(
        self,
        stop: threading.Event,
        *,
        interval: float = 0.5,
        refresh_every: float = 30.0,
        on_catch_up: Callable[[CatchUp], None] | None = None,
    ) -> None:
        """Poll the log and apply new entries until ``stop`` is set.

        The refresh step runs after new entries once ``refresh_every`` seconds
        have passed since the last one (and :data:`REFRESH_SPACING` times as long as
        the last one took), and when the follower stops. A busy or
        briefly unreachable database (``OperationalError``) or a lost race
        (:class:`TrackingConflict`) is retried after ``interval``; the error is
        raised once it happened ``_FOLLOW_RETRIES`` times in a row. A refresh child that
        died (:class:`~projections.child.RefreshFailed`) is logged and the refresh tried
        again after the same spacing, counted from the failed attempt.
        """
        last_refresh = time.monotonic()
        pending = False
        failures = 0
        while not stop.is_set():
            try:
                result = self.catch_up()
            except ProjectorBusy:  # another process is applying: nothing to do meanwhile
                stop.wait(interval)
                continue
            except (OperationalError, TrackingConflict):
                failures += 1
                if failures >= _FOLLOW_RETRIES:
                    raise
                stop.wait(interval)
                continue
            failures = 0
            if result.applied:
                pending = True
                if on_catch_up is not None:
                    on_catch_up(result)
            took = [*self._took.values(), *(f[1] for f in self._failed.values())]
            spacing = refresh_spacing(refresh_every, max(took, default=0))
            if pending and time.monotonic() - last_refresh >= spacing:
                try:
                    self.refresh()
                    pending = False
                except RefreshFailed as exc:  # tried again after the spacing, from now
                    _LOG.error("%s; the read models keep their last refresh", exc)
                last_refresh = time.monotonic()
            if not result.applied:
                stop.wait(interval)
        if pending:
            try:
                self.refresh()
            except RefreshFailed as exc:  # the next follower's refresh counts the entries
                _LOG.error("%s; the read models keep their last refresh", exc)

    def wait(self, position: int, *, timeout: float = 5.0) -> None:
        """Block until every read model has applied ``position``; raise ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        for model in self.models.values():
            view: SqlTrackingRecorder = model.view
            view.wait("ledger", position, timeout=max(0.001, deadline - time.monotonic()))


def trim_heap() -> bool:
    """Give the heap memory freed since back to the operating system; True if some was.

    glibc keeps freed memory for reuse (large blocks too, once its mmap threshold has
    risen), so after a refresh over 10^6 entries a service kept some 80 MiB it no longer
    used until its end: ``malloc_trim`` returns it, in about 10-30 ms. Not on a C library
    without it (musl, other systems): False, nothing done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):
        return False
    return bool(trim(0))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: batches allocate millions of small acyclic objects
    (freed by reference counting), and its full collections would cost a third of a rebuild."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
