"""``trackrecord backup`` while the service serves a write load, then ``restore`` (issue 20).

Writers keep appending through the HTTP service (three streams) while the backup runs.
The backup restored into a new directory audits clean and holds every append
acknowledged before the backup began. Once the operator signed a checkpoint past it,
the same backup is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ledger.rollback import CheckpointMemory
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.store.backup import sqlite_url
from ledger.transparency import TransparencyLog
from ledger.vault import SERVICE_KEY_ENV
from tests.support.api_server import UNLIMITED, live_server, make_cast, operator_member
from tests.support.cli import Cli


def _statement_ids(url: str) -> set[str]:
    store = open_store(url, create=False)
    try:
        return {e.entry.statement.id for _, e in LedgerService(store).read_log(limit=100_000)}
    finally:
        store.close()


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the writers stalled"
        time.sleep(0.01)


def test_backup_under_write_load_restores_every_acknowledged_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SERVICE_KEY_ENV, raising=False)  # the key beside the database
    db, keys = tmp_path / "ledger.db", tmp_path / "keys"
    cli = Cli(sqlite_url(db), keys)
    acked: list[tuple[float, str]] = []
    stop = threading.Event()
    with live_server(sqlite_url(db), UNLIMITED, keys_dir=keys) as live:
        w = make_cast(live, "bk")

        def write(name: str) -> None:
            with httpx.Client(base_url=live.url, timeout=30) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    signed = w.claim(w[name], title=f"Load {n}")
                    response = client.post("/statements", json=signed.as_json())
                    assert response.status_code == 201, response.text
                    acked.append((time.monotonic(), signed.statement.id))

        writers = [threading.Thread(target=write, args=(n,)) for n in ("alice", "bob", "carol")]
        for t in writers:
            t.start()
        try:
            _wait_for(lambda: len(acked) >= 15)
            began = time.monotonic()
            backup = cli.json("backup", str(tmp_path / "backups" / "ledger.db"))
            during = len(acked)
            _wait_for(lambda: len(acked) >= during + 10)  # the writers carry on after it
        finally:
            stop.set()
            for t in writers:
                t.join(30)
        total = live.size()

    before = {sid for at, sid in acked if at < began}
    assert len(before) >= 10
    assert 0 < backup["entries"] < total  # a snapshot in the middle of the load
    key = tmp_path / "ledger.db.service-key"
    restored = Cli(sqlite_url(tmp_path / "restored" / "ledger.db"), keys)
    out = restored.json("restore", backup["backup"], "--service-key", str(key))
    assert out["rolled_back"] is False
    assert out["entries"] == backup["entries"]
    restored.ok("audit")
    assert before <= _statement_ids(restored.url)

    # the operator signs the log as it is now (as `checkpoint --issue` does): the backup
    # is behind that checkpoint
    store = open_store(cli.url, create=False)
    try:
        service = LedgerService(store, memory=CheckpointMemory.in_keys_dir(keys))
        log = TransparencyLog(service)
        log.set_origin("trackrecord.test/backup")
        assert log.issue_checkpoint(operator_member().identity).size == total
    finally:
        store.close()
    again = Cli(sqlite_url(tmp_path / "again" / "ledger.db"), keys)
    refused = again("restore", backup["backup"], "--service-key", str(key))
    assert refused.exit_code == 5, refused.output
    assert not (tmp_path / "again" / "ledger.db").exists()
