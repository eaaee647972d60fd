"""The rule state kept in the store: :class:`StoredState`, the store-backed twin of
:class:`~ledger.state.LedgerState`.

Each table of the state is one range of the store's ``rule_state`` table
(``table, key, value``, primary key ``(table, key)``; rows in the form of
:mod:`ledger.state_rows`). A look-up is one indexed read, so checking a
statement costs O(log n) in the ledger's size and opening a ledger reads
nothing.

While a batch is open (:meth:`StoredState.begin`), changes stay in the
tables' pending overlay and what was read is cached; :meth:`StoredState.changes`
gives the rows the store writes in the same transaction as the batch's entries,
and :meth:`StoredState.rollback` forgets them, so a refused batch leaves no trace.
Nothing is cached outside a batch: a decision never rests on what another
process may since have changed, and a batch decided on rows another writer
changed meanwhile fails on the log's next leaf (the store's unique key) and is
decided again.

A reader that consults many rows at once (one HTTP answer: a record's entries, each
seen through the visibility rules) takes a :meth:`StoredState.snapshot`: a read-only
view that keeps every row (and every table's size) it read until it is dropped, so
that :meth:`StoredState.prefetch` can read the rows of all the entries in one query
instead of one round trip per look-up. It never decides an append.
"""

from __future__ import annotations

from collections.abc import (
    Hashable,
    ItemsView,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    ValuesView,
)
from collections.abc import MutableMapping as _MutableMapping
from typing import Any, Generic, Protocol, TypeVar

from ..errors import RuleStateTooNew
from ..state import META_DEFAULTS, LedgerState
from ..state_rows import STATE_TABLES, decode_key, decode_value, encode_key, encode_value

__all__ = [
    "FOLLOWS_KEYS",
    "POSITION_KEY",
    "RULE_STATE_VERSION",
    "VERSION_KEY",
    "StateReader",
    "StateRow",
    "StoredState",
    "StoredTable",
    "position_row",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# The row (table, key) holding the notification position of the last entry the state
# follows from: in no table of the state (not a rule fact; the audit does not compare it).
POSITION_KEY = ("position", "")

RULE_STATE_VERSION = 2
"""The version of the rule state's derivation: bump it whenever a table of the state is
added (:data:`ledger.state_rows.STATE_TABLES`) or what a statement writes to one changes.
A store keeps the version its rule state was built by in the row :data:`VERSION_KEY`; a
store keeping an older one (or none: version 1) is built again from its log, once
(:meth:`ledger.service.LedgerService.catch_up`, ``trackrecord migrate``), since its rows
lack what the newer derivation adds for the entries written before.

1. the rule state as first kept in the store (issue 13), without a version row;
2. ``coworkers`` and ``completed_for`` (the evidence of peer and client endorsements),
   ``consents`` and ``departures`` (moving employer, leaving), and the version row.
"""

# The row (table, key) holding :data:`RULE_STATE_VERSION` as the store's rule state was
# built: like :data:`POSITION_KEY`, in no table of the state.
VERSION_KEY = ("version", "")

#: the rows :meth:`StoredState.follows` reads: the state's size, position and version
FOLLOWS_KEYS: tuple[tuple[str, str], ...] = (("meta", "size"), POSITION_KEY, VERSION_KEY)


# A row as written: (table, key, value or None to delete it, log index of the entry that
# wrote it). ``at`` orders a table's scan as the in-memory state's dicts are ordered: a
# row keeps the ``at`` of its first write.
StateRow = tuple[str, str, str | None, int]


def position_row(position: int, at: int) -> StateRow:
    """The meta row recording ``position`` as the last notification the state follows."""
    return *POSITION_KEY, encode_value(position), at


class StateReader(Protocol):
    """What reading the rule state needs of a store (:class:`ledger.store.Store` has it)."""

    def state_values(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]: ...

    def state_scan(self, table: str, *, chunk: int = ...) -> Iterator[tuple[str, str]]: ...

    def state_count(self, table: str) -> int: ...

    def state_tables(self, tables: Sequence[str]) -> list[tuple[str, str, str]]: ...

    def get_node(self, level: int, index: int) -> bytes: ...


class _Absent:
    """Marks a key known not to be in a table (cached misses, pending deletions)."""


_ABSENT = _Absent()  # the only instance: compared by identity
_NOT_CACHED = object()


class _ScanItems(ItemsView[K, V]):
    def __init__(self, table: StoredTable[K, V]) -> None:
        super().__init__(table)
        self._table = table

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return self._table.scan()


class _ScanValues(ValuesView[V]):
    def __init__(self, table: StoredTable[Any, V]) -> None:
        super().__init__(table)
        self._table = table

    def __iter__(self) -> Iterator[V]:
        return (value for _, value in self._table.scan())


class StoredTable(_MutableMapping[K, V], Generic[K, V]):
    """One table of a :class:`StoredState`: a mapping read from the store by key."""

    def __init__(self, owner: StoredState, name: str, defaults: dict[K, V] | None = None):
        self._owner = owner
        self.name = name
        self._defaults: dict[K, V] = defaults or {}
        self._pending: dict[K, tuple[V | _Absent, int]] = {}
        self._cache: dict[K, V | _Absent] = {}
        self._count: int | None = None  # the table's size, kept by a snapshot
        # the key of the table's first stored row (_ABSENT: none), read once a batch
        self._first_stored: K | _Absent | None = None

    # -- reading ---------------------------------------------------------------------------
    def _load(self, key: K) -> V | _Absent:
        # The rules ask some 20 look-ups per statement, nearly all answered from the
        # batch's pending changes or cache: one dict probe each, no exception for a miss.
        pending = self._pending.get(key)
        if pending is not None:
            return pending[0]
        cached = self._cache.get(key, _NOT_CACHED)
        if cached is not _NOT_CACHED:
            return cached  # type: ignore[return-value]
        found = self._owner.fetch([(self.name, key)])
        return found.get((self.name, key), _ABSENT)  # type: ignore[no-any-return]

    def get(self, key: K, default: Any = None) -> Any:
        """``self[key]``, or ``default`` if absent (without raising and catching a
        ``KeyError``, as :meth:`Mapping.get` would for every miss)."""
        value = self._load(key)
        return default if value is _ABSENT else value

    def _found(self, key: K, text: str | None) -> V | _Absent:
        """The value stored as ``text`` (None: no row), remembered while a batch is open."""
        value: V | _Absent = (
            self._defaults.get(key, _ABSENT) if text is None else decode_value(self.name, text)
        )
        if self._owner.caching:
            self._cache[key] = value
        return value

    def __getitem__(self, key: K) -> V:
        value = self._load(key)
        if value is _ABSENT:
            raise KeyError(key)
        return value  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        return self._load(key) is not _ABSENT  # type: ignore[arg-type]

    def scan(self, *, chunk: int = 1000) -> Iterator[tuple[K, V]]:
        """Every ``(key, value)`` of the table in the order the keys were first written
        (as a dict's insertion order), the pending changes applied: a range read, ``chunk``
        rows a query."""
        seen: set[K] = set()
        for key_text, text in self._owner.store.state_scan(self.name, chunk=chunk):
            key: Any = decode_key(self.name, key_text)
            seen.add(key)
            pending = self._pending.get(key)
            value = decode_value(self.name, text) if pending is None else pending[0]
            if not isinstance(value, _Absent):
                yield key, value
        for key, (value, _) in list(self._pending.items()):
            if key not in seen and not isinstance(value, _Absent):
                yield key, value

    def __iter__(self) -> Iterator[K]:
        return (key for key, _ in self.scan())

    def items(self) -> ItemsView[K, V]:
        return _ScanItems(self)

    def values(self) -> ValuesView[V]:
        return _ScanValues(self)

    def __len__(self) -> int:
        """The stored rows counted, corrected by the pending changes (one indexed read of
        their keys), never a scan: a rule asking while a batch is open costs no more than
        one outside it."""
        if self._count is not None:
            return self._count
        count = self._owner.store.state_count(self.name)
        if self._owner.read_only:  # a snapshot keeps what it read, sizes too
            self._count = count
        if self._pending:
            stored = self._owner.store.state_values(
                [(self.name, encode_key(self.name, key)) for key in self._pending]
            )
            for key, (value, _) in self._pending.items():
                was = (self.name, encode_key(self.name, key)) in stored
                count += (not isinstance(value, _Absent)) - was
        return count

    def __bool__(self) -> bool:
        """Whether the table holds a row: a pending one, else the first row of a range
        read (not a count, which reads every row: ``if not state.erased`` is asked for
        every statement appended). Inside a batch (and a snapshot) that first stored row is
        read once and kept, as every row read there is: asked for each of a batch's 1,000
        statements, it was one round trip each (bench/README.md, issue 13)."""
        if self._count is not None:
            return self._count > 0
        if any(not isinstance(value, _Absent) for value, _ in self._pending.values()):
            return True
        if self._owner.caching:
            if self._first_stored is None:
                row = next(self._owner.store.state_scan(self.name, chunk=1), None)
                first: Any = _ABSENT if row is None else decode_key(self.name, row[0])
                self._first_stored = first
            if isinstance(self._first_stored, _Absent):
                return False  # no stored row, no pending one
            if self._first_stored not in self._pending:
                return True  # a stored row this batch did not delete
        # pending deletions hide at most len(self._pending) stored rows
        return next(self.scan(chunk=len(self._pending) + 1), None) is not None

    # -- changing (pending until the batch's rows are written) ------------------------------
    def __setitem__(self, key: K, value: V) -> None:
        self._owner.writable()
        self._pending[key] = (value, self._owner.size)

    def __delitem__(self, key: K) -> None:
        self._owner.writable()
        if key not in self:
            raise KeyError(key)
        self._pending[key] = (_ABSENT, self._owner.size)

    def changes(self) -> Iterator[StateRow]:
        """The pending changes as rows (value None: delete)."""
        for key, (value, at) in self._pending.items():
            text = None if isinstance(value, _Absent) else encode_value(value)
            yield self.name, encode_key(self.name, key), text, at

    def reset(self) -> None:
        self._pending.clear()
        self._cache.clear()
        self._count = None
        self._first_stored = None


class StoredState(LedgerState):
    """The rule state read from (and, batch by batch, written to) a store's ``rule_state``."""

    def __init__(self, store: StateReader) -> None:  # no super().__init__: no in-memory tables
        self.store = store
        self.caching = False
        self.read_only = False  # a snapshot (:meth:`snapshot`)
        self._journal = None
        self.named: str | None = None  # the ledger's name from the store's settings
        self._tables: dict[str, StoredTable[Any, Any]] = {}
        for name in STATE_TABLES:
            defaults = dict(META_DEFAULTS) if name == "meta" else None
            table: StoredTable[Any, Any] = StoredTable(self, name, defaults)
            self._tables[name] = table
            setattr(self, name, table)

    def snapshot(self) -> StoredState:
        """A read-only view of the stored state that keeps every row, and every table's
        size, it reads (misses too) for as long as it is used: for one reader's many
        look-ups (one HTTP answer), made one query per round by :meth:`prefetch`. It sees
        what was committed when it first read each row, so it is taken after the state
        caught up, and dropped with the answer; nothing it holds decides an append."""
        view = StoredState(self.store)
        view.named = self.named
        view.caching = view.read_only = True
        return view

    def tables_at_once(self, names: Sequence[str]) -> LedgerState:
        """The tables ``names`` (and ``meta``) of the stored state as an in-memory
        :class:`~ledger.state.LedgerState`, read by one statement: one moment of the store,
        whose ``size`` is the log's size at that moment (appends write the state in the
        transaction of their entries). For a reader that needs whole tables consistent
        with each other and with the size (a checkpoint's heads tree), without holding a
        lock or a transaction open while it computes; the other tables stay empty."""
        state = LedgerState(origin=self.named)
        for table, key, value in self.store.state_tables(["meta", *names]):
            getattr(state, table)[decode_key(table, key)] = decode_value(table, value)
        return state

    def writable(self) -> None:
        """Raise if this is a snapshot: a read-only view takes no changes."""
        if self.read_only:
            raise RuntimeError("a snapshot of the rule state is read-only")

    def fetch(self, wanted: Iterable[tuple[str, Hashable]]) -> dict[tuple[str, Hashable], Any]:
        """Read the values of ``(table, key)`` pairs in one query; absent ones are left out."""
        pairs = list(dict.fromkeys(wanted))
        encoded = [(t, encode_key(t, k)) for t, k in pairs]  # once: a batch asks ~8,000
        texts = self.store.state_values(encoded)
        out: dict[tuple[str, Hashable], Any] = {}
        for (table, key), stored in zip(pairs, encoded, strict=True):
            value = self._tables[table]._found(key, texts.get(stored))
            if value is not _ABSENT:
                out[(table, key)] = value
        return out

    def prefetch(self, wanted: Iterable[tuple[str, Hashable]]) -> None:
        """Cache, in one query, the rows a batch (or a snapshot's reader) is about to
        consult; outside a batch and a snapshot, nothing (nothing is kept there)."""
        if self.caching:
            todo = [
                (t, k)
                for t, k in wanted
                if k not in self._tables[t]._cache and k not in self._tables[t]._pending
            ]  # fmt: skip
            if todo:
                self.fetch(todo)

    def follows(self) -> tuple[int, int]:
        """How many entries the stored state follows from, and the notification position
        of the last of them, read together (one query: one moment).

        Raises :class:`~ledger.errors.RuleStateTooNew` if the version row, read in the
        same query, names a newer :data:`RULE_STATE_VERSION` than this code's: a newer
        version rebuilt the state since this process checked it, and every catch-up and
        append (which catches up first) stops before writing rows in the older layout."""
        return self.followed(self.store.state_values(FOLLOWS_KEYS))

    def followed(self, texts: Mapping[tuple[str, str], str]) -> tuple[int, int]:
        """:meth:`follows` from the rows of :data:`FOLLOWS_KEYS` read already (absent ones
        left out): with :meth:`ledger.store.Store.progress`, in the query that also reads
        how far the log has come."""
        size_key = ("meta", "size")
        stored = texts.get(VERSION_KEY)
        if stored is not None and int(stored) > RULE_STATE_VERSION:
            raise RuleStateTooNew(stored=int(stored), known=RULE_STATE_VERSION)
        size = self._tables["meta"]._found("size", texts.get(size_key))
        position = texts.get(POSITION_KEY)
        return int(size), 0 if position is None else int(position)  # type: ignore[arg-type]

    # -- batches ------------------------------------------------------------------------------
    def begin(self) -> None:
        self.writable()
        if self.caching:
            raise RuntimeError("a batch is already open")
        self._reset()
        self.caching = True

    def changes(self) -> list[StateRow]:
        """The rows the open batch changed (value None: delete)."""
        return [row for table in self._tables.values() for row in table.changes()]

    def commit(self) -> None:
        self._reset()

    def rollback(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.caching = False
        for table in self._tables.values():
            table.reset()
