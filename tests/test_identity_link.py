"""A record from another ledger is attached only to the person who holds it (issue 14, item 2).

Two real ledgers: A (the origin, :func:`tests.support.bundles.build_scenario`) and B (the
receiving ledger). B imports A's bundle of a person only when that person of B linked it
(``IdentityLinked``): signed by their key on B and countersigned by their last key on A
or, when that key is lost, by an admin of B. Otherwise ``identity_unproven``: a
different person registered as ``alice`` on B does not receive A's alice's record, and
over HTTP B's unrelated carol cannot import A's carol bundle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keys import Identity, save_keystore
from ledger import commands
from ledger.bundle import dump_bundle, verify_bundle
from ledger.errors import RuleViolation
from ledger.export import export_bundle
from ledger.imported_view import imported_views
from ledger.imports import ImportRegistry
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests.factories import World, identity_for
from tests.support.api_server import HttpLedger, live_server, login
from tests.support.bundles import ORIGIN, Scenario, build_scenario
from tests.support.cli import Cli

B = "agency-b.example/ledger"


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    url = f"sqlite://{(tmp_path_factory.mktemp('a') / 'a.db').resolve().as_posix()}"
    return build_scenario(url)


def _bundle(sc: Scenario, person: str) -> str:
    return dump_bundle(export_bundle(sc.log, person, size=sc.checkpoint.size))


def _receiving(url: str, sc: Scenario, people: dict[str, Identity]) -> World:
    """Ledger B: its operator and admin (of minbzk), and ``people`` with the keys given."""
    w = World(LedgerService(open_store(url)), seed="b", origin=B)
    w.do(w.genesis())
    w.do(w.register("admin-b"))
    w.do(w.grant(w["admin-b"], "admin", "minbzk"))
    for name, key in people.items():
        member = w.member(name)
        member.identity = key
        w.identities[key.key_id] = key
        w.do(w.register(name))
    ImportRegistry(w.ledger.store).trust(str(sc.key))  # type: ignore[attr-defined]
    return w


def _import(w: World, text: str) -> object:
    service: LedgerService = w.ledger  # type: ignore[assignment]
    with service.reading() as state:
        return ImportRegistry(service.store).import_bundle(text, state=state)


def test_a_different_person_named_alice_does_not_receive_alices_record(
    origin: Scenario, sqlite_url: str
) -> None:
    impostor = identity_for("someone-else-called-alice")
    w = _receiving(sqlite_url, origin, {"alice": impostor})
    text = _bundle(origin, "alice")
    with pytest.raises(RuleViolation) as refused:
        _import(w, text)
    assert refused.value.code == "identity_unproven"
    # she cannot link it either: the countersignature needs alice's key on A
    last_on_a = origin.ids["alice2"].public_key.raw
    forged = commands.link_identity(
        w.signer_for(impostor), person="alice", origin=ORIGIN, public_key=last_on_a,
        countersigner=impostor,
    )  # fmt: skip
    with pytest.raises(RuleViolation) as not_hers:
        w.do(forged)
    assert not_hers.value.code == "not_admin"  # her own key here is no admin's
    with pytest.raises(RuleViolation):
        _import(w, text)
    assert ImportRegistry(w.ledger.store).imported_records() == []  # type: ignore[attr-defined]


def test_the_holder_links_with_their_old_key_and_then_imports(
    origin: Scenario, sqlite_url: str
) -> None:
    new_key = identity_for("alice-on-b")
    w = _receiving(sqlite_url, origin, {"alice": new_key})
    text = _bundle(origin, "alice")
    old = origin.ids["alice"]  # not her last key on A: she rotated to alice2 there
    stale = commands.link_identity(
        w.signer_for(new_key), person="alice", origin=ORIGIN, public_key=old.public_key.raw,
        countersigner=old,
    )  # fmt: skip
    w.do(stale)
    with pytest.raises(RuleViolation) as refused:
        _import(w, text)
    assert refused.value.code == "identity_unproven"
    last = origin.ids["alice2"]
    w.do(commands.link_identity(
        w.signer_for(new_key), person="alice", origin=ORIGIN, public_key=last.public_key.raw,
        countersigner=last,
    ))  # fmt: skip
    record = _import(w, text)
    assert record.person == "alice"  # type: ignore[attr-defined]
    link = w.state.links[("alice", ORIGIN)]
    assert link.countersigned_by == "key"
    # the link travels in alice's bundle from B and shows in its report
    log = TransparencyLog(w.ledger)  # type: ignore[arg-type]
    log.issue_checkpoint(w.operator.identity)
    report = verify_bundle(dump_bundle(export_bundle(log, "alice")), trusted=[log.verifier()])
    assert [(k.origin, k.countersigned_by) for k in report.links] == [(ORIGIN, "key")]
    assert f"linked to alice's record on {ORIGIN}" in report.summary()


def test_an_admin_countersigns_when_the_old_key_is_lost(origin: Scenario, sqlite_url: str) -> None:
    carol_here = identity_for("carol-on-b")
    w = _receiving(sqlite_url, origin, {"carol": carol_here})
    last = origin.ids["carol"].public_key.raw
    by_colleague = commands.link_identity(
        w.signer_for(carol_here), person="carol", origin=ORIGIN, public_key=last,
        countersigner=identity_for("stranger"),
    )  # fmt: skip
    with pytest.raises(RuleViolation) as refused:
        w.do(by_colleague)
    assert refused.value.code == "not_admin"
    w.do(commands.link_identity(
        w.signer_for(carol_here), person="carol", origin=ORIGIN, public_key=last,
        countersigner=w["admin-b"].identity,
    ))  # fmt: skip
    _import(w, _bundle(origin, "carol"))
    assert w.state.links[("carol", ORIGIN)].countersigned_by == "admin-b"
    # shown as such wherever the imported record is shown (pages, API, CLI: the view)
    stored = ImportRegistry(w.ledger.store).with_bundles("carol")  # type: ignore[attr-defined]
    service: LedgerService = w.ledger  # type: ignore[assignment]
    with service.reading() as state:
        [view] = imported_views(stored, state, "carol")
    assert (view.linked_by, view.as_json()["linked_by"]) == ("admin-b", "admin-b")
    log = TransparencyLog(w.ledger)  # type: ignore[arg-type]
    log.issue_checkpoint(w.operator.identity)
    report = verify_bundle(dump_bundle(export_bundle(log, "carol")), trusted=[log.verifier()])
    assert "countersigned by admin admin-b" in report.summary()


def test_over_http_an_unrelated_carol_cannot_import_carols_bundle(
    origin: Scenario, tmp_path: Path
) -> None:
    url = f"sqlite://{(tmp_path / 'b.db').resolve().as_posix()}"
    ImportRegistry(open_store(url)).trust(str(origin.key))
    with live_server(url) as live:
        w = World(HttpLedger(live), seed="http-b", origin=B)
        w.do(w.genesis())
        w.do(w.register("carol"))  # someone else, with her own key
        token = login(live, w["carol"].identity)
        response = live.client.post(
            "/bundles/import", content=_bundle(origin, "carol"),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        assert response.status_code == 422, response.text
        assert live.problem(response)["code"] == "identity_unproven"
        listed = live.client.get("/imports", headers={"Authorization": f"Bearer {token}"})
        assert listed.json()["items"] == []


def test_cli_link_then_import(origin: Scenario, tmp_path: Path) -> None:
    cli = Cli(f"sqlite://{(tmp_path / 'b.db').resolve().as_posix()}", tmp_path / "keys")
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Op",
           "--origin", B)  # fmt: skip
    alice = cli.json("keys", "create", "alice")
    cli.ok("register", "alice", "--department", "minbzk/dgo", "--name", "Alice",
           "--public-key", alice["public_key"], who="op")  # fmt: skip
    cli.ok("trust", str(origin.key))
    bundle = tmp_path / "alice.json"
    bundle.write_text(_bundle(origin, "alice"), encoding="utf-8")
    refused = cli("import", str(bundle))
    assert refused.exit_code == 2, refused.output
    assert "identity_unproven" in refused.output
    old = tmp_path / "alice-on-a.key"
    save_keystore(old, origin.ids["alice2"], "correct horse", label="alice")
    cli.ok("link", str(bundle), "--old-keystore", str(old), who="alice")
    cli.ok("import", str(bundle))
    listed = cli.json("imported", "alice", who="alice")
    assert [(r["origin"], r["person"]) for r in listed] == [(ORIGIN, "alice")]
    assert listed[0]["report"]["person"] == "alice"  # her own verification report
    # as the API's GET /imports: members only, the report for the person it is of only
    [seen_by_op] = cli.json("imported", "alice", who="op")
    assert (seen_by_op["origin"], seen_by_op["report"]) == (ORIGIN, None)
    anonymous = cli("imported", "alice")
    assert anonymous.exit_code == 2, anonymous.output
    assert "members_only" in anonymous.stderr
