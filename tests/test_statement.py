"""Statements: signing and parsing round trip; disclosures against their commitments;
signatures bound to their purpose."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import BadSignature, Purpose
from ledger import commands
from ledger.canonical import b64encode
from ledger.catalogue import CATALOGUE
from ledger.disclosures import Disclosure
from ledger.errors import MalformedInput, RuleViolation
from ledger.statement import SignedStatement, parse_signed_statement
from tests.factories import DEPT, OTHER_DEPT, MemoryLedger, World, identity_for, standard_world


def one_of_each_type(w: World) -> list[SignedStatement]:
    """One signed statement of every catalogue type (signed only, not appended)."""
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    claim = w.claim(alice)
    endorsement = w.endorse(bob, alice, claim.statement.id, role="manager")
    post = w.post(bob)
    a = post.statement.subject
    request = w.request_access(bob, alice)
    grant = w.grant_access(alice, bob, request=request.statement.id)
    return [
        w.register("erin", next_key=w.new_key("erin", 1).public_key.raw),
        w.rotate(alice, w.new_key("alice", 1)),
        commands.link_identity(
            w.signer_for(alice.identity),
            person="alice",
            origin="trackrecord.example/a",
            public_key=(there := identity_for("alice-there")).public_key.raw,
            countersigner=there,
            **w.opts(),
        ),
        w.revoke_key(alice, alice.key_id),
        w.grant(carol, "manager", DEPT),
        w.revoke_role(bob, "manager", DEPT),
        w.transfer(carol, "minbzk", OTHER_DEPT),
        w.consent(carol, "minfin", "minfin/hr"),
        w.leave(carol, "trackrecord.example/b"),
        claim,
        w.withdraw(alice, claim.statement.id),
        w.ask_review(alice, claim.statement.id, (bob, "manager"), (carol, "peer")),
        endorsement,
        w.revoke_endorsement(bob, alice, endorsement.statement.id),
        w.ambition(alice),
        w.visibility(alice, "analytical", "on_request"),
        post,
        w.apply(carol, a),
        w.assign(bob, a, carol),
        w.complete(bob, a, carol, grade=5),
        w.cancel(bob, a),
        request,
        grant,
        w.refuse_access(alice, request.statement.id),
        w.revoke_access(alice, grant.statement.id),
        w.erase(carol),
    ]


@pytest.fixture(scope="module")
def world() -> World:
    return standard_world(MemoryLedger(), seed="statements")


def wire(signed: SignedStatement) -> dict[str, Any]:
    """The submission as a client would send it: through real JSON text."""
    doc: dict[str, Any] = json.loads(json.dumps(signed.as_json(), ensure_ascii=False))
    return doc


def test_every_type_round_trips_and_verifies(world: World) -> None:
    statements = one_of_each_type(world)
    assert {s.statement.type for s in statements} == set(CATALOGUE)
    for signed in statements:
        parsed = parse_signed_statement(wire(signed))
        assert parsed.statement.canonical == signed.statement.canonical
        assert parsed.statement.as_json() == signed.statement.as_json()
        assert parsed.signature == signed.signature
        assert parsed.disclosures == signed.disclosures
        assert parsed.disclosed() == signed.disclosed()
        signer = world.identities[signed.statement.author]
        parsed.statement.verify_signature(
            public_key=signer.public_key.raw, signature=parsed.signature
        )
        assert parsed.as_json() == signed.as_json()


@given(
    title=st.text(st.characters(codec="utf-8"), min_size=1, max_size=200),
    description=st.none() | st.text(st.characters(codec="utf-8"), max_size=300),
)
def test_any_personal_text_round_trips(title: str, description: str | None) -> None:
    w = World(MemoryLedger(), seed="text")
    alice = w.member("alice")
    signed = w.claim(alice, title=title, description=description)
    parsed = parse_signed_statement(wire(signed))
    expected = {"title": title, "description": description}
    assert parsed.disclosed() == {k: v for k, v in expected.items() if v is not None}
    assert parsed.statement.canonical == signed.statement.canonical
    parsed.statement.verify_signature(
        public_key=alice.identity.public_key.raw, signature=parsed.signature
    )


# -- disclosures ---------------------------------------------------------------------------------


def _claim_submission(world: World) -> dict[str, Any]:
    return wire(world.claim(world["alice"]))  # discloses title and description


def _disclosure(raw: dict[str, Any], name: str) -> list[str]:
    return next(d for d in raw["disclosures"] if d[1] == name)


def _change_value(raw: dict[str, Any]) -> None:
    _disclosure(raw, "title")[2] = "Wrote the Woo implementation guide, alone"


def _change_salt(raw: dict[str, Any]) -> None:
    _disclosure(raw, "title")[0] = "f" * 32


def _rename_field(raw: dict[str, Any]) -> None:
    _disclosure(raw, "description")[1] = "title"  # also a duplicate of title now


def _uncommitted_field(raw: dict[str, Any]) -> None:
    raw["disclosures"].append(["ab" * 16, "evidence_link", "https://example.org/woo"])


def _field_the_type_lacks(raw: dict[str, Any]) -> None:
    raw["disclosures"].append(["ab" * 16, "salary", "4000"])


def _duplicate(raw: dict[str, Any]) -> None:
    raw["disclosures"].append(list(_disclosure(raw, "title")))


@pytest.mark.parametrize(
    "tamper",
    [
        _change_value,
        _change_salt,
        _rename_field,
        _uncommitted_field,
        _field_the_type_lacks,
        _duplicate,
    ],
)
def test_disclosure_not_matching_its_commitment_is_refused(world: World, tamper: Any) -> None:
    raw = _claim_submission(world)
    parse_signed_statement(copy.deepcopy(raw))
    tamper(raw)
    with pytest.raises(MalformedInput) as info:
        parse_signed_statement(raw)
    assert info.value.code == "bad_disclosure"
    assert info.value.field is not None


@pytest.mark.parametrize("withheld", [("description",), ("title",), ("title", "description")])
def test_withheld_disclosure_still_parses_and_verifies(
    world: World, withheld: tuple[str, ...]
) -> None:
    signed = world.claim(world["alice"])
    raw = wire(signed)
    raw["disclosures"] = [d for d in raw["disclosures"] if d[1] not in withheld]
    parsed = parse_signed_statement(raw)
    assert parsed.statement.canonical == signed.statement.canonical
    assert set(parsed.statement.body["commitments"]) == {"title", "description"}
    assert set(parsed.disclosed()) == {"title", "description"} - set(withheld)
    key = world["alice"].identity.public_key.raw
    parsed.statement.verify_signature(public_key=key, signature=parsed.signature)

    # The ledger accepts it: withholding (or erasing) content breaks no rule.
    memory = MemoryLedger()
    w = World(memory, seed="withheld", people=world.people)
    w.do_all([w.genesis(), w.register("alice")])
    memory.append(parsed)
    assert memory.state.contributions[parsed.statement.id].owner == "alice"


def test_submission_without_disclosures_field_is_a_full_withholding(world: World) -> None:
    raw = _claim_submission(world)
    del raw["disclosures"]
    assert parse_signed_statement(raw).disclosures == ()


def test_disclosure_digest_depends_on_salt_field_and_value() -> None:
    base = Disclosure("00" * 16, "title", "x")
    variants = [
        Disclosure("01" * 16, "title", "x"),
        Disclosure("00" * 16, "goal", "x"),
        Disclosure("00" * 16, "title", "y"),
    ]
    assert len({base.digest, *(v.digest for v in variants)}) == 4


# -- signatures are bound to their purpose ---------------------------------------------------------


@pytest.mark.parametrize("purpose", [Purpose.REQUEST, Purpose.CHALLENGE])
def test_signature_for_another_purpose_is_not_a_statement_signature(purpose: Purpose) -> None:
    memory = MemoryLedger()
    w = standard_world(memory, seed="purpose")
    alice = w["alice"]
    honest = w.claim(alice)
    other = alice.identity.sign(purpose, honest.statement.canonical)
    key = alice.identity.public_key.raw

    honest.statement.verify_signature(public_key=key, signature=honest.signature)
    with pytest.raises(BadSignature):
        honest.statement.verify_signature(public_key=key, signature=other)

    raw = {**wire(honest), "signature": b64encode(other)}
    parsed = parse_signed_statement(raw)  # well formed: the signature is only checked by the rules
    before = memory.state.size
    with pytest.raises(RuleViolation) as info:
        memory.append(parsed)
    assert info.value.code == "bad_signature"
    assert memory.state.size == before
    memory.append(honest)
