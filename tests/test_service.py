"""The storage contract of :class:`~ledger.service.LedgerService`, on every backend.

Round trips keep every byte; a batch is all or nothing; concurrent writers (several
services on one database, several threads on one service) never fork a stream or the
log, never lose or duplicate a statement, and accept a raced statement id once; a
service that is behind catches up and judges new statements by what others wrote.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ledger.audit import AuditReport, audit
from ledger.entry import GENESIS_PREV, encode_record
from ledger.errors import ConcurrencyConflict, NotFound, RuleViolation
from ledger.service import AppendResult, LedgerService, StoredEntry
from ledger.statement import SignedStatement
from ledger.store import Store, open_store
from tests.factories import World, standard_world, state_snapshot


@pytest.fixture
def stores(database_url: str) -> Iterator[Callable[[], Store]]:
    """Opens stores on the test's database (each with its own connections); closes them all."""
    opened: list[Store] = []

    def open_one() -> Store:
        store = open_store(database_url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


def audit_of(open_one: Callable[[], Store]) -> AuditReport:
    return audit(open_one())


def read_all(service: LedgerService) -> list[tuple[int, StoredEntry]]:
    """Every entry of the log through ``read_log``, a few at a time."""
    out: list[tuple[int, StoredEntry]] = []
    while page := service.read_log(after=out[-1][0] if out else 0, limit=7):
        out.extend(page)
    return out


def assert_no_fork(entries: list[StoredEntry]) -> None:
    """Every stream is one chain: seq 1..n without gaps, each prev the previous hash."""
    heads: dict[str, tuple[int, str]] = {}
    for stored in entries:
        e = stored.entry
        seq, prev = heads.get(e.stream, (0, GENESIS_PREV))
        assert (e.seq, e.prev) == (seq + 1, prev), f"{e.stream}#{e.seq} does not extend its stream"
        heads[e.stream] = (e.seq, e.hash)


# -- round trip ---------------------------------------------------------------------------------


def test_round_trip_keeps_bytes_identical(stores: Callable[[], Store]) -> None:
    store = stores()
    service = LedgerService(store)
    w = standard_world(service)
    alice, carol = w["alice"], w["carol"]
    tricky = 'Zoë\'s "plan" \\ 𝄞🚀 \u2028\u0007\t\x7f ünïcödé'
    signed = [
        w.claim(alice, title=tricky),
        w.claim(carol, title="Gewoon werk"),
        w.ambition(alice, goal=tricky[::-1]),
    ]
    results = [service.append(signed[0]), *service.append_batch(signed[1:])]

    for s, r in zip(signed, results, strict=True):
        assert r.entry.statement.canonical == s.statement.canonical
        assert r.entry.signature == s.signature
    raw = {rec.position: rec.blob for rec in store.read(after=0, limit=100)}
    for s, r in zip(signed, results, strict=True):
        assert raw[r.position] == encode_record(r.entry, s.disclosures)

    record = service.read_stream("record/alice")
    assert [x.entry.canonical for x in record] == [
        results[0].entry.canonical,
        results[2].entry.canonical,
    ]
    assert record[0].disclosed()["title"] == tricky
    assert record[1].disclosed()["goal"] == tricky[::-1]
    assert record[0].disclosures == signed[0].disclosures

    log = read_all(service)
    assert [p for p, _ in log] == sorted(raw)
    by_position = dict(log)
    for s, r in zip(signed, results, strict=True):
        assert by_position[r.position].entry.canonical == r.entry.canonical
        assert by_position[r.position].entry.hash == r.entry.hash
        assert by_position[r.position].disclosures == s.disclosures
    assert [r.log_index for r in results] == [6, 7, 8]

    fresh = LedgerService(stores())
    assert fresh.catch_up() == 0  # the rule state is the store's: nothing to fold
    assert fresh.state.size == 9
    assert state_snapshot(fresh.state) == state_snapshot(service.state)

    with pytest.raises(NotFound):
        service.read_stream("record/dave")


# -- atomic batches -----------------------------------------------------------------------------


def test_batch_with_one_bad_statement_writes_nothing(stores: Callable[[], Store]) -> None:
    store = stores()
    service = LedgerService(store)
    w = standard_world(service)
    alice, carol, dave = w["alice"], w["carol"], w["dave"]
    claim = w.claim(alice)
    asked = w.ask_review(alice, claim.statement.id, (carol, "peer"))  # lets carol read it
    good = [claim, asked, w.endorse(carol, alice, claim.statement.id)]
    bad = w.endorse(alice, alice, claim.statement.id)  # self-endorsement
    batch = [*good, bad, w.claim(dave)]
    position, size, before = store.max_position(), service.state.size, state_snapshot(service.state)

    with pytest.raises(RuleViolation) as info:
        service.append_batch(batch)
    assert info.value.code == "self_endorsement"
    assert "statement 3 of the batch" in info.value.message
    assert info.value.log_index == size + 3

    assert store.max_position() == position
    assert state_snapshot(service.state) == before
    other = LedgerService(stores())
    assert other.catch_up() == 0
    assert other.state.size == size
    for stream in ("record/alice", "record/carol", "record/dave"):
        with pytest.raises(NotFound):
            service.read_stream(stream)
    report = audit_of(stores)
    assert report.ok, report.as_json()
    assert report.entries == size

    accepted = service.append_batch([*good, batch[-1]])
    assert [r.log_index for r in accepted] == list(range(size, size + 4))


@pytest.mark.parametrize("bad_at", [0, 7, 19])
def test_bad_signature_in_a_large_batch_is_reported_in_order(
    stores: Callable[[], Store], bad_at: int
) -> None:
    """Large batches verify signatures on worker threads; a failure there must still be
    reported as the first failing statement, in batch order, with nothing written."""
    store = stores()
    service = LedgerService(store)
    w = standard_world(service)
    batch = [w.claim(w["alice"]) for _ in range(20)]
    wrong = bytes([batch[bad_at].signature[0] ^ 1]) + batch[bad_at].signature[1:]
    batch[bad_at] = SignedStatement(batch[bad_at].statement, wrong, batch[bad_at].disclosures)
    batch[bad_at + 1 if bad_at < 19 else 0] = w.endorse(
        w["alice"], w["alice"], "0" * 8 + "-0000-4000-8000-" + "0" * 12
    )
    position = store.max_position()
    first_bad = min(bad_at, bad_at + 1 if bad_at < 19 else 0)
    with pytest.raises(RuleViolation) as info:
        service.append_batch(batch)
    assert f"statement {first_bad} of the batch" in info.value.message
    assert info.value.code == ("bad_signature" if first_bad == bad_at else "unknown_contribution")
    assert store.max_position() == position
    assert audit_of(stores).ok


# -- concurrency --------------------------------------------------------------------------------


def run_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` in threads released together; re-raise the first error."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = jobs[i]()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if errors:
        raise errors[0]
    return results


def test_concurrent_appends_never_fork(stores: Callable[[], Store]) -> None:
    services = [LedgerService(stores()), LedgerService(stores())]
    base = standard_world(services[0], seed="base")
    size = services[0].state.size
    # Two services, two threads each: all write to alice's record, each to a stream of its own.
    owners = ["bob", "carol", "dave", "operator"]
    per_thread = 8

    def writer(i: int) -> Callable[[], list[AppendResult]]:
        service = services[i % 2]
        w = World(service, seed=f"writer-{i}", people=base.people)
        own = w[owners[i]]

        def write() -> list[AppendResult]:
            out: list[AppendResult] = []
            for n in range(per_thread):
                if n % 4 == 3:  # now and then a batch spanning both streams
                    pair = [w.claim(w["alice"], title=f"{i}/{n}"), w.ambition(own, goal=f"{i}/{n}")]
                    out.extend(service.append_batch(pair))
                elif n % 2:
                    out.append(service.append(w.claim(w["alice"], title=f"{i}/{n}")))
                else:
                    out.append(service.append(w.ambition(own, goal=f"{i}/{n}")))
            return out

        return write

    results = [r for rs in run_threads([writer(i) for i in range(4)]) for r in rs]
    total = 4 * (per_thread + 2)
    assert len(results) == total

    assert sorted(r.log_index for r in results) == list(range(size, size + total))
    assert len({r.position for r in results}) == total
    log = read_all(services[0])
    assert len(log) == size + total
    entries = [x for _, x in log]
    assert_no_fork(entries)
    counts = Counter(x.entry.statement.id for x in entries)
    assert all(n == 1 for n in counts.values())
    assert {r.entry.statement.id for r in results} <= set(counts)
    assert len(services[1].read_stream("record/alice")) == 4 * 4
    for service in services:
        service.catch_up()
        assert service.state.size == size + total
    report = audit_of(stores)
    assert report.ok, report.as_json()
    assert report.entries == size + total


def test_raced_statement_id_is_accepted_once(stores: Callable[[], Store]) -> None:
    services = [LedgerService(stores()), LedgerService(stores())]
    w = standard_world(services[0], seed="race")
    alice = w["alice"]
    for attempt in range(4):
        first = w.claim(alice, title=f"Race {attempt}")
        if attempt % 2:  # the same id with other content
            second = w.claim(alice, title="Other", statement_id=first.statement.id)
        else:  # the very same statement
            second = first
        outcomes = run_threads([_outcome(services[0], first), _outcome(services[1], second)])
        assert sorted(outcomes, key=str) == sorted(["accepted", "replayed_id"], key=str)

    log = [x for _, x in read_all(services[0])]
    counts = Counter(x.entry.statement.id for x in log)
    assert max(counts.values()) == 1
    assert len(services[0].read_stream("record/alice")) == 4
    report = audit_of(stores)
    assert report.ok, report.as_json()


def _outcome(service: LedgerService, signed: SignedStatement) -> Callable[[], str]:
    def attempt() -> str:
        try:
            service.append(signed)
        except RuleViolation as exc:
            return exc.code
        return "accepted"

    return attempt


def test_service_behind_catches_up_and_judges_by_others_entries(
    stores: Callable[[], Store],
) -> None:
    a, b = LedgerService(stores()), LedgerService(stores())
    wa = standard_world(a, seed="a")
    wb = World(b, seed="b", people=wa.people)
    alice = wa["alice"]
    a.append(wa.claim(alice))  # alice's key is fine so far

    b.append(wb.revoke_key(alice, alice.key_id, signer=wb.operator.identity))
    assert a.state.size == b.state.size  # the state is the store's: a sees b's entry at once
    with pytest.raises(RuleViolation) as info:
        a.append(wa.claim(alice, title="Signed with a revoked key"))
    assert info.value.code == "key_revoked"
    assert a.state.size == b.state.size

    b.append(wb.register("erin"))
    b.append(wb.rotate(alice, wb.new_key("alice", 1), signer=wb.operator.identity))
    alice.identity = wb.new_key("alice", 1)
    accepted = a.append(wa.claim(wa["erin"]))  # erin exists only through b's entry
    assert accepted.log_index == b.state.size - 1  # the state follows it at once
    a.append(wa.claim(alice, title="With the recovered key"))

    assert b.catch_up() == 0
    assert state_snapshot(a.state) == state_snapshot(b.state)
    report = audit_of(stores)
    assert report.ok, report.as_json()


# -- a forced race: both writers validated against the same state -------------------------------


class Gate:
    """Holds each gated store's first write until every writer has reached it, and counts the
    conflicts the stores report, so a race for the same log index is certain, not likely."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties)
        self.conflicts = 0
        self._lock = threading.Lock()

    def install(self, store: Store) -> None:
        write = store.append
        first = threading.Event()

        def gated(*args: Any, **kwargs: Any) -> list[int]:
            if not first.is_set():
                first.set()
                self.barrier.wait(timeout=30)
            try:
                return write(*args, **kwargs)
            except ConcurrencyConflict:
                with self._lock:
                    self.conflicts += 1
                raise

        store.append = gated  # type: ignore[method-assign]


RACES = {
    # name: (statement for writer A, statement for writer B) -> expected outcomes
    "same_stream": lambda w: (w.claim(w["alice"], title="A"), w.claim(w["alice"], title="B")),
    "different_streams": lambda w: (w.ambition(w["carol"]), w.ambition(w["dave"])),
    "same_statement": lambda w: (s := w.claim(w["alice"]), s),
    "same_id_other_content": lambda w: (
        s := w.claim(w["alice"]),
        w.claim(w["alice"], title="Other", statement_id=s.statement.id),
    ),
}


@pytest.mark.parametrize("race", sorted(RACES))
def test_writers_racing_for_the_same_log_index(race: str, stores: Callable[[], Store]) -> None:
    a_store, b_store = stores(), stores()
    a, b = LedgerService(a_store), LedgerService(b_store)
    w = standard_world(a, seed="race")
    b.catch_up()
    size = a.state.size
    first, second = RACES[race](w)
    gate = Gate(2)
    gate.install(a_store)
    gate.install(b_store)

    outcomes = run_threads([_outcome(a, first), _outcome(b, second)])

    assert gate.conflicts == 1  # both wanted log index `size`; the loser retried
    replay = first.statement.id == second.statement.id
    expected = ["accepted", "replayed_id"] if replay else ["accepted", "accepted"]
    assert sorted(outcomes) == expected
    entries = [x for _, x in read_all(a)]
    assert len(entries) == size + (1 if replay else 2)
    assert_no_fork(entries)
    assert max(Counter(x.entry.statement.id for x in entries).values()) == 1
    report = audit_of(stores)
    assert report.ok, report.as_json()


# -- the store's own transaction -------------------------------------------------------------------


@pytest.mark.parametrize("conflict", ["stream_position", "merkle_leaf"])
def test_store_append_is_one_transaction(conflict: str, stores: Callable[[], Store]) -> None:
    """Rows and Merkle nodes are written together or not at all: a conflict on the last
    row or node leaves no trace of the rows and nodes before it."""
    store = stores()
    service = LedgerService(store)
    standard_world(service)
    size, position = service.state.size, store.max_position()
    leaves = [(0, size, b"\x11" * 32), (0, size + 1, b"\x22" * 32)]
    rows = [("record/zed", 1, b"never stored", "zed"), ("record/zed", 2, b"never stored", "zed")]
    if conflict == "stream_position":
        rows.append(("identity/operator", 1, b"taken", "operator"))  # the genesis entry's place
        leaves.append((0, size + 2, b"\x33" * 32))
    else:
        rows.append(("record/zed", 3, b"never stored", "zed"))
        leaves.append((0, size - 1, b"\x33" * 32))  # the last stored leaf's place

    with pytest.raises(ConcurrencyConflict):
        store.append(rows, leaves)

    assert store.max_position() == position
    assert store.read_stream("record/zed") == []
    assert store.count_nodes(0) == size
    assert store.indexed_size() == size
    report = audit_of(stores)
    assert report.ok, report.as_json()
    assert report.entries == size
