"""Verify the read models against a rebuild from the log (``trackrecord projections verify``).

A read model's rows are what every page and API answer shows, but nothing signs
them: an edited row (a forged title in ``pf_contributions``) would be served as is.
:func:`verify_read_models` therefore replays the log into scratch read models and
compares every table, row by row, with the live ones:

- the live rows and tracking positions are read in one snapshot (one read
  transaction; ``REPEATABLE READ`` on PostgreSQL), so a projector or service
  running meanwhile does not make it report a difference;
- the scratch read models live in a temporary SQLite file (the live database
  is only read, whichever the backend) and are fed the log up to exactly the
  position each live read model has applied;
- a read model with a refresh step (reputation, matching) is refreshed in the rebuild at
  the position and Unix time its live refresh last ran (``rep_refresh``), so its
  derived scores are compared as of that same moment; and with the imported
  records and trust weights that refresh counted (``rep_refresh.inputs``,
  ``mt_refresh.inputs``,
  :class:`~projections.entries.ImportsCounted`), so an import or a new weight
  waiting for the next refresh is not a difference. Those inputs are believed
  only under their MAC (the ledger's row key, which a copy of the database
  lacks); without a valid one the rebuild counts what is imported now, and an
  edited row differs.
- of a refresh step that writes generations (reputation: :mod:`.reputation.generations`)
  only the published generation's rows are compared, without the generation numbers
  (they count refreshes, and the rebuild has had one); its counter is not compared.

The comparison is of values (SQLAlchemy's Python values for each column), so the
two backends compare alike; sealed personal columns (:mod:`.sealed`) are compared
opened, as every reader sees them (a value that does not open is a difference too).

Memory stays bounded whatever the ledger's size: both sides' rows are streamed, a chunk
at a time, into one table of the scratch file (each row as JSON under its table and
primary key), and compared there by one ordered pass of SQLite, which counts the
differing rows and returns the first few. Only the refresh step's one-row mark
(``rep_refresh``) is held in memory.
"""

from __future__ import annotations

import json
import math
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, Text, inspect, select, text, type_coerce

from .base import ReadModel
from .db import create_read_model_engine, snapshot
from .entries import (
    AcceptedEntry,
    EntryReader,
    ImportedBundles,
    ImportsCounted,
)
from .errors import ProjectionError
from .registry import read_models
from .runner import Projector, Refreshable
from .sealed import ReadModelKeyMissing, SealedText, bind_read_model_key, open_text

__all__ = ["ReadModelMismatch", "RowDifference", "verify_read_models"]

_SHOWN = 20  # differences carried in the error, at most
_CHUNK = 2000  # rows streamed at a time into the scratch file
_LIVE, _REBUILT = 0, 1  # the two sides of a compared row
_UNOPENED = "(a sealed value that does not open)"


@dataclass(frozen=True)
class RowDifference:
    """One row that differs: its table, its primary key, and what the two sides hold."""

    read_model: str
    table: str
    key: dict[str, Any]
    live: dict[str, Any] | None  # None: the row is missing from the live table
    rebuilt: dict[str, Any] | None  # None: the live table holds a row the log does not make

    def as_json(self) -> dict[str, Any]:
        return {
            "read_model": self.read_model,
            "table": self.table,
            "key": self.key,
            "live": self.live,
            "rebuilt": self.rebuilt,
        }

    def describe(self) -> str:
        where = ", ".join(f"{k}={v!r}" for k, v in self.key.items())
        if self.live is None:
            return f"{self.table} ({where}): missing (the log makes it)"
        if self.rebuilt is None:
            return f"{self.table} ({where}): a row the log does not make"
        changed = sorted(c for c in self.live if self.live[c] != self.rebuilt.get(c))
        return f"{self.table} ({where}): {', '.join(changed)} differ from the log"


class ReadModelMismatch(ProjectionError):
    """The live read models hold rows a rebuild from the log does not produce.

    ``differences`` lists up to the first 20 (by read model, table and key) and
    ``count`` says how many there are in all.
    """

    code = "read_model_mismatch"

    def __init__(self, differences: Sequence[RowDifference], count: int) -> None:
        first = differences[0]
        super().__init__(
            f"{count} read-model row(s) differ from a rebuild from the log; first: "
            f"{first.describe()}"
        )
        self.differences = tuple(differences)
        self.count = count

    def evidence(self) -> dict[str, Any]:
        return {"count": self.count, "rows": [d.as_json() for d in self.differences]}


@dataclass
class _Snapshot:
    positions: dict[str, int]
    refreshed: dict[str, tuple[int, int]]  # read model -> (position, Unix time) of its refresh
    #: the rows of each refresh step's mark table (one row): all that is held in memory
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)


class _EntriesUpTo(EntryReader):
    """The ledger's log as if it ended at ``stop``; its imports as ``counted`` (what the
    live refresh counted; None: as they are now)."""

    def __init__(self, log: EntryReader, stop: int, counted: ImportsCounted | None) -> None:
        super().__init__(log.store)
        self.stop = stop
        self.counted = counted

    def imported_bundles(self, *, as_of: ImportsCounted | None = None) -> ImportedBundles:
        return super().imported_bundles(as_of=as_of or self.counted)

    def row_key_ready(self) -> None:
        """Nothing: verifying only reads (a live refresh made the row key)."""

    def read(self, *, after: int, limit: int) -> list[AcceptedEntry]:
        if after >= self.stop:
            return []
        return [e for e in super().read(after=after, limit=limit) if e.position <= self.stop]

    def max_position(self) -> int:
        return min(super().max_position(), self.stop)


def verify_read_models(log: EntryReader, engine: Engine) -> None:
    """Rebuild every read model from ``log`` and compare it with the live one in ``engine``
    (which needs the read-model key, :func:`~projections.sealed.bind_read_model_key`).

    Read models not set up in ``engine``'s database are skipped. Returns None when
    every row matches; raises :class:`ReadModelMismatch` with the differing rows.
    """
    live = read_models(engine)
    with _scratch_engine() as scratch:
        _create_compared(scratch)
        snapshot = _copy_live(engine, live, scratch)
        for model in live:
            if model.name in snapshot.positions:
                _rebuild(log, scratch, model.name, snapshot)
        differences, count = _differences(scratch, {m.name: m for m in live})
    if differences:
        raise ReadModelMismatch(differences, count)


def _copy_live(engine: Engine, models: Sequence[ReadModel], scratch: Engine) -> _Snapshot:
    """Every live read model's position and refresh moment, in one snapshot, and its rows
    copied in the same snapshot into the scratch file's compared rows."""
    with snapshot(engine) as conn:
        present = set(inspect(conn).get_table_names())
        found = _Snapshot({}, {})
        for model in models:
            tables = model.metadata.sorted_tables
            if not all(t.name in present for t in tables):
                continue
            found.positions[model.name] = model.view.position(conn)
            for table in _compared(model):
                with scratch.begin() as out:
                    _keep(out, model, table, _LIVE, _rows(conn, table, model))
            if isinstance(model, Refreshable):
                mark = next(t for t in tables if t.name == model.refresh_tables[-1])
                found.rows[mark.name] = dict(_rows(conn, mark, model))
            refreshed = _refreshed(model, found.rows)
            if refreshed is not None:
                found.refreshed[model.name] = refreshed
        return found


def _refreshed(
    model: ReadModel, rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]]
) -> tuple[int, int] | None:
    """Where and when the live refresh step of ``model`` last ran (None: never)."""
    if not isinstance(model, Refreshable):
        return None
    for row in rows[model.refresh_tables[-1]].values():
        return int(row["position"]), int(row["at"])
    return None


def _rebuild(log: EntryReader, scratch: Engine, name: str, snapshot: _Snapshot) -> None:
    """Rebuild read model ``name`` from ``log`` as the live one stands, and keep its rows
    in the scratch file's compared rows."""
    stop = snapshot.positions[name]
    kept: set[str] = set()
    refreshed = snapshot.refreshed.get(name)
    steps = [stop] if refreshed is None else [min(refreshed[0], stop), stop]
    model = next(m for m in read_models(scratch) if m.name == name)
    counted = None if refreshed is None else _counted(log, model, snapshot.rows, refreshed)
    for step, upto in enumerate(steps):
        projector = Projector(_EntriesUpTo(log, upto, counted), scratch, [model])
        if step == 0:
            projector.setup()
        projector.catch_up()
        if refreshed is not None and step == 0:
            projector.refresh(at=refreshed[1])
            if _live_refresh(model, snapshot.rows).get("inputs") is None:
                _as_before_inputs(scratch, model)
            # The refresh's own tables are as of its position: keep them from here.
            for table in _refresh_tables(model):
                _keep_rebuilt(scratch, model, table)
                kept.add(table.name)
    for table in _compared(model):
        if table.name not in kept:
            _keep_rebuilt(scratch, model, table)


def _live_refresh(
    model: ReadModel, rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]]
) -> dict[str, Any]:
    """The live refresh step's own row (``rep_refresh``), or {} before any refresh."""
    assert isinstance(model, Refreshable)
    return next(iter(rows[model.refresh_tables[-1]].values()), {})


def _counted(
    log: EntryReader,
    model: ReadModel,
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]],
    refreshed: tuple[int, int],
) -> ImportsCounted | None:
    """What the live refresh counted besides the log, if its row says so under a valid MAC;
    else None (the rebuild counts what is imported now)."""
    row = _live_refresh(model, rows)
    text, mac = row.get("inputs"), row.get("inputs_mac")
    if not isinstance(text, str) or not isinstance(mac, str):
        return None
    counted = ImportsCounted.from_json(text)
    if counted is None or not log.counted_is_bound(*refreshed, counted, mac):
        return None
    return counted


def _as_before_inputs(scratch: Engine, model: ReadModel) -> None:
    """A live refresh from before its inputs were recorded (schema revision 0005) has
    none: the rebuilt one records none either, so the two compare alike."""
    assert isinstance(model, Refreshable)
    table = next(t for t in model.metadata.sorted_tables if t.name == model.refresh_tables[-1])
    if "inputs" in table.c:
        with scratch.begin() as conn:
            conn.execute(table.update().values(inputs=None, inputs_mac=None))


def _refresh_tables(model: ReadModel) -> list[Table]:
    """The compared tables only the refresh step writes (derived, not fed entry by entry)."""
    derived = model.refresh_tables if isinstance(model, Refreshable) else ()
    return [t for t in _compared(model) if t.name in derived]


def _compared(model: ReadModel) -> list[Table]:
    """The tables of ``model`` that are compared: all but its counters."""
    return [t for t in model.metadata.sorted_tables if t.name not in model.counter_tables]


def _hidden(model: ReadModel, table: Table) -> frozenset[str]:
    """The columns of ``table`` not compared: the generation numbers of a read model whose
    refresh writes generations (its generation tables' and its mark's), which count
    refreshes, of which a rebuild has had only its own."""
    if not model.generation_tables:
        return frozenset()
    mark = model.refresh_tables[-1] if isinstance(model, Refreshable) else None
    if table.name in model.generation_tables or table.name == mark:
        return frozenset({"generation"})
    return frozenset()


def _rows(
    conn: Connection, table: Table, model: ReadModel
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The rows of ``table`` (of ``model``'s published generation, if it is one of its
    generation tables) with their primary keys, streamed, without the columns not compared
    (:func:`_hidden`), sealed columns opened (one that does not open reads as
    :data:`_UNOPENED`, so it differs from the rebuild)."""
    hidden = _hidden(model, table)
    key = _key_columns(table, hidden)
    sealed = [c.name for c in table.columns if isinstance(c.type, SealedText)]
    columns = [
        type_coerce(c, Text).label(c.name) if c.name in sealed else c
        for c in table.columns
        if c.name not in hidden
    ]
    query = select(*columns)
    if table.name in model.generation_tables:
        query = query.where(table.c.generation == model.published_generation(conn))
    found = conn.execution_options(yield_per=_CHUNK).execute(query)
    for part in found.partitions():
        for each in part:
            row = each._asdict()
            for name in sealed:
                if row[name] is not None:
                    try:
                        row[name] = open_text(conn.dialect, row[name])
                    except ReadModelKeyMissing:
                        raise
                    except ProjectionError:
                        row[name] = _UNOPENED
            yield tuple(row[k] for k in key), row


def _key_columns(table: Table, hidden: frozenset[str] = frozenset()) -> list[str]:
    key = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
    return [name for name in key if name not in hidden]


_COMPARED = "verify_compared"
"""The scratch file's table of both sides' rows: (read model, table, key, side, row)."""


def _create_compared(scratch: Engine) -> None:
    with scratch.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {_COMPARED} (model TEXT NOT NULL, tbl TEXT NOT NULL, "
                "key TEXT NOT NULL, side INTEGER NOT NULL, row TEXT NOT NULL, "
                "PRIMARY KEY (model, tbl, key, side)) WITHOUT ROWID"
            )
        )


def _keep(
    out: Connection,
    model: ReadModel,
    table: Table,
    side: int,
    rows: Iterable[tuple[tuple[Any, ...], dict[str, Any]]],
) -> None:
    """Write ``rows`` of one side into the compared rows through ``out``, a chunk at a
    time. A row is its JSON (the Python values; ``repr`` of any other type); its key sorts
    as the differences are listed: by the repr of its sorted key items."""
    names = _key_columns(table, _hidden(model, table))
    insert = text(f"INSERT INTO {_COMPARED} VALUES (:model, :tbl, :key, :side, :row)")
    chunk: list[dict[str, Any]] = []
    for key, row in rows:
        chunk.append(
            {
                "model": model.name,
                "tbl": table.name,
                "key": repr(sorted(zip(names, key, strict=True))),
                "side": side,
                "row": json.dumps(row, sort_keys=True, default=repr),
            }
        )
        if len(chunk) >= _CHUNK:
            out.execute(insert, chunk)
            chunk = []
    if chunk:
        out.execute(insert, chunk)


def _keep_rebuilt(scratch: Engine, model: ReadModel, table: Table) -> None:
    """Keep the rebuilt rows of ``table``: read and written on one connection of the
    scratch file, so the reading cursor never blocks the writes."""
    with scratch.begin() as conn:
        _keep(conn, model, table, _REBUILT, _rows(conn, table, model))


def _differences(scratch: Engine, models: dict[str, ReadModel]) -> tuple[list[RowDifference], int]:
    """The first :data:`_SHOWN` differing rows (by read model, table and key) and how many
    differ in all: one ordered pass over the rows whose text differs, in which two rows
    that differ only in floating-point values within :func:`_same_number` are the same."""
    differing = (
        f"SELECT model, tbl, key, max(CASE WHEN side = {_LIVE} THEN row END) AS live, "
        f"max(CASE WHEN side = {_REBUILT} THEN row END) AS rebuilt FROM {_COMPARED} "
        "GROUP BY model, tbl, key HAVING count(*) = 1 OR live IS NOT rebuilt "
        "ORDER BY model, tbl, key"
    )
    out: list[RowDifference] = []
    count = 0
    with scratch.connect() as conn:
        for model, tbl, _, live_text, rebuilt_text in conn.execute(text(differing)):
            live = None if live_text is None else json.loads(live_text)
            rebuilt = None if rebuilt_text is None else json.loads(rebuilt_text)
            if live is not None and rebuilt is not None and _same_row(live, rebuilt):
                continue
            count += 1
            if len(out) < _SHOWN:
                table = next(t for t in models[model].metadata.sorted_tables if t.name == tbl)
                row: dict[str, Any] = live if live is not None else rebuilt  # type: ignore[assignment]  # HAVING: one side at least
                key = {k: row[k] for k in _key_columns(table, _hidden(models[model], table))}
                out.append(RowDifference(model, tbl, key, live, rebuilt))
    return out, count


def _same_row(live: dict[str, Any], rebuilt: dict[str, Any]) -> bool:
    return live.keys() == rebuilt.keys() and all(
        _same_number(live[k], rebuilt[k]) if isinstance(live[k], float) else live[k] == rebuilt[k]
        for k in live
    )


def _same_number(live: float, rebuilt: Any) -> bool:
    """Equal up to the last bits of a double: a refresh sums in the order it reads its rows,
    and floating-point addition is not associative, so a rebuild that reads them in another
    order (another backend, another insertion order) may differ in the 16th digit (seen at
    10^6 entries: 5,111 agreement values such as 0.7983114195900735 against ...733). A
    difference of one part in 10^9 is no difference anyone could have made on purpose to
    a score shown with three decimals; anything larger is reported."""
    return isinstance(rebuilt, float) and math.isclose(live, rebuilt, rel_tol=1e-9, abs_tol=1e-12)


@contextmanager
def _scratch_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="trackrecord-verify-") as tmp:
        engine = create_read_model_engine(f"sqlite://{Path(tmp, 'rebuilt.db').as_posix()}")
        bind_read_model_key(engine, secrets.token_bytes(32))  # values compare opened
        try:
            yield engine
        finally:
            engine.dispose()
