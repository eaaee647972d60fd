"""Copy a SQLite ledger into an empty PostgreSQL database, table for table.

``python -m bench.pg_copy SQLITE_FILE POSTGRES_URL --service-key FILE``

Why this exists: the benchmark's ledgers are built by appending every statement through
``LedgerService.append_batch`` (:func:`bench.scale.build_demo_ledger`), and on PostgreSQL
under a loaded 2-core machine that ran at 150-700 entries/s, so a 10^6-entry build took
more than an hour and building its read models half an hour more. The SQLite ledger of
the same size is already built that way (and its read models caught up); this copies its
rows as they are, so the PostgreSQL ledger holds the same entries, rule state, Merkle
nodes, positions, checkpoints, stored heads trees, data keys and read models, bytes for
bytes. ``trackrecord audit`` on the copy trusts none of it: it re-derives everything from
the log and compares (the benchmark's figure (g)); ``tests/test_bench_pg_copy.py`` audits
a copied demo ledger.

The tables are created by this code's own store and read-model schema (``open_store``
with ``create=True``, then the read models' Alembic revisions), never from the SQLite
DDL; a column or table the two do not share stops the copy. The SQLite log table
``stored_events`` keeps its notification ids as SQLite row ids; PostgreSQL's
``ledger_events`` has them as a column, which the copy fills from the row id, and its
sequence is moved past the last one.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# SQLite table -> PostgreSQL table, where the store names them differently
_RENAMED = {"stored_events": "ledger_events"}
_SKIPPED = {"sqlite_sequence", "sqlite_stat1"}
_ROWS_PER_COPY = 50_000


def _pg_name(table: str, pg_tables: set[str]) -> str:
    if table in _RENAMED:
        return _RENAMED[table]
    if f"ledger_{table}" in pg_tables:
        return f"ledger_{table}"
    if table in pg_tables:
        return table
    raise SystemExit(f"pg_copy: table {table!r} has no counterpart in the PostgreSQL schema")


def create_schema(url: str, service_key: bytes) -> None:
    """The store's tables and the read models' tables, as this code creates them."""
    from ledger.store import open_store
    from projections import open_projector
    from projections.db import create_read_model_engine

    store = open_store(url, service_key=service_key, create=True)
    engine = create_read_model_engine(url)
    try:
        open_projector(store, engine=engine)  # its set-up creates the read models' tables
    finally:
        engine.dispose()
        store.close()


def copy_ledger(sqlite_file: Path, url: str, service_key: bytes, say: bool = True) -> int:
    """Copy every table of ``sqlite_file`` into the empty PostgreSQL database ``url``;
    return the number of rows copied."""
    import psycopg

    create_schema(url, service_key)
    source = sqlite3.connect(f"file:{sqlite_file}?mode=ro", uri=True)
    total = 0
    try:
        tables = [
            str(r[0])
            for r in source.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if str(r[0]) not in _SKIPPED
        ]
        with psycopg.connect(url) as conn:
            pg_columns: dict[str, list[str]] = {}
            for table, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
            ):
                pg_columns.setdefault(table, []).append(column)
            for table in tables:
                target = _pg_name(table, set(pg_columns))
                columns = [str(r[1]) for r in source.execute(f'PRAGMA table_info("{table}")')]
                missing = set(columns) - set(pg_columns[target])
                if missing:
                    raise SystemExit(f"pg_copy: {target} lacks the columns {sorted(missing)}")
                selected = ", ".join(f'"{c}"' for c in columns)
                order = ""
                if table == "stored_events":  # the notification id is SQLite's row id
                    selected = f"rowid, {selected}"
                    columns = ["notification_id", *columns]
                    order = " ORDER BY rowid"
                began, count = time.perf_counter(), 0
                conn.execute(f'DELETE FROM "{target}"')  # what the schema's creation wrote
                names = ", ".join(f'"{c}"' for c in columns)
                statement = f'COPY "{target}" ({names}) FROM STDIN'
                with conn.cursor() as cur, cur.copy(statement) as copy:
                    rows = source.execute(f'SELECT {selected} FROM "{table}"{order}')
                    while chunk := rows.fetchmany(_ROWS_PER_COPY):
                        for row in chunk:
                            copy.write_row(row)
                        count += len(chunk)
                total += count
                if say:
                    print(
                        f"pg_copy: {table} -> {target}: {count:,} rows "
                        f"({time.perf_counter() - began:.1f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
            conn.execute(
                "SELECT setval(pg_get_serial_sequence('ledger_events', 'notification_id'), "
                "GREATEST((SELECT max(notification_id) FROM ledger_events), 1))"
            )
            conn.commit()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
    finally:
        source.close()
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sqlite_file", type=Path)
    parser.add_argument("url", help="an empty PostgreSQL database: postgresql://...")
    parser.add_argument("--service-key", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.sqlite_file.is_file():
        raise SystemExit(f"pg_copy: no SQLite ledger at {args.sqlite_file}")
    began = time.perf_counter()
    rows = copy_ledger(args.sqlite_file, args.url, args.service_key.read_bytes())
    print(f"pg_copy: {rows:,} rows in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
