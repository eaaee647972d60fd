"""The audit: re-read the whole store and verify everything, trusting nothing cached.

For every stored entry, in log order: the record is canonical and well formed,
its row belongs to its stream and seq, it extends its stream's hash chain, its
signature verifies under a key that was valid at that log position, it keeps
every rule of DESIGN.md §6, and its Merkle leaf (and every node above it) is the
one stored. At the end, the store holds no Merkle leaf without an entry, and the rule state the
store keeps (:mod:`ledger.store.rule_state`) is exactly the state re-derived here
(:mod:`ledger.rule_state_audit`).

Its sealed disclosures (:mod:`ledger.vault`) open under the data key of the person
they belong to and are bound to that entry (else ``sealed_disclosures``). Disclosures
whose data key is gone count as erased, which is only right for a person the log
erases (a ``PersonErased`` entry, anywhere in the log): else ``data_key_missing``.
An entry that commits to personal fields but has no sealed tail at all lost its
content in the store (withheld and erased content keep a sealed tail): reported as
``content_missing`` unless the log erases its owner.

Signatures are verified on worker threads (PyNaCl releases the GIL), the rest in
order on the calling thread. The first failure in log order is reported.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .audit_rows import Failure, check_store_rows
from .audit_spill import SpillFile, spill
from .checkpoint import NoteVerifier, verify_checkpoint
from .disclosures import Disclosure
from .entry import Entry, decode_record_parts
from .errors import IntegrityViolation, LedgerError, MalformedInput, RuleViolation
from .heads import HeadsIndex, heads_root_of, index_leaves
from .merkle import leaf_hash, new_nodes_for_append, root
from .positions_audit import PositionCheck
from .privacy import content_owner
from .rule_state_audit import verify_rule_state
from .rules import apply_entry
from .service import ORIGIN_KEY
from .state import LedgerState
from .statement import signatures_that_verify
from .store import Store, StoredRecord, stream_originator_id
from .store.rule_state import StoredState

__all__ = ["SPILL_AT", "AuditReport", "Failure", "audit"]

_CHUNK = 2000
#: entries after which the audit's re-derived rule state moves to a temporary file
#: (ledger.audit_spill): about 4.6 KiB each in memory (docs/audit.md §6), so some 450 MiB
SPILL_AT = 100_000
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class AuditReport:
    """What the audit checked and the first failure, if any."""

    entries: int
    streams: int
    identities: int
    keys: int
    seconds: float
    failure: Failure | None
    erased: int = 0  # entries whose disclosures are erased (their data key destroyed)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "streams": self.streams,
            "identities": self.identities,
            "keys": self.keys,
            "erased": self.erased,
            "seconds": round(self.seconds, 3),
            "entries_per_second": round(self.entries_per_second, 1),
            "failure": None if self.failure is None else self.failure.as_json(),
        }


def _failure_from(exc: LedgerError, log_index: int, entry: Entry | None) -> Failure:
    ev = exc.evidence()
    return Failure(
        code=exc.code,
        message=exc.message,
        log_index=ev.get("log_index", log_index),
        stream=ev.get("stream", entry.stream if entry else None),
        seq=ev.get("seq", entry.seq if entry else None),
        evidence={k: v for k, v in ev.items() if k not in ("code", "message")},
    )


_Job = tuple[int, Entry, bytes]


def _check_disclosures(entry: Entry, disclosures: list[Disclosure], index: int) -> None:
    """The stored disclosures must match the commitments the signed statement carries."""
    s = entry.statement
    try:
        s.check_disclosures(disclosures)
    except MalformedInput as exc:
        raise IntegrityViolation(
            "bad_disclosure",
            f"a stored disclosure of {entry.stream}#{entry.seq} does not match its "
            f"commitment: {exc.message}",
            stream=entry.stream,
            seq=entry.seq,
            log_index=index,
        ) from exc


def _content_owner(entry: Entry, state: LedgerState) -> str | None:
    """The person whose data key must seal the entry's disclosures (None: unknown author)."""
    try:
        return content_owner(entry.statement, state)
    except RuleViolation:  # an unknown author: the rules report that entry already
        return None


def _check_sealing(rec: StoredRecord, entry: Entry, index: int, state: LedgerState) -> None:
    """Sealed disclosures must open (or be erased) and be sealed for their owner."""
    where: dict[str, Any] = {"stream": entry.stream, "seq": entry.seq, "log_index": index}
    if rec.sealing == "corrupt":
        raise IntegrityViolation(
            "sealed_disclosures",
            f"the sealed disclosures of {entry.stream}#{entry.seq}: {rec.sealing_problem}",
            **where,
        )
    owner = _content_owner(entry, state)
    if rec.sealed_for is not None and owner is not None and rec.sealed_for != owner:
        raise IntegrityViolation(
            "sealed_disclosures",
            f"the disclosures of {entry.stream}#{entry.seq} belong to {owner} but are "
            f"sealed for {rec.sealed_for}",
            **where,
        )


def _content_missing(rec: StoredRecord, entry: Entry) -> bool:
    """True if ``entry`` commits to personal fields but its stored tail is gone (sealing
    ``none``): withheld or erased content still leaves a sealed tail (privacy.md §2)."""
    return rec.sealing == "none" and bool(entry.statement.commitments)


def _verify_chunk(jobs: list[_Job]) -> tuple[int, Entry] | None:
    """Verify signatures; return the first (log index, entry) whose signature fails."""
    good = signatures_that_verify((i, e.statement, pk, e.signature) for i, e, pk in jobs)
    return next(((i, e) for i, e, _ in jobs if i not in good), None)


class _Auditor:
    def __init__(self, store: Store, workers: int, spill_at: int | None = SPILL_AT) -> None:
        self.store = store
        self.state: LedgerState = LedgerState(origin=store.get_meta(ORIGIN_KEY))
        # past spill_at entries the derived state moves to a temporary file (audit_spill)
        self.spill_at = spill_at
        self.spilled: SpillFile | None = None
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.workers = max(1, workers)
        self.pool = ThreadPoolExecutor(max_workers=self.workers)
        self.pending: list[Future[tuple[int, Entry] | None]] = []
        self.erased_entries = 0
        # person -> (log index, entry) of their first entry with erased disclosures
        self.erased_first: dict[str, tuple[int, Entry]] = {}
        self.originator_ids: dict[str, uuid.UUID] = {}  # stream -> its event store id
        # person -> (log index, entry) of their first entry whose sealed tail is gone
        self.missing_first: dict[str, tuple[int, Entry]] = {}
        self.positions = PositionCheck(store)  # the entry_positions rows (positions_audit)
        # the first position row found wrong: reported after every check of the entries
        # themselves (a tampered log moves every row after the tampering, and the entry is
        # what must be named then)
        self.position_failure: Failure | None = None

    def _originator_id(self, stream: str) -> uuid.UUID:
        found = self.originator_ids.get(stream)
        if found is None:
            found = self.originator_ids[stream] = stream_originator_id(stream)
        return found

    def _get_node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def _prune(self) -> None:
        """Keep only the right-edge nodes that future appends can still need."""
        size = self.state.size
        keep = {}
        for level in range(size.bit_length() + 1):
            if (size >> level) & 1:
                key = (level, (size >> level) - 1)
                if key in self.nodes:
                    keep[key] = self.nodes[key]
        self.nodes = keep

    def _check_chunk(self, records: list[Any]) -> Failure | None:
        jobs: list[_Job] = []
        entries: list[Entry] = []
        failure: Failure | None = None
        # A sealing failure does not stop the chunk: when the entry itself was altered,
        # its signature or Merkle leaf (found below) names the damage better.
        seal_failure: Failure | None = None
        first = self.state.size
        for rec in records:
            index = self.state.size
            entry: Entry | None = None
            try:
                entry, disclosures = decode_record_parts(rec.head, rec.disclosures, log_index=index)
                _check_disclosures(entry, disclosures, index)
                if (
                    rec.originator_id != self._originator_id(entry.stream)
                    or rec.version != entry.seq
                ):
                    raise IntegrityViolation(
                        "row_mismatch",
                        f"the stored row is ({rec.originator_id}, {rec.version}) but holds "
                        f"entry {entry.stream}#{entry.seq}",
                        stream=entry.stream,
                        seq=entry.seq,
                        log_index=index,
                    )
                key = apply_entry(self.state, entry, log_index=index, verify_signature=False)
                if rec.sealing == "erased":
                    self.erased_entries += 1
                    self.erased_first.setdefault(rec.sealed_for or "", (index, entry))
                elif _content_missing(rec, entry):
                    owner = _content_owner(entry, self.state) or ""
                    self.missing_first.setdefault(owner, (index, entry))
                if seal_failure is None:
                    try:
                        _check_sealing(rec, entry, index, self.state)
                    except IntegrityViolation as exc:
                        seal_failure = _failure_from(exc, index, entry)
            except (IntegrityViolation, RuleViolation) as exc:
                failure = _failure_from(exc, index, entry)
                break
            jobs.append((index, entry, key.public_key))
            entries.append(entry)
        step = -(-len(jobs) // self.workers)  # one part per worker thread
        for start in range(0, len(jobs), step or 1):
            self.pending.append(self.pool.submit(_verify_chunk, jobs[start : start + step]))
        if entries:
            leaves = [leaf_hash(e.canonical) for e in entries]
            computed = new_nodes_for_append(first, leaves, self._get_node)
            for level, idx, h in computed:
                self.nodes[(level, idx)] = h
            node_failure = self._compare_nodes(computed, entries, first)
            if node_failure is not None and (
                failure is None or (node_failure.log_index or 0) < (failure.log_index or 0)
            ):
                failure = node_failure
            self._prune()
        if self.position_failure is None:
            try:
                self.positions.check_chunk(first, records, entries)
            except IntegrityViolation as exc:
                self.position_failure = _failure_from(exc, first, None)
        if seal_failure is not None and (
            failure is None or (seal_failure.log_index or 0) < (failure.log_index or 0)
        ):
            failure = seal_failure
        return failure

    def _compare_nodes(
        self, computed: list[tuple[int, int, bytes]], entries: list[Entry], first: int
    ) -> Failure | None:
        by_level: dict[int, list[tuple[int, bytes]]] = {}
        for level, idx, h in computed:
            by_level.setdefault(level, []).append((idx, h))
        # Lowest level first: a bad leaf explains every bad node above it, so the
        # leaf (the entry) is what gets named; a bad interior node over good leaves
        # means the node itself was altered.
        for level, nodes in sorted(by_level.items()):
            lo, hi = nodes[0][0], nodes[-1][0] + 1
            stored = dict(self.store.nodes(level, lo, hi))
            for idx, h in nodes:
                if stored.get(idx) == h:
                    continue
                leaf = idx << level
                entry = entries[leaf - first] if 0 <= leaf - first < len(entries) else None
                if level == 0:
                    message = f"the stored Merkle leaf {leaf} does not match the entry there"
                else:
                    message = (
                        f"the stored Merkle node ({level}, {idx}) over log indexes "
                        f"{leaf}-{leaf + (1 << level) - 1} does not match those entries"
                    )
                return Failure(
                    code="merkle_mismatch",
                    message=message,
                    log_index=leaf,
                    stream=entry.stream if entry and level == 0 else None,
                    seq=entry.seq if entry and level == 0 else None,
                    evidence={
                        "level": level,
                        "index": idx,
                        "expected": h.hex(),
                        "actual": stored[idx].hex() if idx in stored else None,
                    },
                )
        return None

    def _collect(self) -> Failure | None:
        """Wait for all signature jobs; return the first failure."""
        done, self.pending = self.pending, []
        found: Failure | None = None
        for fut in done:
            bad = fut.result()
            if bad is not None and (found is None or bad[0] < (found.log_index or 0)):
                index, entry = bad
                found = Failure(
                    code="bad_signature",
                    message=f"the signature of {entry.stream}#{entry.seq} does not verify "
                    f"for key {entry.statement.author}",
                    log_index=index,
                    stream=entry.stream,
                    seq=entry.seq,
                    evidence={"author": entry.statement.author, "statement_id": entry.statement.id},
                )
        return found

    def run(self, progress: ProgressFn | None) -> Failure | None:
        total = max(self.store.max_position(), 0)
        position = 0
        checkpoints = self.store.checkpoint_sizes()
        pending = [n for n in checkpoints if n > 0]
        try:
            while True:
                # Stop each chunk at the next checkpoint's size, to check it there.
                upto = pending[0] - self.state.size if pending else _CHUNK
                records = self.store.read(after=position, limit=min(_CHUNK, upto))
                if not records:
                    break
                failure = self._check_chunk_state(records)
                if failure is not None:
                    return _earliest(self._collect(), failure)
                if pending and self.state.size == pending[0]:
                    failure = self._check_checkpoint(pending.pop(0))
                    if failure is not None:
                        return _earliest(self._collect(), failure)
                # This chunk's signatures are verified before the next chunk is read: a
                # worker needs the GIL back after every verification and seldom gets it
                # while this thread runs Python, so overlapping was slower (audit.md §3).
                sig_failure = self._collect()
                if sig_failure is not None:
                    return sig_failure
                position = records[-1].position
                if progress is not None:
                    progress(position, total)
            beyond = [n for n in pending if n > self.state.size]
            if beyond:
                return self._collect() or Failure(
                    code="checkpoint_beyond_log",
                    message=f"a checkpoint of size {beyond[0]} is stored but the log has "
                    f"{self.state.size} entries: entries it covers were removed",
                    log_index=self.state.size,
                    evidence={"checkpoint_size": beyond[0], "entries": self.state.size},
                )
            return (
                self._collect()
                or self._check_no_extra_leaves()
                or self._check_erasures()
                or self._check_missing_content()
                or self._check_positions()
                or self._check_rule_state()
            )
        finally:
            self.pool.shutdown(wait=True)

    def _check_chunk_state(self, records: list[Any]) -> Failure | None:
        """:meth:`_check_chunk`, on the spilled state as one batch written at its end; then
        spill the state if it has grown past ``spill_at`` entries."""
        if not isinstance(self.state, StoredState) or self.spilled is None:
            failure = self._check_chunk(records)
            if self.spill_at is not None and self.state.size >= self.spill_at:
                self.state, self.spilled = spill(self.state)
            return failure
        self.state.begin()
        try:
            failure = self._check_chunk(records)
            self.spilled.write(self.state.changes())
        finally:
            self.state.commit()
        return failure

    def close(self) -> None:
        """Delete the spilled state's file, if any."""
        if self.spilled is not None:
            self.spilled.close()

    def _check_positions(self) -> Failure | None:
        """Every stored position row points at its entry, none is missing below the last
        one, none lies beyond the log."""
        if self.position_failure is not None:
            return self.position_failure
        try:
            self.positions.finish(self.state.size)
        except IntegrityViolation as exc:
            return _failure_from(exc, self.state.size, None)
        return None

    def _check_rule_state(self) -> Failure | None:
        """The rule state the store keeps is the one re-derived from the log."""
        try:
            verify_rule_state(self.store, self.state)
        except IntegrityViolation as exc:
            return _failure_from(exc, self.state.size, None)
        return None

    def _check_checkpoint(self, size: int) -> Failure | None:
        """The stored checkpoint of ``size`` (the state is at ``size`` now): signed by the
        operator key current at that size, and its tree root and stream-heads commitment
        are those recomputed from the entries."""
        found = self.store.get_checkpoint(size)
        origin = self.state.origin  # the store's, or the one the genesis named
        operator = self.state.people.get(self.state.operator or "")
        key = None if operator is None else self.state.keys.get(operator.current_key or "")
        if found is None or origin is None or key is None:
            return Failure(
                "bad_checkpoint",
                f"checkpoint {size} cannot be checked: no origin or operator key",
                log_index=size - 1,
                evidence={"checkpoint_size": size},
            )
        try:
            checkpoint = verify_checkpoint(
                found[1], verifiers=[NoteVerifier.for_key(origin, key.public_key)], origin=origin
            )
            recomputed = root(size, self._get_node)
            heads = HeadsIndex(index_leaves(self.state)).root()
        except LedgerError as exc:
            return Failure(
                "bad_checkpoint", f"checkpoint {size}: {exc.message}", log_index=size - 1,
                evidence={"checkpoint_size": size, **exc.evidence()},
            )  # fmt: skip
        if checkpoint.size != size or checkpoint.root_hash != recomputed:
            return Failure(
                "checkpoint_mismatch",
                f"checkpoint {size} signs a tree root the entries do not produce",
                log_index=size - 1,
                evidence={
                    "checkpoint_size": size,
                    "expected": recomputed.hex(),
                    "actual": checkpoint.root_hash.hex(),
                },
            )
        if heads_root_of(checkpoint) != heads:
            return Failure(
                "checkpoint_mismatch",
                f"checkpoint {size} commits to stream heads the entries do not produce",
                log_index=size - 1,
                evidence={"checkpoint_size": size, "expected": heads.hex()},
            )
        return None

    def _first_not_erased(
        self, first: dict[str, tuple[int, Entry]]
    ) -> tuple[int, Entry, str] | None:
        """Of ``first`` (person -> their first (log index, entry) found so), the earliest
        whose person the log does not erase."""
        left = [(i, e, p) for p, (i, e) in first.items() if p not in self.state.erased]
        return min(left, key=lambda u: u[0]) if left else None

    def _check_erasures(self) -> Failure | None:
        """Disclosures without a data key are fine only for people the log erases."""
        found = self._first_not_erased(self.erased_first)
        if found is None:
            return None
        index, entry, person = found
        return Failure(
            code="data_key_missing",
            message=f"the data key of {person} is gone, so the disclosures of "
            f"{entry.stream}#{entry.seq} cannot be opened, but the log does not erase {person}",
            log_index=index,
            stream=entry.stream,
            seq=entry.seq,
            evidence={"person": person},
        )

    def _check_missing_content(self) -> Failure | None:
        """An entry that commits to personal fields is stored with a sealed tail (a sealed
        ``[]`` if all were withheld): no tail at all is content removed from the store,
        unless the log erases its owner."""
        found = self._first_not_erased(self.missing_first)
        if found is None:
            return None
        index, entry, person = found
        return Failure(
            code="content_missing",
            message=f"the personal content of {entry.stream}#{entry.seq} is missing: it "
            f"commits to {', '.join(sorted(entry.statement.commitments))} but the store "
            f"holds no sealed disclosures for it, and the log does not erase {person}",
            log_index=index,
            stream=entry.stream,
            seq=entry.seq,
            evidence={"person": person, "fields": sorted(entry.statement.commitments)},
        )

    def _check_no_extra_leaves(self) -> Failure | None:
        leaves = self.store.count_nodes(0)
        size = self.state.size
        if leaves != size:
            return Failure(
                code="missing_entry" if leaves > size else "missing_leaf",
                message=(
                    f"the Merkle log has {leaves} leaves but the store holds {size} entries: "
                    + (
                        f"the entry at log index {size} (and any after it) was removed"
                        if leaves > size
                        else "leaves were removed"
                    )
                ),
                log_index=min(leaves, size),
                evidence={"leaves": leaves, "entries": size},
            )
        return None


def _earliest(a: Failure | None, b: Failure) -> Failure:
    if a is not None and (a.log_index or 0) <= (b.log_index or 0):
        return a
    return b


def audit(
    store: Store,
    *,
    workers: int = 2,
    progress: ProgressFn | None = None,
    spill_at: int | None = SPILL_AT,
) -> AuditReport:
    """Verify the whole store from scratch; return an :class:`AuditReport`.

    Never raises for bad data: every problem found becomes the report's
    ``failure`` (the first one in log order), with its code and location.
    ``spill_at``: past this many entries the re-derived rule state moves from memory
    to a temporary file (:mod:`ledger.audit_spill`; None: never).
    """
    started = time.perf_counter()
    auditor = _Auditor(store, workers, spill_at)
    try:
        failure = auditor.run(progress)
        if failure is None:
            failure = check_store_rows(store)  # what the store keeps beside the log
        st = auditor.state
        return AuditReport(
            entries=st.size,
            streams=len(st.heads),
            identities=len(st.people),
            keys=len(st.keys),
            seconds=time.perf_counter() - started,
            failure=failure,
            erased=auditor.erased_entries,
        )
    finally:
        auditor.close()
