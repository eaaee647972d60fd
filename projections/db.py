"""SQLAlchemy engines for the read models, on the ledger's own database.

The ledger URL (``sqlite:///abs/path.db`` or ``postgresql://user@host:port/db``)
maps to the SQLAlchemy URL of the same database (``sqlite:///abs/path.db``,
``postgresql+psycopg://user@host:port/db``), so read-model tables sit beside
the ledger's tables.

On SQLite, Python's ``sqlite3`` module would start transactions lazily (only
before the first write), so SQLAlchemy's recipe for explicit transactions is
used: the driver's own handling is switched off and every transaction begins
with ``BEGIN`` — ``BEGIN IMMEDIATE`` for the write transactions of
:func:`writing`, which take the database's write lock up front and so never
fail half-way with a stale snapshot when the ledger appends at the same time.
SQLite connections also run with ``secure_delete`` on, for erasure
(:mod:`projections.erasure`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from .errors import ProjectionError, ProjectorBusy

__all__ = [
    "CATCH_UP_LOCK",
    "REFRESH_LOCK",
    "create_read_model_engine",
    "exclusive",
    "snapshot",
    "sqlalchemy_url",
    "writing",
    "xact_lock",
]

CATCH_UP_LOCK = 0x7472_6B72_0002
"""PostgreSQL advisory lock held by the one process that applies entries to the read
models (:func:`exclusive`); the other processes wait for it, then find the entries applied."""
REFRESH_LOCK = 0x7472_6B72_0003
"""PostgreSQL advisory lock held while a refresh step writes its results (a transaction's
lock, :func:`xact_lock`): two processes refreshing at once write their rows in turn, not
interleaved. SQLite's write lock does the same there."""

_SQLITE_TIMEOUT_S = 30
_SQLITE_CACHE_KIB = 16 * 1024
"""SQLite's page cache per connection (KiB), allocated as pages are read and kept while
the connection is pooled: a service's memory holds one per pooled connection (up to the
pool's five idle ones), so it is bounded here, not by the ledger's size. At 128 MiB a
service over a 10^6-entry ledger (2.2 GB) grew by some 135 MiB per 15,000 uncached
portfolio reads (bench/README.md, "The service at 10^6"); a miss costs a read from the
operating system's file cache."""
_BEGIN_OPTION = "trackrecord_sqlite_begin"


def sqlalchemy_url(ledger_url: str) -> str:
    """The SQLAlchemy URL of the ledger database at ``ledger_url``.

    Raises :class:`ProjectionError` for a scheme other than ``sqlite`` or
    ``postgresql``/``postgres``.
    """
    parsed = urllib.parse.urlsplit(ledger_url)
    if parsed.scheme == "sqlite":
        if not parsed.path or parsed.netloc:
            raise ProjectionError(f"an SQLite URL looks like sqlite:///path.db, not {ledger_url!r}")
        return f"sqlite:///{parsed.path}"  # four slashes: an absolute path
    if parsed.scheme in ("postgresql", "postgres"):
        return urllib.parse.urlunsplit(parsed._replace(scheme="postgresql+psycopg"))
    raise ProjectionError(
        f"unsupported database URL {ledger_url!r}: use sqlite:/// or postgresql://"
    )


def create_read_model_engine(ledger_url: str) -> Engine:
    """An engine on the ledger database at ``ledger_url`` (no connection is made yet)."""
    url = sqlalchemy_url(ledger_url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": _SQLITE_TIMEOUT_S, "check_same_thread": False},
        )
        _explicit_sqlite_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with conn.begin():
            yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction that sees one snapshot of the database from its
    first read to its end (SQLite in WAL mode: a deferred ``BEGIN``, which takes no lock
    that stops a writer; PostgreSQL: ``REPEATABLE READ``), for a long read that must be
    consistent without holding up the writers meanwhile. Rolled back at the end."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as transaction:
            yield conn
            transaction.rollback()


def xact_lock(conn: Connection, key: int) -> None:
    """Take the PostgreSQL advisory lock ``key`` until ``conn``'s transaction ends (waiting
    for it if another session holds it). SQLite needs none: :func:`writing` transactions
    take the database's single write lock up front."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@contextmanager
def exclusive(engine: Engine, key: int, *, timeout: float) -> Iterator[None]:
    """Hold the PostgreSQL advisory lock ``key`` for the block, on a connection of its own
    (so it spans the block's several transactions); wait at most ``timeout`` seconds for it.

    Raises :class:`~projections.errors.ProjectorBusy` if another process held it all that
    time. On SQLite this holds nothing: the block's write transactions serialise on the
    database's write lock, and a lost race is a :class:`TrackingConflict`.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        try:
            with conn.begin():  # lock_timeout bounds the wait (advisory locks obey it)
                conn.execute(text(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'"))
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise ProjectorBusy(timeout) from exc
            raise
        try:
            yield
        finally:
            with conn.begin():  # a session lock outlives transactions: release it by hand
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


def _explicit_sqlite_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN from sqlite3
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        # Zero the bytes of deleted and overwritten rows in the pages written, so a
        # purged person's content does not linger in free space (projections.erasure).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))
