"""DESIGN.md §6: each rule refuses what it must, with its code, and a refusal writes nothing.

Every rule case below builds a valid ledger, then one statement that breaks exactly that
rule. It is checked twice:

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import ledger.statement
from ledger import commands
from ledger.audit import AuditReport, audit
from ledger.canonical import b64encode, canonical_bytes
from ledger.disclosures import Disclosure
from ledger.errors import MalformedInput, RuleViolation
from ledger.rules import apply_entry
from ledger.service import MAX_BATCH, LedgerService
from ledger.statement import (
    SignedStatement,
    parse_signed_statement,
    parse_statement,
    sign_statement,
)
from ledger.store import open_store
from tests.factories import (
    DEPT,
    ORG,
    OTHER_DEPT,
    MemoryLedger,
    World,
    forge,
    identity_for,
    standard_cast,
    standard_world,
    state_snapshot,
)


@dataclass(frozen=True)
class Case:
    """A rule, the code it raises, and how to build a statement that breaks it."""

    code: str
    offend: Callable[[World], SignedStatement]
    empty: bool = False  # starts from an empty ledger (the genesis rules)


CASES: dict[str, Case] = {}


def case(
    name: str, code: str, *, empty: bool = False
) -> Callable[[Callable[[World], SignedStatement]], Callable[[World], SignedStatement]]:
    def register(fn: Callable[[World], SignedStatement]) -> Callable[[World], SignedStatement]:
        CASES[name] = Case(code, fn, empty)
        return fn

    return register


def audit_url(url: str) -> AuditReport:
    """Audit the store at ``url`` through a connection of its own."""
    store = open_store(url)
    try:
        return audit(store)
    finally:
        store.close()


# -- the rule cases ---------------------------------------------------------------------
# Each receives the standard world (operator; alice, bob (manager), carol of minbzk/dgo;
# dave of minbzk/cio), may append valid prerequisites, and returns the offending statement.


@case("self_endorsement", "self_endorsement")
def _self_endorsement(w: World) -> SignedStatement:
    alice = w["alice"]
    c = w.do(w.claim(alice)).statement.id
    return w.endorse(alice, alice, c, role="peer")


@case("author_key_signed_by_other_key", "bad_signature")
def _author_signed_by_other_key(w: World) -> SignedStatement:
    # Claims to be alice's key (whose claim on alice's record is allowed), signed by carol's.
    return forge(w.claim(w["alice"]), signer=w["carol"].identity, author=w["alice"].key_id)


@case("endorsement_author_signed_by_other_key", "bad_signature")
def _endorsement_signed_by_other_key(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    bob_says = w.endorse(w["bob"], w["alice"], c, grade=5, role="manager")
    return forge(bob_says, signer=w["carol"].identity, author=w["bob"].key_id)


@case("claim_on_someone_elses_record", "not_subject")
def _claim_for_other(w: World) -> SignedStatement:
    return w.claim(w["bob"], person="alice")


@case("withdraw_someone_elses_contribution", "not_subject")
def _withdraw_for_other(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return commands.withdraw_contribution(
        w["bob"].identity, person="alice", contribution=c, **w.opts()
    )


@case("manager_endorsement_without_role", "manager_role_required")
def _manager_without_role(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return w.endorse(w["carol"], w["alice"], c, role="manager")


@case("manager_endorsement_other_department", "manager_role_required")
def _manager_of_other_department(w: World) -> SignedStatement:
    w.do(w.grant(w["dave"], "manager", OTHER_DEPT))
    c = w.do(w.claim(w["alice"])).statement.id
    return w.endorse(w["dave"], w["alice"], c, role="manager")


@case("manager_endorsement_after_role_revoked", "manager_role_required")
def _manager_role_revoked(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.revoke_role(w["bob"], "manager", DEPT))
    return w.endorse(w["bob"], w["alice"], c, role="manager")


@case("post_assignment_without_manager_role", "manager_role_required")
def _post_without_role(w: World) -> SignedStatement:
    return w.post(w["carol"], department=DEPT)


@case("post_assignment_in_department_not_managed", "manager_role_required")
def _post_elsewhere(w: World) -> SignedStatement:
    return w.post(w["bob"], department=OTHER_DEPT)


@case("signed_by_revoked_key", "key_revoked")
def _revoked_key(w: World) -> SignedStatement:
    alice = w["alice"]
    w.do(w.claim(alice))  # valid before the revocation
    w.do(w.revoke_key(alice, alice.key_id))  # the revocation is the key's last signature
    return w.claim(alice, title="After revocation")


@case("signed_by_key_revoked_by_admin", "key_revoked")
def _revoked_by_admin(w: World) -> SignedStatement:
    alice = w["alice"]
    w.do(w.revoke_key(alice, alice.key_id, signer=w.operator.identity))
    return w.claim(alice)


@case("signed_by_rotated_out_key", "key_superseded")
def _rotated_key(w: World) -> SignedStatement:
    alice = w["alice"]
    old = alice.identity
    w.do(w.rotate(alice, w.new_key("alice", 1)))
    return w.claim(alice, signer=old)


@case("rotation_to_key_not_precommitted", "precommit_mismatch")
def _precommit_mismatch(w: World) -> SignedStatement:
    committed = w.new_key("erin", 1)
    w.do(w.register("erin", next_key=committed.public_key.raw))
    return w.rotate(w["erin"], w.new_key("erin", 2))


@case("replayed_statement", "replayed_id")
def _replay_same(w: World) -> SignedStatement:
    return w.do(w.claim(w["alice"]))


@case("replayed_id_other_content", "replayed_id")
def _replay_other_content(w: World) -> SignedStatement:
    first = w.do(w.claim(w["alice"]))
    return w.claim(w["alice"], title="Something else", statement_id=first.statement.id)


@case("replayed_id_other_stream", "replayed_id")
def _replay_other_stream(w: World) -> SignedStatement:
    first = w.do(w.claim(w["alice"]))
    return w.claim(w["carol"], statement_id=first.statement.id)


@case("assign_by_non_owner", "not_owner")
def _assign_non_owner(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.grant(w["carol"], "manager", DEPT))  # a manager there too, but not the owner
    return w.assign(w["carol"], a, w["alice"])


@case("complete_by_non_owner", "not_owner")
def _complete_non_owner(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.assign(w["bob"], a, w["alice"]))
    w.do(w.grant(w["carol"], "manager", DEPT))
    return w.complete(w["carol"], a, w["alice"])


@case("cancel_by_non_owner", "not_owner")
def _cancel_non_owner(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    return w.cancel(w["alice"], a)


@case("complete_for_unassigned_person", "not_assigned")
def _complete_unassigned(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.apply(w["carol"], a))  # an applicant is not an assignee
    w.do(w.assign(w["bob"], a, w["alice"]))
    return w.complete(w["bob"], a, w["carol"])


def _endorse_with_grade(grade: int) -> Callable[[World], SignedStatement]:
    def offend(w: World) -> SignedStatement:
        c = w.do(w.claim(w["alice"])).statement.id
        return w.endorse(w["carol"], w["alice"], c, grade=grade)

    return offend


def _complete_with_grade(grade: int) -> Callable[[World], SignedStatement]:
    def offend(w: World) -> SignedStatement:
        a = w.do(w.post(w["bob"])).statement.subject
        w.do(w.assign(w["bob"], a, w["alice"]))
        return w.complete(w["bob"], a, w["alice"], grade=grade)

    return offend


for _grade in (0, 6, -1):
    case(f"endorsement_grade_{_grade}", "bad_grade")(_endorse_with_grade(_grade))
    case(f"completion_grade_{_grade}", "bad_grade")(_complete_with_grade(_grade))


@case("register_by_non_admin", "not_admin")
def _register_non_admin(w: World) -> SignedStatement:
    return w.register("erin", signer=w["carol"])


@case("register_by_manager", "not_admin")
def _register_by_manager(w: World) -> SignedStatement:
    return w.register("erin", signer=w["bob"])


@case("register_by_admin_of_other_organisation", "not_admin")
def _register_other_org(w: World) -> SignedStatement:
    w.do(w.register("olga", organisation="minfin", department="minfin/hr"))
    w.do(w.grant(w["olga"], "admin", "minfin"))
    w.do(w.register("frank", signer=w["olga"], organisation="minfin", department="minfin/hr"))
    return w.register("erin", signer=w["olga"])  # into minbzk


@case("grant_role_by_non_admin", "not_admin")
def _grant_non_admin(w: World) -> SignedStatement:
    return w.grant(w["carol"], "manager", DEPT, signer=w["carol"])


@case("endorse_withdrawn_contribution", "contribution_withdrawn")
def _endorse_withdrawn(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.withdraw(w["alice"], c))
    return w.endorse(w["carol"], w["alice"], c)


@case("duplicate_endorsement", "duplicate_endorsement")
def _duplicate_endorsement(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.endorse(w["carol"], w["alice"], c, grade=3))
    return w.endorse(w["carol"], w["alice"], c, grade=5)


@case("signed_by_unregistered_key", "unknown_key")
def _unregistered_key(w: World) -> SignedStatement:
    return forge(w.claim(w["alice"]), signer=identity_for("mallory"))


@case("genesis_not_self_signed", "genesis_not_self_signed", empty=True)
def _genesis_other_key(w: World) -> SignedStatement:
    operator, other = identity_for("operator"), identity_for("mallory")
    return commands.register_identity(
        other,
        person="operator",
        public_key=operator.public_key.raw,
        organisation=ORG,
        department=OTHER_DEPT,
        display_name="Operator",
        **w.opts(),
    )


@case("genesis_author_signed_by_other_key", "bad_signature", empty=True)
def _genesis_forged(w: World) -> SignedStatement:
    genesis = w.genesis()
    return forge(genesis, signer=identity_for("mallory"), author=genesis.statement.author)


@case("genesis_not_a_registration", "genesis_required", empty=True)
def _genesis_claim(w: World) -> SignedStatement:
    w.genesis()  # signed only, so alice's key exists in the world but not in the ledger
    return w.claim(w.member("alice", ORG, DEPT))


# -- access on request -----------------------------------------------------------------


@case("request_private_part", "not_on_request")
def _request_private_part(w: World) -> SignedStatement:
    return w.request_access(w["bob"], w["alice"], "ambitions")  # private by default


@case("request_public_part", "not_on_request")
def _request_public_part(w: World) -> SignedStatement:
    w.do(w.visibility(w["alice"], "dossier", "public"))
    return w.request_access(w["bob"], w["alice"], "dossier")


@case("request_own_part", "self_request")
def _request_own_part(w: World) -> SignedStatement:
    return w.request_access(w["alice"], w["alice"], "dossier")


@case("request_twice", "already_requested")
def _request_twice(w: World) -> SignedStatement:
    w.do(w.request_access(w["bob"], w["alice"]))
    return w.request_access(w["bob"], w["alice"])


@case("request_while_granted", "already_granted")
def _request_while_granted(w: World) -> SignedStatement:
    w.do(w.grant_access(w["alice"], w["bob"]))
    return w.request_access(w["bob"], w["alice"])


@case("grant_for_someone_else", "not_subject")
def _grant_for_someone_else(w: World) -> SignedStatement:
    grant = w.grant_access(w["alice"], w["bob"])
    return forge(grant, signer=w["carol"].identity)


@case("grant_to_self", "self_grant")
def _grant_to_self(w: World) -> SignedStatement:
    return w.grant_access(w["alice"], w["alice"])


@case("grant_to_unknown_viewer", "unknown_person")
def _grant_to_unknown(w: World) -> SignedStatement:
    return commands.grant_access(
        w["alice"].identity, person="alice", viewer="nobody", part="dossier", **w.opts()
    )


@case("grant_private_part", "not_on_request")
def _grant_private_part(w: World) -> SignedStatement:
    return w.grant_access(w["alice"], w["bob"], "free")


@case("grant_twice", "already_granted")
def _grant_twice(w: World) -> SignedStatement:
    w.do(w.grant_access(w["alice"], w["bob"]))
    return w.grant_access(w["alice"], w["bob"])


@case("grant_already_ended", "grant_expired")
def _grant_already_ended(w: World) -> SignedStatement:
    return w.grant_access(w["alice"], w["bob"], until="2020-01-01")


@case("grant_unknown_request", "unknown_request")
def _grant_unknown_request(w: World) -> SignedStatement:
    other = w.do(w.request_access(w["bob"], w["carol"])).statement.id  # carol's, not alice's
    return w.grant_access(w["alice"], w["bob"], request=other)


@case("grant_request_of_other_viewer", "request_mismatch")
def _grant_request_mismatch(w: World) -> SignedStatement:
    request = w.do(w.request_access(w["bob"], w["alice"])).statement.id
    return w.grant_access(w["alice"], w["carol"], request=request)


@case("grant_answered_request", "already_answered")
def _grant_answered_request(w: World) -> SignedStatement:
    request = w.do(w.request_access(w["bob"], w["alice"])).statement.id
    w.do(w.refuse_access(w["alice"], request))
    return w.grant_access(w["alice"], w["bob"], request=request)


@case("refuse_twice", "already_answered")
def _refuse_twice(w: World) -> SignedStatement:
    request = w.do(w.request_access(w["bob"], w["alice"])).statement.id
    w.do(w.refuse_access(w["alice"], request))
    return w.refuse_access(w["alice"], request)


@case("refuse_for_someone_else", "not_subject")
def _refuse_for_someone_else(w: World) -> SignedStatement:
    request = w.do(w.request_access(w["bob"], w["alice"])).statement.id
    return forge(w.refuse_access(w["alice"], request), signer=w["carol"].identity)


@case("revoke_unknown_grant", "unknown_grant")
def _revoke_unknown_grant(w: World) -> SignedStatement:
    grant = w.do(w.grant_access(w["carol"], w["bob"])).statement.id  # carol's grant
    return w.revoke_access(w["alice"], grant)


@case("revoke_grant_twice", "already_revoked")
def _revoke_grant_twice(w: World) -> SignedStatement:
    grant = w.do(w.grant_access(w["alice"], w["bob"])).statement.id
    w.do(w.revoke_access(w["alice"], grant))
    return w.revoke_access(w["alice"], grant)


# -- erasure --------------------------------------------------------------------------


@case("erase_by_non_admin", "not_admin")
def _erase_by_non_admin(w: World) -> SignedStatement:
    return w.erase(w["alice"], admin=w["bob"])


@case("erase_operator", "operator_not_erasable")
def _erase_operator(w: World) -> SignedStatement:
    return w.erase(w.operator)


@case("erase_twice", "already_erased")
def _erase_twice(w: World) -> SignedStatement:
    w.do(w.erase(w["alice"]))
    return w.erase(w["alice"])


@case("erased_person_signs", "erased")
def _erased_person_signs(w: World) -> SignedStatement:
    w.do(w.erase(w["alice"]))
    return w.endorse(w["alice"], w["carol"], w.do(w.claim(w["carol"])).statement.id, role="peer")


@case("endorse_erased_person", "erased")
def _endorse_erased_person(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.erase(w["alice"]))
    return w.endorse(w["carol"], w["alice"], c, role="peer")


@case("transfer_erased_person", "erased")
def _transfer_erased_person(w: World) -> SignedStatement:
    w.do(w.erase(w["alice"]))
    return w.transfer(w["alice"], ORG, OTHER_DEPT)


@case("assign_erased_person", "erased")
def _assign_erased_person(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.erase(w["alice"]))
    return w.assign(w["bob"], a, w["alice"])


@case("grant_to_erased_viewer", "erased")
def _grant_to_erased_viewer(w: World) -> SignedStatement:
    w.do(w.erase(w["bob"]))
    return w.grant_access(w["alice"], w["bob"])


# -- pure: apply_entry on a LedgerState ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_refuses_and_changes_nothing(name: str) -> None:
    rule = CASES[name]
    memory = MemoryLedger()
    w = World(memory) if rule.empty else standard_world(memory)
    bad = rule.offend(w)
    entry = memory.entry_for(bad)
    index = memory.state.size
    before = state_snapshot(memory.state)

    with pytest.raises(RuleViolation) as info:
        apply_entry(memory.state, entry, log_index=index)

    err = info.value
    assert not isinstance(err, MalformedInput)
    assert err.code == rule.code
    assert (err.stream, err.seq, err.log_index) == (entry.stream, entry.seq, index)
    assert err.evidence()["code"] == rule.code
    assert state_snapshot(memory.state) == before


# -- through the service, on every backend ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
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


def test_endorsement_can_be_given_again_after_revoking_it() -> None:
    w = standard_world(MemoryLedger())
    c = w.do(w.claim(w["alice"])).statement.id
    first = w.do(w.endorse(w["carol"], w["alice"], c, grade=2)).statement.id
    w.do(w.revoke_endorsement(w["carol"], w["alice"], first))
    w.do(w.endorse(w["carol"], w["alice"], c, grade=4))
    assert len(w.state.endorsements) == 2


@pytest.mark.parametrize("grade", [1, 5])
def test_grade_bounds_are_accepted(grade: int) -> None:
    w = standard_world(MemoryLedger())
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.endorse(w["bob"], w["alice"], c, grade=grade, role="manager"))
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.assign(w["bob"], a, w["alice"]))
    w.do(w.complete(w["bob"], a, w["alice"], grade=grade))
    assert w.state.assignments[a].status == "completed"


# -- malformed input: refused while parsing ---------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _base_submissions() -> dict[str, dict[str, Any]]:
    w = World(MemoryLedger(), seed="malformed")
    w.do_all(standard_cast(w))
    c = w.claim(w["alice"])
    return {
        "claim": c.as_json(),
        "endorse": w.endorse(w["carol"], w["alice"], c.statement.id).as_json(),
        "post": w.post(w["bob"]).as_json(),
        "grant": w.grant(w["carol"], "manager", DEPT).as_json(),
    }


BASES = _base_submissions()


def _walk(raw: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container holding the dotted ``path`` in ``raw`` and the last key (digits: index)."""
    target: Any = raw
    *parents, last = (int(k) if k.isdigit() else k for k in path.split("."))
    for key in parents:
        target = target[key]
    return target, last


def _set(path: str, value: Any) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target, last = _walk(raw, path)
        target[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target, last = _walk(raw, path)
        del target[last]

    return mutate


_SIG_63 = b64encode(bytes(63))
_SIG_NON_CANONICAL = b64encode(bytes(64))[:-3] + "B=="  # padding bits set: not canonical

MALFORMED = [
    # (id, base, mutation, code, field)
    ("grade_as_string", "endorse", _set("statement.body.grade", "5"), "malformed", "body.grade"),
    ("grade_as_bool", "endorse", _set("statement.body.grade", True), "malformed", "body.grade"),
    ("grade_as_float", "endorse", _set("statement.body.grade", 4.0), "malformed", "body.grade"),
    ("grade_null", "endorse", _set("statement.body.grade", None), "malformed", "body.grade"),
    ("role_unknown", "endorse", _set("statement.body.role", "boss"), "malformed", "body.role"),
    ("contribution_ref_not_uuid", "endorse", _set("statement.body.contribution", "c1"),
     "malformed", "body.contribution"),
    ("hours_as_string", "post", _set("statement.body.hours_per_week", "8"), "malformed",
     "body.hours_per_week"),
    ("hours_zero", "post", _set("statement.body.hours_per_week", 0), "malformed",
     "body.hours_per_week"),
    ("skills_not_a_list", "claim", _set("statement.body.skills", "python"), "malformed",
     "body.skills"),
    ("skill_not_a_slug", "claim", _set("statement.body.skills", ["Python!"]), "malformed",
     "body.skills.0"),
    ("period_impossible_date", "claim", _set("statement.body.period.start", "2026-02-30"),
     "malformed", "body.period.start"),
    ("commitment_not_hex", "claim", _set("statement.body.commitments.title", "zz"),
     "malformed", "body.commitments.title"),
    ("body_not_object", "claim", _set("statement.body", ["python"]), "malformed", "body"),
    ("id_not_uuid", "claim", _set("statement.id", "claim-1"), "malformed", "id"),
    ("id_uppercase_uuid", "claim", _set("statement.id", "0F8FAD5B-D9CB-469F-A165-70867728950E"),
     "malformed", "id"),
    ("id_as_int", "claim", _set("statement.id", 7), "malformed", "id"),
    ("issued_at_impossible", "claim", _set("statement.issued_at", "2026-02-30T10:00:00Z"),
     "malformed", "issued_at"),
    ("issued_at_with_offset", "claim", _set("statement.issued_at", "2026-03-01T10:00:00+01:00"),
     "malformed", "issued_at"),
    ("issued_at_as_epoch", "claim", _set("statement.issued_at", 1767261600), "malformed",
     "issued_at"),
    ("author_not_key_id", "claim", _set("statement.author", "alice"), "malformed", "author"),
    ("subject_as_int", "claim", _set("statement.subject", 42), "bad_subject", "subject"),
    ("subject_not_slug", "claim", _set("statement.subject", "Alice Smith"), "bad_subject",
     "subject"),
    ("assignment_subject_not_uuid", "post", _set("statement.subject", "alice"), "bad_subject",
     "subject"),
    ("type_unknown", "claim", _set("statement.type", "ContributionClamed"), "unknown_type", "type"),
    ("type_as_int", "claim", _set("statement.type", 3), "unknown_type", "type"),
    ("statement_not_object", "claim", _set("statement", "ContributionClaimed"), "malformed",
     "statement"),
    ("signature_not_base64", "claim", _set("signature", "!!not base64!!"), "malformed", None),
    ("signature_63_bytes", "claim", _set("signature", _SIG_63), "malformed", None),
    ("signature_non_canonical_base64", "claim", _set("signature", _SIG_NON_CANONICAL),
     "malformed", None),
    ("signature_as_int", "claim", _set("signature", 12), "malformed", "signature"),
    ("disclosures_not_a_list", "claim", _set("disclosures", {"title": "x"}), "malformed",
     "disclosures"),
    ("disclosure_two_items", "claim", _set("disclosures", [["0" * 32, "title"]]), "malformed",
     "disclosures[0]"),
    ("disclosure_salt_uppercase", "claim", _set("disclosures", [["A" * 32, "title", "x"]]),
     "malformed", "disclosures[0]"),
    ("unknown_field_in_body", "claim", _set("statement.body.rating", 5), "unknown_field",
     "body.rating"),
    ("unknown_field_in_period", "claim", _set("statement.body.period.hours", 5), "unknown_field",
     "body.period.hours"),
    ("unknown_field_top_level", "claim", _set("statement.version", 2), "unknown_field",
     "version"),
    ("unknown_field_in_submission", "claim", _set("proof", "x"), "unknown_field", None),
    ("commitment_to_unknown_personal_field", "claim",
     _set("statement.body.commitments.salary", "0" * 64), "unknown_field",
     "body.commitments.salary"),
    ("missing_grade", "endorse", _drop("statement.body.grade"), "missing_field", "body.grade"),
    ("missing_issued_at", "claim", _drop("statement.issued_at"), "missing_field", "issued_at"),
    ("missing_required_personal_field", "claim", _drop("statement.body.commitments.title"),
     "missing_field", "body.commitments.title"),
    ("missing_signature", "claim", _drop("signature"), "missing_field", None),
    ("scope_too_long", "grant", _set("statement.body.scope", "minbzk/" + "d" * 123), "too_long",
     "body.scope"),
    ("too_many_skills", "claim", _set("statement.body.skills", [f"s{i}" for i in range(21)]),
     "too_long", "body.skills"),
]  # fmt: skip


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
    commands.claim_contribution(alice, title="t" * 200, **kwargs)  # at the limit: fine
    with pytest.raises(MalformedInput) as signing:
        commands.claim_contribution(alice, title="t" * 201, **kwargs)
    assert (signing.value.code, signing.value.field) == ("too_long", "title")

    # A client that commits to and signs an over-long value anyway is refused on parsing.
    long_title = Disclosure("ab" * 16, "title", "t" * 201)
    honest = commands.claim_contribution(alice, title="t", **kwargs).statement.as_json()
    body = {**honest["body"], "commitments": {"title": long_title.digest}}
    signed = sign_statement(alice, type="ContributionClaimed", subject="alice", body=body)
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
        pytest.param(_set("statement.body.notes", "n" * 20_000), "unknown_field", id="extra"),
        pytest.param(_set("statement.body.skills", ["python"] * 3000), "too_long", id="skills"),
        pytest.param(_set("disclosures.0.2", "t" * 20_000), "too_long", id="disclosure"),
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
