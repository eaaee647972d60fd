"""The mark a refresh step leaves: where and when it ran, and what it counted besides the log.

A read model with a refresh step (reputation, matching: :class:`projections.runner.Refreshable`)
recomputes derived values from its rows and from the records imported from other
ledgers, which are not in the log. A refresh cycle (:meth:`projections.runner.Projector.refresh`)
reads those once (:meth:`projections.entries.EntryReader.imported_bundles`) and hands them
to every step. Each step then records, in its own one-row mark table (``rep_refresh``,
``mt_refresh``, made by :func:`mark_table`), the log position and Unix time it reflects,
what it counted (:class:`~projections.entries.ImportsCounted` JSON) and that record's MAC
under the ledger's row key (:func:`record_refresh`), so ``projections verify`` rebuilds
each read model on its own from the same imports, and believes only a record the ledger
bound (:meth:`~projections.entries.EntryReader.counted_is_bound`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)

if TYPE_CHECKING:  # only types: the tables modules import this one and stay light
    from .entries import EntryReader, ImportsCounted

__all__ = ["mark_table", "record_refresh", "refreshed"]

_MARK_ROW = 1  # the one row of a mark table


def mark_table(name: str, metadata: MetaData, *extra: Column[Any]) -> Table:
    """A refresh step's one-row mark table ``name`` in ``metadata``: the log ``position``
    and Unix time ``at`` it reflects, ``extra`` columns of the step's own, then what it
    counted besides the log (``inputs``, :class:`~projections.entries.ImportsCounted`
    JSON) and its MAC (``inputs_mac``), NULL in a refresh from before revision 0005."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("at", BigInteger, nullable=False),
        *extra,
        Column("inputs", Text, nullable=True),
        Column("inputs_mac", String(64), nullable=True),
    )


def record_refresh(
    conn: Connection,
    table: Table,
    *,
    position: int,
    at: int,
    counted: ImportsCounted,
    log: EntryReader,
    **extra: Any,
) -> None:
    """Replace the mark in ``table`` (:func:`mark_table`) with that of the refresh at
    ``position`` as of ``at`` that counted ``counted``, bound by its MAC
    (:meth:`~projections.entries.EntryReader.counted_mac`), and the step's ``extra``
    columns; in the refresh's own transaction ``conn``."""
    conn.execute(delete(table))
    conn.execute(
        insert(table).values(
            id=_MARK_ROW,
            position=position,
            at=at,
            inputs=counted.as_json(),
            inputs_mac=log.counted_mac(position, at, counted),
            **extra,
        )
    )


def refreshed(conn: Connection, table: Table) -> tuple[int, int] | None:
    """The mark in ``table`` as stored: ``(position, at)``, or None before any refresh."""
    row = conn.execute(select(table.c.position, table.c.at)).first()
    return None if row is None else (int(row[0]), int(row[1]))
