"""Counting a store's calls made while a live server answers (tests of how many store
reads or writes one request costs: test_api_read_queries, test_api_write_queries)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ledger.store import Store


@contextmanager
def counted(store: Store) -> Iterator[collections.Counter[str]]:
    """Count the calls of ``store``'s public methods made on request threads."""
    calls: collections.Counter[str] = collections.Counter()
    originals: dict[str, Callable[..., Any]] = {}

    def counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name.startswith("AnyIO worker"):
                calls[name] += 1
            return method(*args, **kwargs)

        return call

    for name in dir(type(store)):
        method = getattr(store, name)
        if not name.startswith("_") and callable(method):
            originals[name] = method
            setattr(store, name, counting(name, method))
    try:
        yield calls
    finally:
        for name in originals:
            delattr(store, name)


# -- the SQL a store sends -------------------------------------------------------------------


@contextmanager
def sql_counted(backend: str) -> Iterator[collections.Counter[str]]:
    """Count the SQL statements and transactions sent to ``backend``'s database (``sqlite``
    or ``postgresql``) by any store while the block runs, at the driver (the library's
    SQLite cursor, psycopg's), so that a statement or a round trip added anywhere shows.

    Keys: ``transactions`` (on SQLite each ``BEGIN``; on PostgreSQL each
    ``conn.transaction()`` block and each statement run on its own on the pool's
    autocommit connection), ``statements`` (each execute; a ``BEGIN`` is counted as the
    transaction, not as a statement), ``merkle node reads`` (of those, the reads of one
    Merkle node, which an append makes as the log's size in binary asks),
    ``in transaction blocks`` (statements sent inside an explicit transaction; on
    PostgreSQL each block adds two round trips, ``BEGIN`` and ``COMMIT``)."""
    counts: collections.Counter[str] = collections.Counter()

    def count(sql: object, *, in_block: bool) -> None:
        text = sql if isinstance(sql, str) else repr(sql)
        if text.strip().upper() == "BEGIN":
            counts["transactions"] += 1
            return
        counts["statements"] += 1
        if "SELECT hash FROM" in text and "merkle_nodes" in text:
            counts["merkle node reads"] += 1
        if in_block:
            counts["in transaction blocks"] += 1
        elif backend == "postgresql":
            counts["transactions"] += 1  # a statement on its own is its own transaction

    patches: list[tuple[type, str, Any]] = []

    def patch(cls: type, name: str, make: Callable[[Any], Callable[..., Any]]) -> None:
        original = cls.__dict__[name]
        patches.append((cls, name, original))
        setattr(cls, name, make(original))

    if backend == "postgresql":
        import psycopg
        from psycopg.pq import TransactionStatus

        def pg_execute(original: Callable[..., Any]) -> Callable[..., Any]:
            def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                text = query.as_string(self.connection) if hasattr(query, "as_string") else query
                if "idle_in_transaction_session_timeout" not in str(text):  # a new connection
                    status = self.connection.info.transaction_status
                    count(str(text), in_block=status != TransactionStatus.IDLE)
                return original(self, query, *args, **kwargs)

            return execute

        def pg_transaction(original: Callable[..., Any]) -> Callable[..., Any]:
            def transaction(self: Any, *args: Any, **kwargs: Any) -> Any:
                counts["transactions"] += 1
                return original(self, *args, **kwargs)

            return transaction

        patch(psycopg.Cursor, "execute", pg_execute)
        patch(psycopg.Cursor, "executemany", pg_execute)
        patch(psycopg.Connection, "transaction", pg_transaction)
    else:
        from eventsourcing.sqlite import SQLiteCursor

        def sqlite_execute(original: Callable[..., Any]) -> Callable[..., Any]:
            def execute(self: Any, statement: str, *args: Any, **kwargs: Any) -> Any:
                in_tx = bool(self.sqlite_cursor.connection.in_transaction)
                count(statement, in_block=in_tx)
                return original(self, statement, *args, **kwargs)

            return execute

        patch(SQLiteCursor, "execute", sqlite_execute)
        patch(SQLiteCursor, "executemany", sqlite_execute)
    try:
        yield counts
    finally:
        for cls, name, original in reversed(patches):
            setattr(cls, name, original)
