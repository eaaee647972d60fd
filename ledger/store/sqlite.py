"""The SQLite backend: the library's recorder plus the Merkle node table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

__all__ = ["LedgerSQLiteRecorder"]


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """Writes the Merkle nodes of an append in the same transaction as its entries."""

    nodes_table = "merkle_nodes"

    def construct_create_table_statements(self) -> list[str]:
        statements: list[str] = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.nodes_table} ("
            "level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
            "PRIMARY KEY (level, idx)) WITHOUT ROWID"
        )
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = super()._insert_events(c, stored_events, **kwargs)
        nodes = kwargs.get("merkle_nodes") or ()
        if nodes:
            c.executemany(f"INSERT INTO {self.nodes_table} VALUES (?,?,?)", nodes)
        return ids

    def select_node(self, level: int, idx: int) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT hash FROM {self.nodes_table} WHERE level=? AND idx=?", (level, idx))
            row = c.fetchone()
            return None if row is None else bytes(row[0])

    def select_nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT idx, hash FROM {self.nodes_table} "
                "WHERE level=? AND idx>=? AND idx<? ORDER BY idx",
                (level, start, stop),
            )
            return [(int(r[0]), bytes(r[1])) for r in c.fetchall()]

    def count_nodes(self, level: int) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.nodes_table} WHERE level=?", (level,))
            return int(c.fetchone()[0])
