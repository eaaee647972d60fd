"""Tracking records: the last ledger position each read model has applied.

This is the ``eventsourcing`` library's tracking contract
(:class:`~eventsourcing.persistence.TrackingRecorder`, :class:`~eventsourcing.persistence.Tracking`)
on a SQLAlchemy table beside the read models' own tables, so one database
transaction writes a read model's rows *and* moves its tracking record. A batch
either commits both or neither: after a crash the read model resumes from the
last committed position and applies every entry exactly once.

The library's own tracking recorders keep their table and connection to
themselves; a read model whose rows are SQLAlchemy tables needs the tracking
row in *its* transaction, which is why this recorder exists.

The table ``projection_tracking`` has one row per (read model, upstream
application); the upstream is always the ledger (``"ledger"``). Moving a
record is a compare-and-set (``UPDATE … WHERE position = expected``): if two
projectors race, the row lock makes the second wait, find the position moved
and roll back its batch (:class:`~projections.errors.TrackingConflict`). On
PostgreSQL the projector avoids the race in the first place: one process at a
time catches up (:data:`projections.db.CATCH_UP_LOCK`).
"""

from __future__ import annotations

from eventsourcing.persistence import Tracking, TrackingRecorder
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite

from ledger.store.base import SCHEMA_LOCK

from .db import writing, xact_lock

__all__ = [
    "UPSTREAM",
    "SqlTrackingRecorder",
    "refresh_cost_table",
    "tracking_metadata",
    "tracking_table",
]

UPSTREAM = "ledger"
tracking_metadata = MetaData()
tracking_table = Table(
    "projection_tracking",
    tracking_metadata,
    Column("read_model", String(64), primary_key=True),
    Column("upstream", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
refresh_cost_table = Table(
    "projection_refresh",
    tracking_metadata,
    Column("read_model", String(64), primary_key=True),
    Column("seconds", Float, nullable=False),
    sqlite_with_rowid=False,
)
"""How long each read model's last refresh step took, by whichever process ran it (wall
clock): the next one is due no sooner than :data:`projections.runner.REFRESH_SPACING`
times that after it (:meth:`projections.runner.Projector.refresh_due`). Not a read
model's row: ``projections verify`` does not compare it, a rebuild does not reset it."""


class SqlTrackingRecorder(TrackingRecorder):
    """The tracking record of one read model, in the read models' database.

    ``max_tracking_id`` and the inherited ``wait`` follow the library's
    contract; :meth:`advance` is the in-transaction compare-and-set the
    projector uses.
    """

    def __init__(self, engine: Engine, read_model: str) -> None:
        self.engine = engine
        self.read_model = read_model

    def create_table(self) -> None:
        """Create the tracking table if needed and this read model's row at position 0."""
        with writing(self.engine) as conn:
            xact_lock(conn, SCHEMA_LOCK)  # processes starting together create it in turn
            tracking_metadata.create_all(conn)
            self.reset(conn, position=0, only_if_missing=True)

    def reset(
        self,
        conn: Connection,
        *,
        position: int = 0,
        upstream: str = UPSTREAM,
        only_if_missing: bool = False,
    ) -> None:
        """Set the record to ``position`` (used by set-up and rebuild) in ``conn``'s transaction."""
        values = {"read_model": self.read_model, "upstream": upstream, "position": position}
        keys = [tracking_table.c.read_model, tracking_table.c.upstream]
        if conn.dialect.name == "postgresql":
            pg = postgresql.insert(tracking_table).values(**values)
            conn.execute(
                pg.on_conflict_do_nothing(index_elements=keys)
                if only_if_missing
                else pg.on_conflict_do_update(index_elements=keys, set_={"position": position})
            )
            return
        lite = sqlite.insert(tracking_table).values(**values)
        conn.execute(
            lite.on_conflict_do_nothing(index_elements=keys)
            if only_if_missing
            else lite.on_conflict_do_update(index_elements=keys, set_={"position": position})
        )

    def position(self, conn: Connection, upstream: str = UPSTREAM, *, lock: bool = False) -> int:
        """The applied position in ``conn``'s transaction (0 if none); ``lock`` holds the row."""
        query = select(tracking_table.c.position).where(
            tracking_table.c.read_model == self.read_model,
            tracking_table.c.upstream == upstream,
        )
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found = conn.execute(query).scalar_one_or_none()
        return 0 if found is None else int(found)

    def advance(
        self, conn: Connection, *, expected: int, new: int, upstream: str = UPSTREAM
    ) -> bool:
        """Move the record from ``expected`` to ``new`` in ``conn``'s transaction.

        Returns False (and changes nothing) if the record is not at ``expected``:
        another projector applied these entries first.
        """
        result = conn.execute(
            sql_update(tracking_table)
            .where(
                tracking_table.c.read_model == self.read_model,
                tracking_table.c.upstream == upstream,
                tracking_table.c.position == expected,
            )
            .values(position=new)
        )
        return result.rowcount == 1

    # -- the library's TrackingRecorder contract ----------------------------------------
    def insert_tracking(self, tracking: Tracking) -> None:
        """Record ``tracking`` in a transaction of its own (moves the record forward only)."""
        with writing(self.engine) as conn:
            current = self.position(conn, tracking.application_name, lock=True)
            if tracking.notification_id > current:
                self.reset(
                    conn, position=tracking.notification_id, upstream=tracking.application_name
                )

    def max_tracking_id(self, application_name: str) -> int | None:
        """The last applied position from ``application_name``, or None if nothing was applied."""
        with self.engine.connect() as conn:
            position = self.position(conn, application_name)
        return position or None
