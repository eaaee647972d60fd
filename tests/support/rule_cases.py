"""One statement per rule that breaks exactly that rule, and malformed submissions.

:data:`CASES` maps a case name to the rule code it must raise and a function that, given
the standard world, may append valid prerequisites and returns the offending statement.
:data:`MALFORMED` lists single mutations of the genuine submissions of :data:`BASES` and
the parse error each must raise. Checked by ``tests/test_rules.py`` on the rules and the
service, and by ``tests/test_api_rules.py`` through the HTTP API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keys import Identity
from ledger import commands
from ledger.canonical import b64encode
from ledger.entry import Entry, next_entry
from ledger.link import countersign_link
from ledger.statement import SignedStatement, Signer, sign_statement
from tests.factories import (
    DEPT,
    ORG,
    OTHER_DEPT,
    TEST_ORIGIN,
    MemoryLedger,
    World,
    forge,
    identity_for,
    standard_cast,
)

__all__ = [
    "BASES",
    "CASES",
    "MALFORMED",
    "Case",
    "Mutation",
    "case",
    "drop_at",
    "restart_stream",
    "set_at",
]


@dataclass(frozen=True)
class Case:
    """A rule, the code it raises, and how to build a statement that breaks it."""

    code: str
    offend: Callable[[World], SignedStatement]
    empty: bool = False  # starts from an empty ledger (the genesis rules)
    # Judged by apply_entry at log index ``state.size + at``, as part of a bundle
    # (``partial``), as an entry other than the one the ledger would make (``present``
    # rewrites it, as a tampered store or a bundle could), or on a state the offending
    # function tampered with: what only a direct caller of apply_entry can do. Such a
    # case is not sent through the service or the API, which judge the next entry of
    # each stream at the next index of a consistent state.
    at: int = 0
    partial: bool = False
    present: Callable[[Entry], Entry] | None = None
    tampers: bool = False

    @property
    def via_service(self) -> bool:
        """Whether the service (and the API) can be given this statement to judge."""
        return not (self.at or self.partial or self.present or self.tampers)

    def entry(self, ledger: MemoryLedger, signed: SignedStatement) -> tuple[Entry, int]:
        """The entry to judge for ``signed`` on ``ledger``, and the log index to judge it at."""
        entry = ledger.entry_for(signed)
        if self.present is not None:
            entry = self.present(entry)
        return entry, ledger.state.size + self.at


CASES: dict[str, Case] = {}


def case(
    name: str,
    code: str,
    *,
    empty: bool = False,
    at: int = 0,
    partial: bool = False,
    present: Callable[[Entry], Entry] | None = None,
    tampers: bool = False,
) -> Callable[[Callable[[World], SignedStatement]], Callable[[World], SignedStatement]]:
    def register(fn: Callable[[World], SignedStatement]) -> Callable[[World], SignedStatement]:
        if name in CASES:
            raise ValueError(f"two rule cases are named {name!r}")
        CASES[name] = Case(code, fn, empty, at, partial, present, tampers)
        return fn

    return register


def restart_stream(entry: Entry) -> Entry:
    """``entry`` presented as the first of its stream (seq 1 after the genesis ``prev``)."""
    return next_entry(None, entry.statement, entry.signature, entry.recorded_at)


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


@case("statement_for_another_ledger", "wrong_ledger")
def _for_another_ledger(w: World) -> SignedStatement:
    # alice's own claim, validly signed by her current key, but addressed to another ledger
    other = World(w.ledger, seed=f"{w.seed}:elsewhere", people=w.people, origin="other.test/ledger")
    return other.claim(w["alice"])


@case("statement_naming_no_ledger", "wrong_ledger")
def _naming_no_ledger(w: World) -> SignedStatement:
    # the same claim in the version 1 form (no ``ledger``), as signed before statements named
    # their ledger: a ledger accepts no new one
    return forge(w.claim(w["alice"]), signer=w["alice"].identity, version_1=True)


_ELSEWHERE = "elsewhere.example/ledger"


def _link(w: World, countersigner: Identity, **claim: str) -> SignedStatement:
    """alice links her record on another ledger (last key there: alice-elsewhere's),
    countersigned by ``countersigner`` over a claim with ``claim`` changed."""
    linked = identity_for("alice-elsewhere").public_key.raw
    fields = {"ledger": w.origin, "origin": _ELSEWHERE, "person": "alice", **claim}
    signature = countersign_link(countersigner, public_key=linked, **fields)
    body = {
        "origin": _ELSEWHERE,
        "public_key": b64encode(linked),
        "countersigner": countersigner.key_id,
        "countersignature": b64encode(signature),
    }
    return sign_statement(
        w.signer_for(w["alice"].identity), type="IdentityLinked", subject="alice", body=body,
        **w.opts(),
    )  # fmt: skip


@case("link_countersigned_by_an_unknown_key", "not_admin")
def _link_unknown_countersigner(w: World) -> SignedStatement:
    return _link(w, identity_for("stranger"))


@case("link_countersigned_by_a_non_admin", "not_admin")
def _link_non_admin(w: World) -> SignedStatement:
    return _link(w, w["bob"].identity)


@case("link_countersigned_for_another_person", "bad_countersignature")
def _link_other_claim(w: World) -> SignedStatement:
    return _link(w, identity_for("alice-elsewhere"), person="bob")


@case("claim_on_someone_elses_record", "not_subject")
def _claim_for_other(w: World) -> SignedStatement:
    return w.claim(w["bob"], person="alice")


@case("withdraw_someone_elses_contribution", "not_subject")
def _withdraw_for_other(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return commands.withdraw_contribution(
        w["bob"].signer, person="alice", contribution=c, **w.opts()
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
    w.asked(w["alice"], c, w["carol"])
    w.do(w.endorse(w["carol"], w["alice"], c, grade=3))
    return w.endorse(w["carol"], w["alice"], c, grade=5)


@case("signed_by_unregistered_key", "unknown_key")
def _unregistered_key(w: World) -> SignedStatement:
    return forge(w.claim(w["alice"]), signer=identity_for("mallory"))


@case("genesis_not_self_signed", "genesis_not_self_signed", empty=True)
def _genesis_other_key(w: World) -> SignedStatement:
    operator, other = identity_for("operator"), identity_for("mallory")
    return commands.register_identity(
        Signer(other, TEST_ORIGIN),
        person="operator",
        public_key=operator.public_key.raw,
        organisation=ORG,
        department=OTHER_DEPT,
        display_name="Operator",
        **w.opts(),
    )


@case("registration_naming_the_rules_after_genesis", "not_genesis")
def _rules_after_genesis(w: World) -> SignedStatement:
    # a registration of a key by its own holder names the rule set
    # (commands.register_identity): here the operator's, which only genesis may
    operator = w.operator.identity
    return commands.register_identity(
        Signer(operator, TEST_ORIGIN),
        person="erin",
        public_key=operator.public_key.raw,
        organisation=ORG,
        department=DEPT,
        display_name="Erin",
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
        w["alice"].signer, person="alice", viewer="nobody", part="dossier", **w.opts()
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


# -- identity stream ----------------------------------------------------------------


@case("register_twice", "already_registered")
def _register_twice(w: World) -> SignedStatement:
    return w.register("alice")


@case("register_a_reserved_person_id", "reserved_id")
def _register_reserved(w: World) -> SignedStatement:
    return w.register("search")  # GET /people/search is the search, never this person


@case("register_in_department_of_other_organisation", "bad_department")
def _register_bad_department(w: World) -> SignedStatement:
    return w.register("erin", department="minfin/hr")


@case("register_with_someone_elses_key", "key_reused")
def _register_reused_key(w: World) -> SignedStatement:
    return commands.register_identity(
        w.operator.signer,
        person="erin",
        public_key=w["alice"].identity.public_key.raw,
        organisation=ORG,
        department=DEPT,
        display_name="Erin",
        **w.opts(),
    )


@case("rotate_key_of_unknown_person", "unknown_person")
def _rotate_unknown(w: World) -> SignedStatement:
    return commands.rotate_key(
        w.operator.signer,
        person="nobody",
        new_public_key=identity_for("nobody").public_key.raw,
        **w.opts(),
    )


@case("rotation_signed_by_a_key_that_is_not_current", "not_current_key", tampers=True)
def _rotate_not_current(w: World) -> SignedStatement:
    # A valid key of a person is always their current one (rotation, revocation and
    # erasure retire the old key at once), so the check is a backstop; shown on a state
    # where alice's current key was set to nothing behind the rules' back.
    alice = w.state.people["alice"]
    w.state.people["alice"] = dataclasses.replace(alice, current_key=None)
    return w.rotate(w["alice"], w.new_key("alice", 1))


@case("revoke_key_of_someone_else", "unknown_key")
def _revoke_other_key(w: World) -> SignedStatement:
    return w.revoke_key(w["alice"], w["bob"].key_id)


@case("revoke_key_twice", "already_revoked")
def _revoke_key_twice(w: World) -> SignedStatement:
    alice = w["alice"]
    w.do(w.revoke_key(alice, alice.key_id, signer=w.operator.identity))
    return w.revoke_key(alice, alice.key_id, signer=w.operator.identity)


@case("manager_role_scoped_to_an_organisation", "bad_scope")
def _manager_scope(w: World) -> SignedStatement:
    return w.grant(w["carol"], "manager", ORG)


@case("admin_role_scoped_to_a_department", "bad_scope")
def _admin_scope(w: World) -> SignedStatement:
    return w.grant(w["carol"], "admin", DEPT)


@case("grant_role_twice", "role_already_granted")
def _grant_role_twice(w: World) -> SignedStatement:
    return w.grant(w["bob"], "manager", DEPT)


@case("revoke_role_not_held", "role_not_held")
def _revoke_role_not_held(w: World) -> SignedStatement:
    return w.revoke_role(w["carol"], "manager", DEPT)


@case("transfer_by_non_admin", "not_admin")
def _transfer_by_non_admin(w: World) -> SignedStatement:
    return w.transfer(w["alice"], ORG, OTHER_DEPT, signer=w["carol"])


@case("transfer_to_where_they_work", "no_change")
def _transfer_no_change(w: World) -> SignedStatement:
    return w.transfer(w["alice"], ORG, DEPT)


_AWAY = "minfin/hr"  # a department of another organisation than the standard cast's


@case("transfer_to_another_organisation_without_consent", "consent_required")
def _transfer_without_consent(w: World) -> SignedStatement:
    return w.transfer(w["alice"], "minfin", _AWAY)


@case("transfer_to_another_department_than_consented", "consent_required")
def _transfer_elsewhere_than_consented(w: World) -> SignedStatement:
    w.do(w.consent(w["alice"], "minfin", "minfin/it"))
    return w.transfer(w["alice"], "minfin", _AWAY)


@case("transfer_consent_used_twice", "consent_required")
def _consent_used_twice(w: World) -> SignedStatement:
    w.do(w.consent(w["alice"], "minfin", _AWAY))
    w.do(w.transfer(w["alice"], "minfin", _AWAY))
    w.do(w.consent(w["alice"], ORG, DEPT))
    w.do(w.transfer(w["alice"], ORG, DEPT))  # back, with a new consent
    return w.transfer(w["alice"], "minfin", _AWAY)  # the first consent was used up


@case("consent_to_a_transfer_for_someone_else", "not_subject")
def _consent_for_other(w: World) -> SignedStatement:
    return commands.consent_to_transfer(
        w["bob"].signer, person="alice", organisation="minfin", department=_AWAY, **w.opts()
    )


@case("consent_to_a_transfer_within_the_organisation", "no_change")
def _consent_within(w: World) -> SignedStatement:
    return w.consent(w["alice"], ORG, OTHER_DEPT)


@case("consent_to_a_department_of_another_organisation", "bad_department")
def _consent_bad_department(w: World) -> SignedStatement:
    return w.consent(w["alice"], "minfin", OTHER_DEPT)


@case("manager_endorsement_after_transfer_to_another_department", "manager_role_required")
def _manager_moved(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.transfer(w["bob"], ORG, OTHER_DEPT))  # bob managed minbzk/dgo: that role ends
    return w.endorse(w["bob"], w["alice"], c, role="manager")


@case("admin_acts_after_transfer_to_another_organisation", "not_admin")
def _admin_moved(w: World) -> SignedStatement:
    w.do(w.grant(w["carol"], "admin", ORG))
    w.do(w.consent(w["carol"], "minfin", _AWAY))
    w.do(w.transfer(w["carol"], "minfin", _AWAY))  # the admin role of minbzk ends with it
    return w.register("erin", signer=w["carol"])


@case("leave_for_someone_else", "not_subject")
def _leave_for_other(w: World) -> SignedStatement:
    return commands.leave_ledger(
        w["bob"].signer, person="alice", destination=_ELSEWHERE, **w.opts()
    )


@case("operator_leaves", "operator_stays")
def _operator_leaves(w: World) -> SignedStatement:
    return w.leave(w.operator, _ELSEWHERE)


@case("leave_for_this_ledger", "same_ledger")
def _leave_for_here(w: World) -> SignedStatement:
    return w.leave(w["alice"], w.origin)


@case("claim_after_leaving", "departed")
def _claim_after_leaving(w: World) -> SignedStatement:
    w.do(w.leave(w["alice"], _ELSEWHERE))
    return w.claim(w["alice"])


@case("endorse_after_leaving", "departed")
def _endorse_after_leaving(w: World) -> SignedStatement:
    c = w.do(w.claim(w["carol"])).statement.id
    w.do(w.leave(w["alice"], _ELSEWHERE))
    return w.endorse(w["alice"], w["carol"], c, role="peer")


@case("endorse_someone_who_left", "departed")
def _endorse_departed(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.asked(w["alice"], c, w["carol"])  # asked before leaving: only the departure refuses it
    w.do(w.leave(w["alice"], _ELSEWHERE))
    return w.endorse(w["carol"], w["alice"], c, role="peer")


@case("transfer_someone_who_left", "departed")
def _transfer_departed(w: World) -> SignedStatement:
    w.do(w.leave(w["alice"], _ELSEWHERE))
    return w.transfer(w["alice"], ORG, OTHER_DEPT)


@case("assign_someone_who_left", "departed")
def _assign_departed(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.leave(w["alice"], _ELSEWHERE))
    return w.assign(w["bob"], a, w["alice"])


# -- record stream ------------------------------------------------------------------


@case("endorse_contribution_of_someone_else", "unknown_contribution")
def _endorse_other_contribution(w: World) -> SignedStatement:
    c = w.do(w.claim(w["bob"])).statement.id  # bob's, endorsed as alice's
    return w.endorse(w["carol"], w["alice"], c)


@case("revoke_unknown_endorsement", "unknown_endorsement")
def _revoke_unknown_endorsement(w: World) -> SignedStatement:
    c = w.do(w.claim(w["bob"])).statement.id
    w.asked(w["bob"], c, w["carol"])
    e = w.do(w.endorse(w["carol"], w["bob"], c)).statement.id  # on bob's record
    return w.revoke_endorsement(w["carol"], w["alice"], e)


@case("revoke_endorsement_of_someone_else", "not_endorser")
def _revoke_other_endorsement(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.asked(w["alice"], c, w["carol"])
    e = w.do(w.endorse(w["carol"], w["alice"], c)).statement.id
    return w.revoke_endorsement(w["dave"], w["alice"], e)


@case("revoke_endorsement_twice", "already_revoked")
def _revoke_endorsement_twice(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.asked(w["alice"], c, w["carol"])
    e = w.do(w.endorse(w["carol"], w["alice"], c)).statement.id
    w.do(w.revoke_endorsement(w["carol"], w["alice"], e))
    return w.revoke_endorsement(w["carol"], w["alice"], e)


# -- review requests and the evidence of an endorsement --------------------------------


@case("review_request_on_someone_elses_record", "not_subject")
def _review_for_other(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return w.ask_review(w["alice"], c, (w["bob"], "manager"), signer=w["carol"].identity)


@case("review_request_of_someone_elses_contribution", "unknown_contribution")
def _review_other_contribution(w: World) -> SignedStatement:
    c = w.do(w.claim(w["carol"])).statement.id
    return w.ask_review(w["alice"], c, (w["bob"], "manager"))


@case("review_request_of_withdrawn_contribution", "contribution_withdrawn")
def _review_withdrawn(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.withdraw(w["alice"], c))
    return w.ask_review(w["alice"], c, (w["bob"], "manager"))


@case("review_request_to_oneself", "self_review")
def _review_self(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return w.ask_review(w["alice"], c, (w["carol"], "peer"), (w["alice"], "peer"))


@case("review_request_naming_a_reviewer_twice", "duplicate_reviewer")
def _review_twice(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return w.ask_review(w["alice"], c, (w["carol"], "peer"), (w["carol"], "client"))


@case("review_request_to_an_unregistered_person", "unknown_person")
def _review_unknown(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return w.ask_review(w["alice"], c, (w.member("mallory"), "client"))


@case("review_request_to_an_erased_person", "erased")
def _review_erased(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.erase(w["carol"]))
    return w.ask_review(w["alice"], c, (w["carol"], "peer"))


@case("endorsement_answering_a_request_for_another_contribution", "unknown_review_request")
def _answer_other_request(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    other = w.do(w.claim(w["alice"], title="Another")).statement.id
    asked = w.asked(w["alice"], other, w["carol"])
    w.asked(w["alice"], c, w["carol"])
    return w.endorse(w["carol"], w["alice"], c, request=asked)


@case("endorsement_answering_a_request_not_addressed_to_the_signer", "not_addressed")
def _answer_not_addressed(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    asked = w.asked(w["alice"], c, w["carol"])
    w.do(w.grant_access(w["alice"], w["bob"], "dossier"))  # bob may read it, but was not asked
    return w.endorse(w["bob"], w["alice"], c, role="manager", request=asked, asked=False)


@case("endorsement_answering_a_request_in_another_role", "role_not_asked")
def _answer_other_role(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    asked = w.asked(w["alice"], c, w["carol"], "client")
    return w.endorse(w["carol"], w["alice"], c, role="peer", request=asked)


@case("peer_endorsement_without_a_relation", "no_peer_relation")
def _peer_without_relation(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.asked(w["alice"], c, w["dave"], "client")  # dave may read it; of another department
    return w.endorse(w["dave"], w["alice"], c, role="peer")


@case("client_endorsement_without_a_relation", "no_client_relation")
def _client_without_relation(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.grant_access(w["alice"], w["carol"], "dossier"))  # carol may read it, unasked
    return w.endorse(w["carol"], w["alice"], c, role="client", asked=False)


@case("peer_grading_a_contribution_they_may_not_read", "contribution_unreadable")
def _peer_blind(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id  # dossier: on request, nobody granted
    return w.endorse(w["carol"], w["alice"], c, role="peer", asked=False)


@case("manager_grading_a_contribution_they_may_not_read", "contribution_unreadable")
def _manager_blind(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    w.do(w.grant_access(w["alice"], w["bob"], "analytical"))  # another part
    return w.endorse(w["bob"], w["alice"], c, role="manager", asked=False)


# -- assignment stream --------------------------------------------------------------


@case("post_assignment_id_twice", "already_posted")
def _post_twice(w: World) -> SignedStatement:
    first = w.do(w.post(w["bob"])).statement
    return commands.post_assignment(
        w["bob"].signer,
        assignment=first.subject,
        organisation=ORG,
        department=DEPT,
        title="The same assignment again",
        skills=["python"],
        hours_per_week=4,
        **w.opts(),
    )


@case("post_assignment_ending_before_it_starts", "bad_period")
def _post_bad_period(w: World) -> SignedStatement:
    return w.post(w["bob"], starts="2026-10-01", ends="2026-09-30")


@case("claim_ending_before_it_starts", "bad_period")
def _claim_bad_period(w: World) -> SignedStatement:
    return w.claim(w["alice"], end="2000-01-01")  # START is later


@case("post_in_department_of_other_organisation", "bad_department")
def _post_bad_department(w: World) -> SignedStatement:
    return commands.post_assignment(
        w["bob"].signer,
        assignment="6f1c2b1e-3d4a-4b5c-8d6e-7f8091a2b3c4",
        organisation="minfin",
        department=DEPT,
        title="Misfiled",
        skills=["python"],
        hours_per_week=4,
        **w.opts(),
    )


@case("apply_to_unknown_assignment", "unknown_assignment")
def _apply_unknown(w: World) -> SignedStatement:
    return w.apply(w["alice"], "6f1c2b1e-3d4a-4b5c-8d6e-7f8091a2b3c4")


@case("apply_to_cancelled_assignment", "assignment_closed")
def _apply_cancelled(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.cancel(w["bob"], a))
    return w.apply(w["alice"], a)


@case("apply_to_own_assignment", "self_application")
def _apply_own(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    return w.apply(w["bob"], a)


@case("apply_twice", "already_applied")
def _apply_twice(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.apply(w["alice"], a))
    return w.apply(w["alice"], a)


@case("assign_unknown_person", "unknown_person")
def _assign_unknown(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    return commands.assign(w["bob"].signer, assignment=a, assignee="nobody", **w.opts())


@case("assign_to_owner", "self_assignment")
def _assign_owner(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    return w.assign(w["bob"], a, w["bob"])


@case("assign_twice", "already_assigned")
def _assign_twice(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.assign(w["bob"], a, w["alice"]))
    return w.assign(w["bob"], a, w["alice"])


@case("complete_twice", "already_completed")
def _complete_twice(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.assign(w["bob"], a, w["alice"]))
    w.do(w.complete(w["bob"], a, w["alice"]))
    return w.complete(w["bob"], a, w["alice"])


@case("cancel_cancelled_assignment", "assignment_closed")
def _cancel_twice(w: World) -> SignedStatement:
    a = w.do(w.post(w["bob"])).statement.subject
    w.do(w.cancel(w["bob"], a))
    return w.cancel(w["bob"], a)


# -- what every entry must satisfy (only a direct caller of apply_entry can break it) -------


@case("entry_judged_past_the_next_index", "bad_position", at=1)
def _past_next_index(w: World) -> SignedStatement:
    return w.claim(w["alice"])


@case("bundle_entry_before_the_last_one", "bad_position", at=-1, partial=True)
def _bundle_out_of_order(w: World) -> SignedStatement:
    return w.claim(w["alice"])


@case("entry_restarting_its_stream", "chain_broken", present=restart_stream)
def _restart_stream(w: World) -> SignedStatement:
    w.do(w.claim(w["alice"]))
    return w.claim(w["alice"], title="Second")


@case("key_of_no_person", "unknown_person", tampers=True)
def _key_of_no_person(w: World) -> SignedStatement:
    # Registration puts the key and the person in one step, so a key always has a
    # person; the check is a backstop, shown on a state that lost alice behind the
    # rules' back.
    c = w.do(w.claim(w["carol"])).statement.id
    del w.state.people["alice"]
    return w.endorse(w["alice"], w["carol"], c)  # carol exists: only the author is missing


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


def set_at(path: str, value: Any) -> Mutation:
    """A mutation that sets the dotted ``path`` of a submission to ``value``."""

    def mutate(raw: dict[str, Any]) -> None:
        target, last = _walk(raw, path)
        target[last] = value

    return mutate


def drop_at(path: str) -> Mutation:
    """A mutation that removes the dotted ``path`` from a submission."""

    def mutate(raw: dict[str, Any]) -> None:
        target, last = _walk(raw, path)
        del target[last]

    return mutate


_SIG_63 = b64encode(bytes(63))
_SIG_NON_CANONICAL = b64encode(bytes(64))[:-3] + "B=="  # padding bits set: not canonical

MALFORMED = [
    # (id, base, mutation, code, field)
    ("grade_as_string", "endorse", set_at("statement.body.grade", "5"), "malformed", "body.grade"),
    ("grade_as_bool", "endorse", set_at("statement.body.grade", True), "malformed", "body.grade"),
    ("grade_as_float", "endorse", set_at("statement.body.grade", 4.0), "malformed", "body.grade"),
    ("grade_null", "endorse", set_at("statement.body.grade", None), "malformed", "body.grade"),
    ("role_unknown", "endorse", set_at("statement.body.role", "boss"), "malformed", "body.role"),
    ("contribution_ref_not_uuid", "endorse", set_at("statement.body.contribution", "c1"),
     "malformed", "body.contribution"),
    ("hours_as_string", "post", set_at("statement.body.hours_per_week", "8"), "malformed",
     "body.hours_per_week"),
    ("hours_zero", "post", set_at("statement.body.hours_per_week", 0), "malformed",
     "body.hours_per_week"),
    ("skills_not_a_list", "claim", set_at("statement.body.skills", "python"), "malformed",
     "body.skills"),
    ("skill_not_a_slug", "claim", set_at("statement.body.skills", ["Python!"]), "malformed",
     "body.skills.0"),
    ("period_impossible_date", "claim", set_at("statement.body.period.start", "2026-02-30"),
     "malformed", "body.period.start"),
    ("commitment_not_hex", "claim", set_at("statement.body.commitments.title", "zz"),
     "malformed", "body.commitments.title"),
    ("body_not_object", "claim", set_at("statement.body", ["python"]), "malformed", "body"),
    ("id_not_uuid", "claim", set_at("statement.id", "claim-1"), "malformed", "id"),
    ("id_uppercase_uuid", "claim", set_at("statement.id", "0F8FAD5B-D9CB-469F-A165-70867728950E"),
     "malformed", "id"),
    ("id_as_int", "claim", set_at("statement.id", 7), "malformed", "id"),
    ("issued_at_impossible", "claim", set_at("statement.issued_at", "2026-02-30T10:00:00Z"),
     "malformed", "issued_at"),
    ("issued_at_with_offset", "claim", set_at("statement.issued_at", "2026-03-01T10:00:00+01:00"),
     "malformed", "issued_at"),
    ("issued_at_as_epoch", "claim", set_at("statement.issued_at", 1767261600), "malformed",
     "issued_at"),
    ("author_not_key_id", "claim", set_at("statement.author", "alice"), "malformed", "author"),
    ("subject_as_int", "claim", set_at("statement.subject", 42), "bad_subject", "subject"),
    ("subject_not_slug", "claim", set_at("statement.subject", "Alice Smith"), "bad_subject",
     "subject"),
    ("assignment_subject_not_uuid", "post", set_at("statement.subject", "alice"), "bad_subject",
     "subject"),
    ("type_unknown", "claim", set_at("statement.type", "ContributionClamed"), "unknown_type",
     "type"),
    ("type_as_int", "claim", set_at("statement.type", 3), "unknown_type", "type"),
    ("statement_not_object", "claim", set_at("statement", "ContributionClaimed"), "malformed",
     "statement"),
    ("signature_not_base64", "claim", set_at("signature", "!!not base64!!"), "malformed", None),
    ("signature_63_bytes", "claim", set_at("signature", _SIG_63), "malformed", None),
    ("signature_non_canonical_base64", "claim", set_at("signature", _SIG_NON_CANONICAL),
     "malformed", None),
    ("signature_as_int", "claim", set_at("signature", 12), "malformed", "signature"),
    ("disclosures_not_a_list", "claim", set_at("disclosures", {"title": "x"}), "malformed",
     "disclosures"),
    ("disclosure_two_items", "claim", set_at("disclosures", [["0" * 32, "title"]]), "malformed",
     "disclosures[0]"),
    ("disclosure_salt_uppercase", "claim", set_at("disclosures", [["A" * 32, "title", "x"]]),
     "malformed", "disclosures[0]"),
    ("unknown_field_in_body", "claim", set_at("statement.body.rating", 5), "unknown_field",
     "body.rating"),
    ("unknown_field_in_period", "claim", set_at("statement.body.period.hours", 5), "unknown_field",
     "body.period.hours"),
    ("unknown_field_top_level", "claim", set_at("statement.version", 2), "unknown_field",
     "version"),
    ("unknown_field_in_submission", "claim", set_at("proof", "x"), "unknown_field", None),
    ("commitment_to_unknown_personal_field", "claim",
     set_at("statement.body.commitments.salary", "0" * 64), "unknown_field",
     "body.commitments.salary"),
    ("missing_grade", "endorse", drop_at("statement.body.grade"), "missing_field", "body.grade"),
    ("missing_issued_at", "claim", drop_at("statement.issued_at"), "missing_field", "issued_at"),
    ("missing_required_personal_field", "claim", drop_at("statement.body.commitments.title"),
     "missing_field", "body.commitments.title"),
    ("missing_signature", "claim", drop_at("signature"), "missing_field", None),
    ("scope_too_long", "grant", set_at("statement.body.scope", "minbzk/" + "d" * 123), "too_long",
     "body.scope"),
    ("too_many_skills", "claim", set_at("statement.body.skills", [f"s{i}" for i in range(21)]),
     "too_long", "body.skills"),
]  # fmt: skip
