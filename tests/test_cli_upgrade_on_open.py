"""A command run on a ledger an earlier version wrote (tests/data/ledger_rule_state_1)
brings it up to date first and says so on stderr, with progress, instead of working
silently for minutes; the audit, which writes nothing, audits the store as it is."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from ledger.store import open_store
from ledger.store.rule_state import RULE_STATE_VERSION, VERSION_KEY
from ledger.vault import SERVICE_KEY_ENV
from tests.support.cli import Cli

VERSION_1 = Path(__file__).parent / "data" / "ledger_rule_state_1"


def _copy(tmp_path: Path) -> tuple[Cli, dict[str, str]]:
    for name in ("trackrecord.db", "trackrecord.db.service-key"):
        shutil.copy(VERSION_1 / name, tmp_path / name)
    env = {SERVICE_KEY_ENV: str(tmp_path / "trackrecord.db.service-key")}
    return Cli(f"sqlite://{tmp_path / 'trackrecord.db'}", tmp_path / "keys"), env


def _version(url: str, key: bytes) -> str | None:
    store = open_store(url, service_key=key)
    try:
        return store.state_values([VERSION_KEY]).get(VERSION_KEY)
    finally:
        store.close()


def test_a_reading_command_says_it_brings_an_old_ledger_up_to_date(tmp_path: Path) -> None:
    cli, env = _copy(tmp_path)
    first = cli("log", "--json", env=env)
    assert first.exit_code == 0, first.output
    assert "written by an earlier version" in first.stderr
    assert "78 entries" in first.stderr  # how much work there is, before it starts
    assert "78 entries folded" in first.stderr  # and progress while it works
    assert json.loads(first.stdout)  # stdout stays the command's own output
    key = (tmp_path / "trackrecord.db.service-key").read_bytes()
    assert _version(cli.url, key) == str(RULE_STATE_VERSION)
    again = cli("log", "--json", env=env)
    assert again.exit_code == 0, again.output
    assert "earlier version" not in again.stderr  # once


def _rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(db)) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("rule_state", "data_keys", "stored_events")
        }


def test_the_audit_of_an_old_ledger_writes_nothing(tmp_path: Path) -> None:
    """Neither the rule state (the audit reports it outdated, as it is) nor a read-model key (no
    read model was ever built here, so there is nothing to compare) is written."""
    cli, env = _copy(tmp_path)
    db = tmp_path / "trackrecord.db"
    before = _rows(db)
    audited = cli("audit", "--json", env=env)
    assert audited.exit_code == 3, audited.output
    # reported as it is found, not mended first: 'trackrecord migrate' builds it
    assert json.loads(audited.stdout)["failure"]["code"] == "rule_state_version"
    assert "earlier version" not in audited.stderr
    assert _rows(db) == before
    key = (tmp_path / "trackrecord.db.service-key").read_bytes()
    assert _version(cli.url, key) is None
