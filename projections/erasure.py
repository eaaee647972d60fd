"""Erasure in the read models: purge an erased person's personal content, then compact.

After ``PersonErased``, the ledger's log reads every personal field of the entries
whose content owner (:func:`ledger.privacy.content_owner`) is the erased person as
withheld, so a read model rebuilt from the log stores ``{field: null}`` for them.
A read model kept live reaches the same rows by :func:`purge_rows` when it applies
the ``PersonErased`` entry (inside the batch's transaction, with the tracking
record, so a crash cannot leave the entry applied and the rows unpurged): every
``personal`` column of a row whose content owner is the person becomes
``{field: null}`` for the same fields. Each read model names its personal columns
and how a row's content owner is found (:class:`PersonalColumn`):

- the row's person column, for rows of ``identity/P`` and ``record/P`` entries
  (registration, contributions, ambitions, and endorsements — by the subject,
  not the endorser) and for completions (the assignee);
- the row's author key, mapped to its person through the read model's own key
  table, for assignment postings (the owner's).

Overwriting a row does not by itself remove the old bytes from the database
files; :func:`compact` does that after the transaction commits. The projector
calls it after every batch whose purge changed rows; :func:`erase` purges and
compacts in one go for a caller that does not run the projector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from ledger.store.sqlite import truncate_wal

from .db import writing
from .entries import personal_json

__all__ = [
    "ERASED",
    "PURGED",
    "PersonalColumn",
    "by_author_key",
    "by_person",
    "compact",
    "erase",
    "nulled",
    "purge_rows",
]

_LOG = logging.getLogger("projections.erasure")

ERASED = "erased"
"""``WriteBatch.touched`` kind: the people a batch's ``PersonErased`` entries erase."""
PURGED = "purged_tables"
"""``WriteBatch.touched`` kind: the tables whose rows a batch's purge overwrote."""

_CHECKPOINT_TRIES = 40
_CHECKPOINT_WAIT_S = 0.05
_VACUUM_LOCK_TIMEOUT = "5s"

Owner = Callable[[Collection[str]], ColumnElement[bool]]


@dataclass(frozen=True)
class PersonalColumn:
    """A table's ``personal`` column and which of its rows belong to given people."""

    table: Table
    owned_by: Owner


def by_person(table: Table, column: str = "person") -> PersonalColumn:
    """Rows whose content owner is the person in ``column``."""
    return PersonalColumn(table, lambda people: table.c[column].in_(list(people)))


def by_author_key(table: Table, keys: Table, column: str = "owner_key") -> PersonalColumn:
    """Rows whose content owner is the author of the entry: the person of the key in
    ``column``, looked up in ``keys`` (``key_id`` → ``person``)."""

    def owned_by(people: Collection[str]) -> ColumnElement[bool]:
        authors = select(keys.c.key_id).where(keys.c.person.in_(list(people)))
        return table.c[column].in_(authors)

    return PersonalColumn(table, owned_by)


def nulled(stored: str) -> str:
    """The stored personal fields ``stored`` with every value withheld (``null``)."""
    return personal_json(dict.fromkeys(orjson.loads(stored)))


def purge_rows(
    conn: Connection, columns: Iterable[PersonalColumn], people: Collection[str]
) -> set[str]:
    """Withhold, in ``conn``'s transaction, every personal field of the rows of ``people``.

    Returns the names of the tables whose rows changed (none when a rebuild replays
    an erasure: the log already withheld the fields).
    """
    changed: set[str] = set()
    if not people:
        return changed
    for spec in columns:
        table = spec.table
        keys = list(table.primary_key.columns)
        query = select(*keys, table.c.personal).where(spec.owned_by(people))
        rows = []
        for row in conn.execute(query):
            stored = row.personal
            new = nulled(stored)
            if new != stored:
                rows.append({**{f"k_{k.name}": row._mapping[k] for k in keys}, "b_personal": new})
        if rows:
            where = and_(*(k == bindparam(f"k_{k.name}") for k in keys))
            conn.execute(update(table).where(where).values(personal=bindparam("b_personal")), rows)
            changed.add(table.name)
    return changed


def compact(engine: Engine, tables: Collection[str]) -> None:
    """Remove the old versions of purged rows from the database files (best effort).

    SQLite: the read models' connections run with ``secure_delete`` on
    (:mod:`projections.db`), so the overwritten row content is zeroed in the pages
    written; a ``wal_checkpoint(TRUNCATE)`` then copies those pages into the database
    file and cuts the write-ahead log — which still held the pages as they were — to
    zero bytes. While another connection reads an older snapshot the checkpoint
    cannot finish; it is retried for about two seconds, and past that the old frames
    stay in the WAL until a later checkpoint (the next erasure's, or SQLite's own
    automatic ones, which restart the WAL from its start and so overwrite them).

    PostgreSQL: ``VACUUM FULL`` of ``tables`` (outside any transaction) rewrites them
    without the dead row versions. It waits at most a few seconds for its exclusive
    lock and is skipped (logged) if it cannot get it. WAL segments, replicas and
    backups keep the old row versions until they are recycled; nothing here can
    scrub those.
    """
    if engine.dialect.name == "sqlite":
        _checkpoint_sqlite(engine)
    elif tables:
        _vacuum_postgres(engine, sorted(tables))


def _checkpoint_sqlite(engine: Engine) -> None:
    raw = engine.raw_connection()  # autocommit (isolation_level None): no BEGIN around it
    try:
        if not truncate_wal(raw.cursor(), tries=_CHECKPOINT_TRIES, wait_s=_CHECKPOINT_WAIT_S):
            _LOG.warning("the WAL could not be truncated after an erasure: readers hold it")
    finally:
        raw.close()


def _vacuum_postgres(engine: Engine, tables: list[str]) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"SET lock_timeout = '{_VACUUM_LOCK_TIMEOUT}'")
        preparer = engine.dialect.identifier_preparer
        for name in tables:
            try:
                conn.exec_driver_sql(f"VACUUM FULL {preparer.quote(name)}")
            except DBAPIError as exc:
                _LOG.warning("VACUUM FULL %s after an erasure failed: %s", name, exc)


def erase(engine: Engine, people: Collection[str], columns: Iterable[PersonalColumn]) -> set[str]:
    """Purge ``people``'s personal content from the tables of ``columns``, then compact.

    For read models that do not exist yet in ``engine``'s database nothing is done
    (a later build reads the fields as withheld from the log). Idempotent; returns
    the names of the tables whose rows changed.
    """
    present = set(inspect(engine).get_table_names())
    wanted = [c for c in columns if c.table.name in present]
    if not wanted or not people:
        return set()
    with writing(engine) as conn:
        changed = purge_rows(conn, wanted, people)
    if changed:
        compact(engine, changed)
    return changed
