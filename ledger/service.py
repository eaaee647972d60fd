"""The ledger application service: append signed statements, read entries.

The CLI and (later) the HTTP API are thin adapters over :class:`LedgerService`.
It checks each statement against the rules (:func:`ledger.rules.apply_entry`)
over the rule state kept in the store, and appends accepted entries together
with their Merkle nodes and the rule-state rows they change in one transaction.
When another writer got there first, it decides again; a rejected statement
leaves no trace.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from keys import key_id_for

from .canonical import b64decode
from .checkpoint import NoteVerifier
from .disclosures import Disclosure
from .entry import Entry, decode_record, encode_record, next_entry
from .errors import (
    ConcurrencyConflict,
    IntegrityViolation,
    MalformedInput,
    NotFound,
    RuleStateTooNew,
    RuleViolation,
)
from .merkle import leaf_hash, new_nodes_for_append
from .privacy import content_owner
from .replay import apply_stored
from .rollback import (
    CheckpointMemory,
    RememberedCheckpoint,
    RolledBack,
    ledger_key,
    verify_store_not_behind,
)
from .rules import apply_entry
from .state import LedgerState
from .statement import SignedStatement, check_origin, signatures_that_verify, utc_timestamp
from .store import Store
from .store.rule_state import (
    FOLLOWS_KEYS,
    RULE_STATE_VERSION,
    VERSION_KEY,
    StoredState,
    position_row,
)

__all__ = [
    "MAX_BATCH",
    "ORIGIN_KEY",
    "AppendResult",
    "LedgerService",
    "StoredEntry",
    "UpgradeProgress",
]

#: the store setting that names the ledger: its checkpoint origin
ORIGIN_KEY = "origin"

MAX_BATCH = 1000
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PARALLEL_MIN = 16  # below this, thread hand-off costs more than it saves
_MAX_ATTEMPTS = 25
_READ_CHUNK = 2000
_INDEX_CHUNK = 20_000  # entries whose positions one transaction indexes (only row keys read)


@dataclass(frozen=True)
class AppendResult:
    """Where an accepted statement landed."""

    entry: Entry
    log_index: int
    position: int


def _ignore(*_: int) -> None:
    return None


@dataclass(frozen=True)
class UpgradeProgress:
    """Who hears of the work :meth:`LedgerService.bring_up_to_date` does on a ledger an
    earlier version wrote: ``begin`` once, before the first chunk (on a large ledger it
    takes minutes), then the number of entries ``indexed`` and ``folded`` so far after
    each chunk. Nothing is called when there is nothing to do."""

    begin: Callable[[], None] = _ignore
    indexed: Callable[[int], None] = _ignore
    folded: Callable[[int], None] = _ignore


@dataclass(frozen=True)
class StoredEntry:
    """An entry read back from the store with the disclosures kept beside it."""

    entry: Entry
    disclosures: tuple[Disclosure, ...]

    def disclosed(self) -> dict[str, str]:
        return {d.field: d.value for d in self.disclosures}


def _failed_before(offset: int, checking: set[int], futures: list[Future[set[int]]]) -> bool:
    """Wait for the workers; True if a signature before ``offset`` did not verify."""
    verified: set[int] = set().union(*(f.result() for f in futures))
    return any(o < offset for o in checking - verified)


_LOG = logging.getLogger(__name__)


class _RecheckInline(Exception):
    """A signature checked on a worker thread did not verify."""


def _verify_part(jobs: list[tuple[int, bytes, SignedStatement]]) -> set[int]:
    return signatures_that_verify((o, s.statement, pk, s.signature) for o, pk, s in jobs)


class LedgerService:
    """Appends and reads entries of one ledger store. Thread-safe.

    The rule state lives in the store (:class:`~ledger.store.rule_state.StoredState`):
    opening a service reads nothing, and every look-up is an indexed read. ``state`` is
    the readers' view (no batch is ever open on it, so it never shows a change that is
    not committed); appends decide on a second one of their own, under the lock.

    With ``memory`` (the operator's :class:`~ledger.rollback.CheckpointMemory`) every
    checkpoint signed through this service is remembered there, and a store behind
    the last one remembered is refused (:meth:`verify_not_rolled_back`).
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], str] = utc_timestamp,
        memory: CheckpointMemory | None = None,
        on_erasure: Collection[Callable[[str], object]] = (),
    ) -> None:
        """``on_erasure``: the erasure subscribers (:mod:`ledger.erasure`), called with the
        erased person before their data key is destroyed. :class:`ledger.app.Ledger`
        gives the ones a ledger needs; a service built without them only destroys keys."""
        self.store = store
        self.memory = memory
        # (state-file stamp, ledger key, remembered checkpoint, store size it was verified at)
        self._signed: tuple[object, str, RememberedCheckpoint | None, int] | None = None
        self._on_erasure = tuple(on_erasure)
        self._readers = StoredState(store)  # never in a batch: read without the lock
        self.state: LedgerState = self._readers
        self._batch = StoredState(store)
        self._named_by_store()
        self._position = 0  # the highest notification position this service has seen
        self._clock = clock
        self._lock = threading.RLock()
        self._seen_lock = threading.Lock()  # guards _position for the catch-up's fast path
        self._settled = False  # a catch-up under the lock has run: the once-checks are done
        self._node_cache: dict[tuple[int, int], bytes] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._erasures_checked = False
        self._version_checked = False  # the stored rule state's version (RULE_STATE_VERSION)

    @contextlib.contextmanager
    def reading(self) -> Iterator[LedgerState]:
        """Hold the service still and yield its state, caught up with the log.

        No append runs (in this process) while the block runs.
        """
        with self._lock:
            self.catch_up()
            yield self.state

    def snapshot(self) -> LedgerState:
        """The state caught up with the log, as a view for one reader's many look-ups
        (:meth:`LedgerState.snapshot`): it keeps what it read, so a reader can fetch the
        rows it will consult in one query (:meth:`LedgerState.prefetch`) instead of one
        round trip each. Appends go on meanwhile; take a new one for a new answer."""
        self.catch_up()
        return self.state.snapshot()

    # -- bringing the stored rule state up to the log -----------------------------------
    def behind(self) -> bool:
        """True if the log holds entries the stored rule state or the positions index
        (:mod:`ledger.store.position_tables`) does not follow yet (a ledger written before
        they were kept in the store): three indexed reads."""
        return self._state_outdated() or self._state_behind() or self._positions_behind()

    def _state_outdated(self) -> bool:
        """True if the stored rule state was built by an older derivation than this
        version's (:data:`~ledger.store.rule_state.RULE_STATE_VERSION`): one indexed read,
        none once this service found it current. A state nothing built yet is not
        outdated (:meth:`_upgrade_state` stamps it). Raise :class:`RuleStateTooNew` for
        a state a newer version built: this one would write its rows in an older layout."""
        if self._version_checked:
            return False
        texts = self.store.state_values([VERSION_KEY, ("meta", "size")])
        version = texts.get(VERSION_KEY)
        if version is not None and int(version) > RULE_STATE_VERSION:
            raise RuleStateTooNew(stored=int(version), known=RULE_STATE_VERSION)
        if version is not None and int(version) == RULE_STATE_VERSION:
            self._version_checked = True
            return False
        return ("meta", "size") in texts

    def _upgrade_state(self) -> None:
        """Drop a rule state an older version built (it lacks the rows a newer derivation
        adds for its entries), so that it is folded again from the log, once; stamp a
        state nothing built yet (a fresh ledger, one from before the state was kept) with
        this version. Two processes do it one after the other, and the second finds it
        done (:meth:`~ledger.store.Store.reset_state`)."""
        self._state_outdated()
        if self._version_checked:
            return
        dropped = self.store.reset_state(RULE_STATE_VERSION)
        if dropped:
            _LOG.warning(
                "the rule state of this ledger was built by an earlier version: its %d rows "
                "were dropped and it is built again from the log, once (rule-state version "
                "%d; 'trackrecord migrate' does it ahead of time, with progress)",
                dropped,
                RULE_STATE_VERSION,
            )
        self._version_checked = True

    def _state_behind(self) -> bool:
        size, position = self._batch.follows()
        self._saw(position)
        try:
            self.store.get_node(0, size)
        except KeyError:
            return False
        return self.state.size == size  # else an append just wrote both: not behind

    def _positions_behind(self) -> bool:
        try:
            self.store.get_node(0, self.store.indexed_size())
        except KeyError:
            return False
        return True

    def catch_up(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Index the positions of (:meth:`index_positions`), and fold into the stored rule
        state, the entries they do not follow yet; return how many were folded. Normally
        none (appends write both with their entries): then this costs three indexed
        reads. ``progress`` is called with the number folded so far.

        When nothing is behind (the usual case once a first catch-up ran) that is found
        without the service's lock, from the readers' state (never the batch's, which an
        append may hold open): concurrent readers do not queue behind each other's, or an
        append's, round trips (with PostgreSQL, four each). Only the work takes the lock."""
        if self._settled and not self._behind_now():
            return 0
        return self.bring_up_to_date(
            None if progress is None else UpgradeProgress(folded=progress)
        )[1]

    def _caught_up(self) -> tuple[int, int, int | None]:
        """:meth:`catch_up`; return the store's highest position, the highest one this
        service had seen before reading it and the log's size (:meth:`_progress`; None:
        not read), for the rollback check (:meth:`_verify_not_rolled_back`) of an append:
        read by the catch-up's own query when nothing was behind."""
        if self._settled:
            progress = self._progress()
            if progress is not None:
                return progress
        self.bring_up_to_date()
        return *self._store_position(), None

    def _store_position(self) -> tuple[int, int]:
        """The store's highest position, and the highest one this service had seen before
        reading it (not after: a reader may meanwhile see what another process appended
        since, which a position read before could not hold, and is no rollback)."""
        with self._seen_lock:
            seen = self._position
        return self.store.max_position(), seen

    def bring_up_to_date(self, progress: UpgradeProgress | None = None) -> tuple[int, int]:
        """:meth:`catch_up` under the lock, the checks done once (the state's version, the
        erasures a process left half-way, the positions index, the fold), telling
        ``progress`` of any work before it starts; return how many entries were
        (indexed, folded). A process opening a ledger calls this instead of asking
        :meth:`behind` first, which repeats the same probes."""
        with self._lock:
            done = self._catch_up_locked(progress or UpgradeProgress())
            self._settled = True
            return done

    def _behind_now(self) -> bool:
        """True if the log holds an entry the stored rule state or the positions index does
        not follow: one read (:meth:`_progress`), safe without the lock. An append commits
        its entries with both, so it never makes this true."""
        return self._progress() is None

    def _progress(self) -> tuple[int, int, int] | None:
        """If the stored rule state and the positions index follow the whole log, the
        store's highest notification position, the highest one this service had seen
        before reading it (as :meth:`_store_position`) and the log's size, else None: one query
        (:meth:`~ledger.store.Store.progress`) reads the state's size, position and version,
        the log's size, the positions indexed and the highest position at one moment (it
        was five queries, each its own transaction: issue 13)."""
        with self._seen_lock:
            seen = self._position
        progress = self.store.progress(FOLLOWS_KEYS)
        size, position = self._readers.followed(progress.values)
        self._saw(position)
        if progress.log_size > size or progress.log_size > progress.indexed_size:
            return None
        # the state's own position was read at the same moment as the store's highest
        return progress.max_position, max(seen, position), progress.log_size

    def _saw(self, position: int) -> None:
        """Remember ``position`` as seen if it is the highest yet (for the rollback check)."""
        with self._seen_lock:
            self._position = max(self._position, position)

    def _catch_up_locked(self, progress: UpgradeProgress) -> tuple[int, int]:
        with self._lock:
            self._upgrade_state()
            if not self._erasures_checked:
                self._erasures_checked = True
                self._finish_erasures()
            begun = False
            indexed, folded = 0, 0
            if self._positions_behind():
                progress.begin()
                begun = True
                indexed = self.index_positions(progress=progress.indexed)
            while self._state_behind():
                if not begun:
                    progress.begin()
                    begun = True
                try:
                    folded += self._fold_chunk()
                except ConcurrencyConflict:
                    continue  # another process folded the same entries first
                progress.folded(folded)
            return indexed, folded

    def index_positions(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Index the positions of the entries written before the store kept them
        (:mod:`ledger.store.position_tables`), in chunks of their own transactions (an
        interrupted run resumes); return how many. ``progress``: called with the number
        indexed so far."""
        with self._lock:
            n, conflicts = 0, 0
            while self._positions_behind():
                try:
                    n += self.store.index_positions(limit=_INDEX_CHUNK)
                except ConcurrencyConflict:
                    conflicts += 1  # another process indexed or appended first: again
                    if conflicts >= _MAX_ATTEMPTS:
                        raise
                    continue
                if progress is not None:
                    progress(n)
            return n

    def _named_by_store(self) -> None:
        """Give both states the ledger's name from the store's settings (a ledger whose
        genesis names none is named there: 'trackrecord init', :meth:`name_ledger`)."""
        if self.state.named is None:
            self.state.named = self._batch.named = self.store.get_meta(ORIGIN_KEY)

    def _fold_chunk(self) -> int:
        """Fold the next stored entries into the stored state, in one transaction."""
        self._named_by_store()
        state = self._batch
        state.begin()
        erased: list[str] = []
        try:
            size, position = state.follows()
            records = self.store.read(after=position, limit=_READ_CHUNK)
            for rec in records:
                try:
                    entry = apply_stored(state, rec).entry
                except IntegrityViolation as exc:
                    moved = self.state.size != size  # an append wrote the state meanwhile
                    if moved and isinstance(exc.__cause__, RuleViolation):
                        raise ConcurrencyConflict("the rule state moved while folding") from exc
                    raise
                if entry.statement.type == "PersonErased":
                    erased.append(entry.statement.subject)
            if records:
                rows = [*state.changes(), position_row(records[-1].position, state.size - 1)]
                self.store.write_state(rows, expect_size=size)
                self._saw(records[-1].position)
        finally:
            state.rollback()
        for person in erased:
            self._complete_erasure(person)
        return len(records)

    def _finish_erasures(self) -> None:
        """Finish the erasures a process stopped half-way (a data key left behind). The
        erased people's data keys are looked up together, not one query per erasure in
        the ledger's history: this runs in every process, a CLI command too."""
        for person in sorted(self.store.data_key_holders(list(self.state.erased))):
            self._complete_erasure(person)

    def _complete_erasure(self, person: str, *, appended: bool = False) -> None:
        """Carry out the erasure a ``PersonErased`` entry orders (:mod:`ledger.erasure`).

        The erasure subscribers run first, then the data key is destroyed: a data key
        still present thus marks an erasure that a process stopped half-way, and any
        later catch-up finishes it. Idempotent.
        """
        if appended or self.store.has_data_key(person):
            for subscriber in self._on_erasure:
                subscriber(person)
            self.store.destroy_data_key(person)
        self.store.forget_data_key(person)

    # -- rollbacks (ledger.rollback) ----------------------------------------------------------
    def verify_not_rolled_back(self) -> None:
        """Return None if the store holds every entry this service has read and the tree
        of the last checkpoint remembered as signed; raise
        :class:`~ledger.rollback.RolledBack` otherwise (a restored backup, a rolled-back
        database), or :class:`~ledger.errors.StoreError` if the store is unreachable.

        Cheap when nothing changed: one query for the store's highest position and a
        ``stat`` of the state file; the remembered tree is compared (O(log n) nodes)
        when the file changed or the service started.
        """
        with self._lock:
            self._verify_not_rolled_back(*self._store_position())

    def _verify_not_rolled_back(
        self, store_position: int, seen: int, size: int | None = None
    ) -> None:
        """:meth:`verify_not_rolled_back` with the store's highest position read already,
        the highest position seen before it was read (:meth:`_store_position`) and, if
        read with them, the log's size (else the state's is read when a checkpoint
        memory needs it: with the operator's memory, twice an append, issue 13)."""
        with self._lock:
            if store_position < seen:
                self._node_cache.clear()
                raise RolledBack(
                    f"the store went back: its log ends at position {store_position}, but "
                    f"entries up to {seen} were already seen (by this service, or "
                    "by the store's own rule state): a backup restored under the service, or "
                    "the database rolled back. "
                    "Nothing is appended on top of it; stop the service and see "
                    "docs/operations.md",
                    seen_position=seen,
                    store_position=store_position,
                    store_size=None,
                )
            if self.memory is None:
                return
            known = self.state.size if size is None else size
            signed = self._remembered(known)
            if signed is None:
                return
            if signed.size > known:
                self.catch_up()  # another process may have appended and signed meanwhile
                known = self.state.size
            assert self._signed is not None
            stamp, key, _, verified_at = self._signed
            if verified_at == signed.size:
                return  # this tree was compared before, and the store has not shrunk since
            verify_store_not_behind(signed, store_size=known, get_node=self.store.get_node)
            self._signed = (stamp, key, signed, signed.size)

    def _remembered(self, size: int) -> RememberedCheckpoint | None:
        """The last checkpoint remembered for this ledger (cached while the file is
        unchanged), or None without a memory, or for a log of ``size`` 0."""
        if self.memory is None or size == 0:
            return None
        stamp = self.memory.stamp()
        if self._signed is not None and self._signed[0] == stamp:
            return self._signed[2]
        key = ledger_key(self.store.get_node(0, 0))
        signed = None if stamp is None else self.memory.recall(key)
        self._signed = (stamp, key, signed, -1)
        return signed

    def remember_signed(self, note: str, verifier: NoteVerifier) -> None:
        """Remember a checkpoint just signed of this ledger in :attr:`memory` (if any).

        Raises :class:`~ledger.errors.StoreError` if the state file cannot be written."""
        if self.memory is None or self.state.size == 0:
            return
        self.memory.remember(ledger_key(self.store.get_node(0, 0)), note, verifier)

    def _get_node(self, level: int, index: int) -> bytes:
        key = (level, index)
        node = self._node_cache.get(key)
        if node is None:
            node = self.store.get_node(level, index)
            if len(self._node_cache) > 4096:
                self._node_cache.clear()
            self._node_cache[key] = node
        return node

    # -- the ledger's name --------------------------------------------------------
    @property
    def origin(self) -> str | None:
        """The ledger's name, its checkpoint origin: what statements for it must name.

        None while it has none (an empty ledger; see :meth:`name_ledger`).
        """
        with self._lock:
            self.catch_up()
            return self.state.origin

    def name_ledger(self, origin: str) -> str:
        """Name the ledger ``origin`` unless it has a name already; return its name.

        A ledger whose genesis statement names it (format version 2) has that
        name; an empty one, or one whose genesis is older, takes the first name
        given here (and a genesis appended later must name it).
        Raises :class:`MalformedInput` for a name that cannot be an origin.
        """
        check_origin(origin)
        with self._lock:
            self.catch_up()
            stored = self.store.set_meta(ORIGIN_KEY, self.state.origin or origin)
            self.state.named = self._batch.named = stored
            return stored

    # -- appending -------------------------------------------------------------
    def append(self, signed: SignedStatement) -> AppendResult:
        """Append one signed statement; raise :class:`RuleViolation` if it is refused."""
        return self.append_batch([signed])[0]

    def append_batch(self, batch: Sequence[SignedStatement]) -> list[AppendResult]:
        """Append statements atomically, in order: all are accepted or none.

        Raises :class:`RuleViolation` for the first statement that breaks a rule
        (nothing is written), :class:`ConcurrencyConflict` if other writers kept
        winning the race for the log's next position.
        """
        if not batch:
            return []
        if len(batch) > MAX_BATCH:
            raise MalformedInput(
                f"a batch holds at most {MAX_BATCH} statements, got {len(batch)}", code="oversized"
            )
        with self._lock:
            state = self._batch
            for _ in range(_MAX_ATTEMPTS):
                self._verify_not_rolled_back(*self._caught_up())
                state.begin()
                try:
                    try:
                        results = self._try_append(batch)
                    except _RecheckInline:
                        # A signature failed on a worker: redo the batch checking
                        # every signature in order, so the error is the first one.
                        state.rollback()
                        state.begin()
                        results = self._try_append(batch, parallel=False)
                except ConcurrencyConflict:
                    state.rollback()
                    continue
                except BaseException:
                    state.rollback()
                    raise
                state.commit()
                return results
        raise ConcurrencyConflict(
            f"gave up after {_MAX_ATTEMPTS} attempts: other writers kept appending first"
        )

    def _prefetch(self, batch: Sequence[SignedStatement]) -> None:
        """Read, in three queries, the state rows the rules consult for most statements."""
        state = self._batch
        wanted: list[tuple[str, Hashable]] = [("meta", key) for key in _META_KEYS]
        for signed in batch:
            s = signed.statement
            wanted += [
                ("keys", s.author), ("heads", s.stream), ("statement_ids", s.id),
                ("people", s.subject), ("erased", s.subject), ("assignments", s.subject),
                ("departures", s.subject),
            ]  # fmt: skip
            contribution = _contribution_named(s.body)
            if contribution is not None:
                wanted.append(("contributions", contribution))
            wanted += _named_rows(s.body)
        for signed in batch:  # the key a registration or rotation brings (rule key_reused)
            new_key = _new_key_id(signed.statement.body)
            if new_key is not None:
                wanted.append(("keys", new_key))
        state.prefetch(wanted)
        signers = _signers(batch, state)
        persons = {p for p in signers.values() if p}
        wanted = [(table, p) for p in persons for table in ("people", "erased", "departures")]
        wanted += _evidence_rows(batch, state, signers)
        wanted += _rule_rows(batch, state, signers)
        state.prefetch(wanted)

    def _preverify(
        self, batch: Sequence[SignedStatement]
    ) -> tuple[set[int], list[Future[set[int]]]]:
        """Start verifying, on worker threads, the signatures whose keys are known.

        Returns the offsets being checked and the futures that yield the offsets
        that verified. PyNaCl releases the GIL, so the checks run on the other
        cores while the rules pass runs here; a key id names one public key
        forever, so such a signature needs no second check in the rules pass
        (which still checks that the key is *valid* at the entry's log position).
        """
        jobs = []
        for offset, signed in enumerate(batch):
            key = self._batch.keys.get(signed.statement.author)
            if key is not None:
                jobs.append((offset, key.public_key, signed))
        if len(jobs) < _PARALLEL_MIN:
            return set(), []
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="verify")
        step = -(-len(jobs) // _WORKERS)
        parts = [jobs[i : i + step] for i in range(0, len(jobs), step)]
        return {j[0] for j in jobs}, [self._pool.submit(_verify_part, part) for part in parts]

    def _try_append(
        self, batch: Sequence[SignedStatement], *, parallel: bool = True
    ) -> list[AppendResult]:
        state = self._batch
        self._prefetch(batch)
        if state.origin is None:  # read ahead with the batch's rows (_META_KEYS)
            self.state.named = None
            self._named_by_store()  # named by another process since we looked?
        first = state.size
        recorded_at = self._clock()
        checking, futures = self._preverify(batch) if parallel else (set(), [])
        entries: list[Entry] = []
        owners: list[str | None] = []
        for offset, signed in enumerate(batch):
            s = signed.statement
            entry = next_entry(state.heads.get(s.stream), s, signed.signature, recorded_at)
            try:
                s.check_disclosures(signed.disclosures)
                apply_entry(
                    state,
                    entry,
                    log_index=first + offset,
                    verify_signature=offset not in checking,
                    submitted=True,
                )
            except RuleViolation as exc:
                if futures and _failed_before(offset, checking, futures):
                    raise _RecheckInline() from exc  # an earlier signature is the first error
                if len(batch) > 1:
                    exc.message = f"statement {offset} of the batch: {exc.message}"
                    exc.args = (exc.message,)
                raise
            entries.append(entry)
            owners.append(content_owner(s, state) if s.commitments else None)
        if futures and _failed_before(len(batch), checking, futures):
            raise _RecheckInline()
        nodes = new_nodes_for_append(
            first, [leaf_hash(e.canonical) for e in entries], self._get_node
        )
        rows = [
            (e.stream, e.seq, encode_record(e, signed.disclosures), owner)
            for e, signed, owner in zip(entries, batch, owners, strict=True)
        ]
        positions = self.store.append(rows, nodes, state.changes())
        self._saw(max(positions, default=0))
        for e in entries:
            if e.statement.type == "PersonErased":
                self._complete_erasure(e.statement.subject, appended=True)
        return [
            AppendResult(e, first + i, p)
            for i, (e, p) in enumerate(zip(entries, positions, strict=True))
        ]

    # -- reading ----------------------------------------------------------------
    def read_stream(self, stream: str) -> list[StoredEntry]:
        """Return the entries of ``stream`` in seq order; raise :class:`NotFound` if empty."""
        records = self.store.read_stream(stream)
        if not records:
            raise NotFound(f"no stream {stream!r}")
        out = []
        for rec in records:
            entry, disclosures = decode_record(rec.blob, stream=stream, seq=rec.version)
            out.append(StoredEntry(entry, tuple(disclosures)))
        return out

    def read_log(self, *, after: int = 0, limit: int = 1000) -> list[tuple[int, StoredEntry]]:
        """Return ``(position, entry)`` pairs after notification position ``after``."""
        out = []
        for rec in self.store.read(after=after, limit=limit):
            entry, disclosures = decode_record(rec.blob)
            out.append((rec.position, StoredEntry(entry, tuple(disclosures))))
        return out


def _signers(batch: Sequence[SignedStatement], state: LedgerState) -> dict[str, str | None]:
    """The person each key signing in ``batch`` belongs to (None: unknown), a key that a
    registration or rotation earlier in the batch brings included (read ahead only: the
    rules decide whether it may sign)."""
    brought: dict[str, str] = {}
    signers: dict[str, str | None] = {}
    for signed in batch:
        s = signed.statement
        if s.author not in signers:
            key = state.keys.get(s.author)
            signers[s.author] = key.person if key is not None else brought.get(s.author)
        new_key = _new_key_id(s.body)
        if new_key is not None:
            brought.setdefault(new_key, s.subject)
    return signers


def _evidence_rows(
    batch: Sequence[SignedStatement], state: LedgerState, signers: Mapping[str, str | None]
) -> list[tuple[str, Hashable]]:
    """The rows an endorsement's evidence and a review request consult (rules.reviews,
    access.may_read_contribution): the contribution's reviewers, visibility and grants,
    the signer's endorsement of it and relation to its owner. A contribution claimed in
    the same batch is known from its claim. Only what to read ahead: a row missed here
    is read when the rule asks for it."""
    claimed = {
        s.statement.id: (s.statement.subject, s.statement.body.get("part"))
        for s in batch
        if s.statement.type == "ContributionClaimed"
    }
    wanted: list[tuple[str, Hashable]] = []
    for signed in batch:
        body, me = signed.statement.body, signers[signed.statement.author]
        named = _contribution_named(body)
        if named is None or me is None:
            continue
        owner: object
        part: object
        if named in claimed:
            owner, part = claimed[named]
        else:
            c = state.contributions.get(named)
            owner, part = (None, None) if c is None else (c.owner, c.part)
        if not isinstance(owner, str) or not isinstance(part, str):
            continue
        wanted += [
            ("reviewers", (named, me)), ("active_endorsements", (me, named)),
            ("visibility", (owner, part)), ("active_grants", (owner, me, part)),
            ("completed_for", (me, owner)), ("coworkers", tuple(sorted((me, owner)))),
        ]  # fmt: skip
        for reviewer in body.get("reviewers", ()):
            person = reviewer.get("person") if isinstance(reviewer, Mapping) else None
            if isinstance(person, str):
                wanted.append(("reviewers", (named, person)))
    return wanted


# The meta rows the rules read (ledger.state.LedgerState.size, operator, origin; the
# rules' "bound_from" and "rules"): read ahead with the batch's other rows. Each was one
# query more per append when missed, three on PostgreSQL (issue 13).
_META_KEYS = ("size", "operator", "origin", "bound_from", "rules")


def _named_rows(body: Mapping[str, Any]) -> list[tuple[str, Hashable]]:
    """The rows named by a statement body's own fields that the rules look up (an access
    grant's viewer, the request it answers, the grant revoked, an assignee): read ahead
    in the batch's first query."""
    wanted: list[tuple[str, Hashable]] = []
    for field, tables in _NAMED_ROWS.items():
        value = body.get(field)
        if isinstance(value, str):
            wanted += [(table, value) for table in tables]
    return wanted


_NAMED_ROWS: dict[str, tuple[str, ...]] = {
    "viewer": ("people", "erased", "departures"),  # AccessGranted
    "assignee": ("people", "erased", "departures"),  # AssignmentAssigned, -Completed
    # AccessGranted, AccessRefused; an EndorsementGiven answering a ReviewRequested
    "request": ("access_requests", "review_requests"),
    "grant": ("access_grants",),  # AccessRevoked
    "key_id": ("keys",),  # KeyRevoked
}


def _rule_rows(
    batch: Sequence[SignedStatement], state: LedgerState, signers: Mapping[str, str | None]
) -> list[tuple[str, Hashable]]:
    """The rows the rules of access statements, assignments and moves consult (rules.access,
    rules.assignments, rules.identity) keyed by the signer or by what the first query read:
    the owner's visibility, the viewer's open request and active grant for the part, the
    grant a revocation ends, the pair of owner and assignee, the assignee's new coworkers,
    the consent of a person transferred or leaving. Only what to read ahead: a row missed
    here is read when the rule asks for it."""
    wanted: list[tuple[str, Hashable]] = []
    for signed in batch:
        s, me = signed.statement, signers[signed.statement.author]
        body = s.body
        part = body.get("part")
        if s.type in ("AccessRequested", "AccessGranted") and isinstance(part, str):
            viewer = body.get("viewer") if s.type == "AccessGranted" else me
            if isinstance(viewer, str):
                access = (s.subject, viewer, part)
                wanted += [
                    ("visibility", (s.subject, part)),
                    ("open_requests", access),
                    ("active_grants", access),
                ]
        elif s.type == "AccessRevoked" and isinstance(body.get("grant"), str):
            grant = state.access_grants.get(body["grant"])
            if grant is not None:
                wanted.append(("active_grants", (grant.owner, grant.viewer, grant.part)))
        elif s.type in ("AssignmentAssigned", "AssignmentCompleted") and me is not None:
            assignee = body.get("assignee")
            if not isinstance(assignee, str):
                continue
            # only its owner assigns or completes an assignment, which may be posted in
            # this same batch (not read yet): the owner is the signer
            wanted.append(("completed_for", (me, assignee)))
            assignment = state.assignments.get(s.subject)
            others = () if assignment is None else assignment.assignees
            wanted += [("coworkers", tuple(sorted((assignee, other)))) for other in others]
        elif s.type in ("TransferConsented", "EmployeeTransferred", "EmployeeLeft"):
            wanted.append(("consents", s.subject))
    return wanted


def _contribution_named(body: Mapping[str, Any]) -> str | None:
    """The contribution a statement body names (an endorsement, a review request), if any."""
    contribution = body.get("contribution")
    return contribution if isinstance(contribution, str) else None


def _new_key_id(body: Mapping[str, Any]) -> str | None:
    """The key id of the public key a statement body brings, if it brings a valid one."""
    public_key = body.get("public_key")
    if not isinstance(public_key, str):
        return None
    try:
        return key_id_for(b64decode(public_key, length=32, what="public_key"))
    except MalformedInput:
        return None  # the rules refuse it with its reason
