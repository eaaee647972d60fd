"""A store behind the last checkpoint the operator signed is refused (issue 15 item 7, issue 20).

Real backups: ``trackrecord backup`` (SQLite's backup API) and, on PostgreSQL,
``pg_dump``/``pg_restore``. A backup restored under a running service used to make
every later append fail with 500 ``merkle_node_missing``; now the append is refused
with 503 ``rolled_back`` and nothing is appended on top of the rolled-back log. The
CLI, ``serve`` and ``restore`` refuse such a store too, unless the rollback is
accepted explicitly.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.config import ApiConfig
from ledger.rollback import MEMORY_FILE
from ledger.store.backup import copy_sqlite, sqlite_url
from ledger.vault import SERVICE_KEY_ENV
from tests import pgcluster
from tests.support.api_server import UNLIMITED, Live, live_server, make_cast, operator_member
from tests.support.cli import Cli, claim, organisation

OPERATOR_SIGNS = ApiConfig(
    write_limit=UNLIMITED.write_limit,
    login_limit=UNLIMITED.login_limit,
    challenge_limit=UNLIMITED.challenge_limit,
    checkpoint_interval=0.1,
    checkpoint_in="process",  # a child per checkpoint would space them seconds apart
)


def _entries(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT COUNT(*) FROM merkle_nodes WHERE level=0").fetchone()
    return int(n)


def _error_code(output: str) -> str:
    """The code of the CLI's ``error [code]: message`` line."""
    line = next(x for x in output.splitlines() if x.startswith("error ["))
    return line.split("[", 1)[1].split("]", 1)[0]


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A ledger whose operator signed a checkpoint after alice's claim; its service key is
    the file beside the database (not the test session's shared one)."""
    monkeypatch.delenv(SERVICE_KEY_ENV, raising=False)
    cli = Cli(sqlite_url(tmp_path / "ledger.db"), tmp_path / "keys")
    organisation(cli)
    claim(cli)
    cli.ok("checkpoint", "--issue", who="op")
    return cli


def test_signing_a_checkpoint_remembers_it_next_to_the_operator_key(signed: Cli) -> None:
    state = json.loads((signed.keys / MEMORY_FILE).read_text())
    assert state["format"] == "trackrecord-signed-checkpoints/v1"
    (entry,) = state["ledgers"].values()
    latest = signed.json("checkpoint")
    assert entry["checkpoint"] == latest["note"]
    assert entry["verifier_key"] == latest["verifier_key"]


def test_a_store_rolled_back_behind_the_signed_checkpoint_refuses_appends_and_serving(
    signed: Cli, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.db"
    signed.ok("backup", str(tmp_path / "old.db"))
    claim(signed, "Second brief")
    signed.ok("checkpoint", "--issue", who="op")
    before = _entries(tmp_path / "old.db")
    # the service is stopped and the old copy put back by hand
    shutil.copyfile(tmp_path / "old.db", db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)

    refused = signed("claim", "--title", "Third", "--skill", "python", "--start", "2026-01-01",
                     who="alice")  # fmt: skip
    assert refused.exit_code == 5, refused.output
    assert _error_code(refused.output) == "rolled_back"
    assert "signed a checkpoint" in refused.output
    assert _entries(db) == before  # nothing appended on top of the rolled-back log

    issued = signed("checkpoint", "--issue", who="op")
    assert issued.exit_code == 5, issued.output  # no checkpoint of the other history
    served = signed("serve", "--port", "1")  # the lifespan refuses before binding
    assert served.exit_code == 5, served.output
    assert _error_code(served.output) == "rolled_back"


def test_restore_refuses_an_older_backup_unless_the_rollback_is_accepted(
    signed: Cli, tmp_path: Path
) -> None:
    signed.ok("backup", str(tmp_path / "old.db"))
    claim(signed, "Second brief")
    signed.ok("checkpoint", "--issue", who="op")
    key = tmp_path / "ledger.db.service-key"
    target = tmp_path / "restored" / "ledger.db"
    restored = Cli(sqlite_url(target), signed.keys)

    refused = restored("restore", str(tmp_path / "old.db"), "--service-key", str(key))
    assert refused.exit_code == 5, refused.output
    assert _error_code(refused.output) == "rolled_back"
    assert "Lost:" in refused.output
    assert "history_rewritten" in refused.output
    assert not target.exists()  # nothing half-written
    assert not Path(f"{target}.service-key").exists()

    accepted = restored.json(
        "restore", str(tmp_path / "old.db"), "--service-key", str(key), "--accept-rollback"
    )
    assert accepted["rolled_back"] is True
    assert accepted["lost_entries"] >= 1
    restored.ok("audit")
    restored.ok("claim", "--title", "After the restore", "--skill", "python",
                "--start", "2026-01-01", who="alice")  # fmt: skip
    restored.ok("checkpoint", "--issue", who="op")
    state = json.loads((signed.keys / MEMORY_FILE).read_text())
    (entry,) = state["ledgers"].values()
    assert len(entry["rollbacks"]) == 1  # the operator's record of what was given up


def test_restore_of_a_current_backup_needs_no_flag_and_never_copies_keys(
    signed: Cli, tmp_path: Path
) -> None:
    facts = signed.json("backup", str(tmp_path / "copy.db"))
    assert facts["entries"] == _entries(tmp_path / "ledger.db")
    assert not Path(f"{tmp_path / 'copy.db'}.service-key").exists()
    target = tmp_path / "new" / "ledger.db"
    restored = Cli(sqlite_url(target), signed.keys)
    missing_key = restored("restore", str(tmp_path / "copy.db"))
    assert missing_key.exit_code == 1
    assert "--service-key" in missing_key.output
    out = restored.json(
        "restore",
        str(tmp_path / "copy.db"),
        "--service-key",
        str(tmp_path / "ledger.db.service-key"),
    )
    assert out == {**out, "rolled_back": False, "lost_entries": 0, "entries": facts["entries"]}
    restored.ok("audit")
    assert restored.json("show", "alice")  # personal content opens with the restored key


# -- under a running service ---------------------------------------------------------------


def _wait_for_checkpoint(live: Live) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = live.client.get("/log").json()
        if log["latest_checkpoint"] == log["size"]:
            return int(log["size"])
        time.sleep(0.05)
    raise AssertionError("the service signed no checkpoint of the whole log")


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[Live]:
    url = sqlite_url(tmp_path / "ledger.db")
    with live_server(
        url, OPERATOR_SIGNS, operator=operator_member().identity, keys_dir=tmp_path / "keys"
    ) as live:
        yield live


def test_a_backup_restored_under_the_running_service_stops_appends(
    sqlite_service: Live, tmp_path: Path
) -> None:
    live = sqlite_service
    w = make_cast(live, "rb")
    _wait_for_checkpoint(live)
    db = tmp_path / "ledger.db"
    copy_sqlite(db, tmp_path / "old.db")
    w.do(w.claim(w["alice"], title="After the backup"))
    _wait_for_checkpoint(live)
    old_size = _entries(tmp_path / "old.db")
    assert live.client.get("/readyz").status_code == 200

    # restored over the live database with SQLite's backup API, the service still running
    with sqlite3.connect(tmp_path / "old.db") as src, sqlite3.connect(db) as dst:
        src.backup(dst)

    response = live.client.post("/statements", json=w.claim(w["bob"], title="Late").as_json())
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["code"] == "rolled_back"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _entries(db) == old_size  # nothing appended on top of the rolled-back log
    time.sleep(0.3)  # the checkpointer signs nothing of the rolled-back store either
    with sqlite3.connect(db) as conn:
        (largest,) = conn.execute("SELECT MAX(size) FROM checkpoints").fetchone()
    assert largest <= old_size
    ready = live.client.get("/readyz")  # the load balancer takes it out of service
    assert ready.status_code == 503
    assert ready.json()["checks"]["signed_checkpoint"] == "rolled_back"


# -- PostgreSQL: pg_dump and pg_restore ----------------------------------------------------


def _pg_tool(name: str) -> str:
    return str(pgcluster.find_bindir() / name)


@pytest.mark.postgres
def test_a_pg_restore_under_the_running_service_stops_appends(
    postgres_server_url: str, tmp_path: Path
) -> None:
    with (
        pgcluster.fresh_database(postgres_server_url) as url,
        live_server(
            url, OPERATOR_SIGNS, operator=operator_member().identity, keys_dir=tmp_path / "keys"
        ) as live,
    ):
        w = make_cast(live, "pg")
        _wait_for_checkpoint(live)
        dump = tmp_path / "ledger.dump"
        subprocess.run([_pg_tool("pg_dump"), "--format=custom", f"--file={dump}", url], check=True)
        old_size = live.size()
        w.do(w.claim(w["alice"], title="After the backup"))
        _wait_for_checkpoint(live)
        subprocess.run(
            [_pg_tool("pg_restore"), "--clean", "--if-exists", f"--dbname={url}", str(dump)],
            check=True,
        )
        response = live.client.post("/statements", json=w.claim(w["bob"], title="x").as_json())
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "rolled_back"
        cli = Cli(url, tmp_path / "keys")
        assert cli.json("checkpoint")["size"] <= old_size


@pytest.mark.postgres
def test_a_pg_restore_is_checked_in_place_and_accepted_only_when_told(
    postgres_server_url: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    with (
        pgcluster.fresh_database(postgres_server_url) as url,
        pgcluster.fresh_database(postgres_server_url) as restored_url,
    ):
        cli = Cli(url, keys)
        organisation(cli)
        claim(cli)
        cli.ok("checkpoint", "--issue", who="op")
        told = cli("backup", str(tmp_path / "x.db"))  # no pretending: the recipe
        assert told.exit_code == 1
        assert "pg_dump" in told.output
        dump = tmp_path / "ledger.dump"
        subprocess.run([_pg_tool("pg_dump"), "--format=custom", f"--file={dump}", url], check=True)
        claim(cli, "After the dump")
        cli.ok("checkpoint", "--issue", who="op")
        subprocess.run([_pg_tool("pg_restore"), f"--dbname={restored_url}", str(dump)], check=True)
        restored = Cli(restored_url, keys)
        refused = restored("restore")
        assert refused.exit_code == 5, refused.output
        assert _error_code(refused.output) == "rolled_back"
        appended = restored("claim", "--title", "On top", "--skill", "python",
                            "--start", "2026-01-01", who="alice")  # fmt: skip
        assert appended.exit_code == 5, appended.output
        accepted = restored.json("restore", "--accept-rollback")
        assert accepted["rolled_back"] is True
        restored.ok("claim", "--title", "On top", "--skill", "python",
                    "--start", "2026-01-01", who="alice")  # fmt: skip
        restored.ok("audit")
