"""Write batches: the rows a read model derives from a run of entries, written in few statements.

Applying entries one statement at a time costs a round trip each; a rebuild of
10^6 entries needs the writes grouped. A read model's handlers therefore only
*record* what to write, as named statements with their parameters, and the
batch executes each statement once for all its parameter sets
(``executemany``), in three phases:

1. ``insert`` — rows keyed by a never-reused id (a statement id, a person, a key);
2. ``derive`` — statements that read rows of phase 1 (``INSERT … SELECT``,
   ``UPDATE … SET x = (SELECT …)``), and updates that set columns to values
   given by the entry alone;
3. ``delete`` — removals (a withdrawn contribution, a revoked endorsement).

Running the phases in this order gives the same tables as running the entries
one by one, because (a) no key is deleted and then inserted again (ids are
never reused; tables that can be re-inserted, like roles, go through a
:class:`NetSet`), (b) updates of one statement keep their log order and
updates of different statements touch different columns, and (c) a deleted row
is never updated afterwards (the ledger's rules forbid acting on withdrawn or
revoked things). Derived rows (the matching skill index, committed hours) are
maintained after the three phases by the read model's ``finish`` step, from
deltas and recomputations that do not depend on where batches begin and end;
the property tests check exactly that, against random batch sizes, stops and
crashes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import ClauseElement, Connection, Executable, Table, tuple_
from sqlalchemy.sql.compiler import SQLCompiler

from .sealed import SealedText, seal_text

__all__ = ["NetSet", "Phase", "WriteBatch", "executemany"]

_INSERTS: dict[Table, Executable] = {}
_COMPILED: dict[tuple[int, str], tuple[Executable, SQLCompiler, frozenset[str]]] = {}


def executemany(
    conn: Connection, statement: Executable, params: Sequence[Mapping[str, Any]]
) -> None:
    """Run ``statement`` once per parameter set, straight through the DB-API driver.

    The statement is compiled once per dialect and cached; SQLAlchemy's own
    ``executemany`` re-processes every parameter set, which costs more than the
    database's work for the small rows of the read models. Statements with
    literal values keep them (``Compiled.params`` are the defaults).
    """
    if not params:
        return
    key = (id(statement), conn.dialect.name)
    cached = _COMPILED.get(key)
    if cached is None or cached[0] is not statement:
        assert isinstance(statement, ClauseElement)
        compiled_now = statement.compile(dialect=conn.dialect)
        assert isinstance(compiled_now, SQLCompiler)
        sealed = frozenset(
            n for n, b in compiled_now.binds.items() if isinstance(b.type, SealedText)
        )
        cached = _COMPILED[key] = (statement, compiled_now, sealed)
    compiled, sealed = cached[1], cached[2]
    defaults = compiled.params
    if any(name not in params[0] for name in defaults):
        params = [{**defaults, **p} for p in params]
    if sealed:  # the one bind processing kept: personal columns are sealed (.sealed)
        params = [
            {**p, **{n: seal_text(conn.dialect, p[n]) for n in sealed if p.get(n) is not None}}
            for p in params
        ]
    names = compiled.positiontup
    if names is None:
        conn.exec_driver_sql(str(compiled), list(params))
        return
    if len(names) == 1:
        rows: list[Any] = [(p[names[0]],) for p in params]
    else:
        get = itemgetter(*names)
        rows = [get(p) for p in params]
    conn.exec_driver_sql(str(compiled), rows)


class Phase:
    """The order in which recorded statements run (see the module docstring)."""

    INSERT = 0
    DERIVE = 1
    DELETE = 2


@dataclass
class NetSet:
    """Membership of keys in a table whose rows come and go (a role granted, revoked, granted).

    Only the net effect of the batch is written: every touched key is deleted,
    then the present ones are inserted.
    """

    table: Table
    key_columns: tuple[str, ...]
    present: dict[tuple[Any, ...], bool] = field(default_factory=dict)

    def add(self, *key: Any) -> None:
        self.present[key] = True

    def discard(self, *key: Any) -> None:
        self.present[key] = False

    def flush(self, conn: Connection) -> None:
        if not self.present:
            return
        cols = [self.table.c[name] for name in self.key_columns]
        keys = list(self.present)
        for start in range(0, len(keys), 500):
            conn.execute(self.table.delete().where(tuple_(*cols).in_(keys[start : start + 500])))
        rows = [
            dict(zip(self.key_columns, key, strict=True)) for key, on in self.present.items() if on
        ]
        if rows:
            conn.execute(self.table.insert(), rows)
        self.present.clear()


class WriteBatch:
    """Statements recorded by a read model's handlers, executed together by :meth:`flush`."""

    def __init__(self) -> None:
        self._inserts: dict[Table, list[Mapping[str, Any]]] = {}
        self._buckets: dict[tuple[int, Hashable], tuple[Executable, list[Mapping[str, Any]]]] = {}
        self._sets: list[NetSet] = []
        self.touched: dict[str, set[Any]] = {}

    def insert(self, table: Table, row: Mapping[str, Any]) -> None:
        """Insert ``row`` into ``table`` (phase 1)."""
        rows = self._inserts.get(table)
        if rows is None:
            rows = self._inserts[table] = []
        rows.append(row)

    def add(
        self, phase: int, name: Hashable, statement: Executable, params: Mapping[str, Any]
    ) -> None:
        """Run ``statement`` with ``params`` in ``phase``; ``name`` identifies the statement."""
        key = (phase, name)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = (statement, [])
        bucket[1].append(params)

    def net_set(self, table: Table, *key_columns: str) -> NetSet:
        """The :class:`NetSet` of ``table`` for this batch (created on first use)."""
        for s in self._sets:
            if s.table is table:
                return s
        s = NetSet(table, key_columns)
        self._sets.append(s)
        return s

    def touch(self, kind: str, keys: Iterable[Any]) -> None:
        """Remember keys whose derived rows must be recomputed after the batch."""
        self.touched.setdefault(kind, set()).update(keys)

    def flush(self, conn: Connection) -> None:
        """Execute everything recorded, phase by phase, in ``conn``'s transaction."""
        for s in self._sets:
            s.flush(conn)
        for table, rows in self._inserts.items():
            statement = _INSERTS.get(table)
            if statement is None:
                statement = _INSERTS[table] = table.insert()
            executemany(conn, statement, rows)
        self._inserts.clear()
        for phase in (Phase.INSERT, Phase.DERIVE, Phase.DELETE):
            for (p, _), (statement, params) in self._buckets.items():
                if p == phase:
                    executemany(conn, statement, list(params))
        self._buckets.clear()
