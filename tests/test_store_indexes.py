"""The store's own indexes (issue 13): every portfolio answer lists the person's imported
bundles, so they are found through an index on ``(person, origin, size)``, the order they
are listed in, not by reading every import of the ledger. A ledger written before the
index existed gets it when it is next opened for writing (``trackrecord migrate``,
``serve``): the store's tables and indexes are created if missing at every such open."""

from __future__ import annotations

import sqlite3

import psycopg

from ledger.store import open_store


def _index_columns(url: str) -> list[str]:
    """The definitions of the indexes on the imported bundles' table, other than its key."""
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            rows = db.execute(
                "SELECT sql FROM sqlite_master WHERE type='index' "
                "AND tbl_name='imported_bundles' AND sql IS NOT NULL"
            ).fetchall()
        return [str(r[0]) for r in rows]
    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'ledger_imported_bundles' "
            "AND indexdef NOT LIKE '%UNIQUE%'"
        ).fetchall()
    return [str(r[0]) for r in rows]


def _drop_index(url: str) -> None:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            db.execute("DROP INDEX imported_bundles_person")
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP INDEX ledger_imported_bundles_person")


def test_imports_are_indexed_by_person_also_on_a_ledger_written_before(database_url: str) -> None:
    open_store(database_url).close()
    (index,) = _index_columns(database_url)
    assert "(person, origin, size)" in index
    _drop_index(database_url)  # as a ledger written before the index existed
    assert _index_columns(database_url) == []
    open_store(database_url).close()
    (again,) = _index_columns(database_url)
    assert again == index
