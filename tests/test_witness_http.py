"""Witnessing over HTTP: real trackrecord services on loopback that witness each other.

Each service runs under uvicorn (tests/support/api_server.py) on its own SQLite
ledger; the witnesses' state lives in files under the test's directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner, Result

from api.config import ApiConfig
from ledger.bundle import dump_bundle
from ledger.checkpoint import NoteVerifier
from ledger.cosignature import CosignerKey, cosigner_key
from ledger.export import export_bundle
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from ledger.witness import Witness, WitnessState, add_checkpoint_request, origin_hash
from ledger.witnessing import WitnessEndpoint
from tests.factories import identity_for
from tests.support.api_server import (
    UNLIMITED,
    Live,
    ensure_genesis,
    live_server,
    loopback_socket,
    make_cast,
    operator_member,
    wait_for_checkpoint,
)
from tests.support.cli import BASE_ENV
from tests.support.tinylog import LOG_VERIFIER, Log
from trackrecord.cli import create_app

OPERATOR = operator_member().identity
METRICS_TOKEN = "witness-metrics"


def _verifier(origin: str) -> NoteVerifier:
    return NoteVerifier.for_key(origin, OPERATOR.public_key.raw)


def _cosigner(name: str) -> CosignerKey:
    return CosignerKey.for_key(name, identity_for(name).public_key.raw)


def _witness(name: str, state: Path, *logs: NoteVerifier) -> Witness:
    return Witness.for_log_keys(
        name=name, signer=identity_for(name), log_keys=logs, state=WitnessState(state)
    )


def _cli(*args: str) -> Result:
    return CliRunner().invoke(create_app(), list(args), env=dict(BASE_ENV))


@contextlib.contextmanager
def _pair(tmp: Path) -> Iterator[tuple[Live, Live]]:
    """Ledgers a.test and b.test, each the other's witness and each cosigned by the other."""
    socks = {name: loopback_socket() for name in "ab"}
    urls = {n: f"http://127.0.0.1:{s.getsockname()[1]}" for n, s in socks.items()}
    configs = {}
    for me, other in (("a", "b"), ("b", "a")):
        configs[me] = dataclasses.replace(
            UNLIMITED,
            default_origin=f"{me}.test/ledger",
            checkpoint_interval=0.1,
            metrics_token=METRICS_TOKEN,
            witness=_witness(
                f"{me}.test/witness", tmp / f"{me}-witness.json", _verifier(f"{other}.test/ledger")
            ),
            witnesses=(WitnessEndpoint(_cosigner(f"{other}.test/witness"), urls[other]),),
        )
    with (
        live_server(_db(tmp, "a"), configs["a"], operator=OPERATOR, sock=socks["a"]) as a,
        live_server(_db(tmp, "b"), configs["b"], operator=OPERATOR, sock=socks["b"]) as b,
    ):
        yield a, b


def _cosigned(live: Live, witness: str) -> float:
    """``trackrecord_cosignatures_total`` of ``witness`` (cosigned) in ``live``'s metrics."""
    scraped = live.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200, scraped.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "trackrecord_cosignatures_total"
        and sample.labels == {"witness": witness, "outcome": "cosigned"}
    )


def _db(tmp: Path, name: str) -> str:
    return f"sqlite://{(tmp / f'{name}.db').resolve().as_posix()}"


def test_two_services_witness_each_other_and_the_bundle_verifies_with_a_quorum(
    tmp_path: Path,
) -> None:
    with _pair(tmp_path) as (a, b):
        make_cast(a, "p")
        ensure_genesis(b)
        note_a = wait_for_checkpoint(a, lines=2)
        note_b = wait_for_checkpoint(b, lines=2)
        assert "\u2014 b.test/witness " in note_a
        assert "\u2014 a.test/witness " in note_b
        assert _cosigned(a, "b.test/witness") >= 1  # counted per witness (issue 20)
        # the auditor page names who cosigned each checkpoint, checked with the witness keys
        auditor = a.client.get("/auditor")
        assert auditor.status_code == 200
        assert "b.test/witness (" in auditor.text
        # the witness serves what it cosigned at its monitoring prefix
        served = b.client.get(f"/witness/{origin_hash('a.test/ledger')}/checkpoint")
        assert served.status_code == 200
        assert "\u2014 b.test/witness " in served.text
        # a stale old size is answered 409 with the witness's size, as the spec prescribes
        stale = b.client.post("/add-checkpoint", content=add_checkpoint_request(0, [], note_a))
        assert stale.status_code == 409
        assert stale.headers["content-type"].startswith("text/x.tlog.size")
        assert int(stale.text) >= 1
        assert stale.text.endswith("\n")
        unknown = a.client.post("/add-checkpoint", content=add_checkpoint_request(0, [], note_a))
        assert a.problem(unknown)["code"] == "unknown_log"  # a does not witness itself: 404
        assert unknown.status_code == 404

        store = open_store(a.database_url)
        try:
            bundle = dump_bundle(export_bundle(TransparencyLog(LedgerService(store)), "p-alice"))
        finally:
            store.close()
    path = tmp_path / "alice.json"
    path.write_text(bundle, encoding="utf-8")
    key = str(_verifier("a.test/ledger"))
    witness_b = cosigner_key("b.test/witness", identity_for("b.test/witness").public_key.raw)
    witness_a = cosigner_key("a.test/witness", identity_for("a.test/witness").public_key.raw)
    ok = _cli("verify", str(path), "--key", key, "--witness", witness_b, "--quorum", "1")
    assert ok.exit_code == 0, ok.output
    assert "cosigned by witness b.test/witness" in ok.output
    short = _cli("verify", str(path), "--key", key, "--witness", witness_b, "--witness", witness_a)
    assert short.exit_code == 3, short.output  # a never cosigned its own log: 1 of 2
    assert "witness_quorum" in short.output


def test_a_witness_service_refuses_a_fork_and_a_rollback_after_a_restart(tmp_path: Path) -> None:
    honest = Log([b"a", b"b", b"c", b"d", b"e"])
    fork = Log([b"a", b"b", b"X", b"Y", b"Z"])
    state = tmp_path / "witness.json"

    def config() -> ApiConfig:
        return dataclasses.replace(
            UNLIMITED, witness=_witness("w.test/witness", state, LOG_VERIFIER)
        )

    def add(live: Live, old: int, log: Log, size: int) -> httpx.Response:
        body = add_checkpoint_request(old, log.proof(old, size), log.note(size))
        return live.client.post("/add-checkpoint", content=body)

    with live_server(_db(tmp_path, "w"), config()) as w:
        assert add(w, 0, honest, 4).status_code == 200
    with live_server(_db(tmp_path, "w"), config()) as w:  # the witness restarted
        refused = add(w, 4, fork, 5)
        assert refused.status_code == 422
        problem = w.problem(refused)
        assert problem["code"] == "inconsistent_checkpoint"
        assert problem["new_checkpoint"] == fork.note(5)
        assert problem["old_checkpoint"].startswith(honest.note(4))
        smaller = w.client.post(
            "/add-checkpoint", content=add_checkpoint_request(4, [], honest.note(3))
        )
        assert smaller.status_code == 400
        assert add(w, 0, fork, 3).status_code == 409  # it remembers size 4
        # the log's signature line with its last bytes changed: a bad signature by a known key
        forged = add_checkpoint_request(4, [], honest.note(4))[:-4] + b"AAA\n"
        assert w.client.post("/add-checkpoint", content=forged).status_code == 403
        line = add(w, 4, honest, 5)
        assert line.status_code == 200
        assert line.text.startswith("\u2014 w.test/witness ")


def test_remote_monitor_reports_a_split_view_with_both_checkpoints(tmp_path: Path) -> None:
    origin = "split.test/ledger"
    sock_w = loopback_socket()
    url_w = f"http://127.0.0.1:{sock_w.getsockname()[1]}"
    witness = WitnessEndpoint(_cosigner("w.test/witness"), url_w)
    shown = dataclasses.replace(UNLIMITED, default_origin=origin, checkpoint_interval=0.1)
    cosigned = dataclasses.replace(shown, witnesses=(witness,))
    config_w = dataclasses.replace(
        UNLIMITED,
        witness=_witness("w.test/witness", tmp_path / "w.json", _verifier(origin)),
    )
    state = tmp_path / "monitor.json"
    key = str(_verifier(origin))
    with (
        live_server(_db(tmp_path, "w"), config_w, sock=sock_w),
        live_server(_db(tmp_path, "one"), cosigned, operator=OPERATOR) as one,
        live_server(_db(tmp_path, "two"), shown, operator=OPERATOR) as two,
    ):
        make_cast(one, "x")
        make_cast(two, "y")  # the same origin and key, another history
        wait_for_checkpoint(one, lines=2)
        theirs = wait_for_checkpoint(two, lines=1)
        monitored = f"{url_w}/witness"
        first = _cli(
            "monitor",
            one.url,
            "--state",
            str(state),
            "--key",
            key,
            "--witness",
            f"{witness.key}@{monitored}",
        )
        assert first.exit_code == 0, first.output
        assert "consistent with witness w.test/witness" in first.output
        split = _cli(
            "monitor",
            two.url,
            "--state",
            str(tmp_path / "fresh.json"),
            "--key",
            key,
            "--witness",
            f"{witness.key}@{monitored}",
            "--json",
        )
        assert split.exit_code == 3, split.output
        assert "split_view" in split.output
        flat = split.output.replace("\n", "")
        assert theirs.split("\n\n")[0].replace("\n", "") in flat  # the ledger's checkpoint
        assert "w.test/witness" in flat  # and the witness's, with its cosignature
        rewritten = _cli("monitor", two.url, "--state", str(state))
        assert rewritten.exit_code == 3, rewritten.output
        assert "history_rewritten" in rewritten.output


def test_cli_witness_key_and_checkpoint_issue_with_a_witness(tmp_path: Path) -> None:
    from ledger.checkpoint import parse_verifier_key
    from ledger.cosignature import parse_cosigner_signer_key
    from tests.support.cli import Cli, claim, organisation

    made = _cli("witness-key", "w.test/cli", "--out", str(tmp_path / "w.key"))
    assert made.exit_code == 0, made.output
    vkey = made.stdout.strip()
    assert (tmp_path / "w.key").stat().st_mode & 0o777 == 0o600
    name, signer = parse_cosigner_signer_key((tmp_path / "w.key").read_text().strip())
    assert cosigner_key(name, signer.public_key.raw) == vkey
    again = _cli("witness-key", "w.test/cli", "--out", str(tmp_path / "w.key"))
    assert again.exit_code != 0  # never overwrites a secret key

    cli = Cli(_db(tmp_path, "ledger"), tmp_path / "keys")
    organisation(cli)
    first = cli.json("checkpoint", "--issue", "--origin", "cli.test/ledger", who="op")
    log_key = parse_verifier_key(first["verifier_key"])
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = dataclasses.replace(
        UNLIMITED,
        witness=Witness.for_log_keys(
            name=name, signer=signer, log_keys=[log_key], state=WitnessState(tmp_path / "w.json")
        ),
    )
    with live_server(_db(tmp_path, "witness"), config, sock=sock):
        claim(cli)
        second = cli.json("checkpoint", "--issue", "--witness", f"{vkey}@{url}", who="op")
        claim(cli, "Another brief")  # the witness cosigned the previous size: old = its size
        third = cli.json("checkpoint", "--issue", "--witness", f"{vkey}@{url}", who="op")
    assert f"\u2014 {name} " in second["note"]
    assert f"\u2014 {name} " in third["note"]
    assert cli.ok("checkpoint").stdout == third["note"]  # stored cosigned
    # a witness that is not there: the checkpoint is issued, the witness named in a warning
    claim(cli, "A third brief")
    alone = cli("checkpoint", "--issue", "--witness", f"{vkey}@{url}", who="op")
    assert alone.exit_code == 0, alone.output
    assert "warning" in alone.output
    assert "w.test/cli" in alone.output
