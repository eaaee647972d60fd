"""Run SQL on a ledger's database directly, as someone holding the file or the server
would (to simulate an older version's schema or tamper with rows)."""

from __future__ import annotations

import sqlite3

from ledger.store import Store

__all__ = ["execute_sql"]

# The ledger's tables named as on SQLite -> their PostgreSQL names (prefixed "ledger_").
_PG_NAMES = ("rule_state", "entry_positions")


def execute_sql(store: Store, sql: str, params: tuple[object, ...] = ()) -> None:
    """Run one statement (SQLite's table names and ``?`` placeholders) on ``store``'s
    database in its own committed transaction."""
    if store.backend == "sqlite":
        conn = sqlite3.connect(store.url.removeprefix("sqlite://"))
        with conn:
            conn.execute(sql, params)
        conn.close()
        return
    import psycopg

    for name in _PG_NAMES:
        sql = sql.replace(name, f"ledger_{name}")
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute(sql.replace("?", "%s"), params)
