"""The rule-state version (ledger.store.rule_state.RULE_STATE_VERSION), on every backend:

- a ledger whose rule state an earlier derivation built (without the rows a newer one adds
  for its entries, such as ``coworkers`` and ``completed_for``) has it built again from
  its log, once, when a service first catches up (``trackrecord migrate``, or any
  command), and then audits clean; the peer and client evidence rules then see the
  relations its older entries made;
- a fresh ledger is stamped with the current version, and a ledger at it is not built
  again (its open reads one row);
- the audit reports a missing, older or newer version row (``rule_state_version``): a
  removed row must not let tampered state rows go unchecked;
- a process of an older version (a smaller RULE_STATE_VERSION than the stored one) refuses
  to append rather than write rule state in its older layout.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from ledger.audit import audit
from ledger.errors import RuleStateTooNew
from ledger.service import LedgerService
from ledger.store import Store, open_store
from ledger.store.rule_state import RULE_STATE_VERSION, VERSION_KEY
from ledger.vault import SERVICE_KEY_ENV
from tests.factories import World, in_memory, standard_world, state_snapshot
from tests.support.cli import Cli, organisation
from tests.support.sql import execute_sql
from tests.support.tamper import audit_url
from trackrecord.cli import ExitCode

VERSION_1 = Path(__file__).parent / "data" / "ledger_rule_state_1"


def _version(store: Store) -> int | None:
    text = store.state_values([VERSION_KEY]).get(VERSION_KEY)
    return None if text is None else int(text)


def _folded(store: Store) -> dict[str, dict[object, object]]:
    """The rule state folded from the log in memory, as a snapshot."""
    service = LedgerService(store)
    return state_snapshot(in_memory(service.state))


def _copy_version_1(tmp_path: Path) -> tuple[str, bytes]:
    for name in ("trackrecord.db", "trackrecord.db.service-key"):
        shutil.copy(VERSION_1 / name, tmp_path / name)
    key = (tmp_path / "trackrecord.db.service-key").read_bytes()
    return f"sqlite://{tmp_path / 'trackrecord.db'}", key


def test_a_ledger_of_rule_state_version_1_is_built_again_and_audits_clean(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """tests/data/ledger_rule_state_1, written by the code before coworkers and
    completed_for were kept: its stored state has rows, but none of those tables."""
    url, key = _copy_version_1(tmp_path)
    store = open_store(url, service_key=key)
    try:
        assert _version(store) is None
        assert store.state_count("people") > 0
        assert store.state_count("coworkers") == store.state_count("completed_for") == 0
        service = LedgerService(store)
        assert service.behind()
        with caplog.at_level(logging.WARNING, logger="ledger.service"):
            assert service.catch_up() == store.count_nodes(0) == 78
        assert "built by an earlier version" in caplog.text
        assert _version(store) == RULE_STATE_VERSION
        assert store.state_count("completed_for") == 2  # the demo's completed assignments
        assert not service.behind()
        report = audit(store)
        assert report.ok, report.as_json()
    finally:
        store.close()


def test_migrate_builds_a_version_1_rule_state_again_once(tmp_path: Path) -> None:
    url, _ = _copy_version_1(tmp_path)
    cli = Cli(url, tmp_path / "keys")
    key_beside_db = {SERVICE_KEY_ENV: str(tmp_path / "trackrecord.db.service-key")}
    first = cli("migrate", "--json", env=key_beside_db)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["folded"] == 78
    again = cli("migrate", "--json", env=key_beside_db)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["folded"] == 0
    audited = cli("audit", env=key_beside_db)
    assert audited.exit_code == 0, audited.output


def _related_world(url: str) -> tuple[World, str]:
    """The standard world where dave (another department) worked with alice on bob's
    assignment, completed for alice; and a claim of alice's everyone may read."""
    store = open_store(url)
    service = LedgerService(store)
    w = standard_world(service)
    alice, bob, dave = w["alice"], w["bob"], w["dave"]
    a = w.do(w.post(bob)).statement.subject
    w.do(w.assign(bob, a, alice))
    w.do(w.assign(bob, a, dave))
    w.do(w.complete(bob, a, alice))
    c = w.do(w.claim(alice)).statement.id
    w.do(w.visibility(alice, "dossier", "public"))
    assert _version(store) == RULE_STATE_VERSION  # a fresh ledger is stamped
    store.close()
    return w, c


def test_an_outdated_rule_state_is_built_again_and_the_evidence_rules_see_it(
    database_url: str,
) -> None:
    """The shape an earlier derivation leaves, on every backend: the rows of the tables
    it did not keep are missing for the older entries, and no version is recorded."""
    w, c = _related_world(database_url)
    store = open_store(database_url)
    try:
        for table in ("coworkers", "completed_for", "consents", "departures", "version"):
            execute_sql(store, "DELETE FROM rule_state WHERE tbl = ?", (table,))
        assert store.state_count("coworkers") == 0  # what the peer rule would consult
        outdated = audit_url(database_url).failure  # not compared, and said so
        assert outdated is not None
        assert outdated.code == "rule_state_version"
        assert "actual" not in outdated.evidence  # no version row
        service = LedgerService(store)
        w.ledger = service
        assert service.behind()
        assert service.catch_up() == store.count_nodes(0) == 12
        assert _version(store) == RULE_STATE_VERSION
        assert state_snapshot(service.state) == _folded(store)
        w.do(w.endorse(w["dave"], w["alice"], c, role="peer", asked=False))
        w.do(w.endorse(w["bob"], w["alice"], c, role="client", asked=False))
    finally:
        store.close()
    report = audit_url(database_url)
    assert report.ok, report.as_json()


def test_a_rule_state_at_the_current_version_is_not_built_again(database_url: str) -> None:
    w, _ = _related_world(database_url)
    store = open_store(database_url)
    try:
        rows = store.state_count("people"), store.state_count("coworkers")
        assert store.reset_state(RULE_STATE_VERSION) is None  # nothing to do
        service = LedgerService(store)
        assert not service.behind()
        assert service.catch_up() == 0
        assert (store.state_count("people"), store.state_count("coworkers")) == rows
        w.ledger = service
        w.do(w.endorse(w["dave"], w["alice"], w.do(w.claim(w["alice"])).statement.id))
    finally:
        store.close()
    report = audit_url(database_url)
    assert report.ok, report.as_json()


def test_a_removed_version_row_does_not_hide_a_tampered_state_row(database_url: str) -> None:
    """Without its version row the audit would skip the comparison: alice made a manager
    behind the log's back would pass."""
    _related_world(database_url)
    store = open_store(database_url)
    try:
        execute_sql(
            store,
            "UPDATE rule_state SET value = replace(value, '[]', '[[\"manager\",\"minbzk/dgo\"]]') "
            "WHERE tbl = 'people' AND key = 'alice'",
        )
        execute_sql(store, "DELETE FROM rule_state WHERE tbl = 'version'")
        size = store.count_nodes(0)
    finally:
        store.close()
    failure = audit_url(database_url).failure
    assert failure is not None
    assert failure.code == "rule_state_version"
    assert failure.log_index == size - 1
    assert failure.evidence["expected"] == str(RULE_STATE_VERSION)
    assert "no version row" in failure.message


@pytest.mark.parametrize("stored", [RULE_STATE_VERSION - 1, RULE_STATE_VERSION + 1])
def test_the_audit_reports_a_version_row_of_another_version(sqlite_url: str, stored: int) -> None:
    _related_world(sqlite_url)
    store = open_store(sqlite_url)
    try:
        execute_sql(store, "UPDATE rule_state SET value = ? WHERE tbl = 'version'", (str(stored),))
    finally:
        store.close()
    failure = audit_url(sqlite_url).failure
    assert failure is not None
    assert failure.code == "rule_state_version"
    assert (failure.evidence["expected"], failure.evidence["actual"]) == (
        str(RULE_STATE_VERSION),
        str(stored),
    )


def test_an_older_version_refuses_to_append_to_a_newer_rule_state(database_url: str) -> None:
    """A newer version stamped the state: this (older) one appends nothing, and leaves the
    stored state and its version row as they are."""
    w, _ = _related_world(database_url)
    newer = str(RULE_STATE_VERSION + 1)
    store = open_store(database_url)
    try:
        execute_sql(store, "UPDATE rule_state SET value = ? WHERE tbl = 'version'", (newer,))
        size, people = store.count_nodes(0), store.state_count("people")
        service = LedgerService(store)
        w.ledger = service
        with pytest.raises(RuleStateTooNew) as refused:
            service.append(w.claim(w["alice"]))
        assert refused.value.evidence()["stored_version"] == RULE_STATE_VERSION + 1
        assert "newer version of trackrecord" in refused.value.message
        assert store.count_nodes(0) == size
        assert store.state_count("people") == people
        assert store.state_values([VERSION_KEY])[VERSION_KEY] == newer
    finally:
        store.close()


def test_a_running_older_process_stops_once_a_newer_version_stamped_the_state(
    database_url: str,
) -> None:
    """The older process checked the version when it opened (it was its own); a newer one
    then rebuilt the state and stamped it: the older one's next append reads the version
    with the state's size, and refuses."""
    w, _ = _related_world(database_url)
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w.ledger = service
        w.do(w.claim(w["alice"]))  # checked and cached: the state is at its version
        newer = str(RULE_STATE_VERSION + 1)
        execute_sql(store, "UPDATE rule_state SET value = ? WHERE tbl = 'version'", (newer,))
        size = store.count_nodes(0)
        with pytest.raises(RuleStateTooNew):
            service.append(w.claim(w["alice"]))
        assert store.count_nodes(0) == size
    finally:
        store.close()


def test_the_cli_of_an_older_version_says_why_it_appends_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    cli = Cli(sqlite_url, tmp_path / "keys")
    organisation(cli)
    store = open_store(sqlite_url)
    try:
        newer = str(RULE_STATE_VERSION + 1)
        execute_sql(store, "UPDATE rule_state SET value = ? WHERE tbl = 'version'", (newer,))
        size = store.count_nodes(0)
    finally:
        store.close()
    refused = cli("ambition", "--goal", "Lead the team", who="alice")
    assert refused.exit_code == ExitCode.STORE, refused.output
    assert "rule_state_too_new" in refused.output
    assert "upgrade trackrecord" in refused.output
    store = open_store(sqlite_url)
    try:
        assert store.count_nodes(0) == size
    finally:
        store.close()
