"""Keys under attack: a stolen key, once revoked, signs nothing more; what it signed before
stays valid; nobody signs with a key that is not theirs.

Everything goes through :class:`~ledger.service.LedgerService` on every storage backend,
as the HTTP service and the CLI use it. The single-rule checks of ``tests/test_rules.py``
show each code once; here the same rules are exercised as an attacker would chain them:

* mallory copies alice's key. While the key is valid the ledger cannot tell her from
  alice (that is what a signature means); once the key is revoked — by alice or by an
  admin — every statement signed with it is refused, however it is dressed up (a
  backdated ``issued_at``, a batch, a rotation to mallory's own key, a revocation of
  alice's replacement key, a fresh service process), and a replay of what it signed
  before is refused as a replay;
* the entries signed before the revocation still verify: in the audit of the store, and
  offline in an exported bundle, where a dishonest operator cannot slip in a statement
  signed after the revocation;
* a key that was never registered, that belongs to someone else, or whose owner did not
  sign is refused with its own code, and nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ledger import commands
from ledger.audit import AuditReport, audit
from ledger.bundle import BundleError, dump_bundle, verify_bundle
from ledger.errors import RuleViolation
from ledger.export import export_bundle
from ledger.service import LedgerService
from ledger.statement import SignedStatement
from ledger.store import Store, open_store
from ledger.transparency import TransparencyLog
from tests.factories import DEPT, TEST_ORIGIN, TickClock, World, forge, identity_for, standard_world
from tests.support.bundles import forged, reference_bundle

ORIGIN = TEST_ORIGIN  # the ledger the world signs for


@dataclass
class Ledger:
    """A service on a fresh store with the standard cast; ``restart`` opens a new process's view."""

    url: str
    store: Store
    service: LedgerService
    world: World

    def restart(self) -> None:
        """Drop the service and open the store again, as a restarted process would."""
        self.store.close()
        self.store = open_store(self.url)
        self.service = LedgerService(self.store, clock=TickClock())
        self.service.catch_up()
        self.world.ledger = self.service

    def audit(self) -> AuditReport:
        store = open_store(self.url)
        try:
            return audit(store)
        finally:
            store.close()

    def refuse(self, signed: SignedStatement | list[SignedStatement], code: str) -> None:
        """Appending ``signed`` is refused with ``code`` and writes nothing."""
        position, size = self.store.max_position(), self.service.state.size
        batch = signed if isinstance(signed, list) else [signed]
        with pytest.raises(RuleViolation) as refused:
            self.service.append_batch(batch)
        assert refused.value.code == code, refused.value.evidence()
        assert (self.store.max_position(), self.service.state.size) == (position, size)


def _open(url: str) -> Iterator[Ledger]:
    store = open_store(url)
    service = LedgerService(store, clock=TickClock())
    world = standard_world(service, seed="keys-security")
    lg = Ledger(url, store, service, world)
    try:
        yield lg
    finally:
        lg.store.close()


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """The standard cast on every storage backend."""
    yield from _open(database_url)


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> Iterator[Ledger]:
    """The standard cast on SQLite (for the rule table: the rules do not depend on the
    backend, and tests/test_rules.py runs each rule on both)."""
    yield from _open(sqlite_url)


# -- a stolen key ---------------------------------------------------------------------------


def test_a_stolen_then_revoked_key_can_no_longer_sign(ledger: Ledger) -> None:
    w, service = ledger.world, ledger.service
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    stolen = alice.identity  # mallory's copy
    genuine = service.append(w.claim(alice, title="Before the theft")).entry.statement
    by_thief = w.do(w.claim(alice, title="Claimed by mallory while the key was valid"))
    carols = w.do(w.claim(carol, title="Carol's work")).statement.id
    revocation = service.append(w.revoke_key(alice, stolen.key_id, signer=w.operator.identity))

    mallory = identity_for("mallory")
    attempts: dict[str, SignedStatement] = {
        "claim": w.claim(alice, title="After the revocation"),
        "backdated claim": w.claim(alice, issued_at="2026-01-01T00:00:00.000000Z"),
        "endorsement": w.endorse(alice, carol, carols, grade=5),
        "withdrawal of alice's own claim": w.withdraw(alice, genuine.id),
        "rotation to mallory's key": w.rotate(alice, mallory, signer=stolen),
        "ambition": w.ambition(alice),
        "application": w.apply(alice, w.do(w.post(bob)).statement.subject),
    }
    for name, signed in attempts.items():
        assert signed.statement.author == stolen.key_id, name
        ledger.refuse(signed, "key_revoked")
    ledger.refuse([w.ambition(bob), w.claim(alice, title="Hidden in a batch")], "key_revoked")
    ledger.refuse(by_thief, "replayed_id")  # what it signed before cannot be appended again

    # alice recovers: an admin gives her a new key; the stolen key still signs nothing,
    # not even the revocation of her new key
    new = w.new_key("alice", 1)
    w.do(w.rotate(alice, new, signer=w.operator.identity))
    alice.identity = new
    w.do(w.claim(alice, title="With the new key"))
    ledger.refuse(w.revoke_key(alice, new.key_id, signer=stolen), "key_revoked")

    ledger.restart()  # a fresh process judges from the stored log alone
    ledger.refuse(forge(w.claim(alice, title="After a restart"), signer=stolen), "key_revoked")
    key = ledger.service.state.keys[stolen.key_id]
    assert (key.revoked, key.retired_at) == (True, revocation.log_index)

    report = ledger.audit()
    assert report.ok, report.as_json()
    assert report.entries == ledger.service.state.size


def test_a_thief_who_takes_over_an_identity_is_locked_out_by_the_admin(ledger: Ledger) -> None:
    """With a valid stolen key mallory rotates alice's identity to her own key; the admin
    revokes mallory's key and gives alice a new one: neither of the two keys signs again."""
    w = ledger.world
    alice = w["alice"]
    stolen, mallory = alice.identity, identity_for("mallory")
    w.do(w.rotate(alice, mallory))  # signed with the (still valid) stolen key
    alice.identity = mallory
    w.do(w.claim(alice, title="Mallory's claim"))
    w.do(w.revoke_key(alice, mallory.key_id, signer=w.operator.identity))
    new = w.new_key("alice", 1)
    w.do(w.rotate(alice, new, signer=w.operator.identity))

    ledger.refuse(forge(w.claim(alice), signer=mallory), "key_revoked")
    ledger.refuse(forge(w.claim(alice), signer=stolen), "key_superseded")
    ledger.refuse(w.rotate(alice, identity_for("mallory", 1), signer=mallory), "key_revoked")
    alice.identity = new
    w.do(w.claim(alice, title="Alice again"))
    assert ledger.audit().ok


def test_a_pre_committed_next_key_stops_a_takeover(ledger: Ledger) -> None:
    """erin committed to her next key at registration: a thief with her current key cannot
    rotate to a key of his own, only to the committed one (which he does not have)."""
    w = ledger.world
    committed = w.new_key("erin", 1)
    w.do(w.register("erin", next_key=committed.public_key.raw))
    erin = w["erin"]
    ledger.refuse(w.rotate(erin, identity_for("mallory")), "precommit_mismatch")
    w.do(w.rotate(erin, committed))
    assert ledger.service.state.people["erin"].current_key == committed.key_id


# -- what was signed before the revocation stays valid ------------------------------------


def test_entries_signed_before_the_revocation_verify_in_the_audit_and_a_bundle(
    ledger: Ledger,
) -> None:
    w, service = ledger.world, ledger.service
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    stolen = alice.identity
    claim = w.do(w.claim(alice, title="Signed before the revocation")).statement
    w.do(w.endorse(bob, alice, claim.id, grade=4, role="manager"))
    carols = w.do(w.claim(carol, title="Carol's work")).statement.id
    w.do(w.endorse(alice, carol, carols, grade=5))  # alice's signature on carol's record
    w.do(w.revoke_key(alice, stolen.key_id))  # alice revokes it herself: its last signature
    new = w.new_key("alice", 1)
    w.do(w.rotate(alice, new, signer=w.operator.identity))
    alice.identity = new
    w.do(w.claim(alice, title="Signed with the new key"))

    report = ledger.audit()
    assert report.ok, report.as_json()
    log = TransparencyLog(service)
    log.set_origin(ORIGIN)
    log.issue_checkpoint(w.operator.identity)
    key = log.verifier()
    for person, title in (("alice", "Signed before the revocation"), ("carol", "Carol's work")):
        bundle = verify_bundle(dump_bundle(export_bundle(log, person)), trusted=[key])
        assert title in [c.title for c in bundle.contributions]
    alices = verify_bundle(dump_bundle(export_bundle(log, "alice")), trusted=[key])
    assert [c.title for c in alices.contributions] == [
        "Signed before the revocation",
        "Signed with the new key",
    ]
    assert alices.endorsers() == ("bob",)
    carols_record = verify_bundle(dump_bundle(export_bundle(log, "carol")), trusted=[key])
    assert carols_record.endorsers() == ("alice",)

    # a dishonest operator adds a claim signed with the revoked key to alice's bundle,
    # with a checkpoint it signs itself: the offline verifier still refuses it
    entries = [(s.entry, s.disclosures) for _, s in service.read_log(limit=10_000)]
    late = forge(w.claim(alice, title="Signed after the revocation"), signer=stolen)
    honest = export_bundle(log, "alice")
    bad = reference_bundle(
        forged(entries, late),
        person="alice",
        streams=set(honest["heads"]),
        signer=w.operator.identity,
        origin=ORIGIN,
    )
    with pytest.raises(BundleError) as refused:
        verify_bundle(bad, trusted=[key])
    assert (refused.value.code, refused.value.evidence()["rule"]) == (
        "rule_violation",
        "key_revoked",
    )


# -- who may take back what --------------------------------------------------------------------


def test_praise_is_taken_back_only_by_its_author_and_never_silently(ledger: Ledger) -> None:
    """Only bob may revoke bob's endorsement; his revocation is one more entry on alice's
    record, and the endorsement itself stays in the log and in alice's bundle."""
    w, service = ledger.world, ledger.service
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    work = w.do(w.claim(alice, title="Praised work")).statement.id
    praise = w.do(w.endorse(bob, alice, work, grade=5, role="manager")).statement.id
    ledger.refuse(w.revoke_endorsement(carol, alice, praise), "not_endorser")
    ledger.refuse(forge(w.revoke_endorsement(bob, alice, praise), signer=carol.identity,
                        author=bob.key_id), "bad_signature")  # fmt: skip
    revoked = w.do(w.revoke_endorsement(bob, alice, praise))

    record = [s.entry.statement for s in service.read_stream("record/alice")]
    assert [(s.type, s.id) for s in record[-2:]] == [
        ("EndorsementGiven", praise),
        ("EndorsementRevoked", revoked.statement.id),
    ]
    log = TransparencyLog(service)
    log.set_origin(ORIGIN)
    log.issue_checkpoint(w.operator.identity)
    bundle = export_bundle(log, "alice")
    types = [i["entry"]["statement"]["type"] for i in bundle["entries"]]
    assert "EndorsementGiven" in types
    assert "EndorsementRevoked" in types
    report = verify_bundle(dump_bundle(bundle), trusted=[log.verifier()])
    assert report.endorsers() == ()  # the report counts it as taken back, visibly
    assert ledger.audit().ok


def test_an_admin_rekeying_a_person_is_visible_in_their_bundle(ledger: Ledger) -> None:
    """Key recovery lets an admin give alice a new key, and whoever holds that key signs as
    alice. The ledger cannot prevent a dishonest admin from doing so (see
    docs/threat-model.md), but it cannot hide it: the rotation, signed by the admin, is in
    alice's identity stream, which every bundle of alice carries whole."""
    w, service = ledger.world, ledger.service
    alice, mallory = w["alice"], identity_for("mallory")
    original, first, committed = alice.key_id, w.new_key("alice", 1), w.new_key("alice", 2)
    w.do(w.rotate(alice, first, next_key=committed.public_key.raw))  # alice pre-commits
    alice.identity = first
    w.do(w.rotate(alice, mallory, signer=w.operator.identity))  # binds no admin
    w.do(forge(w.claim(alice, title="Signed by the admin's key holder"), signer=mallory))

    log = TransparencyLog(service)
    log.set_origin(ORIGIN)
    log.issue_checkpoint(w.operator.identity)
    bundle = export_bundle(log, "alice")
    rotations = [
        i["entry"]["statement"]
        for i in bundle["entries"]
        if i["entry"]["statement"]["type"] == "KeyRotated"
    ]
    assert [r["author"] for r in rotations] == [original, w.operator.key_id]
    verify_bundle(dump_bundle(bundle), trusted=[log.verifier()])


# -- keys that are not the signer's own ----------------------------------------------------


@dataclass(frozen=True)
class Impostor:
    code: str
    build: Callable[[World], SignedStatement]


def _rotated_out(w: World) -> SignedStatement:
    alice = w["alice"]
    old = alice.identity
    w.do(w.rotate(alice, w.new_key("alice", 1)))
    return w.claim(alice, signer=old)


def _precommitted_before_rotation(w: World) -> SignedStatement:
    committed = w.new_key("erin", 1)
    w.do(w.register("erin", next_key=committed.public_key.raw))
    return forge(w.claim(w["erin"]), signer=committed)


def _other_persons_contribution(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    return commands.withdraw_contribution(
        w["bob"].signer, person="alice", contribution=c, **w.opts()
    )


def _manager_impersonated(w: World) -> SignedStatement:
    c = w.do(w.claim(w["alice"])).statement.id
    says = w.endorse(w["bob"], w["alice"], c, grade=5, role="manager")
    return forge(says, signer=w["carol"].identity, author=w["bob"].key_id)


def _stolen_key_registered_for_mallory(w: World) -> SignedStatement:
    return commands.register_identity(
        w.operator.signer,
        person="mallory",
        public_key=w["alice"].identity.public_key.raw,
        organisation="minbzk",
        department=DEPT,
        display_name="Mallory",
        **w.opts(),
    )


IMPOSTORS: dict[str, Impostor] = {
    "never registered key": Impostor(
        "unknown_key", lambda w: forge(w.claim(w["alice"]), signer=identity_for("mallory"))
    ),
    "alice's key of another ledger": Impostor(
        "unknown_key", lambda w: forge(w.claim(w["alice"]), signer=identity_for("alice", 7))
    ),
    "pre-committed key before its rotation": Impostor("unknown_key", _precommitted_before_rotation),
    "rotated-out key": Impostor("key_superseded", _rotated_out),
    "carol's valid key on alice's record": Impostor(
        "not_subject", lambda w: w.claim(w["carol"], person="alice")
    ),
    "the operator's key on alice's record": Impostor(
        "not_subject", lambda w: w.claim(w.operator, person="alice")
    ),
    "bob withdraws alice's contribution": Impostor("not_subject", _other_persons_contribution),
    "carol rotates alice's key": Impostor(
        "not_admin",
        lambda w: w.rotate(w["alice"], identity_for("mallory"), signer=w["carol"].identity),
    ),
    "carol revokes alice's key": Impostor(
        "not_admin",
        lambda w: w.revoke_key(w["alice"], w["alice"].key_id, signer=w["carol"].identity),
    ),
    "alice's key id, carol's signature": Impostor(
        "bad_signature",
        lambda w: forge(w.claim(w["alice"]), signer=w["carol"].identity, author=w["alice"].key_id),
    ),
    "alice's key id, an unregistered signature": Impostor(
        "bad_signature",
        lambda w: forge(
            w.claim(w["alice"]), signer=identity_for("mallory"), author=w["alice"].key_id
        ),
    ),
    "bob's manager key id, carol's signature": Impostor("bad_signature", _manager_impersonated),
    "alice's key registered for mallory": Impostor(
        "key_reused", _stolen_key_registered_for_mallory
    ),
}


@pytest.mark.parametrize("name", sorted(IMPOSTORS))
def test_a_key_that_is_not_the_signers_own_is_refused(sqlite_ledger: Ledger, name: str) -> None:
    impostor = IMPOSTORS[name]
    sqlite_ledger.refuse(impostor.build(sqlite_ledger.world), impostor.code)
    report = sqlite_ledger.audit()
    assert report.ok, report.as_json()


def test_a_genuine_signature_by_the_right_key_is_accepted(sqlite_ledger: Ledger) -> None:
    """The positive control of the table above: the same statements, honestly signed."""
    ledger = sqlite_ledger
    w = ledger.world
    alice = w["alice"]
    c = w.do(w.claim(alice)).statement.id
    w.do(w.endorse(w["bob"], alice, c, grade=5, role="manager"))
    w.do(w.withdraw(alice, c))
    w.do(w.rotate(alice, w.new_key("alice", 1), signer=w.operator.identity))
    # 6 of the cast, the claim, alice's review request to bob, his endorsement, 3 more
    assert ledger.audit().entries == ledger.service.state.size == 11


def test_signatures_bind_the_whole_statement(ledger: Ledger) -> None:
    """Re-using alice's valid signature on any other statement fails, whoever is named."""
    w = ledger.world
    alice = w["alice"]
    signed = w.claim(alice, title="Original")
    other = w.claim(alice, title="Changed")
    swapped = dataclasses.replace(other, signature=signed.signature)
    ledger.refuse(swapped, "bad_signature")
    w.do(signed)
