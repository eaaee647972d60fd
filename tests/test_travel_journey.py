"""The journey of issue 14's "Done when", end to end, over real services on loopback.

An employee moves from ministry A (ledger A) to agency B (ledger B): their record
arrives bound to them by their keys, counts in B's reputation and matching, its
checkpoint is cosigned by a witness, and a stranger verifying offline sees who
witnessed it. A replayed statement, a hijacked import, an unconsented transfer and a
split view are each refused or reported with evidence.

Three trackrecord services run under uvicorn (tests/support/api_server.py) on SQLite
ledgers of their own: A, B, and W, a witness of A's log (c2sp.org/tlog-witness) whose
cosignature A gathers with every checkpoint. The module fixture walks the journey once;
each test then checks one promise of it, or one refusal.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from ledger import commands
from ledger.bundle import dump_bundle
from ledger.checkpoint import NoteVerifier
from ledger.cosignature import CosignerKey
from ledger.export import export_bundle
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from ledger.witness import Witness, WitnessState
from ledger.witnessing import WitnessEndpoint
from tests.factories import Member, World, identity_for
from tests.support.api_server import (
    UNLIMITED,
    HttpLedger,
    Live,
    Refused,
    ensure_genesis,
    live_server,
    login,
    loopback_socket,
    make_cast,
    operator_member,
    refresh_reputation,
    wait_for_checkpoint,
)
from tests.support.cli import BASE_ENV, Cli
from trackrecord.cli import create_app

A = "ministry-a.example/ledger"
B = "agency-b.example/ledger"
WITNESS = "witness.example/w"
OPERATOR = operator_member().identity
B_DEPT = "agency-b/data"


def _log_key(origin: str) -> NoteVerifier:
    return NoteVerifier.for_key(origin, OPERATOR.public_key.raw)


def _cosigner() -> CosignerKey:
    return CosignerKey.for_key(WITNESS, identity_for(WITNESS).public_key.raw)


def _cli(*args: str) -> Result:
    """The CLI as a stranger runs it: no database, no keystore."""
    return CliRunner().invoke(create_app(), list(args), env=dict(BASE_ENV))


def _db(tmp: Path, name: str) -> str:
    return f"sqlite://{(tmp / f'{name}.db').resolve().as_posix()}"


def _bearer(live: Live, member: Member) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(live, member.identity)}"}


def _refused(world: World, signed: Any) -> dict[str, Any]:
    with pytest.raises(Refused) as refused:
        world.do(signed)
    return refused.value.problem


@dataclass
class Journey:
    """The services and what the journey left behind for the tests to check."""

    tmp: Path
    a: Live
    b: Live
    witness_url: str
    on_a: World
    on_b: World
    alice_b: Member
    manager_b: Member
    bundle: Path
    assignment: str
    imported: dict[str, Any]


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    tmp = tmp_path_factory.mktemp("journey")
    sock_w = loopback_socket()
    witness_url = f"http://127.0.0.1:{sock_w.getsockname()[1]}"
    config_w = dataclasses.replace(
        UNLIMITED,
        default_origin="witness.example/ledger",
        witness=Witness.for_log_keys(
            name=WITNESS, signer=identity_for(WITNESS), log_keys=[_log_key(A)],
            state=WitnessState(tmp / "witness.json"),
        ),
    )  # fmt: skip
    config_a = dataclasses.replace(
        UNLIMITED,
        default_origin=A,
        checkpoint_interval=0.1,
        witnesses=(WitnessEndpoint(_cosigner(), witness_url),),
    )
    config_b = dataclasses.replace(UNLIMITED, default_origin=B)
    with (
        live_server(_db(tmp, "w"), config_w, sock=sock_w),
        live_server(_db(tmp, "a"), config_a, operator=OPERATOR) as a,
        live_server(_db(tmp, "b"), config_b, operator=OPERATOR) as b,
    ):
        yield _walk(tmp, a, b, witness_url)


def _walk(tmp: Path, a: Live, b: Live, witness_url: str) -> Journey:
    # -- on A: alice's work is endorsed and graded; she leaves A naming B ---------------------
    on_a = make_cast(a, "p")
    alice, bob, carol = on_a["alice"], on_a["bob"], on_a["carol"]
    brief = on_a.do(on_a.claim(alice, title="Woo guide", skills=["policy-advice"]))
    on_a.do(on_a.endorse(bob, alice, brief.statement.id, grade=5, role="manager"))
    on_a.do(on_a.endorse(carol, alice, brief.statement.id, grade=4, role="peer"))
    posted = on_a.do(on_a.post(bob, skills=["data-analysis"]))
    job = posted.statement.subject
    on_a.do_all([on_a.apply(alice, job), on_a.assign(bob, job, alice)])
    on_a.do(on_a.complete(bob, job, alice, grade=4))
    on_a.do(on_a.leave(alice, B))
    wait_for_checkpoint(a, lines=2)
    exported = a.client.get("/people/p-alice/bundle", headers=_bearer(a, alice))
    assert exported.status_code == 200, exported.text
    bundle = tmp / "p-alice.json"
    bundle.write_bytes(exported.content)

    # -- on B: alice arrives with a key of her own; B trusts A at 0.8 -------------------------
    operator = ensure_genesis(b)
    alice_b = Member("p-alice", identity_for("p-alice-on-b"), "agency-b", B_DEPT)
    manager_b = Member("b-manager", identity_for("b-manager"), "agency-b", B_DEPT)
    on_b = World(
        HttpLedger(b), seed="journey-b", origin=B,
        people={"operator": operator, "alice": alice_b, "manager": manager_b},
    )  # fmt: skip
    on_b.do_all(
        [
            _register(on_b, alice_b),
            _register(on_b, manager_b),
            on_b.grant(manager_b, "manager", B_DEPT),
        ]
    )
    Cli(b.database_url, tmp / "b-keys").ok("trust", str(_log_key(A)), "--weight", "0.8")
    # she binds the record to herself here: signed by her key on B, countersigned by her
    # last key on A
    on_b.do(
        commands.link_identity(
            on_b.signer_for(alice_b.identity), person="p-alice", origin=A,
            public_key=alice.identity.public_key.raw, countersigner=alice.identity,
            **on_b.opts(),
        )
    )  # fmt: skip
    imported = b.client.post(
        "/bundles/import", content=bundle.read_bytes(), headers=_bearer(b, alice_b)
    )
    assert imported.status_code == 201, imported.text
    # she opts in to matching here and shows her work (her settings on A do not travel)
    on_b.do_all(
        [on_b.visibility(alice_b, part, "public") for part in ("free", "dossier", "analytical")]
    )
    wanted = on_b.do(on_b.post(manager_b, skills=["policy-advice", "data-analysis"]))
    refresh_reputation(b)  # the refresh the service runs when imports changed
    return Journey(
        tmp, a, b, witness_url, on_a, on_b, alice_b, manager_b, bundle,
        wanted.statement.subject, imported.json(),
    )  # fmt: skip


def _register(on: World, member: Member) -> Any:
    """``member``'s registration by ``on``'s operator, with their key."""
    return commands.register_identity(
        on.signer_for(on.operator.identity), person=member.id,
        public_key=member.identity.public_key.raw, organisation=member.organisation,
        department=member.department, display_name=member.id.title(), **on.opts(),
    )  # fmt: skip


def _eventually(fetch: Any, done: Any) -> Any:
    """``fetch()`` once ``done`` holds of it: the service notices another process's refresh
    within its follow interval (api/readmodels.py); given 30 s on a loaded machine."""
    deadline = time.monotonic() + 30
    while True:
        found = fetch()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_the_record_arrives_bound_to_its_holder_by_her_keys(journey: Journey) -> None:
    assert journey.imported["person"] == "p-alice"
    assert journey.imported["origin"] == A
    report = journey.imported["report"]
    assert report["left_for"] == B  # the record's last word says where it went
    headers = _bearer(journey.b, journey.alice_b)
    listed = journey.b.client.get("/imports", params={"person": "p-alice"}, headers=headers)
    assert listed.status_code == 200, listed.text
    [record] = listed.json()["items"]
    assert (record["origin"], record["person"]) == (A, "p-alice")


def test_the_imported_record_counts_in_bs_reputation_with_its_origin(journey: Journey) -> None:
    def explained() -> httpx.Response:
        return journey.b.client.get("/people/p-alice/reputation/policy-advice")

    answer = _eventually(explained, lambda r: r.status_code == 200 and r.json()["ratings"])
    assert answer.status_code == 200, answer.text
    ratings = answer.json()["ratings"]
    assert {(r["rating"]["rater"], r["rating"]["grade"]) for r in ratings} == {
        ("p-bob", 5),
        ("p-carol", 4),
    }
    assert {r["rating"]["origin"] for r in ratings} == {A}
    assert {r["standing"] for r in ratings} == {0.8}  # B's declared trust in A
    assert answer.json()["score"] > 3.0


def test_the_newcomer_is_a_candidate_on_b_with_the_origin_in_every_reason(
    journey: Journey,
) -> None:
    """alice has no history of her own on B: her record from A alone makes her a candidate
    for an assignment that needs its skills."""
    headers = _bearer(journey.b, journey.manager_b)

    def listed() -> list[dict[str, Any]]:
        answer = journey.b.client.get(
            f"/assignments/{journey.assignment}/candidates", headers=headers
        )
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found

    found = _eventually(listed, lambda c: any(m["person"] == "p-alice" for m in c))
    [alice] = [m for m in found if m["person"] == "p-alice"]
    skills = {s["skill"]: s for s in alice["skills"]}
    assert set(skills) == {"policy-advice", "data-analysis"}
    assert all(s["evidence"] == 0 for s in skills.values())  # nothing recorded on B itself
    assert skills["policy-advice"]["imported_evidence"] == [
        {"origin": A, "part": "dossier", "evidence": 1, "weight": 0.8}
    ]
    assert skills["data-analysis"]["imported_evidence"] == [
        {"origin": A, "part": "analytical", "evidence": 1, "weight": 0.8}
    ]
    assert skills["policy-advice"]["origins"] == [A]  # her ratings there count too
    reason = alice["reasons"][1]
    assert f"policy-advice (1× evidence imported from {A} at trust 0.80" in reason
    assert f"data-analysis (1× evidence imported from {A} at trust 0.80" in reason
    assert f"with ratings imported from {A}" in reason


def test_a_stranger_verifies_the_record_offline_and_sees_who_witnessed_it(
    journey: Journey,
) -> None:
    witness = str(_cosigner())
    ok = _cli(
        "verify", str(journey.bundle), "--key", str(_log_key(A)), "--witness", witness,
        "--quorum", "1",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert f"cosigned by witness {WITNESS}" in ok.output
    assert f"left {A} for the ledger {B}" in ok.output
    stranger = CosignerKey.for_key("elsewhere.example/w", identity_for("nobody").public_key.raw)
    unwitnessed = _cli(
        "verify", str(journey.bundle), "--key", str(_log_key(A)), "--witness", str(stranger),
        "--quorum", "1",
    )  # fmt: skip
    assert unwitnessed.exit_code == 3, unwitnessed.output
    assert "witness_quorum" in unwitnessed.output


def test_a_statement_signed_for_a_and_replayed_on_b_is_refused(journey: Journey) -> None:
    """The operator's key is registered on both ledgers; a statement it signed for A names
    A inside its signed bytes, so B refuses it whoever submits it."""
    on_a = journey.on_a
    signed_for_a = on_a.grant(on_a["dave"], "manager", "minbzk/cio")
    on_a.do(signed_for_a)
    answer = journey.b.client.post("/statements", json=signed_for_a.as_json())
    problem = journey.b.problem(answer)
    assert problem["code"] == "wrong_ledger"
    assert A in problem["detail"]
    assert B in problem["detail"]


def test_a_hijacked_import_is_refused(journey: Journey) -> None:
    """B's own p-carol is not A's p-carol: with A's carol's bundle (handed on, or leaked)
    and a link countersigned by her own key, the import is refused and nothing stored."""
    store = open_store(journey.a.database_url)
    try:
        carols = dump_bundle(export_bundle(TransparencyLog(LedgerService(store)), "p-carol"))
    finally:
        store.close()
    on_b = journey.on_b
    impostor = Member("p-carol", identity_for("impostor-on-b"), "agency-b", B_DEPT)
    on_b.people["impostor"] = impostor
    on_b.identities[impostor.key_id] = impostor.identity
    on_b.do(_register(on_b, impostor))
    headers = _bearer(journey.b, impostor)
    unlinked = journey.b.client.post("/bundles/import", content=carols, headers=headers)
    assert journey.b.problem(unlinked)["code"] == "identity_unproven"
    on_b.do(
        commands.link_identity(
            on_b.signer_for(impostor.identity), person="p-carol", origin=A,
            public_key=impostor.identity.public_key.raw, countersigner=impostor.identity,
            **on_b.opts(),
        )
    )  # fmt: skip
    hijack = journey.b.client.post("/bundles/import", content=carols, headers=headers)
    problem = journey.b.problem(hijack)
    assert problem["code"] == "identity_unproven"
    assert impostor.key_id in problem["detail"]  # the evidence: the key her link names
    listed = journey.b.client.get("/imports", params={"person": "p-carol"}, headers=headers)
    assert listed.json()["items"] == []


def test_a_transfer_to_another_organisation_without_consent_is_refused(
    journey: Journey,
) -> None:
    on_a = journey.on_a
    dave = on_a["dave"]
    problem = _refused(on_a, on_a.transfer(dave, "minfin", "minfin/hr"))
    assert problem["code"] == "consent_required"
    assert "p-dave" in problem["detail"]
    on_a.do(on_a.consent(dave, "minfin", "minfin/hr"))
    on_a.do(on_a.transfer(dave, "minfin", "minfin/hr"))  # with his signed consent it stands


def test_a_split_view_of_a_is_reported_with_both_signed_checkpoints(journey: Journey) -> None:
    """A second service signs checkpoints with A's name and key over another history: the
    monitor, reading it over HTTP alone, finds it inconsistent with what the witness
    cosigned for A and reports both signed checkpoints."""
    witness = f"{_cosigner()}@{journey.witness_url}/witness"
    key = str(_log_key(A))
    state = journey.tmp / "monitor.json"
    seen = _cli("monitor", journey.a.url, "--state", str(state), "--key", key,
                "--witness", witness)  # fmt: skip
    assert seen.exit_code == 0, seen.output
    assert f"consistent with witness {WITNESS}" in seen.output
    fork = dataclasses.replace(UNLIMITED, default_origin=A, checkpoint_interval=0.1)
    with live_server(_db(journey.tmp, "fork"), fork, operator=OPERATOR) as forked:
        make_cast(forked, "y")
        theirs = wait_for_checkpoint(forked, lines=1)
        split = _cli("monitor", forked.url, "--state", str(journey.tmp / "fresh.json"),
                     "--key", key, "--witness", witness, "--json")  # fmt: skip
    assert split.exit_code == 3, split.output
    assert "split_view" in split.output
    flat = split.output.replace("\n", "")
    assert theirs.split("\n\n")[0].replace("\n", "") in flat  # the fork's signed checkpoint
    assert WITNESS in flat  # and the one the witness cosigned for A
