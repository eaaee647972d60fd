"""The SQLite backend: the library's recorder plus the Merkle node table."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from ..errors import ConcurrencyConflict, StoreError
from ..vault import SERVICE_KEY_META
from .recorder import IMPORTS_STAMP_KEYS, HeadsLeafRow, LedgerRecorder
from .rule_state import VERSION_KEY, StateRow, position_row

__all__ = ["LedgerSQLiteRecorder", "sqlite_holds_ledger", "truncate_wal"]

_EVENTS_TABLE = "stored_events"  # the library's table name on SQLite (not prefixed)


def sqlite_holds_ledger(path: str) -> bool:
    """True if the SQLite database file at ``path`` exists and has the ledger's tables.

    The file is opened read-only (``mode=ro``): a missing file stays missing and an
    existing one is not changed (not even switched to WAL mode).
    """
    if path == ":memory:" or not Path(path).is_file():
        return False
    # "file://" and an empty authority: a path that begins with "//" (a URL such as
    # sqlite:////abs/ledger.db, SQLAlchemy's spelling) would otherwise name a host
    uri = f"file://{urllib.parse.quote(os.path.abspath(path))}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            row = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (_EVENTS_TABLE,)
            ).fetchone()
    except sqlite3.DatabaseError:  # not a database, or unreadable
        return False
    return row is not None


def truncate_wal(cursor: Any, *, tries: int = 100, wait_s: float = 0.05) -> bool:
    """Checkpoint the write-ahead log into the database file and cut it to zero bytes
    (``wal_checkpoint(TRUNCATE)``), so the page versions it held are gone; True if done.

    The checkpoint cannot finish while another connection reads an older snapshot: it
    is retried ``tries`` times, ``wait_s`` apart. Past that the old frames stay in the
    WAL until a later checkpoint restarts it from its start and so overwrites them.
    """
    for _ in range(tries):
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()  # (busy, log frames, checkpointed frames)
        if row is not None and not row[0]:
            return True
        time.sleep(wait_s)
    return False


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """Writes the Merkle nodes of an append in the same transaction as its entries."""

    nodes_table = "merkle_nodes"
    checkpoints_table = "checkpoints"
    meta_table = "ledger_meta"
    trusted_table = "trusted_origins"
    trust_weights_table = "trust_weights"
    imports_table = "imported_bundles"
    data_keys_table = "data_keys"
    state_table = "rule_state"
    positions_table = "entry_positions"
    heads_leaves_table = "heads_leaves"
    heads_nodes_table = "heads_nodes"

    def holds_ledger(self) -> bool:
        """True if the ledger's tables exist in this database."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                (self.events_table_name,),
            )
            return c.fetchone() is not None

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
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.trusted_table} ("
            "origin TEXT NOT NULL, verifier_key TEXT NOT NULL, PRIMARY KEY (origin, verifier_key))"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.trust_weights_table} ("
            "origin TEXT PRIMARY KEY, weight TEXT NOT NULL, mac TEXT NOT NULL)"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.imports_table} ("
            "origin TEXT NOT NULL, person TEXT NOT NULL, size INTEGER NOT NULL, "
            "verifier_key TEXT NOT NULL, entry_count INTEGER NOT NULL, imported_at TEXT NOT NULL, "
            "report TEXT NOT NULL, bundle TEXT NOT NULL, PRIMARY KEY (origin, person, size))"
        )
        # a person's imports, in the order they are listed (every portfolio answer asks)
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {self.imports_table}_person ON {self.imports_table} "
            "(person, origin, size)"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.data_keys_table} ("
            "person TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL) "
            "WITHOUT ROWID"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.state_table} ("
            "tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL, "
            "PRIMARY KEY (tbl, key)) WITHOUT ROWID"
        )
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {self.state_table}_order ON {self.state_table} "
            "(tbl, at, key)"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.positions_table} ("
            "log_index INTEGER PRIMARY KEY, position INTEGER NOT NULL UNIQUE)"
        )
        # the heads tree of the latest checkpoint (ledger.store.checkpoint_tables); TEXT
        # compares as memcmp of the UTF-8 bytes, the heads tree's order
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.heads_leaves_table} ("
            "size INTEGER NOT NULL, idx INTEGER NOT NULL, stream TEXT NOT NULL, "
            "seq INTEGER NOT NULL, hash TEXT NOT NULL, involved TEXT, "
            "PRIMARY KEY (size, idx), UNIQUE (size, stream)) WITHOUT ROWID"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.heads_nodes_table} ("
            "size INTEGER NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, "
            "hash BLOB NOT NULL, PRIMARY KEY (size, level, idx)) WITHOUT ROWID"
        )
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = super()._insert_events(c, stored_events, **kwargs)
        nodes = kwargs.get("merkle_nodes") or ()
        if nodes:
            c.executemany(f"INSERT INTO {self.nodes_table} VALUES (?,?,?)", nodes)
        indexes = kwargs.get("log_indexes") or ()
        if indexes:
            c.executemany(
                f"INSERT INTO {self.positions_table} VALUES (?,?)",
                zip(indexes, ids or (), strict=True),
            )
        rows = kwargs.get("rule_state")
        if rows is not None:
            at = max((r[3] for r in rows), default=0)
            self._write_state(c, [*rows, position_row(max(ids or [0]), at)])
        return ids

    # -- rule state (ledger.store.rule_state) ----------------------------------------------
    def _write_state(self, c: Any, rows: Sequence[StateRow]) -> None:
        c.executemany(
            f"DELETE FROM {self.state_table} WHERE tbl=? AND key=?",
            [(r[0], r[1]) for r in rows if r[2] is None],
        )
        c.executemany(
            f"INSERT INTO {self.state_table} VALUES (?,?,?,?) "
            "ON CONFLICT (tbl, key) DO UPDATE SET value=excluded.value",
            [r for r in rows if r[2] is not None],
        )

    def write_state(self, rows: Sequence[StateRow], expect_size: int) -> None:
        """Write rule-state ``rows`` if the stored state still follows ``expect_size``
        entries (else raise :class:`ConcurrencyConflict`), in one transaction."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT value FROM {self.state_table} WHERE tbl='meta' AND key='size'")
            found = c.fetchone()
            if (0 if found is None else int(found[0])) != expect_size:
                raise ConcurrencyConflict("another process changed the rule state first")
            self._write_state(c, rows)

    def reset_state(self, version: int) -> int | None:
        """Drop the rule state kept by an older version than ``version`` and record
        ``version`` as the one the state is now built by, in one transaction; return how
        many rows were dropped, or None if the state already is at ``version``."""
        with self.datastore.transaction(commit=True) as c:
            # A write first, so the transaction holds the write lock before it reads: two
            # processes opening the ledger together check and drop one after the other.
            c.execute(
                f"DELETE FROM {self.state_table} "
                "WHERE tbl=? AND key=? AND CAST(value AS INTEGER) < ?",
                (*VERSION_KEY, version),
            )
            c.execute(f"SELECT value FROM {self.state_table} WHERE tbl=? AND key=?", VERSION_KEY)
            if c.fetchone() is not None:
                return None
            c.execute(f"DELETE FROM {self.state_table}")
            c.execute("SELECT changes()")
            dropped = int(c.fetchone()[0])
            self._write_state(c, [(*VERSION_KEY, str(version), 0)])
            return dropped

    def select_state(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        with self.datastore.transaction(commit=False) as c:
            rows = _rows_of_pairs(
                c, "r.tbl, r.key, r.value", self.state_table, ("tbl", "key"), keys
            )
        return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}

    def select_state_tables(self, tables: Sequence[str]) -> list[tuple[str, str, str]]:
        """Every row ``(table, key, value)`` of the rule-state ``tables``, in one statement:
        what one moment of the store holds."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT tbl, key, value FROM {self.state_table} "
                f"WHERE tbl IN ({','.join('?' * len(tables))})",
                tuple(tables),
            )
            return [(str(r[0]), str(r[1]), str(r[2])) for r in c.fetchall()]

    def select_state_range(
        self, table: str, after: tuple[int, str], limit: int
    ) -> list[tuple[int, str, str]]:
        """Up to ``limit`` rows ``(at, key, value)`` of ``table`` after ``after`` in
        ``(at, key)`` order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT at, key, value FROM {self.state_table} WHERE tbl=? AND (at, key) > (?, ?) "
                "ORDER BY at, key LIMIT ?",
                (table, *after, limit),
            )
            return [(int(r[0]), str(r[1]), str(r[2])) for r in c.fetchall()]

    def select_progress(
        self, keys: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], str], int, int, int]:
        """The rule-state values of ``keys`` (absent ones left out), the number of leaves
        of the Merkle tree (the log's size), of indexed positions, and the highest
        notification position, read in one transaction (one moment)."""
        with self.datastore.transaction(commit=False) as c:
            rows = _rows_of_pairs(
                c, "r.tbl, r.key, r.value", self.state_table, ("tbl", "key"), keys
            )
            c.execute(
                f"SELECT coalesce((SELECT max(idx) FROM {self.nodes_table} WHERE level = 0) "
                f"+ 1, 0), coalesce((SELECT max(log_index) FROM {self.positions_table}) + 1, 0), "
                f"coalesce((SELECT max(rowid) FROM {self.events_table_name}), 0)"
            )
            leaves, indexed, position = c.fetchone()
        values = {(str(r[0]), str(r[1])): str(r[2]) for r in rows}
        return values, int(leaves), int(indexed), int(position)

    def count_state(self, table: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT count(*) FROM {self.state_table} WHERE tbl=?", (table,))
            return int(c.fetchone()[0])

    # -- entry positions (ledger.store.position_tables) ------------------------------------
    def select_position(self, log_index: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT position FROM {self.positions_table} WHERE log_index=?", (log_index,)
            )
            row = c.fetchone()
            return None if row is None else int(row[0])

    def select_log_index(self, position: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT log_index FROM {self.positions_table} WHERE position=?", (position,))
            row = c.fetchone()
            return None if row is None else int(row[0])

    def select_stream_log_indexes(self, originator_id: uuid.UUID) -> list[tuple[int, int]]:
        """``(seq, log index)`` of every indexed entry of a stream, in seq order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT e.originator_version, p.log_index FROM {self.events_table_name} e "
                f"JOIN {self.positions_table} p ON p.position = e.rowid "
                "WHERE e.originator_id=? ORDER BY e.originator_version",
                (originator_id.hex,),
            )
            return [(int(r[0]), int(r[1])) for r in c.fetchall()]

    def select_positions(self, start: int, stop: int) -> list[tuple[int, int]]:
        """``(log index, position)`` of the indexed entries from ``start`` to ``stop``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT log_index, position FROM {self.positions_table} "
                "WHERE log_index >= ? AND log_index < ? ORDER BY log_index",
                (start, stop),
            )
            return [(int(r[0]), int(r[1])) for r in c.fetchall()]

    def select_last_indexed(self) -> tuple[int, int] | None:
        """The highest indexed ``(log index, position)``, None if none."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT log_index, position FROM {self.positions_table} "
                "ORDER BY log_index DESC LIMIT 1"
            )
            row = c.fetchone()
            return None if row is None else (int(row[0]), int(row[1]))

    def index_positions(self, limit: int) -> int:
        """Index the next ``limit`` entries the positions table does not hold yet (a
        ledger written before it existed), in one transaction; return how many."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"SELECT log_index, position FROM {self.positions_table} "
                "ORDER BY log_index DESC LIMIT 1"
            )
            row = c.fetchone()
            first, after = (0, 0) if row is None else (int(row[0]) + 1, int(row[1]))
            c.execute(
                f"SELECT rowid FROM {self.events_table_name} WHERE rowid>? ORDER BY rowid LIMIT ?",
                (after, limit),
            )
            rows = [(first + i, int(r[0])) for i, r in enumerate(c.fetchall())]
            c.executemany(f"INSERT INTO {self.positions_table} VALUES (?,?)", rows)
            return len(rows)

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

    def select_nodes_at(self, keys: Sequence[tuple[int, int]]) -> list[tuple[int, int, bytes]]:
        """The stored nodes ``(level, idx, hash)`` of the ``(level, idx)`` pairs asked for
        (absent ones left out), 400 pairs a query (:func:`_rows_of_pairs`)."""
        with self.datastore.transaction(commit=False) as c:
            rows = _rows_of_pairs(
                c, "r.level, r.idx, r.hash", self.nodes_table, ("level", "idx"), keys
            )
        return [(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]

    def count_nodes(self, level: int) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {self.nodes_table} WHERE level=?", (level,))
            return int(c.fetchone()[0])

    def insert_latest_checkpoint(self, size: int, note: str) -> tuple[int, str]:
        """Store ``note`` for ``size`` unless a checkpoint of that size or a larger one is
        stored; return the largest stored one as ``(size, note)``. One statement decides,
        under the write lock: two processes never both publish."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {self.checkpoints_table} SELECT ?, ? WHERE NOT EXISTS "
                f"(SELECT 1 FROM {self.checkpoints_table} WHERE size >= ?)",
                (size, note, size),
            )
            c.execute(f"SELECT size, note FROM {self.checkpoints_table} ORDER BY size DESC LIMIT 1")
            row = c.fetchone()
            return int(row[0]), str(row[1])

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

    def insert_heads_rows(
        self, size: int, leaves: Sequence[HeadsLeafRow], nodes: Sequence[tuple[int, int, bytes]]
    ) -> None:
        """Store rows of checkpoint ``size``'s heads tree in one transaction; a row already
        stored (the same tree written by another process) is kept."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                f"INSERT OR IGNORE INTO {self.heads_leaves_table} VALUES (?,?,?,?,?,?)",
                [(size, *leaf) for leaf in leaves],
            )
            c.executemany(
                f"INSERT OR IGNORE INTO {self.heads_nodes_table} VALUES (?,?,?,?)",
                [(size, *node) for node in nodes],
            )

    def delete_heads_rows(self, below: int, limit: int) -> int:
        """Delete up to ``limit`` leaves and ``limit`` nodes of heads trees of sizes below
        ``below``, in one transaction; return how many rows."""
        deleted = 0
        with self.datastore.transaction(commit=True) as c:
            for table, key in (
                (self.heads_leaves_table, "size, idx"),
                (self.heads_nodes_table, "size, level, idx"),
            ):
                c.execute(
                    f"DELETE FROM {table} WHERE ({key}) IN "
                    f"(SELECT {key} FROM {table} WHERE size < ? LIMIT ?)",
                    (below, limit),
                )
                c.execute("SELECT changes()")
                deleted += int(c.fetchone()[0])
        return deleted

    def select_heads_leaves(
        self, size: int, streams: Sequence[str], indexes: Sequence[int]
    ) -> list[HeadsLeafRow]:
        with self.datastore.transaction(commit=False) as c:
            rows = []
            for column, values in (("stream", streams), ("idx", indexes)):
                for at in range(0, len(values), 400):
                    chunk = values[at : at + 400]
                    c.execute(
                        f"SELECT idx, stream, seq, hash, involved FROM {self.heads_leaves_table} "
                        f"WHERE size=? AND {column} IN ({','.join('?' * len(chunk))})",
                        (size, *chunk),
                    )
                    rows += c.fetchall()
        return [_heads_leaf(r) for r in rows]

    def select_heads_after(self, size: int, stream: str) -> HeadsLeafRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT idx, stream, seq, hash, involved FROM {self.heads_leaves_table} "
                "WHERE size=? AND stream>? ORDER BY stream LIMIT 1",
                (size, stream),
            )
            row = c.fetchone()
        return None if row is None else _heads_leaf(row)

    def select_heads_width(self, size: int) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT MAX(idx) FROM {self.heads_leaves_table} WHERE size=?", (size,))
            (top,) = c.fetchone()
        return 0 if top is None else int(top) + 1

    def select_heads_nodes(
        self, size: int, keys: Sequence[tuple[int, int]]
    ) -> list[tuple[int, int, bytes]]:
        with self.datastore.transaction(commit=False) as c:
            rows = []
            for at in range(0, len(keys), 400):
                chunk = keys[at : at + 400]
                c.execute(
                    f"SELECT level, idx, hash FROM {self.heads_nodes_table} WHERE size=? AND "
                    f"(level, idx) IN (VALUES {','.join('(?,?)' for _ in chunk)})",
                    (size, *(x for key in chunk for x in key)),
                )
                rows += c.fetchall()
        return [(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]

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

    # -- trusted origins and imported bundles (ledger.imports) ---------------------------
    def insert_trusted_key(self, origin: str, verifier_key: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT OR IGNORE INTO {self.trusted_table} VALUES (?, ?)", (origin, verifier_key)
            )

    def delete_trusted_keys(self, origin_or_key: str) -> int:
        """Delete the trusted keys of an origin, or one key; return how many."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"DELETE FROM {self.trusted_table} WHERE origin=? OR verifier_key=?",
                (origin_or_key, origin_or_key),
            )
            c.execute("SELECT changes()")
            return int(c.fetchone()[0])

    def select_trusted_keys(self) -> list[tuple[str, str]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT origin, verifier_key FROM {self.trusted_table} ORDER BY 1, 2")
            return [(str(r[0]), str(r[1])) for r in c.fetchall()]

    def upsert_trust_weight(self, origin: str, weight: str, mac: str) -> None:
        """Set the declared trust weight of ``origin`` (with its row MAC)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT OR REPLACE INTO {self.trust_weights_table} VALUES (?, ?, ?)",
                (origin, weight, mac),
            )

    def select_trust_weights(self) -> list[tuple[str, str, str]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT origin, weight, mac FROM {self.trust_weights_table} ORDER BY 1")
            return [(str(r[0]), str(r[1]), str(r[2])) for r in c.fetchall()]

    def insert_import(self, row: tuple[str, str, int, str, int, str, str, str]) -> bool:
        """Store an imported bundle unless one with its key exists, and count it in the
        stored stamp (:meth:`select_imports_stamp`) in the same transaction; return True
        if stored."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {self.imports_table} VALUES (?,?,?,?,?,?,?,?)", row)
            c.execute("SELECT changes()")
            if c.fetchone()[0] != 1:
                return False
            t, (count, latest) = self.meta_table, IMPORTS_STAMP_KEYS
            c.execute(
                f"UPDATE {t} SET value=CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key=?",
                (count,),
            )
            c.execute(f"UPDATE {t} SET value=max(value, ?) WHERE key=?", (row[5], latest))
            c.execute("SELECT changes()")
            if c.fetchone()[0] != 1:  # a ledger written before the stamp was stored
                self._store_imports_stamp(c)
            return True

    def store_imports_stamp(self) -> bool:
        """Store the imports stamp if it is not (a ledger written before it was); return
        True if it was stored now."""
        with self.datastore.transaction(commit=True) as c:
            return self._store_imports_stamp(c)

    def _store_imports_stamp(self, c: SQLiteCursor) -> bool:
        t, (count, latest) = self.meta_table, IMPORTS_STAMP_KEYS
        c.execute(f"SELECT 1 FROM {t} WHERE key=?", (latest,))
        if c.fetchone() is not None:
            return False
        c.execute(f"SELECT count(*), coalesce(max(imported_at), '') FROM {self.imports_table}")
        n, at = c.fetchone()
        c.execute(f"INSERT OR REPLACE INTO {t} VALUES (?, ?), (?, ?)", (count, str(n), latest, at))
        return True

    def select_imports(self, person: str | None) -> list[tuple[str, str, int, str, int, str, str]]:
        """Imported bundles (without their text), of ``person`` or of everyone."""
        columns = "origin, person, size, verifier_key, entry_count, imported_at, report"
        with self.datastore.transaction(commit=False) as c:
            where, params = ("WHERE person=?", (person,)) if person is not None else ("", ())
            c.execute(
                f"SELECT {columns} FROM {self.imports_table} {where} ORDER BY 2, 1, 3", params
            )
            return [
                (str(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4]), str(r[5]), str(r[6]))
                for r in c.fetchall()
            ]

    def select_imports_stamp(self) -> tuple[int, str]:
        """The stored stamp: two look-ups by key; on a ledger written before it was stored,
        counted from the table."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT key, value FROM {self.meta_table} WHERE key IN (?, ?)", IMPORTS_STAMP_KEYS
            )
            stored = dict(c.fetchall())
            if len(stored) < 2:
                c.execute(
                    f"SELECT count(*), coalesce(max(imported_at), '') FROM {self.imports_table}"
                )
                count, latest = c.fetchone()
                return int(count), str(latest)
            return int(stored[IMPORTS_STAMP_KEYS[0]]), str(stored[IMPORTS_STAMP_KEYS[1]])

    def select_import_bundle(self, origin: str, person: str, size: int) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT bundle FROM {self.imports_table} WHERE origin=? AND person=? AND size=?",
                (origin, person, size),
            )
            row = c.fetchone()
            return None if row is None else str(row[0])

    # -- data keys (ledger.vault) -----------------------------------------------------------
    def insert_data_keys(
        self, keys: Sequence[tuple[str, bytes]], created_at: str, key_id: str
    ) -> None:
        with self.datastore.transaction(commit=True) as c:
            # Only while the ledger's service key is still ``key_id``: a process started
            # before a rotation must not add a key wrapped under the old service key.
            c.executemany(
                f"INSERT INTO {self.data_keys_table} SELECT ?, ?, ? WHERE EXISTS "
                f"(SELECT 1 FROM {self.meta_table} WHERE key=? AND value=?) "
                "ON CONFLICT (person) DO NOTHING",
                [
                    (person, wrapped, created_at, SERVICE_KEY_META, key_id)
                    for person, wrapped in keys
                ],
            )

    def select_data_keys(self, persons: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self.datastore.transaction(commit=False) as c:
            for i in range(0, len(persons), 500):
                part = list(persons[i : i + 500])
                c.execute(
                    f"SELECT person, wrapped FROM {self.data_keys_table} "
                    f"WHERE person IN ({','.join('?' * len(part))})",
                    part,
                )
                found.update((str(r[0]), bytes(r[1])) for r in c.fetchall())
        return found

    def delete_data_key(self, person: str) -> bool:
        """Delete ``person``'s row so that no database file keeps its bytes (see
        :meth:`_scrubbing_write`); True if there was one."""
        (changed,) = self._scrubbing_write(
            [(f"DELETE FROM {self.data_keys_table} WHERE person=?", (person,))]
        )
        return bool(changed)

    def rewrap_data_keys(
        self, rewrap: Callable[[bytes], bytes], old_key_id: str, new_key_id: str
    ) -> int:
        """Wrap every data key anew (``rewrap``) and record ``new_key_id``, in one
        transaction that takes the write lock first, so no data key is added under the
        old service key meanwhile; then scrub the old wrappings from the files (see
        :meth:`_scrubbing_write`). Returns how many keys were rewrapped."""
        rows: list[tuple[bytes, str]] = []

        def statements(c: Any) -> list[tuple[str, Sequence[Any]]]:
            c.execute(f"SELECT person, wrapped FROM {self.data_keys_table}")
            rows.extend((rewrap(bytes(w)), str(p)) for p, w in c.fetchall())
            update = f"UPDATE {self.data_keys_table} SET wrapped=? WHERE person=?"
            return [(update, row) for row in rows]

        meta = f"UPDATE {self.meta_table} SET value=? WHERE key=? AND value=?"
        (changed, *_) = self._scrubbing_write(
            [(meta, (new_key_id, SERVICE_KEY_META, old_key_id))], then=statements
        )
        if not changed:
            raise StoreError(
                f"the ledger's service key is no longer {old_key_id}: rotated by another process"
            )
        return len(rows)

    def _scrubbing_write(
        self,
        statements: Sequence[tuple[str, Sequence[Any]]],
        *,
        then: Callable[[Any], Sequence[tuple[str, Sequence[Any]]]] | None = None,
    ) -> list[int]:
        """Run ``statements`` in one transaction so that the bytes they delete or overwrite
        stay in no database file; return each statement's number of changed rows.

        ``secure_delete`` makes SQLite overwrite freed cells with zeros; the new pages go
        to the WAL, and a ``TRUNCATE`` checkpoint copies them into the database file and
        cuts the WAL (which held the pages as they were) to zero bytes. The checkpoint
        cannot finish while another connection reads an older snapshot: it is retried
        for a few seconds; past that, the old WAL frames stay until SQLite's next
        checkpoint restarts the WAL. ``then`` gives further statements, computed inside
        the transaction (after the first statement took the write lock), if the first
        one changed a row.
        """
        changes: list[int] = []
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("PRAGMA secure_delete")
            before = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA secure_delete=ON")
            try:
                with conn.transaction(commit=True) as c:

                    def run(batch: Sequence[tuple[str, Sequence[Any]]]) -> None:
                        for sql, params in batch:
                            c.execute(sql, params)
                            c.execute("SELECT changes()")
                            changes.append(int(c.fetchone()[0]))

                    run(statements)
                    if then is not None and changes and changes[0]:  # more, made in here
                        run(then(c))
                truncate_wal(cursor)
            finally:
                cursor.execute(f"PRAGMA secure_delete={before}")
        return changes


_IS_A_LEDGER_RECORDER: type[LedgerRecorder] = LedgerSQLiteRecorder  # checked by mypy


def _heads_leaf(row: Sequence[Any]) -> HeadsLeafRow:
    return (int(row[0]), str(row[1]), int(row[2]), str(row[3]), row[4])


def _rows_of_pairs(
    c: Any, columns: str, table: str, key: tuple[str, str], pairs: Sequence[tuple[Any, Any]]
) -> list[Any]:
    """``columns`` of the rows of ``table`` whose ``key`` columns hold one of ``pairs``,
    400 pairs a query (SQLite's parameter limit). A join, not "(a, b) IN (VALUES ...)":
    SQLite answers a row-value IN list by scanning the whole table, a join by one
    primary-key search a pair."""
    rows: list[Any] = []
    for i in range(0, len(pairs), 400):
        part = pairs[i : i + 400]
        c.execute(
            f"SELECT {columns} FROM (VALUES {','.join(['(?,?)'] * len(part))}) AS wanted "
            f"JOIN {table} AS r ON r.{key[0]} = wanted.column1 AND r.{key[1]} = wanted.column2",
            [x for pair in part for x in pair],
        )
        rows += c.fetchall()
    return rows
