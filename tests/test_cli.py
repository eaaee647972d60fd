"""End-to-end tests of the ``trackrecord`` command-line tool.

Most run the real CLI in-process with Typer's ``CliRunner`` (against SQLite and
PostgreSQL); one runs the installed console script in subprocesses through a
whole flow. Keystores use ``TRACKRECORD_KDF=fast`` (Argon2id minimum limits).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from keys import BadPassphrase, Identity, KeystoreError, load_keystore
from ledger.audit import audit
from ledger.canonical import b64encode
from ledger.errors import (
    ConcurrencyConflict,
    ConsistencyError,
    IntegrityViolation,
    LedgerError,
    MalformedInput,
    NotFound,
    RuleViolation,
    StoreError,
)
from ledger.store import open_store
from tests.support.cli import BASE_ENV, PASSPHRASE, Cli, claim, organisation
from trackrecord.cli import ExitCode, create_app, keyfiles
from trackrecord.cli.errors import CliError, exit_code_for
from trackrecord.settings import KdfLimits, Settings, SettingsError


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "keys")


@pytest.fixture
def sqlite_cli(sqlite_url: str, tmp_path: Path) -> Cli:
    return Cli(sqlite_url, tmp_path / "keys")


# -- settings and error mapping (units) ---------------------------------------------------
def test_settings_explicit_values_win_over_environment_and_defaults(tmp_path: Path) -> None:
    env = {
        "TRACKRECORD_DATABASE_URL": "sqlite:///env.db",
        "TRACKRECORD_KEYS": "/env/keys",
        "TRACKRECORD_AS": "carol",
        "TRACKRECORD_PASSPHRASE": "secret",
        "TRACKRECORD_KDF": "fast",
    }
    explicit = Settings.load(
        database_url="sqlite:///x.db", keys_dir=tmp_path, acting="dave", environ=env
    )
    assert (explicit.database_url, explicit.keys_dir, explicit.acting) == (
        "sqlite:///x.db",
        tmp_path,
        "dave",
    )
    from_env = Settings.load(environ=env)
    assert from_env.database_url == "sqlite:///env.db"
    assert from_env.keys_dir == Path("/env/keys")
    assert from_env.acting == "carol"
    assert from_env.passphrase == "secret"
    assert from_env.kdf == KdfLimits.named("fast")
    assert "secret" not in repr(from_env)
    default = Settings.load(environ={}, cwd=tmp_path, home=tmp_path / "home")
    assert default.database_url == f"sqlite://{tmp_path.resolve()}/trackrecord.db"
    assert default.keys_dir == tmp_path / "home" / ".trackrecord" / "keys"
    assert default.acting is None
    assert default.passphrase is None
    assert default.kdf.name == "interactive"
    assert default.keystore_path("alice") == default.keys_dir / "alice.key"


@pytest.mark.parametrize("person", ["../etc/passwd", "Alice", "a/b", ""])
def test_settings_refuse_person_ids_that_are_not_slugs(person: str, tmp_path: Path) -> None:
    settings = Settings.load(environ={}, cwd=tmp_path, home=tmp_path)
    with pytest.raises(SettingsError):
        settings.keystore_path(person)


def test_settings_refuse_unknown_kdf(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="TRACKRECORD_KDF"):
        Settings.load(environ={"TRACKRECORD_KDF": "slow"}, cwd=tmp_path, home=tmp_path)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CliError("x", "usage"), ExitCode.USAGE),
        (SettingsError("bad"), ExitCode.USAGE),
        (MalformedInput("bad field"), ExitCode.USAGE),
        (RuleViolation("self_endorsement", "no"), ExitCode.RULE),
        (IntegrityViolation("chain_broken", "broken"), ExitCode.INTEGRITY),
        (ConsistencyError("rewritten history"), ExitCode.INTEGRITY),
        (BadPassphrase("wrong"), ExitCode.KEY),
        (KeystoreError("missing"), ExitCode.KEY),
        (StoreError("down"), ExitCode.STORE),
        (NotFound("nobody"), ExitCode.NOT_FOUND),
        (ConcurrencyConflict("busy"), ExitCode.CONFLICT),
        (LedgerError("refused"), ExitCode.RULE),
        (ValueError("a bug"), None),
    ],
)
def test_every_error_kind_has_its_exit_code(error: Exception, code: ExitCode | None) -> None:
    assert exit_code_for(error) == code


def test_help_documents_commands_and_exit_codes(tmp_path: Path) -> None:
    result = CliRunner().invoke(create_app(), ["--help"], env=BASE_ENV)
    assert result.exit_code == 0
    for text in ("Exit codes", "rule violation", "concurrency conflict", "--as", "audit"):
        assert text in result.output
    claim_help = CliRunner().invoke(create_app(), ["claim", "--help"], env=BASE_ENV)
    assert claim_help.exit_code == 0
    assert "--evidence" in claim_help.output
    assert "SHA-256" in claim_help.output


# -- the whole flow, in process, on every backend -------------------------------------------
def test_whole_flow(cli: Cli, tmp_path: Path) -> None:
    organisation(cli)
    evidence = tmp_path / "brief.pdf"
    evidence.write_bytes(b"%PDF-1.7 the brief\n" * 1000)
    claimed = cli.json(
        "claim", "--title", "Policy brief", "--skill", "policy-advice", "--skill", "writing",
        "--start", "2026-01-01", "--end", "2026-02-01", "--evidence", str(evidence),
        "--link", "https://example.org/brief", who="alice",
    )  # fmt: skip
    contribution = claimed["contribution"]
    assert claimed["stream"] == "record/alice"
    assert claimed["seq"] == 1
    asked = cli.json(
        "review", "request", contribution[:8], "--manager", "bob",
        "--message", "Please review my brief", who="alice",
    )["request"]  # fmt: skip
    inbox = cli.json("review", "list", who="bob")
    assert [(r["id"], r["role"], r["endorsement"]) for r in inbox["requests"]] == [
        (asked, "manager", None)
    ]
    endorsed = cli.json(
        "endorse", "alice", contribution[:8], "--grade", "4", "--role", "manager",
        "--comment", "Solid work", "--request", asked[:8], who="bob",
    )  # fmt: skip
    [answered] = cli.json("review", "list", who="bob")["requests"]
    assert answered["endorsement"] == endorsed["endorsement"]
    posted = cli.json(
        "assignment", "post", "--title", "Data dashboard", "--skill", "python",
        "--hours", "8", "--department", "minbzk/dgo", "--ring", "organisation", who="bob",
    )  # fmt: skip
    assignment = posted["assignment"]
    cli.ok("assignment", "apply", assignment, "--hours", "8", "--motivation", "Keen", who="alice")
    cli.ok("assignment", "assign", assignment[:8], "alice", who="bob")
    cli.ok("assignment", "complete", assignment, "alice", "--grade", "5", "--note", "Great",
           who="bob")  # fmt: skip

    shown = cli.json("show", "alice", who="alice")
    assert [e["entry"]["statement"]["type"] for e in shown["identity"]] == ["IdentityRegistered"]
    record = shown["record"]
    assert [e["entry"]["statement"]["type"] for e in record] == [
        "ContributionClaimed",
        "ReviewRequested",
        "EndorsementGiven",
    ]
    body = record[0]["entry"]["statement"]["body"]
    assert body["evidence_sha256"] == hashlib.sha256(evidence.read_bytes()).hexdigest()
    assert record[0]["disclosures"][0][1:] == ["title", "Policy brief"]
    assert record[2]["author_person"] == "bob"
    assert record[2]["entry"]["statement"]["id"] == endorsed["endorsement"]
    assert record[2]["entry"]["statement"]["body"]["grade"] == 4
    assert record[2]["entry"]["statement"]["body"]["request"] == asked

    table = cli.ok("show", "alice", who="alice").stdout
    for text in ("record/alice", "ContributionClaimed", "Policy brief", "Solid work", "bob"):
        assert text in table
    assert record[2]["entry_hash"][:12] in table

    details = cli.json("assignment", "show", assignment, who="bob")  # its owner
    assert details["status"] == "completed"
    assert details["completed"] == ["alice"]
    first_three = cli.json("log", "--after", "0", "--limit", "3", who="bob")
    assert first_three[2]["entry"]["stream"] == "identity/bob"

    report = cli.json("audit")
    assert report["ok"] is True
    assert report["entries"] == 11  # with the review request
    assert report["identities"] == 3
    text = cli.ok("audit").stdout
    assert "audit passed" in text
    assert "entries/s" in text


# -- error paths -------------------------------------------------------------------------
def test_self_endorsement_exits_2_with_the_rule_code(cli: Cli) -> None:
    organisation(cli)
    contribution = claim(cli)
    result = cli("endorse", "alice", contribution, "--grade", "5", "--role", "peer", who="alice")
    assert result.exit_code == ExitCode.RULE == 2
    assert "self_endorsement" in result.stderr
    assert "alice cannot endorse their own work" in result.stderr
    assert len(cli.json("show", "alice", who="alice")["record"]) == 1  # nothing was written


def test_a_review_request_names_someone_and_nobody_else_answers_it(cli: Cli) -> None:
    organisation(cli)
    contribution = claim(cli)
    empty = cli("review", "request", contribution, who="alice")
    assert empty.exit_code == ExitCode.USAGE
    assert "--manager, --peer or --client" in empty.output
    asked = cli.json("review", "request", contribution, "--peer", "bob", who="alice")["request"]
    stranger = cli("endorse", "alice", contribution, "--grade", "4", "--role", "client",
                   "--request", asked, who="op")  # fmt: skip
    assert stranger.exit_code == ExitCode.RULE
    assert "not_addressed" in stranger.stderr
    assert cli.json("review", "list", who="op")["requests"] == []


def test_manager_endorsement_without_the_role_exits_2(cli: Cli) -> None:
    organisation(cli)
    contribution = claim(cli)
    result = cli("endorse", "alice", contribution, "--grade", "3", "--role", "manager", who="op")
    assert result.exit_code == 2
    assert "manager_role_required" in result.stderr


def test_wrong_passphrase_exits_4(cli: Cli) -> None:
    organisation(cli)
    result = cli(
        "claim", "--title", "x", "--start", "2026-01-01", who="alice",
        env={"TRACKRECORD_PASSPHRASE": "not the passphrase"},
    )  # fmt: skip
    assert result.exit_code == ExitCode.KEY == 4
    assert "bad_passphrase" in result.stderr
    assert "alice.key" in result.stderr


def test_no_passphrase_and_no_terminal_exits_4(cli: Cli) -> None:
    result = cli("keys", "create", "alice", env={"TRACKRECORD_PASSPHRASE": None})
    assert result.exit_code == 4
    assert "no_passphrase" in result.stderr
    assert "TRACKRECORD_PASSPHRASE" in result.stderr
    assert not (cli.keys / "alice.key").exists()


def test_passphrase_is_asked_on_a_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyfiles, "_interactive", lambda: True)
    no_env = {"TRACKRECORD_PASSPHRASE": None}
    argv = ["--db", cli.url, "--keys", str(cli.keys), "keys", "create", "alice"]
    created = CliRunner().invoke(
        create_app(), argv, input="typed secret\ntyped secret\n", env={**BASE_ENV, **no_env}
    )
    assert created.exit_code == 0, created.output
    assert "Choose a passphrase" in created.output
    assert load_keystore(cli.keys / "alice.key", "typed secret").key_id.startswith("ed25519:")
    mismatch = CliRunner().invoke(
        create_app(),
        [*argv[:-1], "bob"],
        input="one\nother\none\none\n",
        env={**BASE_ENV, **no_env},
    )
    assert mismatch.exit_code == 0, mismatch.output
    assert "do not match" in mismatch.output
    assert load_keystore(cli.keys / "bob.key", "one").key_id.startswith("ed25519:")


def test_missing_keystore_exits_4(cli: Cli) -> None:
    organisation(cli)
    result = cli("claim", "--title", "x", "--start", "2026-01-01", who="carol")
    assert result.exit_code == 4
    assert "no keystore for carol" in result.stderr


def test_bad_grade_exits_1_before_asking_for_a_key(cli: Cli) -> None:
    organisation(cli)
    contribution = claim(cli)
    result = cli(
        "endorse", "alice", contribution, "--grade", "7", "--role", "peer", who="bob",
        env={"TRACKRECORD_PASSPHRASE": None},
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE == 1
    assert "--grade" in result.stderr
    assert "5" in result.stderr


def test_malformed_input_exits_1_with_its_code(cli: Cli) -> None:
    organisation(cli)
    result = cli("claim", "--title", "x", "--skill", "Not A Slug", "--start", "2026-01-01",
                 who="alice")  # fmt: skip
    assert result.exit_code == 1
    assert "malformed" in result.stderr
    assert "skills" in result.stderr
    bad_date = cli("claim", "--title", "x", "--start", "2026-13-45", who="alice")
    assert bad_date.exit_code == 1
    assert "start" in bad_date.stderr


def test_usage_errors_exit_1(cli: Cli) -> None:
    organisation(cli)
    unknown = cli("claim", "--no-such-option")
    assert unknown.exit_code == 1
    assert "No such option" in unknown.stderr
    nobody = cli("claim", "--title", "x", "--start", "2026-01-01")
    assert nobody.exit_code == 1
    assert "no_acting_person" in nobody.stderr
    assert "say who signs this statement" in nobody.stderr
    neither = cli("register", "carol", "--department", "minbzk/dgo", "--name", "C", who="op")
    assert neither.exit_code == 1
    assert "exactly one of --public-key" in neither.stderr
    not_base64 = cli("register", "carol", "--department", "minbzk/dgo", "--name", "C",
                     "--public-key", "not-base64!", who="op")  # fmt: skip
    assert not_base64.exit_code == 1
    assert "--public-key" in not_base64.stderr
    bad_person = cli("keys", "create", "../escape")
    assert bad_person.exit_code == 1
    assert "not a person id" in bad_person.stderr


def test_init_refuses_a_ledger_that_has_entries(cli: Cli) -> None:
    organisation(cli)
    again = cli("init", "--operator", "op2", "--department", "minbzk/cio", "--name", "Other")
    assert again.exit_code == 2
    assert "already_initialised" in again.stderr
    assert not (cli.keys / "op2.key").exists()


def test_unknown_person_exits_6(cli: Cli) -> None:
    organisation(cli)
    result = cli("show", "nobody")
    assert result.exit_code == ExitCode.NOT_FOUND == 6
    assert "not_found" in result.stderr
    assert cli("keys", "show", "nobody").exit_code == 6


def test_misconfigured_store_exits_5(tmp_path: Path) -> None:
    cli = Cli("mysql://localhost/ledger", tmp_path / "keys")
    result = cli("log")
    assert result.exit_code == ExitCode.STORE == 5
    assert "store_error" in result.stderr
    assert "mysql" in result.stderr
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")
    unreachable = Cli(f"sqlite://{not_a_directory}/ledger.db", tmp_path / "keys")
    # init may create a ledger, and cannot; a command that reads finds none there.
    created = unreachable("init", "--operator", "op", "--department", "a/b", "--name", "Op")
    assert created.exit_code == 5
    assert "cannot open the store" in created.stderr
    read = unreachable("log")
    assert read.exit_code == 5
    assert "no_ledger" in read.stderr


def test_audit_after_tampering_exits_3_and_names_the_entry(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    organisation(cli)
    contribution = claim(cli)
    cli.ok("review", "request", contribution, "--peer", "bob", who="alice")
    cli.ok("endorse", "alice", contribution, "--grade", "4", "--role", "peer", who="bob")
    claim(cli, "Later work")
    database = cli.url.removeprefix("sqlite://")
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT rowid, state FROM stored_events").fetchall()
        tampered = [(rowid, s) for rowid, s in rows if b'"grade":4' in s]
        assert len(tampered) == 1
        rowid, state = tampered[0]
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (state.replace(b'"grade":4', b'"grade":5'), rowid),
        )
    store = open_store(cli.url)
    try:
        failure = audit(store).failure
    finally:
        store.close()
    assert failure is not None
    assert failure.stream is not None

    result = cli("audit")
    assert result.exit_code == ExitCode.INTEGRITY == 3
    assert "audit FAILED" in result.stdout
    for text in (failure.stream, f"seq:          {failure.seq}", failure.code, failure.message):
        assert text in result.stdout
    assert f"log position: {failure.log_index}" in result.stdout

    as_json = cli("audit", "--json")
    assert as_json.exit_code == 3
    reported = json.loads(as_json.stdout)["failure"]
    assert (reported["stream"], reported["seq"]) == (failure.stream, failure.seq)


# -- the other commands ----------------------------------------------------------------------
def test_keys_rotate_replaces_the_keystore_and_revoke_retires_a_key(cli: Cli) -> None:
    organisation(cli)
    before = load_keystore(cli.keys / "alice.key", PASSPHRASE).key_id
    rotated = cli.json("keys", "rotate", "alice")
    after = load_keystore(cli.keys / "alice.key", PASSPHRASE).key_id
    assert rotated["new_key_id"] == after != before
    assert not (cli.keys / "alice.key.new").exists()
    claim(cli)  # the new key signs
    shown = cli.json("keys", "show", "alice")
    assert shown["current_key"] == after
    assert [k["key_id"] for k in shown["keys"]] == [before, after]
    assert shown["keys"][0]["retired_at"] is not None

    spare = Identity.generate()
    cli.ok("keys", "rotate", "bob", "--public-key", b64encode(spare.public_key.raw), who="op")
    revoked = cli("keys", "revoke", "bob", spare.key_id[:14], "--reason", "lost", who="op")
    assert revoked.exit_code == 0, revoked.output
    bob = cli.json("keys", "show", "bob")
    assert bob["keys"][-1]["revoked"] is True
    assert bob["current_key"] is None
    old_key = cli("claim", "--title", "x", "--start", "2026-01-01", who="bob")
    assert old_key.exit_code == 2
    assert "key_superseded" in old_key.stderr


def test_rotating_someone_elses_key_needs_their_public_key(cli: Cli) -> None:
    organisation(cli)
    result = cli("keys", "rotate", "alice", who="op")
    assert result.exit_code == 1
    assert "--public-key" in result.stderr


def test_record_commands(cli: Cli) -> None:
    organisation(cli)
    first = claim(cli)
    second = claim(cli, "Second")
    cli.ok("review", "request", second[:8], "--peer", "bob", who="alice")
    endorsement = cli.json("endorse", "alice", second, "--grade", "3", "--role", "peer",
                           who="bob")["endorsement"]  # fmt: skip
    cli.ok("endorsement", "revoke", "alice", endorsement[:8], "--reason", "mistake", who="bob")
    cli.ok("withdraw", first[:8], "--reason", "duplicate", who="alice")
    cli.ok("ambition", "--goal", "Lead a team", "--skill", "leadership", who="alice")
    cli.ok("visibility", "analytical", "on_request", who="alice")
    types_ = [
        e["entry"]["statement"]["type"] for e in cli.json("show", "alice", who="alice")["record"]
    ]
    assert types_ == [
        "ContributionClaimed",
        "ContributionClaimed",
        "ReviewRequested",
        "EndorsementGiven",
        "EndorsementRevoked",
        "ContributionWithdrawn",
        "AmbitionStated",
        "VisibilityChanged",
    ]
    again = cli("withdraw", first, who="alice")
    assert again.exit_code == 2
    assert "contribution_withdrawn" in again.stderr
    bad_visibility = cli("visibility", "analytical", "everyone", who="alice")
    assert bad_visibility.exit_code == 1


def test_identity_commands(cli: Cli) -> None:
    organisation(cli)
    cli.ok("role", "grant", "alice", "admin", "minbzk", who="op")
    cli.ok("transfer", "bob", "--department", "minbzk/cio", who="alice")
    # the move ended his manager role of minbzk/dgo (docs/rules.md §4): nothing to revoke
    gone = cli("role", "revoke", "bob", "manager", "minbzk/dgo", who="alice")
    assert gone.exit_code == 2
    assert "role_not_held" in gone.stderr
    bob = cli.json("keys", "show", "bob", who="alice")
    assert (bob["department"], bob["roles"]) == ("minbzk/cio", [])
    not_admin = cli("role", "grant", "alice", "manager", "minbzk/dgo", who="bob")
    assert not_admin.exit_code == 2
    assert "not_admin" in not_admin.stderr


def test_assignment_cancel_and_show(cli: Cli) -> None:
    organisation(cli)
    posted = cli.json("assignment", "post", "--title", "Audit help", "--skill", "audit",
                      "--hours", "4", "--department", "minbzk/dgo", who="bob")  # fmt: skip
    cli.ok("assignment", "cancel", posted["assignment"], "--reason", "no budget", who="bob")
    shown = cli.ok("assignment", "show", posted["assignment"][:8]).stdout
    assert "cancelled" in shown
    assert "Audit help" in shown
    late = cli("assignment", "apply", posted["assignment"], "--hours", "4", who="alice")
    assert late.exit_code == 2
    assert "assignment_closed" in late.stderr
    hours = cli("assignment", "apply", posted["assignment"], "--hours", "80", who="alice")
    assert hours.exit_code == 1


def test_reading_commands_keep_the_directory_private_as_the_api_does(cli: Cli) -> None:
    """show, log and keys show read as --as (a member sees every directory entry) or, without
    it, as a caller without a session: only people whose dossier is public, and the
    operator (docs/privacy.md §9). A withheld entry keeps its place and hash."""
    organisation(cli)
    anonymous = cli.json("show", "alice")
    assert (anonymous["viewer"], anonymous["directory"]) == (None, "withheld")
    [registered] = anonymous["identity"]
    assert "entry" not in registered
    assert registered["withheld"].startswith("who a person is")
    assert registered["stream"] == "identity/alice"
    assert len(registered["entry_hash"]) == 64
    text = cli.ok("show", "alice").stdout
    assert "Alice" not in text
    assert "minbzk/dgo" not in text
    assert "directory entry withheld" in text
    keys = cli.json("keys", "show", "alice")
    assert (keys["directory"], keys["department"], keys["roles"]) == ("withheld", None, [])
    assert keys["keys"]  # keys stay public: every signature needs them
    log = cli.json("log")
    assert [e["entry"]["stream"] for e in log if "entry" in e] == ["identity/op"]  # the operator
    assert "Operator" in cli.ok("show", "op").stdout

    member = cli.json("show", "alice", who="bob")  # a colleague sees the directory
    assert member["directory"] == "shown"
    assert member["identity"][0]["disclosures"][0][1:] == ["display_name", "Alice"]
    assert "minbzk/dgo" in cli.ok("show", "alice", who="bob").stdout
    assert cli.json("keys", "show", "bob", who="alice")["roles"] == [["manager", "minbzk/dgo"]]
    assert len([e for e in cli.json("log", who="bob") if "entry" in e]) == len(log)

    cli.ok("visibility", "dossier", "public", who="alice")  # she makes it public
    assert cli.json("show", "alice")["directory"] == "shown"
    assert cli.json("keys", "show", "alice")["department"] == "minbzk/dgo"
    assert cli.json("show", "bob")["directory"] == "withheld"  # bob did not

    stranger = cli("show", "alice", who="nobody")
    assert stranger.exit_code == 6, stranger.output
    assert "registered to read as" in stranger.stderr


def test_access_reviews_and_assignments_read_as_the_api_shows_them(cli: Cli) -> None:
    """access list, review list and assignment show apply the API's rules
    (ledger.access.access_listed, review_inbox, applied_for, shows_assignee and
    ledger.entry_view.view_entry): without --as a caller without a session, with it
    that member; a permitted viewer sees more (docs/privacy.md §9)."""
    organisation(cli)
    contribution = claim(cli)
    asked = cli.json("access", "request", "alice", "--part", "dossier", who="bob")["request"]
    review = cli.json("review", "request", contribution, "--peer", "bob", who="alice")

    anonymous = cli("access", "list", "alice", "--json")
    assert anonymous.exit_code == 0, anonymous.output
    assert json.loads(anonymous.stdout)["requests"] == []  # the API: 401 without a session
    assert "seen only by its owner and its viewer" in cli.ok("access", "list", "alice").stderr
    assert cli.json("access", "list", "alice", who="op")["requests"] == []  # not a party
    for party in ("alice", "bob"):
        listed = cli.json("access", "list", "alice", who=party)
        assert [(r["id"], r["viewer"]) for r in listed["requests"]] == [(asked, "bob")]
    assert cli("access", "list", "nobody", who="alice").exit_code == ExitCode.NOT_FOUND
    cli.ok("access", "grant", "bob", "--part", "dossier", "--request", asked[:8], who="alice")
    listed_text = cli.ok("access", "list", who="alice").stdout  # 80 columns: nothing cut
    assert "…" not in listed_text
    assert {asked[:8], "alice", "bob", "dossier", "granted", "active"} <= set(listed_text.split())

    [inbox] = cli.json("review", "list", who="bob")["requests"]
    assert inbox["id"] == review["request"]
    inbox_text = cli.ok("review", "list", who="bob").stdout
    assert "…" not in inbox_text
    assert {review["request"][:8], "alice", contribution[:8], "peer"} <= set(inbox_text.split())
    assert "not answered" in inbox_text
    anyone = cli("review", "list")
    assert anyone.exit_code == ExitCode.USAGE
    assert "no_acting_person" in anyone.stderr
    # it signs nothing, so it asks who reads, not who signs
    assert "addressed to you: say who you are" in anyone.stderr
    assert "signs" not in anyone.stderr
    assert cli("review", "list", who="nobody").exit_code == ExitCode.NOT_FOUND

    posted = cli.json("assignment", "post", "--title", "Audit help", "--skill", "audit",
                      "--hours", "4", "--department", "minbzk/dgo", who="bob")  # fmt: skip
    assignment = posted["assignment"]
    cli.ok("assignment", "apply", assignment, "--hours", "4", who="alice")
    cli.ok("assignment", "assign", assignment, "alice", who="bob")
    outside = cli.json("assignment", "show", assignment)
    assert (outside["viewer"], outside["applicants"], outside["applied"]) == (None, 1, None)
    assert outside["assignees"] == []  # alice's free part is private
    applied, assigned = outside["entries"][1:]
    assert applied["withheld"] == "an application is seen by its applicant and owner"
    assert assigned["withheld"] == "the free part of alice is private"
    assert "entry" not in applied
    text = cli.ok("assignment", "show", assignment).stdout
    assert "assigned: nobody shown" in text
    assert "AssignmentApplied" not in text
    colleague = cli.json("assignment", "show", assignment, who="op")
    assert (colleague["applied"], colleague["assignees"]) == (None, [])
    owner = cli.json("assignment", "show", assignment, who="bob")
    assert (owner["applied"], owner["assignees"]) == (["alice"], ["alice"])
    assert [e["entry"]["statement"]["type"] for e in owner["entries"]] == [
        "AssignmentPosted", "AssignmentApplied", "AssignmentAssigned",
    ]  # fmt: skip
    assert cli.json("assignment", "show", assignment, who="alice")["assignees"] == ["alice"]
    cli.ok("visibility", "free", "public", who="alice")  # she shows where she works
    assert cli.json("assignment", "show", assignment)["assignees"] == ["alice"]


def test_log_pages_through_the_whole_log(cli: Cli) -> None:
    organisation(cli)
    first = cli.json("log", "--limit", "2", who="bob")
    rest = cli.json("log", "--after", str(first[-1]["position"]), who="bob")
    streams = [e["entry"]["stream"] for e in first + rest]
    assert streams == ["identity/op", "identity/alice", "identity/bob", "identity/bob"]
    assert "more: trackrecord log --after" in cli.ok("log", "--limit", "2").stdout


# -- demo ------------------------------------------------------------------------------------
def test_demo_writes_featured_keystores_and_audits(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    cli = Cli(f"sqlite://{tmp_path.resolve()}/unused.db", tmp_path / "unused-keys")
    result = cli("demo", "--people", "8", "--seed", "3", "--dir", str(directory))
    assert result.exit_code == 0, result.output
    for text in ("passphrase: demo", "audit passed", "ContributionClaimed", "employee"):
        assert text in result.stdout
    assert not (tmp_path / "unused.db").exists()
    demo_cli = Cli(f"sqlite://{directory.resolve()}/trackrecord.db", directory / "keys")
    keystores = sorted((directory / "keys").glob("*.key"))
    assert keystores
    for path in keystores:
        person = path.stem
        key_id = load_keystore(path, "demo").key_id
        assert demo_cli.json("keys", "show", person)["current_key"] == key_id
    entries = len(demo_cli.json("log", "--limit", "10000"))
    assert re.search(rf"│ entries\s+│\s+{entries:,} │", result.stdout)  # the audit saw them all

    again = cli("demo", "--people", "5", "--dir", str(directory))  # a demo replaces a demo
    assert again.exit_code == 0, again.output
    assert len(demo_cli.json("log", "--limit", "10000")) < entries


def test_demo_refuses_to_replace_a_ledger_it_did_not_make(tmp_path: Path) -> None:
    directory = tmp_path / "real"
    real = Cli(f"sqlite://{directory.resolve()}/trackrecord.db", directory / "keys")
    real.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    refused = real("demo", "--people", "5", "--dir", str(directory))
    assert refused.exit_code == 1
    assert "--force" in refused.stderr
    assert len(real.json("log")) == 1
    forced = real("demo", "--people", "5", "--dir", str(directory), "--force")
    assert forced.exit_code == 0, forced.output
    assert len(real.json("log")) > 1
    assert not (directory / "keys" / "op.key").exists()
    too_few = real("demo", "--people", "2", "--dir", str(directory))
    assert too_few.exit_code == 1


# -- the installed console script ------------------------------------------------------------
@pytest.mark.slow
def test_console_script_whole_flow(sqlite_url: str, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "trackrecord"
    assert script.exists(), "pip install -e . installs the trackrecord console script"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRECORD_")}
    env.update(TRACKRECORD_PASSPHRASE=PASSPHRASE, TRACKRECORD_KDF="fast", COLUMNS="200")
    env.update(TRACKRECORD_DATABASE_URL=sqlite_url, TRACKRECORD_KEYS=str(tmp_path / "keys"))

    def run(*args: str, who: str | None = None) -> str:
        argv = [str(script), *(["--as", who] if who else []), *args]
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done.stdout

    def run_json(*args: str, who: str | None = None) -> Any:
        return json.loads(run(*args, "--json", who=who))

    run("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    alice = run_json("keys", "create", "alice")
    run("keys", "create", "bob")
    run("register", "alice", "--department", "minbzk/dgo", "--name", "Alice",
        "--public-key", alice["public_key"], who="op")  # fmt: skip
    run("register", "bob", "--department", "minbzk/dgo", "--name", "Bob",
        "--keystore", str(tmp_path / "keys" / "bob.key"), who="op")  # fmt: skip
    run("role", "grant", "bob", "manager", "minbzk/dgo", who="op")
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("minutes of the meeting\n")
    contribution = run_json(
        "claim", "--title", "Policy brief", "--skill", "policy-advice", "--start", "2026-01-01",
        "--evidence", str(evidence), who="alice",
    )["contribution"]  # fmt: skip
    run("review", "request", contribution, "--manager", "bob", who="alice")
    run("endorse", "alice", contribution, "--grade", "4", "--role", "manager",
        "--comment", "Solid", who="bob")  # fmt: skip
    assignment = run_json(
        "assignment", "post", "--title", "Dashboard", "--skill", "python", "--hours", "8",
        "--department", "minbzk/dgo", "--organisation", "minbzk", "--ring", "government",
        who="bob",
    )["assignment"]  # fmt: skip
    run("assignment", "apply", assignment, "--hours", "8", "--motivation", "Keen", who="alice")
    run("assignment", "assign", assignment, "alice", who="bob")
    run("assignment", "complete", assignment, "alice", "--grade", "5", "--outcome", "delivered",
        "--note", "Great", who="bob")  # fmt: skip
    shown = run("show", "alice", who="alice")
    assert "Policy brief" in shown
    assert "EndorsementGiven" in shown
    assert "audit passed" in run("audit")
    module_run = subprocess.run(
        [sys.executable, "-m", "trackrecord", "audit", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert module_run.returncode == 0, module_run.stderr
    assert json.loads(module_run.stdout)["entries"] == 11  # with the review request
