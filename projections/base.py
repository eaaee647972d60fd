"""The read-model contract, on the ``eventsourcing`` library's ``Projection``.

A read model is a ``Projection`` whose view is a :class:`~projections.tracking.SqlTrackingRecorder`:
it owns some SQLAlchemy tables (its ``metadata``) and turns each ledger entry
into writes of those tables. ``process_event`` is the library's one-event
contract (rows and tracking record in one transaction); the
:class:`~projections.runner.Projector` uses :meth:`ReadModel.apply_batch` to
do the same for a run of entries at once, which is what makes a rebuild fast.

Why the library's ``ProjectionRunner`` does not drive these read models: it
needs ``recorder.subscribe()``, which the library's SQLite recorder does not
implement (on SQLite the projector polls); it turns stored events into library
domain events with the application's mapper, while the ledger stores its own
canonical record bytes (:mod:`ledger.entry`); and it applies one event per
transaction, about a thousand times too slow for the rebuild goal.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from sqlalchemy import Connection, MetaData

from .batch import WriteBatch
from .db import writing
from .entries import AcceptedEntry
from .erasure import ERASED, PURGED, PersonalColumn, compact, purge_rows
from .errors import TrackingConflict
from .tracking import SqlTrackingRecorder

__all__ = ["ReadModel"]


class ReadModel(Projection[SqlTrackingRecorder]):
    """A read model: named tables fed by the ledger's log with exactly-once tracking."""

    name: str = "read_model"
    metadata: ClassVar[MetaData]
    personal_columns: ClassVar[tuple[PersonalColumn, ...]] = ()
    """The tables' ``personal`` columns, purged when a person is erased (:mod:`.erasure`)."""
    generation_tables: ClassVar[tuple[str, ...]] = ()
    """Tables whose rows belong to a generation of the refresh step (their ``generation``
    column): only the published one (:meth:`published_generation`) is what the read model
    holds; the others are being written or removed (:mod:`projections.reputation.generations`)."""
    counter_tables: ClassVar[tuple[str, ...]] = ()
    """Tables that only count (the generation numbers handed out): ``projections verify``
    does not compare them, since a rebuild counts from its own start."""

    def published_generation(self, conn: Connection) -> int:
        """The generation of :attr:`generation_tables` readers read (0: none)."""
        del conn
        return 0

    @abstractmethod
    def handle(self, entry: AcceptedEntry, batch: WriteBatch) -> None:
        """Record in ``batch`` the writes that ``entry`` causes (no reads, no I/O)."""

    def finish(self, conn: Connection, batch: WriteBatch) -> None:
        """Recompute derived rows for the keys ``batch`` touched (after its writes)."""
        del conn, batch

    def new_batch(self) -> WriteBatch:
        """An empty batch for :meth:`handle` to record into."""
        return WriteBatch()

    def prepare(self, entries: Sequence[AcceptedEntry]) -> WriteBatch:
        """The writes that ``entries`` (in log order) cause, not yet executed."""
        batch = self.new_batch()
        for entry in entries:
            if entry.type == "PersonErased":
                batch.touch(ERASED, (entry.subject,))
            self.handle(entry, batch)
        return batch

    def write(self, conn: Connection, batch: WriteBatch) -> None:
        """Execute ``batch`` and recompute what it touched, inside ``conn``'s transaction.

        Last, the personal content of the people the batch erases is purged
        (:func:`~projections.erasure.purge_rows`): the ledger records nothing more on
        or about an erased person, so every row of theirs was written before it. The
        tables whose rows changed are noted in ``batch.touched[PURGED]`` for
        :func:`~projections.erasure.compact`, which runs after the commit.
        """
        batch.flush(conn)
        self.finish(conn, batch)
        erased = batch.touched.get(ERASED)
        if erased:
            batch.touch(PURGED, purge_rows(conn, self.personal_columns, erased))

    def apply_batch(self, conn: Connection, entries: Sequence[AcceptedEntry]) -> None:
        """Apply ``entries`` (in log order) inside ``conn``'s transaction."""
        self.write(conn, self.prepare(entries))

    def create_tables(self, conn: Connection) -> None:
        """Create this read model's tables if they do not exist."""
        self.metadata.create_all(conn)

    def drop_tables(self, conn: Connection) -> None:
        """Drop this read model's tables (its rows go; the ledger is untouched)."""
        self.metadata.drop_all(conn)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one entry and move the tracking record, in one transaction.

        ``domain_event`` is a :class:`~projections.entries.AcceptedEntry`. An entry at or
        before the recorded position was applied already and is skipped; raises
        :class:`TrackingConflict` if another process moves the record meanwhile.
        """
        entry: AcceptedEntry = domain_event
        with writing(self.view.engine) as conn:
            current = self.view.position(conn, tracking.application_name, lock=True)
            if tracking.notification_id <= current:
                return
            if not self.view.advance(
                conn,
                expected=current,
                new=tracking.notification_id,
                upstream=tracking.application_name,
            ):
                raise TrackingConflict(self.name, current, None)
            batch = self.prepare([entry])
            self.write(conn, batch)
        if batch.touched.get(PURGED):
            compact(self.view.engine, batch.touched[PURGED])
