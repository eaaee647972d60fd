"""The reputation refresh's generations: its results written aside in short transactions,
then published in one tiny one.

A refresh at 10^6 entries writes some 163,000 rows. Written in one transaction (delete the
old results, insert the new), they held the database's write lock (SQLite) for seconds,
and an append landing then waited for all of it. Instead each refresh:

1. takes the next generation number (:func:`allocate`, from ``rep_generation``);
2. writes its rows under that number, :data:`WRITE_ROWS` at a time, each chunk its own
   transaction (:class:`GenerationWriter`), pausing after each as long as it took, so an
   append waiting for SQLite's write lock finds it free (SQLite does not queue waiters:
   one retries on its own clock), and on PostgreSQL the refresh's commits do not wait for
   the WAL to be flushed (``synchronous_commit`` off: they publish nothing, so a crash that
   loses one loses only part of an unpublished generation), which leaves the flushes to the
   appends that wait for them;
3. publishes it: ``rep_refresh.generation`` (the refresh mark) in one small transaction
   (:meth:`~projections.reputation.model.ReputationModel.refresh`);
4. removes the generations before the one it replaced (:func:`remove`), again in chunks.

Readers read only the published generation (:func:`~projections.reputation.tables.published`).
The generation a refresh replaced keeps its rows until the next refresh, so a reader that
read the old number just before the switch still finds all of its rows (on PostgreSQL each
statement of a reader sees the database as of that statement). A refresh that dies part of
the way leaves rows of a generation that was never published: no reader reads them, and the
next refresh that publishes removes them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Table,
    and_,
    delete,
    insert,
    select,
    text,
    tuple_,
    update,
)

from ledger.pacing import pause

from ..batch import executemany
from ..db import REFRESH_LOCK, writing, xact_lock
from . import tables as t

__all__ = ["WRITE_ROWS", "GenerationWriter", "allocate", "pause", "remove"]

WRITE_ROWS = 2000
"""Rows per transaction of a refresh's writes and removals: one such transaction holds
SQLite's write lock for some 10-40 ms on this 2-core machine."""

_COUNTER = 1  # the one row of rep_generation
_INSERTS: dict[str, Executable] = {}


def allocate(engine: Engine) -> int:
    """The next generation number, taken for one refresh (never handed out twice: two
    processes take theirs in turn, under :data:`~projections.db.REFRESH_LOCK` on
    PostgreSQL and the write lock on SQLite)."""
    c = t.generation.c
    with writing(engine) as conn:
        xact_lock(conn, REFRESH_LOCK)
        last = conn.execute(select(c.allocated).where(c.id == _COUNTER)).scalar_one_or_none()
        if last is None:  # the first refresh of this database
            new = t.published(conn) + 1
            conn.execute(insert(t.generation).values(id=_COUNTER, allocated=new))
        else:
            new = int(last) + 1
            conn.execute(update(t.generation).where(c.id == _COUNTER).values(allocated=new))
    return new


class GenerationWriter:
    """Writes one generation's rows into the result tables in short transactions."""

    def __init__(self, engine: Engine, generation: int) -> None:
        self.engine = engine
        self.generation = generation

    def insert(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        """Insert ``rows`` (fresh dicts, given this generation here) into ``table``,
        :data:`WRITE_ROWS` per transaction."""
        statement = _INSERTS.setdefault(table.name, insert(table))
        found = iter(rows)
        while chunk := list(itertools.islice(found, WRITE_ROWS)):
            for row in chunk:
                row["generation"] = self.generation
            _step(self.engine, lambda conn, chunk=chunk: executemany(conn, statement, chunk))


def remove(engine: Engine, *, below: int, keep: int | None = None, only: int | None = None) -> None:
    """Remove the rows of the generations before ``below`` but ``keep`` (the one a refresh
    just replaced), or of generation ``only``: chunk by chunk, each its own transaction."""
    for table in t.GENERATION_TABLES:
        column = table.c.generation
        if only is not None:
            ranges: list[ColumnElement[bool]] = [column == only]
        elif keep is None:
            ranges = [column < below]
        else:  # two ranges of the key, so no chunk scans the kept generation's rows
            ranges = [column < keep, and_(column > keep, column < below)]
        key = tuple_(*table.primary_key.columns)
        for where in ranges:
            doomed = delete(table).where(
                key.in_(select(*table.primary_key.columns).where(where).limit(WRITE_ROWS))
            )
            while True:
                removed = _step(engine, lambda conn, doomed=doomed: conn.execute(doomed).rowcount)
                if removed < WRITE_ROWS:
                    break


def _step(engine: Engine, work: Any) -> Any:
    """Run ``work(conn)`` in a transaction of its own, then :func:`pause` as long
    (:mod:`ledger.pacing`); its result."""
    began = time.monotonic()
    with writing(engine) as conn:
        _no_flush_wait(conn)
        done = work(conn)
    pause(time.monotonic() - began)
    return done


def _no_flush_wait(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit = off"))
