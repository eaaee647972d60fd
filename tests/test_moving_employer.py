"""Moving employer (issue 14, item 3): consent, roles that end with a move, and leaving.

- a transfer to another organisation needs the employee's ``TransferConsented``;
- a manager moved away no longer endorses as manager of the old department;
- an employee leaves ledger A naming ledger B (``EmployeeLeft``): A then refuses what
  would add to their record, still takes retractions, and their bundle's last word says
  where it went; on B (a second real ledger) they link the record with their last key on
  A and import it;
- the CLI's ``consent-transfer`` and ``leave``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keys import Identity
from ledger import commands
from ledger.bundle import dump_bundle, verify_bundle
from ledger.errors import RuleViolation
from ledger.export import export_bundle
from ledger.imports import ImportRegistry
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests.factories import DEPT, ORG, World, identity_for, standard_cast
from tests.support.cli import Cli

A = "ministry-a.example/ledger"
B = "agency-b.example/ledger"
C = "inspectorate-c.example/ledger"
D = "elsewhere-d.example/ledger"


def _ledger(path: Path, origin: str, seed: str) -> World:
    url = f"sqlite://{path.resolve().as_posix()}"
    return World(LedgerService(open_store(url)), seed=seed, origin=origin)


def _refused(w: World, signed: object) -> str:
    with pytest.raises(RuleViolation) as refused:
        w.do(signed)  # type: ignore[arg-type]
    return refused.value.code


def test_a_move_to_another_organisation_takes_consent_and_ends_old_roles(tmp_path: Path) -> None:
    a = _ledger(tmp_path / "a.db", A, "a")
    a.do_all(standard_cast(a))
    alice, bob = a["alice"], a["bob"]
    claim = a.do(a.claim(alice)).statement.id
    assert _refused(a, a.transfer(bob, "minfin", "minfin/hr")) == "consent_required"
    a.do(a.consent(bob, "minfin", "minfin/hr"))
    assert _refused(a, a.transfer(bob, "minfin", "minfin/it")) == "consent_required"
    a.do(a.transfer(bob, "minfin", "minfin/hr"))
    moved = a.ledger.state.people["bob"]  # type: ignore[attr-defined]
    assert (moved.organisation, moved.department, moved.roles) == ("minfin", "minfin/hr", set())
    assert "bob" not in a.ledger.state.consents  # type: ignore[attr-defined]
    endorse = a.endorse(bob, alice, claim, role="manager")
    assert _refused(a, endorse) == "manager_role_required"
    a.do(a.transfer(alice, ORG, "minbzk/cio"))  # within her organisation: no consent asked


def test_an_employee_leaves_a_for_b_and_arrives_there_with_link_and_import(
    tmp_path: Path,
) -> None:
    a = _ledger(tmp_path / "a.db", A, "a")
    a.do_all(standard_cast(a))
    alice, bob, carol = a["alice"], a["bob"], a["carol"]
    claim = a.do(a.claim(alice, title="Policy brief")).statement.id
    a.do(a.endorse(bob, alice, claim, grade=4, role="manager"))
    by_carol = a.do(a.endorse(carol, alice, claim, grade=5, role="peer")).statement.id
    assert _refused(a, a.leave(alice, A)) == "same_ledger"
    a.do(a.leave(alice, B))

    # A adds nothing more to her record, by her or by others...
    assert _refused(a, a.claim(alice, title="After leaving")) == "departed"
    assert _refused(a, a.endorse(a["dave"], alice, claim, role="peer")) == "departed"
    assert _refused(a, a.transfer(alice, ORG, "minbzk/cio")) == "departed"
    # ...but what was said can still be taken back
    a.do(a.revoke_endorsement(carol, alice, by_carol))

    log = TransparencyLog(a.ledger)  # type: ignore[arg-type]
    log.issue_checkpoint(a.operator.identity)
    text = dump_bundle(export_bundle(log, "alice"))
    report = verify_bundle(text, trusted=[log.verifier()])
    assert report.left_for == B
    assert f"left {A} for the ledger {B}" in report.summary()
    last = a.ledger.read_stream("identity/alice")[-1].entry.statement  # type: ignore[attr-defined]
    assert (last.type, last.body["destination"]) == ("EmployeeLeft", B)

    b = _ledger(tmp_path / "b.db", B, "b")
    b.do(b.genesis())
    here = identity_for("alice-on-b")
    member = b.member("alice", ORG, DEPT)
    member.identity = here
    b.identities[here.key_id] = here
    b.do(b.register("alice"))
    registry = ImportRegistry(b.ledger.store)  # type: ignore[attr-defined]
    registry.trust(str(log.verifier()))
    service: LedgerService = b.ledger  # type: ignore[assignment]
    with pytest.raises(RuleViolation) as unproven, service.reading() as state:
        registry.import_bundle(text, state=state)
    assert unproven.value.code == "identity_unproven"
    b.do(commands.link_identity(
        b.signer_for(here), person="alice", origin=A,
        public_key=alice.identity.public_key.raw, countersigner=alice.identity, **b.opts(),
    ))  # fmt: skip
    with service.reading() as state:
        record = registry.import_bundle(text, state=state)
    assert (record.person, record.origin, record.report.left_for) == ("alice", A, B)
    assert [e.grade for e in record.report.endorsements] == [4]  # carol's was revoked


def _arrival(w: World, key: str) -> Identity:
    """Alice registered on ``w`` (genesis first) with the key ``key``; return that key."""
    w.do(w.genesis())
    here = identity_for(key)
    member = w.member("alice", ORG, DEPT)
    member.identity = here
    w.identities[here.key_id] = here
    w.do(w.register("alice"))
    return here


def _link(w: World, here: Identity, origin: str, there: Identity) -> None:
    """Alice on ``w`` links her record on ``origin``, countersigned by her last key there."""
    w.do(commands.link_identity(
        w.signer_for(here), person="alice", origin=origin,
        public_key=there.public_key.raw, countersigner=there, **w.opts(),
    ))  # fmt: skip


def _bundle(w: World) -> tuple[str, str]:
    """Alice's bundle from ``w`` at a new checkpoint, and the verifier key to trust."""
    log = TransparencyLog(w.ledger)  # type: ignore[arg-type]
    log.issue_checkpoint(w.operator.identity)
    return dump_bundle(export_bundle(log, "alice")), str(log.verifier())


def _import(w: World, registry: ImportRegistry, text: str) -> str:
    """Import ``text`` on ``w``: the origin imported, or the rule code that refused it."""
    service: LedgerService = w.ledger  # type: ignore[assignment]
    try:
        with service.reading() as state:
            return registry.import_bundle(text, state=state).origin
    except RuleViolation as refused:
        return refused.code


def test_a_bundle_is_received_only_where_its_person_went(tmp_path: Path) -> None:
    """Alice leaves A for B, then B for C. C refuses A's bundle (it names B) with
    ``wrong_destination`` and the EmployeeLeft entry as evidence, even though she linked it;
    once her bundle from B (naming C) has arrived, A's travels on. A ledger D she never
    went to refuses both; a bundle from before she left (no destination) needs the link only."""
    a = _ledger(tmp_path / "a.db", A, "a")
    a.do_all(standard_cast(a))
    alice_a = a["alice"].identity
    a.do(a.claim(a["alice"], title="Policy brief"))
    before_leaving, _ = _bundle(a)
    left_a = a.do(a.leave(a["alice"], B))
    from_a, key_a = _bundle(a)

    b = _ledger(tmp_path / "b.db", B, "b")
    alice_b = _arrival(b, "alice-on-b")
    b.do(b.leave(b["alice"], C))
    from_b, key_b = _bundle(b)

    c = _ledger(tmp_path / "c.db", C, "c")
    alice_c = _arrival(c, "alice-on-c")
    _link(c, alice_c, A, alice_a)
    _link(c, alice_c, B, alice_b)
    registry = ImportRegistry(c.ledger.store)  # type: ignore[attr-defined]
    registry.trust(key_a)
    registry.trust(key_b)
    service: LedgerService = c.ledger  # type: ignore[assignment]
    with pytest.raises(RuleViolation) as refused, service.reading() as state:
        registry.import_bundle(from_a, state=state)
    assert refused.value.code == "wrong_destination"
    assert (refused.value.stream, refused.value.statement_id) == (
        "identity/alice",
        left_a.statement.id,
    )
    assert f"left {A} for the ledger {B}" in str(refused.value)
    assert registry.imported_records("alice") == []  # nothing stored
    assert _import(c, registry, from_b) == B  # B's bundle names C
    assert _import(c, registry, from_a) == A  # and A's travels on from B

    d = _ledger(tmp_path / "d.db", D, "d")
    alice_d = _arrival(d, "alice-on-d")
    _link(d, alice_d, A, alice_a)
    _link(d, alice_d, B, alice_b)
    registry = ImportRegistry(d.ledger.store)  # type: ignore[attr-defined]
    registry.trust(key_a)
    registry.trust(key_b)
    assert _import(d, registry, from_b) == "wrong_destination"
    assert _import(d, registry, from_a) == "wrong_destination"
    assert _import(d, registry, before_leaving) == A  # no EmployeeLeft: the link suffices


def test_cli_consent_transfer_and_leave(tmp_path: Path) -> None:
    cli = Cli(f"sqlite://{(tmp_path / 'a.db').resolve().as_posix()}", tmp_path / "keys")
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Op",
           "--origin", A)  # fmt: skip
    alice = cli.json("keys", "create", "alice")
    cli.ok("register", "alice", "--department", "minbzk/dgo", "--name", "Alice",
           "--public-key", alice["public_key"], who="op")  # fmt: skip
    refused = cli("transfer", "alice", "--department", "minfin/hr", who="op")
    assert refused.exit_code == 2, refused.output
    assert "consent_required" in refused.output
    cli.ok("consent-transfer", "--department", "minfin/hr", who="alice")
    cli.ok("transfer", "alice", "--department", "minfin/hr", who="op")
    not_confirmed = cli("leave", B, who="alice")
    assert not_confirmed.exit_code != 0
    cli.ok("leave", B, "--yes", who="alice")
    shown = cli.ok("show", "alice", who="alice")
    assert f"left for {B}" in shown.output
    again = cli("leave", "elsewhere.example/ledger", "--yes", who="alice")
    assert again.exit_code == 2, again.output
    assert "departed" in again.output


def test_a_ledger_begun_before_rule_set_2_keeps_its_moves(tmp_path: Path) -> None:
    """A ledger whose genesis names no rule set (written before consent existed) still
    takes a move to another organisation without consent, and the roles go along, as its
    log was written: otherwise an existing ledger would fail its own audit."""
    old = _ledger(tmp_path / "old.db", A, "old")
    member = old.member("operator", ORG, "minbzk/cio")
    genesis = commands.register_identity(
        old.signer_for(member.identity),
        person="operator",
        public_key=member.identity.public_key.raw,
        organisation=ORG,
        department="minbzk/cio",
        display_name="Operator",
        rule_set=None,
        **old.opts(),
    )
    old.do_all([genesis, *standard_cast(old)[1:]])
    assert old.ledger.state.meta.get("rules") is None  # type: ignore[attr-defined]
    alice, bob = old["alice"], old["bob"]
    claim = old.do(old.claim(alice)).statement.id
    old.do(old.transfer(bob, "minfin", "minfin/hr"))  # no consent asked
    moved = old.ledger.state.people["bob"]  # type: ignore[attr-defined]
    assert ("manager", DEPT) in moved.roles
    old.do(old.endorse(bob, alice, claim, role="manager"))  # as rule set 1 allowed

    new = _ledger(tmp_path / "new.db", B, "new")
    new.do_all(standard_cast(new))
    assert _refused(new, new.transfer(new["bob"], "minfin", "minfin/hr")) == "consent_required"
