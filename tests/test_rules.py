"""DESIGN.md §6: each rule refuses what it must, with its code, and a refusal writes nothing.

Every rule case (:data:`tests.support.rule_cases.CASES`) builds a valid ledger, then one
statement that breaks exactly that rule. It is checked twice:

* purely, by :func:`ledger.rules.apply_entry` on a :class:`~ledger.state.LedgerState`
  (no database): the code and location are right and the state is left as it was;
* through :class:`~ledger.service.LedgerService` on every storage backend, alone and in
  the middle of a batch: the code is right, the store's position and the service's
  state are unchanged, and a fresh audit of the store still passes.

Malformed input (wrong types, bad ids, timestamps, signatures, unknown fields...) is
refused while parsing, before any rule or store is involved; those tests are pure.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import ledger.statement
from ledger import commands
from ledger.access import may_read, may_read_contribution, review_inbox
from ledger.canonical import canonical_bytes
from ledger.catalogue import Part
from ledger.disclosures import Disclosure
from ledger.errors import MalformedInput, NotPermitted, RuleViolation
from ledger.rules import apply_entry
from ledger.service import MAX_BATCH, LedgerService
from ledger.statement import (
    Signer,
    parse_signed_statement,
    parse_statement,
    sign_statement,
)
from ledger.store import open_store
from tests.factories import (
    TEST_ORIGIN,
    MemoryLedger,
    World,
    identity_for,
    standard_world,
    state_snapshot,
)
from tests.support.rule_cases import BASES, CASES, MALFORMED, Mutation, set_at
from tests.support.tamper import audit_url

# -- the rule cases ---------------------------------------------------------------------


# -- pure: apply_entry on a LedgerState ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_refuses_and_changes_nothing(name: str) -> None:
    rule = CASES[name]
    memory = MemoryLedger()
    w = World(memory) if rule.empty else standard_world(memory)
    bad = rule.offend(w)
    entry, index = rule.entry(memory, bad)
    before = state_snapshot(memory.state)

    with pytest.raises(RuleViolation) as info:
        apply_entry(
            memory.state, entry, log_index=index, partial=rule.partial, submitted=rule.via_service
        )

    err = info.value
    assert not isinstance(err, MalformedInput)
    assert err.code == rule.code
    assert (err.stream, err.seq, err.log_index) == (entry.stream, entry.seq, index)
    assert err.evidence()["code"] == rule.code
    assert state_snapshot(memory.state) == before


# -- through the service, on every backend ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.via_service))
def test_service_refusal_writes_nothing(name: str, database_url: str) -> None:
    rule = CASES[name]
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = World(service) if rule.empty else standard_world(service)
        bad = rule.offend(w)
        position, size = store.max_position(), service.state.size
        before = state_snapshot(service.state)

        with pytest.raises(RuleViolation) as alone:
            service.append(bad)
        assert alone.value.code == rule.code
        assert alone.value.log_index == size
        assert store.max_position() == position
        assert state_snapshot(service.state) == before

        if not rule.empty:  # the same statement between two valid ones: all or nothing
            batch = [w.ambition(w.operator), bad, w.ambition(w.operator, goal="Retire")]
            with pytest.raises(RuleViolation) as batched:
                service.append_batch(batch)
            assert batched.value.code == rule.code
            assert batched.value.log_index == size + 1
            assert "statement 1 of the batch" in batched.value.message
            assert store.max_position() == position
            assert state_snapshot(service.state) == before

        report = audit_url(database_url)
        assert report.ok, report.as_json()
        assert report.entries == size
    finally:
        store.close()


def test_entries_signed_before_a_revocation_still_verify(database_url: str) -> None:
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        alice = w["alice"]
        claimed = service.append(w.claim(alice))
        revoked = service.append(w.revoke_key(alice, alice.key_id))
        with pytest.raises(RuleViolation) as info:
            service.append(w.claim(alice, title="Too late"))
        assert info.value.code == "key_revoked"

        key = service.state.keys[alice.key_id]
        assert key.revoked
        assert key.retired_at == revoked.log_index
        assert claimed.log_index < revoked.log_index
        record = service.read_stream("record/alice")
        assert [e.entry.statement.id for e in record] == [claimed.entry.statement.id]
        assert record[0].entry.statement.author == alice.key_id

        report = audit_url(database_url)
        assert report.ok, report.as_json()
        assert report.entries == revoked.log_index + 1
    finally:
        store.close()


# -- the positive side of the key rules (so a refusal is not just "always refuse") ------------


def test_rotated_key_signs_and_precommitted_key_is_accepted() -> None:
    w = standard_world(MemoryLedger())
    committed = w.new_key("erin", 1)
    w.do(w.register("erin", next_key=committed.public_key.raw))
    erin = w["erin"]
    w.do(w.rotate(erin, committed))
    erin.identity = committed
    w.do(w.claim(erin))  # the new key signs
    w.do(w.rotate(erin, w.new_key("erin", 2)))  # no pre-commitment this time: any key
    person = w.state.people["erin"]
    assert person.current_key == identity_for("erin", 2).key_id
    assert w.state.keys[identity_for("erin", 0).key_id].retired_at is not None


def test_a_person_recorded_under_a_reserved_id_still_audits() -> None:
    """``reserved_id`` judges a registration offered now: an entry recorded before the rule
    (re-checked by the audit or a bundle check, ``submitted=False``) is still accepted."""
    memory = MemoryLedger()
    w = standard_world(memory)
    entry = memory.entry_for(w.register("search"))
    with pytest.raises(RuleViolation) as offered:
        apply_entry(memory.state, entry, log_index=memory.state.size, submitted=True)
    assert offered.value.code == "reserved_id"
    apply_entry(memory.state, entry, log_index=memory.state.size)
    assert "search" in memory.state.people


def test_endorsement_can_be_given_again_after_revoking_it() -> None:
    w = standard_world(MemoryLedger())
    c = w.do(w.claim(w["alice"])).statement.id
    w.asked(w["alice"], c, w["carol"])
    first = w.do(w.endorse(w["carol"], w["alice"], c, grade=2)).statement.id
    w.do(w.revoke_endorsement(w["carol"], w["alice"], first))
    w.do(w.endorse(w["carol"], w["alice"], c, grade=4))
    assert len(w.state.endorsements) == 2


@pytest.mark.parametrize("grade", [1, 5])
def test_grade_bounds_are_accepted(grade: int) -> None:
    w = standard_world(MemoryLedger())
    c = w.do(w.claim(w["alice"])).statement.id
    w.asked(w["alice"], c, w["bob"], "manager")
    w.do(w.endorse(w["bob"], w["alice"], c, grade=grade, role="manager"))
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.assign(w["bob"], a, w["alice"]))
    w.do(w.complete(w["bob"], a, w["alice"], grade=grade))
    assert w.state.assignments[a].status == "completed"


# -- malformed input: refused while parsing ---------------------------------------------------


@pytest.mark.parametrize(
    ("base", "mutate", "code", "field"),
    [
        pytest.param(base, mutate, code, field, id=name)
        for name, base, mutate, code, field in MALFORMED
    ],
)
def test_malformed_input_is_refused(
    base: str, mutate: Mutation, code: str, field: str | None
) -> None:
    raw = copy.deepcopy(BASES[base])
    parse_signed_statement(copy.deepcopy(raw))  # the unmutated submission is fine
    mutate(raw)
    with pytest.raises(MalformedInput) as info:
        parse_signed_statement(raw)
    assert info.value.code == code
    assert info.value.field == field
    assert info.value.evidence()["code"] == code


def test_personal_field_value_too_long() -> None:
    alice = identity_for("alice")
    kwargs: dict[str, Any] = {"person": "alice", "skills": ["python"], "start": "2026-01-01"}
    commands.claim_contribution(
        Signer(alice, TEST_ORIGIN), title="t" * 200, **kwargs
    )  # at the limit: fine
    with pytest.raises(MalformedInput) as signing:
        commands.claim_contribution(Signer(alice, TEST_ORIGIN), title="t" * 201, **kwargs)
    assert (signing.value.code, signing.value.field) == ("too_long", "title")

    # A client that commits to and signs an over-long value anyway is refused on parsing.
    long_title = Disclosure("ab" * 16, "title", "t" * 201)
    honest = commands.claim_contribution(
        Signer(alice, TEST_ORIGIN), title="t", **kwargs
    ).statement.as_json()
    body = {**honest["body"], "commitments": {"title": long_title.digest}}
    signed = sign_statement(
        Signer(alice, TEST_ORIGIN), type="ContributionClaimed", subject="alice", body=body
    )
    raw = {**signed.as_json(), "disclosures": [long_title.as_json()]}
    with pytest.raises(MalformedInput) as parsing:
        parse_signed_statement(raw)
    assert (parsing.value.code, parsing.value.field) == ("too_long", "title")


def test_statement_over_the_size_limit_is_oversized(monkeypatch: pytest.MonkeyPatch) -> None:
    """No well-formed statement of today's catalogue reaches 16 KiB (every field is
    bounded), so the limit is a backstop; its check is exercised with a lowered limit."""
    raw = BASES["claim"]["statement"]
    size = len(canonical_bytes(raw))
    assert size < ledger.statement.MAX_STATEMENT_BYTES
    monkeypatch.setattr(ledger.statement, "MAX_STATEMENT_BYTES", size)
    assert parse_statement(copy.deepcopy(raw)).canonical == canonical_bytes(raw)
    monkeypatch.setattr(ledger.statement, "MAX_STATEMENT_BYTES", size - 1)
    with pytest.raises(MalformedInput) as info:
        parse_statement(copy.deepcopy(raw))
    assert (info.value.code, info.value.field) == ("oversized", "body")


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        pytest.param(set_at("statement.body.notes", "n" * 20_000), "unknown_field", id="extra"),
        pytest.param(set_at("statement.body.skills", ["python"] * 3000), "too_long", id="skills"),
        pytest.param(set_at("disclosures.0.2", "t" * 20_000), "too_long", id="disclosure"),
    ],
)
def test_statements_beyond_16_kib_are_refused(mutate: Mutation, code: str) -> None:
    raw = copy.deepcopy(BASES["claim"])
    mutate(raw)
    assert len(canonical_bytes(raw)) > 16 * 1024
    with pytest.raises(MalformedInput) as info:
        parse_signed_statement(raw)
    assert info.value.code == code


def test_batch_beyond_max_is_oversized_and_writes_nothing(database_url: str) -> None:
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service)
        position, before = store.max_position(), state_snapshot(service.state)
        claim = w.claim(w["alice"])
        with pytest.raises(MalformedInput) as info:
            service.append_batch([claim] * (MAX_BATCH + 1))
        assert info.value.code == "oversized"
        assert store.max_position() == position
        assert state_snapshot(service.state) == before
    finally:
        store.close()


# -- access on request and erasure: what the rules allow -------------------------------------


def test_access_is_requested_granted_revoked_and_requested_again() -> None:
    from ledger.access import may_read
    from ledger.catalogue import Part

    w = standard_world(MemoryLedger())
    alice, bob = w["alice"], w["bob"]
    st = w.state
    assert not may_read(st, "alice", "bob", Part.DOSSIER)
    request = w.do(w.request_access(bob, alice)).statement.id
    assert st.access_requests[request].answer is None
    grant = w.do(w.grant_access(alice, bob, request=request)).statement.id
    assert st.access_requests[request].answer == "granted"
    assert may_read(st, "alice", "bob", Part.DOSSIER)
    assert not may_read(st, "alice", "bob", Part.ANALYTICAL)  # a grant is for one part
    assert not may_read(st, "alice", "carol", Part.DOSSIER)  # and one viewer
    assert not may_read(st, "alice", None, Part.DOSSIER)
    w.do(w.visibility(alice, "dossier", "private"))  # private shuts grantees out ...
    assert not may_read(st, "alice", "bob", Part.DOSSIER)
    w.do(w.visibility(alice, "dossier", "on_request"))  # ... on_request lets them in again
    assert may_read(st, "alice", "bob", Part.DOSSIER)
    w.do(w.revoke_access(alice, grant))
    assert not may_read(st, "alice", "bob", Part.DOSSIER)
    again = w.do(w.request_access(bob, alice)).statement.id
    w.do(w.refuse_access(alice, again))
    assert st.access_requests[again].answer == "refused"
    assert not may_read(st, "alice", "bob", Part.DOSSIER)
    w.do(w.request_access(bob, alice))  # a refused request may be asked again


def test_a_grant_ends_after_its_until_day_and_can_then_be_given_again() -> None:
    from ledger.access import may_read
    from ledger.catalogue import Part

    w = standard_world(MemoryLedger())
    alice, bob = w["alice"], w["bob"]
    w.do(w.grant_access(alice, bob, until="2026-03-01"))  # the MemoryLedger clock's first day
    assert may_read(w.state, "alice", "bob", Part.DOSSIER, today="2026-03-01")
    assert not may_read(w.state, "alice", "bob", Part.DOSSIER, today="2026-03-02")
    with pytest.raises(RuleViolation) as info:  # still active on the day it is recorded
        w.do(w.grant_access(alice, bob))
    assert info.value.code == "already_granted"


def test_erasure_leaves_everyone_else_free_to_act() -> None:
    w = standard_world(MemoryLedger())
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    c = w.do(w.claim(alice)).statement.id
    w.asked(alice, c, bob, "manager")
    w.do(w.endorse(bob, alice, c, role="manager"))
    a = w.do(w.post(bob)).statement.subject
    w.do(w.assign(bob, a, alice))
    w.do(w.erase(alice))
    assert w.state.erased["alice"] == w.state.size - 1
    assert w.state.people["alice"].current_key is None
    # The facts others rely on stay: the endorsement, the assignment; others go on.
    assert w.state.endorsements
    assert w.state.assignments[a].assignees == {"alice"}
    w.do(w.claim(carol))
    w.do(w.assign(bob, a, carol))
    w.do(w.cancel(bob, a))


def test_a_360_review_on_request_is_answered_by_each_reviewer_in_their_role() -> None:
    """alice asks bob (manager), carol (peer) and dave (client, of another department) to
    review a contribution none of them may read otherwise; each answers in their role, and
    each could read it through the request alone."""
    w = standard_world(MemoryLedger())
    alice, bob, carol, dave = w["alice"], w["bob"], w["carol"], w["dave"]
    c = w.do(w.claim(alice)).statement.id
    asked = w.do(
        w.ask_review(alice, c, (bob, "manager"), (carol, "peer"), (dave, "client"))
    ).statement.id
    contribution = w.state.contributions[c]
    for reviewer in ("bob", "carol", "dave"):
        assert not may_read(w.state, "alice", reviewer, Part.DOSSIER)
        assert may_read_contribution(w.state, contribution, reviewer)
    assert not may_read_contribution(w.state, contribution, "operator")
    for member, role in ((bob, "manager"), (carol, "peer"), (dave, "client")):
        w.do(w.endorse(member, alice, c, role=role, request=asked))
    assert sorted(e.role for e in w.state.endorsements.values()) == ["client", "manager", "peer"]
    assert [(r.id, e) for r, e in review_inbox(w.state, "dave", seen_by="dave")] == [
        (asked, w.state.active_endorsements[("dave", c)])
    ]
    assert review_inbox(w.state, "operator", seen_by="operator") == ()
    for other in ("alice", None):  # one's review requests are one's own
        with pytest.raises(NotPermitted) as not_yours:
            review_inbox(w.state, "dave", seen_by=other)
        assert not_yours.value.code == "not_yours"


def test_peers_by_a_shared_assignment_and_clients_by_a_completed_one() -> None:
    """dave (another department) is alice's peer once both work on one assignment, and
    bob is her client once an assignment he owns is completed for her."""
    w = standard_world(MemoryLedger())
    alice, bob, dave = w["alice"], w["bob"], w["dave"]
    c = w.do(w.claim(alice)).statement.id
    w.do(w.visibility(alice, "dossier", "public"))  # everyone may read it
    with pytest.raises(RuleViolation) as refused:
        w.do(w.endorse(dave, alice, c, role="peer", asked=False))
    assert refused.value.code == "no_peer_relation"
    with pytest.raises(RuleViolation) as refused:
        w.do(w.endorse(bob, alice, c, role="client", asked=False))
    assert refused.value.code == "no_client_relation"
    a = w.do(w.post(bob)).statement.subject
    w.do(w.assign(bob, a, alice))
    w.do(w.assign(bob, a, dave))
    w.do(w.endorse(dave, alice, c, role="peer"))
    w.do(w.complete(bob, a, alice))
    w.do(w.endorse(bob, alice, c, role="client"))
    assert w.state.coworkers[("alice", "dave")] == a
    assert w.state.completed_for[("bob", "alice")] == a
