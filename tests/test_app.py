"""The application facade (ledger.app.Ledger): the policies of its use cases, and what the
pages ask of it (checkpoint history, endorsements awaited), on a real SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import commands
from ledger.app import Ledger
from ledger.bundle import dump_bundle
from ledger.catalogue import Part
from ledger.errors import NoLedger, NotFound, NotPermitted
from ledger.statement import Signer
from tests.support.bundles import ORIGIN, Scenario, build_scenario
from tests.support.links import link_record


@pytest.fixture
def scenario(sqlite_url: str) -> Iterator[tuple[Ledger, Scenario]]:
    sc = build_scenario(sqlite_url)
    ledger = Ledger(sc.log.store)
    try:
        yield ledger, sc
    finally:
        ledger.close()


def _disclosed(bundle: dict[str, object]) -> int:
    entries = bundle["entries"]
    assert isinstance(entries, list)
    return sum(len(item["disclosures"]) for item in entries)


def test_only_the_owner_exports_a_record(scenario: tuple[Ledger, Scenario]) -> None:
    ledger, _ = scenario
    with pytest.raises(NotPermitted) as refused:
        ledger.export("alice", by="bob")
    assert refused.value.code == "not_yours"
    whole = ledger.export("alice", by="alice")
    assert whole["person"] == "alice"
    assert ledger.export("alice") == whole  # the operator at the database (the CLI)
    with pytest.raises(NotFound):
        ledger.export("alice", by="alice", viewer="nobody")
    for_bob = ledger.export("alice", by="alice", viewer="bob")
    assert 0 < _disclosed(for_bob) < _disclosed(whole)  # her on_request parts withheld
    assert len(for_bob["entries"]) == len(whole["entries"])  # every entry stays
    without = ledger.export("alice", by="alice", withhold=[Part.ANALYTICAL])
    assert _disclosed(without) < _disclosed(whole)
    assert ledger.verify(dump_bundle(whole)).key_pinned  # this ledger's own operator key


def test_a_record_is_imported_by_its_person_or_an_admin(
    scenario: tuple[Ledger, Scenario], tmp_path: Path
) -> None:
    ledger, sc = scenario
    other = build_scenario(f"sqlite://{(tmp_path / 'other.db').as_posix()}", origin="other/b")
    try:
        bundle = dump_bundle(export := Ledger(other.log.store).export("alice"))
        ledger.imports.trust(str(other.key))
    finally:
        other.log.store.close()
    assert export["origin"] == "other/b"
    for outsider in ("bob", "nobody"):
        with pytest.raises(NotPermitted):
            ledger.import_bundle(bundle, by=outsider)
    assert ledger.imports.imported_records() == []  # a refusal stores nothing
    alice = sc.ids["alice2"]  # her key here, and her last key on other/b
    link_record(ledger.service, bundle, here=alice, there=other.ids["alice2"])
    assert ledger.import_bundle(bundle, by="alice").new
    assert not ledger.import_bundle(bundle, by="admin").new  # an admin may; already there
    assert not ledger.import_bundle(bundle, by="operator").new


def test_a_manager_awaits_only_what_they_may_read(scenario: tuple[Ledger, Scenario]) -> None:
    ledger, sc = scenario
    ids = sc.ids
    assert ledger.awaiting_endorsement("bob") == []  # alice moved to cio; bob manages dgo
    ledger.service.append(
        commands.grant_role(
            Signer(ids["admin"], ORIGIN), person="bob", role="manager", scope="minbzk/cio"
        )
    )
    assert ledger.awaiting_endorsement("bob") == []  # cio's dossiers are on request
    ledger.service.append(
        commands.grant_access(
            Signer(ids["carol"], ORIGIN), person="carol", viewer="bob", part="dossier"
        )
    )
    [waiting] = ledger.awaiting_endorsement("bob")
    assert waiting.owner == "carol"
    assert ledger.awaiting_endorsement("carol") == []  # not a manager
    assert ledger.awaiting_endorsement("nobody") == []


def test_the_checkpoint_history_checks_each_against_the_one_before(
    scenario: tuple[Ledger, Scenario],
) -> None:
    ledger, sc = scenario
    second = ledger.log.issue_checkpoint(sc.ids["operator"])
    newest, first = ledger.log.history()
    assert (first.checkpoint.size, first.previous, first.consistent) == (
        sc.checkpoint.size,
        None,
        None,
    )
    assert (newest.checkpoint.size, newest.previous) == (second.size, sc.checkpoint.size)
    assert newest.consistent is True
    assert newest.problem is None
    [only] = ledger.log.history(limit=1)
    assert only.checkpoint.size == second.size
    assert only.previous is None


def test_a_ledger_opens_only_what_exists(tmp_path: Path) -> None:
    url = f"sqlite://{(tmp_path / 'none.db').as_posix()}"
    with pytest.raises(NoLedger):
        Ledger.open(url)
    assert not (tmp_path / "none.db").exists()  # a refusal creates nothing
    with Ledger.open(url, create=True) as ledger:
        assert ledger.state().size == 0
    with Ledger.open(url) as ledger:  # now it exists
        assert ledger.state().size == 0
