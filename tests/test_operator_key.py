"""The operator key rotation drill of docs/operations.md §6 (issue 20).

After the operator rotates their key, old checkpoints and bundles keep verifying, a
monitor follows the log across the rotation, the new key signs, the old keystore no
longer does, and the remembered last signed checkpoint keeps guarding the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keys.keystore import load_keystore
from ledger.errors import RuleViolation
from ledger.rollback import MEMORY_FILE
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.store.backup import sqlite_url
from ledger.transparency import TransparencyLog
from tests.support.cli import PASSPHRASE, Cli, claim, organisation


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(sqlite_url(tmp_path / "ledger.db"), tmp_path / "keys")
    organisation(c)
    return c


def test_operator_key_rotation_drill(cli: Cli, tmp_path: Path) -> None:
    claim(cli)
    old = cli.json("checkpoint", "--issue", who="op")
    old_keystore = tmp_path / "op-before-rotation.key"
    old_keystore.write_bytes((cli.keys / "op.key").read_bytes())
    cli.ok("export", "alice", "-o", str(tmp_path / "before.json"))
    cli.ok("monitor", "--state", str(tmp_path / "monitor.json"))

    rotated = cli.json("keys", "rotate", "op", who="op")
    claim(cli, "After the rotation")
    new = cli.json("checkpoint", "--issue", who="op")

    assert new["verifier_key"] != old["verifier_key"]  # give the new one to the monitors
    assert cli.json("checkpoint", "--size", str(old["size"]))["note"] == old["note"]
    cli.ok("verify", str(tmp_path / "before.json"))  # offline, as before
    monitor = str(tmp_path / "monitor.json")
    assert cli("monitor", "--state", monitor).exit_code == 3  # held to the old key...
    followed = cli.json("monitor", "--state", monitor, "--key", new["verifier_key"])
    assert followed["status"] == "extended"  # ...until told the new one: the log extends
    cli.ok("audit")
    memory = json.loads((cli.keys / MEMORY_FILE).read_text())
    (entry,) = memory["ledgers"].values()
    assert entry["checkpoint"] == new["note"]
    assert entry["verifier_key"] == new["verifier_key"]

    # a service still holding the old key signs nothing any more
    stale = load_keystore(old_keystore, PASSPHRASE)
    assert stale.key_id != rotated["new_key_id"]
    store = open_store(cli.url)
    try:
        with pytest.raises(RuleViolation) as refused:
            TransparencyLog(LedgerService(store)).issue_checkpoint(stale)
        assert refused.value.code == "not_operator"
    finally:
        store.close()
