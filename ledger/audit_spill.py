"""The audit's re-derived rule state on disk, once it is large: a temporary SQLite file.

The audit folds the whole log into a rule state of its own (it trusts no stored row).
Held in memory (:class:`~ledger.state.LedgerState`) that costs a few KiB per entry
(docs/audit.md §6); past ``spill_at`` entries the audit moves it into a
:class:`SpillFile` and goes on with a :class:`~ledger.store.rule_state.StoredState`
over it: the same rules over the same interface the service appends against, its
rows in the same text form (:mod:`ledger.state_rows`), read by key and written chunk
by chunk. The file lives in a private temporary directory and is deleted when the
audit ends.

Written here rather than reusing :class:`ledger.store.Store`: the spill needs only
the rule-state table, no durability (``synchronous=OFF``, no journal: a crash loses
nothing the audit cannot derive again) and no service key or event store.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .state import LedgerState
from .state_rows import STATE_TABLES, encode_key, encode_value
from .store.rule_state import StateRow, StoredState

__all__ = ["SpillFile", "spill"]

_PAGE = 1000  # rows per read of a scan


class SpillFile:
    """A rule-state table in a temporary SQLite file (a :class:`StateReader` that is also
    written to). Used from one thread."""

    def __init__(self, *, cache_mib: int = 64) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="trackrecord-audit-")
        self.path = Path(self._dir.name) / "state.db"
        self._db = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{cache_mib * 1024}"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE rule_state (tbl TEXT NOT NULL, key TEXT NOT NULL, "
            "value TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID"
        )
        self._db.execute("CREATE INDEX rule_state_order ON rule_state (tbl, at, key)")

    # -- StateReader ----------------------------------------------------------------------
    def state_values(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        found: dict[tuple[str, str], str] = {}
        for i in range(0, len(keys), 400):
            part = keys[i : i + 400]
            rows = self._db.execute(
                "SELECT tbl, key, value FROM rule_state WHERE (tbl, key) IN "
                f"(VALUES {','.join(['(?,?)'] * len(part))})",
                [x for pair in part for x in pair],
            )
            found.update(((str(t), str(k)), str(v)) for t, k, v in rows)
        return found

    def state_scan(self, table: str, *, chunk: int = _PAGE) -> Iterator[tuple[str, str]]:
        """A table's ``(key, value)`` rows in ``(at, key)`` order, ``chunk`` at a time (no
        cursor stays open between pages, so writes may come between them)."""
        after: tuple[int, str] | None = None
        params: tuple[object, ...]
        while True:
            if after is None:
                sql, params = "tbl=?", (table,)
            else:
                sql, params = "tbl=? AND (at, key) > (?, ?)", (table, *after)
            rows = self._db.execute(
                f"SELECT at, key, value FROM rule_state WHERE {sql} ORDER BY at, key LIMIT ?",
                (*params, chunk),
            ).fetchall()
            for _, key, value in rows:
                yield str(key), str(value)
            if len(rows) < chunk:
                return
            after = (int(rows[-1][0]), str(rows[-1][1]))

    def state_count(self, table: str) -> int:
        row = self._db.execute("SELECT count(*) FROM rule_state WHERE tbl=?", (table,))
        return int(row.fetchone()[0])

    def state_tables(self, tables: Sequence[str]) -> list[tuple[str, str, str]]:
        """Every row ``(table, key, value)`` of ``tables``, by one statement."""
        rows = self._db.execute(
            f"SELECT tbl, key, value FROM rule_state WHERE tbl IN ({','.join('?' * len(tables))})",
            tuple(tables),
        )
        return [(str(t), str(k), str(v)) for t, k, v in rows]

    def get_node(self, level: int, index: int) -> bytes:
        raise KeyError((level, index))  # the spilled state has no log of its own

    # -- writing -----------------------------------------------------------------------------
    def write(self, rows: Sequence[StateRow]) -> None:
        """Apply a batch's rows (value None: delete), keeping a row's first ``at``."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "DELETE FROM rule_state WHERE tbl=? AND key=?",
                [(r[0], r[1]) for r in rows if r[2] is None],
            )
            self._db.executemany(
                "INSERT INTO rule_state VALUES (?,?,?,?) "
                "ON CONFLICT (tbl, key) DO UPDATE SET value=excluded.value",
                [r for r in rows if r[2] is not None],
            )

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


def spill(state: LedgerState) -> tuple[StoredState, SpillFile]:
    """Move ``state`` into a new :class:`SpillFile`; return the state over it and the file.

    Each table's rows keep the order of the in-memory dicts (the order the rules see when
    they scan a table): they get ``at`` values below zero in that order, below the log
    index that any row written later gets.
    """
    file = SpillFile()
    for table in STATE_TABLES:
        items = getattr(state, table).items()
        base = -len(items) - 1
        file.write(
            [
                (table, encode_key(table, key), encode_value(value), base + i)
                for i, (key, value) in enumerate(items)
            ]
        )
    stored = StoredState(file)
    stored.named = state.named
    return stored, file
