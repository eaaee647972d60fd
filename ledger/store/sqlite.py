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
    checkpoints_table = "checkpoints"
    meta_table = "ledger_meta"

    def construct_create_table_statements(self) -> list[str]:
        statements: list[str] = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.nodes_table} ("
            "level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
            "PRIMARY KEY (level, idx)) WITHOUT ROWID"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints_table} ("
            "size INTEGER PRIMARY KEY, note TEXT NOT NULL)"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.meta_table} ("
            "key TEXT PRIMARY KEY, value TEXT NOT NULL)"
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

    def insert_checkpoint(self, size: int, note: str) -> str:
        """Store ``note`` for ``size`` unless one exists; return the stored note."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {self.checkpoints_table} VALUES (?, ?)", (size, note))
            c.execute(f"SELECT note FROM {self.checkpoints_table} WHERE size=?", (size,))
            return str(c.fetchone()[0])

    def select_checkpoint(self, size: int | None) -> tuple[int, str] | None:
        """The checkpoint of ``size`` (the largest one if None), as ``(size, note)``."""
        with self.datastore.transaction(commit=False) as c:
            if size is None:
                c.execute(
                    f"SELECT size, note FROM {self.checkpoints_table} ORDER BY size DESC LIMIT 1"
                )
            else:
                c.execute(f"SELECT size, note FROM {self.checkpoints_table} WHERE size=?", (size,))
            row = c.fetchone()
            return None if row is None else (int(row[0]), str(row[1]))

    def select_checkpoint_sizes(self) -> list[int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT size FROM {self.checkpoints_table} ORDER BY size")
            return [int(r[0]) for r in c.fetchall()]

    def set_meta(self, key: str, value: str) -> str:
        """Set ``key`` once; return the value stored (the first one wins)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {self.meta_table} VALUES (?, ?)", (key, value))
            c.execute(f"SELECT value FROM {self.meta_table} WHERE key=?", (key,))
            return str(c.fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT value FROM {self.meta_table} WHERE key=?", (key,))
            row = c.fetchone()
            return None if row is None else str(row[0])
