"""The consistency monitor (ledger.monitor and ``trackrecord monitor``).

Two ledgers share one operator key and origin but not their entries: the second
one's checkpoints are a rewritten history of the first's, which the monitor must
catch with both signed checkpoints as evidence; a genuine extension passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from keys import Identity, save_keystore
from ledger import commands
from ledger.canonical import b64encode
from ledger.checkpoint import CheckpointError, NoteVerifier
from ledger.errors import MalformedInput
from ledger.monitor import HistoryRewritten, Monitor
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests import pgcluster
from tests.factories import identity_for
from trackrecord.cli import create_app

ORIGIN = "trackrecord.example/monitored"
OPERATOR = identity_for("operator")


def new_ledger(url: str, people: list[str]) -> TransparencyLog:
    """A ledger at ``url`` run by :data:`OPERATOR` under :data:`ORIGIN`, with ``people``."""
    log = TransparencyLog(LedgerService(open_store(url)))
    grow(log, ["operator", *people])
    log.set_origin(ORIGIN)
    return log


def grow(log: TransparencyLog, people: list[str]) -> None:
    for person in people:
        log.service.append(
            commands.register_identity(
                Signer(OPERATOR, ORIGIN),
                person=person,
                public_key=identity_for(person).public_key.raw,
                organisation="minbzk",
                department="minbzk/dgo",
                display_name=person.title(),
            )
        )


@pytest.fixture
def second_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second, independent empty database of the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite://{(tmp_path / 'second.db').resolve().as_posix()}"
        return
    with pgcluster.fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        yield url


def test_an_extension_passes_and_a_rewritten_history_is_caught(
    database_url: str, second_url: str, tmp_path: Path
) -> None:
    monitor = Monitor(tmp_path / "monitor.json")
    a = new_ledger(database_url, ["alice", "bob"])
    key = a.verifier()
    first = a.issue_checkpoint(OPERATOR)
    seen = monitor.observe(first.note, [], key)
    assert (seen.status, seen.size, seen.previous_size) == ("first", 3, None)

    grow(a, ["carol", "dave"])
    extended = a.issue_checkpoint(OPERATOR)
    proof = a.consistency_proof(first.size, extended.size)
    seen = monitor.observe(extended.note, proof, key)
    assert (seen.status, seen.size, seen.previous_size) == ("extended", 5, 3)
    assert monitor.observe(extended.note, [], key).status == "unchanged"
    remembered = monitor.last(ORIGIN)
    assert remembered is not None
    assert remembered[1] == extended.note

    # ledger B: same operator key and origin, other entries (a fork of the history)
    b = new_ledger(second_url, ["alice", "mallory", "carol", "dave", "erin"])
    assert b.verifier() == key
    forked = b.issue_checkpoint(OPERATOR)
    b_proof = b.consistency_proof(extended.size, forked.size)
    with pytest.raises(HistoryRewritten) as caught:
        monitor.observe(forked.note, b_proof, key)
    evidence = caught.value.evidence()
    assert evidence["code"] == "history_rewritten"
    assert evidence["old_checkpoint"] == extended.note
    assert evidence["new_checkpoint"] == forked.note
    assert evidence["proof"] == [b64encode(h) for h in b_proof]
    assert (evidence["old_size"], evidence["new_size"]) == (5, 6)
    assert monitor.last(ORIGIN)[1] == extended.note  # type: ignore[index]

    # the genuine extension still passes after the alarm
    grow(a, ["frank"])
    later = a.issue_checkpoint(OPERATOR)
    seen = monitor.observe(later.note, a.consistency_proof(extended.size, later.size), key)
    assert seen.status == "extended"


def test_shrinking_same_size_forks_and_bad_proofs_are_rewrites(tmp_path: Path) -> None:
    url = f"sqlite://{(tmp_path / 'a.db').resolve().as_posix()}"
    a = new_ledger(url, ["alice", "bob"])
    small = a.issue_checkpoint(OPERATOR)
    grow(a, ["carol"])
    big = a.issue_checkpoint(OPERATOR)
    b = new_ledger(f"sqlite://{(tmp_path / 'b.db').resolve().as_posix()}", ["alice", "bob", "eve"])
    same_size_fork = b.issue_checkpoint(OPERATOR)
    assert same_size_fork.size == big.size
    key = a.verifier()
    monitor = Monitor(tmp_path / "m.json")
    monitor.observe(big.note, [], key)

    with pytest.raises(HistoryRewritten, match="shrank"):
        monitor.observe(small.note, [], key)
    with pytest.raises(HistoryRewritten) as fork:
        monitor.observe(same_size_fork.note, [], key)
    assert fork.value.details["old_root"] != fork.value.details["new_root"]

    monitor = Monitor(tmp_path / "m2.json")
    monitor.observe(small.note, [], key)
    good = a.consistency_proof(small.size, big.size)
    for i in range(len(good)):
        bad = list(good)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(HistoryRewritten):
            monitor.observe(big.note, bad, key)
    with pytest.raises(HistoryRewritten):
        monitor.observe(big.note, good[:-1], key)
    assert monitor.observe(big.note, good, key).status == "extended"


def test_a_checkpoint_by_another_key_is_not_accepted(tmp_path: Path) -> None:
    a = new_ledger(f"sqlite://{(tmp_path / 'a.db').resolve().as_posix()}", [])
    note = a.issue_checkpoint(OPERATOR).note
    stranger = NoteVerifier.for_key(ORIGIN, Identity.generate().public_key.raw)
    monitor = Monitor(tmp_path / "m.json")
    with pytest.raises(CheckpointError):
        monitor.observe(note, [], stranger)
    assert monitor.last(ORIGIN) is None
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(MalformedInput) as damaged:
        monitor.last(ORIGIN)
    assert damaged.value.code == "bad_monitor_state"


def test_cli_monitor_reports_a_rewrite_with_exit_code_3(tmp_path: Path) -> None:
    a_url = f"sqlite://{(tmp_path / 'a.db').resolve().as_posix()}"
    b_url = f"sqlite://{(tmp_path / 'b.db').resolve().as_posix()}"
    a = new_ledger(a_url, ["alice"])
    a.issue_checkpoint(OPERATOR)
    b = new_ledger(b_url, ["mallory", "bob"])
    b.issue_checkpoint(OPERATOR)
    keys = tmp_path / "keys"
    save_keystore(keys / "operator.key", OPERATOR, "pw", opslimit=1, memlimit=8192)
    state = str(tmp_path / "state.json")

    def run(url: str, *args: str) -> Any:
        argv = ["--db", url, "--keys", str(keys), *args]
        env = {"TRACKRECORD_PASSPHRASE": "pw", "COLUMNS": "200"}
        return CliRunner().invoke(create_app(), argv, env=env)

    first = run(a_url, "monitor", "--state", state, "--key", str(a.verifier()), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["status"] == "first"
    grow(a, ["bob"])
    assert run(a_url, "--as", "operator", "checkpoint", "--issue").exit_code == 0
    again = run(a_url, "monitor", "--state", state)
    assert again.exit_code == 0
    assert "extended at size 3 (was 2)" in again.stdout
    rewritten = run(b_url, "monitor", "--state", state)
    assert rewritten.exit_code == 3
    assert "history_rewritten" in rewritten.output
    assert "old_checkpoint" in rewritten.output
    assert "new_checkpoint" in rewritten.output
