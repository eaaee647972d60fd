"""``trackrecord erase``: an employee leaves and is forgotten without breaking anyone's proof.

Runs the real CLI on both backends: alice's content (name, contribution, the comment
on her record, her application's motivation) is erased by an admin; afterwards the
audit, the checkpoints (old and new, and their consistency), the monitor and
every bundle still verify, the facts others rely on stay countable, and no byte of
her content is left in any table — nor, on SQLite, in the database files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from projections.db import sqlalchemy_url
from tests.support.cli import Cli
from tests.support.scan import every_value, holds

NAME = "Alice Canary-Name-3f9e"
TITLE = "Canary-Title-6c1d policy brief"
COMMENT = "Canary-Comment-a27b solid work"
MOTIVATION = "Canary-Motivation-0e45"
BOB_TITLE = "Bob's own Canary-Keep-91aa"
ALICE_TEXTS = (NAME, TITLE, COMMENT, MOTIVATION)


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "keys")


def _ledger_with_alice(cli: Cli, tmp_path: Path) -> tuple[str, str]:
    """The standard organisation with alice's content; returns (contribution, assignment)."""
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    alice = cli.json("keys", "create", "alice")
    cli.ok("keys", "create", "bob")
    cli.ok("register", "alice", "--department", "minbzk/dgo", "--name", NAME,
           "--public-key", alice["public_key"], who="op")  # fmt: skip
    cli.ok("register", "bob", "--department", "minbzk/dgo", "--name", "Bob",
           "--keystore", str(cli.keys / "bob.key"), who="op")  # fmt: skip
    cli.ok("role", "grant", "bob", "manager", "minbzk/dgo", who="op")
    contribution = cli.json(
        "claim", "--title", TITLE, "--skill", "policy-advice", "--start", "2026-01-01",
        who="alice",
    )["contribution"]  # fmt: skip
    cli.ok("review", "request", contribution, "--manager", "bob", who="alice")
    cli.ok("endorse", "alice", contribution, "--grade", "4", "--role", "manager",
           "--comment", COMMENT, who="bob")  # fmt: skip
    cli.ok("claim", "--title", BOB_TITLE, "--skill", "python", "--start", "2026-01-01", who="bob")
    assignment = cli.json(
        "assignment", "post", "--title", "Data dashboard", "--skill", "python", "--hours", "8",
        "--department", "minbzk/dgo", who="bob",
    )["assignment"]  # fmt: skip
    cli.ok("assignment", "apply", assignment, "--hours", "8", "--motivation", MOTIVATION,
           who="alice")  # fmt: skip
    cli.ok("assignment", "assign", assignment, "alice", who="bob")
    cli.ok("assignment", "complete", assignment, "alice", "--grade", "5", who="bob")
    cli.ok("projections", "rebuild")
    return contribution, assignment


def _database_text(url: str) -> list[tuple[str, str]]:
    """Every (table, column) whose value holds one of alice's texts."""
    engine = create_engine(sqlalchemy_url(url))
    try:
        return [
            (table, column)
            for table, column, value in every_value(engine)
            if any(holds(value, text) for text in ALICE_TEXTS)
        ]
    finally:
        engine.dispose()


def _database_files(url: str) -> list[Path]:
    """The files that hold the database's tables, indexes and TOAST data.

    SQLite: the database file and its WAL. PostgreSQL: the relation files of every
    table, index and TOAST table of the database (read as root from the data directory
    of the test cluster); its WAL (``pg_wal``) is not scanned: PostgreSQL keeps old row
    versions there until segments are recycled (docs/privacy.md §3).
    """
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite://"))
        return [f for f in (path, path.with_name(path.name + "-wal")) if f.exists()]
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")  # flush shared buffers to the relation files
            data = Path(str(conn.exec_driver_sql("SHOW data_directory").scalar()))
            rows = conn.exec_driver_sql(
                "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'i', 't') AND n.nspname NOT IN "
                "('pg_catalog', 'information_schema') AND pg_relation_filepath(c.oid) IS NOT NULL"
            ).scalars()
            bases = [data / str(r) for r in rows]
    finally:
        engine.dispose()
    files = [f for base in bases for f in base.parent.glob(base.name + "*") if f.is_file()]
    assert files, "no relation files found"
    return files


def test_erase_forgets_alice_and_every_proof_still_holds(cli: Cli, tmp_path: Path) -> None:
    _ledger_with_alice(cli, tmp_path)
    before = cli.json("checkpoint", "--issue", who="op")
    monitor_state = tmp_path / "monitor.json"
    cli.ok("monitor", "--state", str(monitor_state))
    # At rest the ledger and the read models hold her content sealed (privacy.md §2, §8):
    # nothing of it is in the clear, not even before the erasure.
    assert {table for table, _ in _database_text(cli.url)} == set()
    # The file scan below sees what is in the clear (a control for its "nothing left"):
    # her person id, which is no content.
    assert any(b"record/alice" in f.read_bytes() for f in _database_files(cli.url))
    shown = cli.json("show", "alice", who="alice")
    assert [d[2] for d in shown["record"][0]["disclosures"]] == [TITLE]
    entries_before = cli.json("audit")["entries"]

    # Refusals write nothing: no confirmation, and a non-admin.
    unconfirmed = cli("erase", "alice", who="op")
    assert unconfirmed.exit_code == 1
    assert "--yes" in unconfirmed.stderr
    not_admin = cli("erase", "alice", "--yes", who="bob")
    assert not_admin.exit_code == 2
    assert "not_admin" in not_admin.stderr
    assert cli.json("audit")["entries"] == entries_before

    erased = cli.json("erase", "alice", "--yes", "--basis", "request", who="op")
    assert erased["type"] == "PersonErased"
    assert erased["stream"] == "identity/alice"

    # Nothing of hers is readable, anywhere in the database.
    assert _database_text(cli.url) == []
    shown = cli.json("show", "alice", who="alice")
    assert all(e["disclosures"] == [] for e in shown["identity"] + shown["record"])
    assert cli.json("show", "bob", who="bob")["record"][0]["disclosures"][0][2] == BOB_TITLE
    for file in _database_files(cli.url):
        raw = file.read_bytes()
        assert not any(text.encode() in raw for text in ALICE_TEXTS), file

    # Every proof still holds: audit, checkpoints and their consistency, the monitor.
    report = cli.json("audit")
    assert report["ok"] is True
    assert report["entries"] == entries_before + 1
    assert report["erased"] >= 4  # her registration, claim, the endorsement, her application
    after = cli.json("checkpoint", "--issue", who="op")
    assert after["size"] == before["size"] + 1
    cli.ok("proof", "consistency", str(before["size"]), str(after["size"]))
    cli.ok("monitor", "--state", str(monitor_state))

    # Her bundle still verifies, every field withheld; bob's keeps his content.
    for person in ("alice", "bob"):
        out = tmp_path / f"{person}.json"
        cli.ok("export", person, "--out", str(out))
        verified = cli.json("verify", str(out))  # exits 0 only if the bundle verifies
        assert verified["person"] == person
        if person == "alice":
            assert verified["withheld_fields"] >= 4
        text = out.read_text()
        assert not any(t in text for t in ALICE_TEXTS)
    assert BOB_TITLE in (tmp_path / "bob.json").read_text()

    # The facts others rely on stay countable: the endorsement, the completed assignment.
    bundle = json.loads((tmp_path / "alice.json").read_text())
    types = [i["entry"]["statement"]["type"] for i in bundle["entries"]]
    assert types.count("EndorsementGiven") == 1
    assert types.count("AssignmentCompleted") == 1

    # No credentials are issued about her any more (bob's still are).
    no_credentials = cli("credentials", "export", "alice", "-o", str(tmp_path / "vc"), who="op")
    assert no_credentials.exit_code == 2
    assert "erased" in no_credentials.stderr
    cli.ok("credentials", "export", "bob", "-o", str(tmp_path / "vc-bob"), who="op")

    # And nothing more is recorded by or about her.
    refused = cli("claim", "--title", "Back again", "--skill", "python", "--start",
                  "2026-01-01", who="alice")  # fmt: skip
    assert refused.exit_code == 2
    assert "erased" in refused.stderr
