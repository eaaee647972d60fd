"""Statements are bound to the ledger they are signed for (issue 14, item 1).

Every statement names, inside its signed bytes, the ledger (checkpoint origin) it is
addressed to; a ledger refuses one addressed elsewhere with ``wrong_ledger``. Two real
ledgers A and B, with the same person's key registered in both: what she signed for A
is refused by B, through the CLI and over HTTP. Entries recorded before statements
named their ledger (format version 1) still verify everywhere: in the audit, in the
service's catch-up and in an exported bundle.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keys import Identity
from ledger.audit import audit
from ledger.bundle import dump_bundle, load_bundle, verify_bundle
from ledger.entry import Entry, encode_record, next_entry
from ledger.errors import RuleViolation
from ledger.export import export_bundle
from ledger.merkle import leaf_hash, new_nodes_for_append
from ledger.privacy import content_owner
from ledger.rules import apply_entry
from ledger.service import LedgerService
from ledger.state import Head, LedgerState
from ledger.statement import SignedStatement
from ledger.store import Store, open_store
from ledger.transparency import TransparencyLog
from tests.factories import DEPT, ORG, MemoryLedger, World, forge
from tests.support.api_server import HttpLedger, Live, live_server
from tests.support.cli import Cli

A, B = "ministry-a.example/ledger", "agency-b.example/ledger"


# -- two ledgers through the CLI ---------------------------------------------------------
def _cli_ledger(tmp_path: Path, name: str, origin: str, keys: Path) -> Cli:
    cli = Cli(f"sqlite://{(tmp_path / f'{name}.db').resolve().as_posix()}", keys)
    cli.ok(
        "init", "--operator", f"op-{name}", "--department", "minbzk/cio", "--name", "Op",
        "--origin", origin,
    )  # fmt: skip
    return cli


def _size(cli: Cli) -> int:
    service = LedgerService(open_store(cli.url))
    try:
        return service.catch_up()
    finally:
        service.store.close()


def test_cli_ledger_refuses_a_statement_signed_for_another_ledger(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    a, b = _cli_ledger(tmp_path, "a", A, keys), _cli_ledger(tmp_path, "b", B, keys)
    alice = a.json("keys", "create", "alice")  # one key, registered in both ledgers
    for cli, op in ((a, "op-a"), (b, "op-b")):
        cli.ok(
            "register", "alice", "--department", "minbzk/dgo", "--name", "Alice",
            "--public-key", alice["public_key"], who=op,
        )  # fmt: skip
    a.ok("claim", "--title", "Brief", "--skill", "policy-advice", "--start", "2026-01-01",
         who="alice")  # fmt: skip
    a.ok("visibility", "free", "public", who="alice")
    a_service = LedgerService(open_store(a.url))
    submissions = [
        SignedStatement(s.entry.statement, s.entry.signature, s.disclosures)
        for s in a_service.read_stream("record/alice")
    ]
    a_service.store.close()
    assert {s.statement.ledger for s in submissions} == {A}
    size_before = _size(b)
    for n, signed in enumerate(submissions):
        path = tmp_path / f"replay-{n}.json"
        path.write_text(json.dumps(signed.as_json()), encoding="utf-8")
        replayed = b("submit", str(path), who="op-b")  # someone else hands it to B
        assert replayed.exit_code == 2, replayed.output
        assert "wrong_ledger" in replayed.output
        assert A in replayed.output
    assert _size(b) == size_before  # nothing written
    # what alice signs through B's CLI names B, and B accepts it
    done = b.json("claim", "--title", "Brief", "--skill", "policy-advice", "--start",
                  "2026-01-01", who="alice")  # fmt: skip
    b_service = LedgerService(open_store(b.url))
    assert b_service.read_stream("record/alice")[0].entry.statement.ledger == B
    assert done["seq"] == 1
    b_service.store.close()


# -- two ledgers over HTTP ---------------------------------------------------------------
def _http_world(live: Live, origin: str, seed: str) -> World:
    world = World(HttpLedger(live), seed=seed, origin=origin)
    world.do(world.genesis())
    world.do(world.register("alice"))
    return world


def test_http_ledger_refuses_a_statement_signed_for_another_ledger(tmp_path: Path) -> None:
    url_a = f"sqlite://{(tmp_path / 'a.db').resolve().as_posix()}"
    url_b = f"sqlite://{(tmp_path / 'b.db').resolve().as_posix()}"
    with live_server(url_a) as live_a, live_server(url_b) as live_b:
        wa = _http_world(live_a, A, "a")
        wb = _http_world(live_b, B, "b")  # the same keys: identity_for(name)
        assert wa["alice"].key_id == wb["alice"].key_id
        assert live_a.client.get("/log").json()["origin"] == A
        assert live_b.client.get("/log").json()["origin"] == B
        claim = wa.do(wa.claim(wa["alice"]))
        public = wa.do(wa.visibility(wa["alice"], "free", "public"))
        size = live_b.size()
        for signed in (claim, public):
            response = live_b.client.post("/statements", json=signed.as_json())
            assert response.status_code == 422, response.text
            problem = live_b.problem(response)
            assert problem["code"] == "wrong_ledger"
            assert A in problem["detail"]
            assert B in problem["detail"]
        assert live_b.size() == size
        # a batch holding one such statement is refused whole
        batch = {"statements": [wb.claim(wb["alice"]).as_json(), claim.as_json()]}
        response = live_b.client.post("/statements/batch", json=batch)
        assert live_b.problem(response)["code"] == "wrong_ledger"
        assert live_b.size() == size
        wb.do(wb.claim(wb["alice"]))  # signed for B: accepted
        assert live_b.size() == size + 1


# -- statements recorded before the change (format version 1) ----------------------------
def _record_as_before(
    store: Store, state: LedgerState, batch: list[SignedStatement], *, check: bool = True
) -> None:
    """Append ``batch`` as a ledger did before statements named their ledger: the rules of
    a recorded entry (``submitted=False``; none with ``check=False``, as a broken or
    hostile writer would), then the store's append of records and Merkle nodes."""
    first = state.size
    entries: list[Entry] = []
    owners: list[str] = []
    for offset, signed in enumerate(batch):
        s = signed.statement
        stamp = f"2025-06-01T09:00:{offset:02d}.000000Z"
        entry = next_entry(state.heads.get(s.stream), s, signed.signature, stamp)
        if check:
            apply_entry(state, entry, log_index=first + offset)
        else:
            state.meta["size"] = first + offset + 1
            state.heads[s.stream] = Head(entry.seq, entry.hash)
        entries.append(entry)
        owners.append(content_owner(s, state))
    nodes = new_nodes_for_append(first, [leaf_hash(e.canonical) for e in entries], store.get_node)
    rows = [
        (e.stream, e.seq, encode_record(e, signed.disclosures), owner)
        for e, signed, owner in zip(entries, batch, owners, strict=True)
    ]
    store.append(rows, nodes)


def _v1(w: World, signed: SignedStatement, who: Identity) -> SignedStatement:
    return forge(signed, signer=who, version_1=True)


def test_entries_from_before_the_change_still_verify_everywhere(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    w = World(MemoryLedger(), seed="legacy", origin=A)
    legacy = [w.genesis(), w.register("alice"), w.register("bob")]
    legacy = [_v1(w, s, w.operator.identity) for s in legacy]
    claim = w.claim(w["alice"])
    legacy.append(_v1(w, claim, w["alice"].identity))
    _record_as_before(store, LedgerState(), legacy)
    log = TransparencyLog(LedgerService(store))
    assert log.set_origin(A) == A  # the genesis names none: the operator names the ledger
    service = log.service
    w.ledger = service
    # new statements name the ledger; the old ones keep verifying beside them
    # the claim was recorded past the World, which asks only for claims it appended
    w.asked(w["alice"], claim.statement.id, w["bob"])
    w.do(w.endorse(w["bob"], w["alice"], claim.statement.id))
    with pytest.raises(RuleViolation) as refused:
        service.append(_v1(w, w.claim(w["alice"]), w["alice"].identity))
    assert refused.value.code == "wrong_ledger"
    assert "names no ledger" in refused.value.message
    log.issue_checkpoint(w.operator.identity)
    assert audit(store).ok
    fresh = LedgerService(open_store(sqlite_url))  # a new process: the stored state, named
    # the old entries, alice's review request and bob's endorsement
    assert (fresh.state.size, fresh.origin) == (len(legacy) + 2, A)
    fresh.store.close()
    bundle = load_bundle(dump_bundle(export_bundle(log, "alice")))
    report = verify_bundle(bundle, trusted=[log.verifier()])
    assert (report.origin, len(report.contributions), len(report.endorsements)) == (A, 1, 1)
    statements = [item["entry"]["statement"] for item in bundle["entries"]]
    assert {"ledger" in s for s in statements} == {True, False}  # both forms in one bundle
    store.close()


def test_audit_refuses_an_unbound_entry_after_a_bound_one(sqlite_url: str) -> None:
    """Once a ledger's statements name it, no version 1 entry may follow: that would be a
    statement signed for no ledger in particular, replayed here."""
    store = open_store(sqlite_url)
    w = World(MemoryLedger(), seed="mixed", origin=A)
    state = LedgerState()
    _record_as_before(store, state, [w.genesis(), w.register("alice")])
    assert state.origin == A  # named by its version 2 genesis
    unbound = _v1(w, w.claim(w["alice"]), w["alice"].identity)
    state.begin()
    with pytest.raises(RuleViolation) as refused:
        _record_as_before(store, state, [unbound])
    state.rollback()
    assert refused.value.code == "wrong_ledger"
    assert "since log index 0" in refused.value.message
    _record_as_before(store, state, [unbound], check=False)  # written anyway
    report = audit(store)
    assert report.failure is not None
    assert (report.failure.code, report.failure.log_index) == ("wrong_ledger", 2)
    store.close()


def test_a_genesis_names_the_ledger_and_a_ledger_named_otherwise_refuses_it(
    sqlite_url: str,
) -> None:
    service = LedgerService(open_store(sqlite_url))
    assert service.name_ledger(B) == B  # an empty ledger given its name first
    w = World(service, seed="g", origin=A)
    with pytest.raises(RuleViolation) as refused:
        w.do(w.genesis())
    assert refused.value.code == "wrong_ledger"
    assert service.state.size == 0
    ok = World(service, seed="g2", origin=B)
    ok.do(ok.genesis())
    assert service.origin == B
    assert service.name_ledger(A) == B  # a named ledger keeps its name
    service.store.close()


def test_memory_rules_take_the_name_from_a_version_2_genesis() -> None:
    w = World(MemoryLedger(), seed="m", origin=A)
    w.do(w.genesis())
    assert w.state.origin == A
    other = World(w.ledger, seed="m2", people=w.people, origin=B)
    with pytest.raises(RuleViolation) as refused:
        other.do(other.register("alice", department=DEPT, organisation=ORG))
    assert refused.value.code == "wrong_ledger"
