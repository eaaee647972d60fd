"""Reading the ledger through the HTTP API: the log, streams, records, checkpoints, proofs,
audits, assignments and the read models — on a real uvicorn server, SQLite and PostgreSQL.

Proofs and checkpoints fetched over HTTP are verified here with the ledger's own
verifiers against the operator's key, as an independent client would.
"""

from __future__ import annotations

import base64
import itertools
import time
from typing import Any

from ledger import merkle
from ledger.canonical import canonical_bytes, sha256_hex
from ledger.checkpoint import NoteVerifier, verify_checkpoint
from ledger.entry import parse_entry
from projections.reputation.formula import FACTORS
from tests.support.api_server import Live, issue_checkpoint, login, make_cast, operator_member

CHECKPOINT_TYPE = "text/x.c2sp-checkpoint; charset=utf-8"


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _all_pages(live: Live, path: str, limit: int, **headers: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = live.client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_log_pages_cover_every_entry_once(live: Live) -> None:
    w = make_cast(live, "pages")
    for n in range(3):
        w.do(w.claim(w["alice"], title=f"Report {n}"))
    size = live.size()
    items = _all_pages(live, "/entries", limit=4)
    assert [i["log_index"] for i in items] == list(range(size))
    for item in items:
        if item["entry"] is not None:
            entry = parse_entry(item["entry"])
            assert sha256_hex(entry.canonical) == item["entry_hash"]
            assert item["entry_hash"] == sha256_hex(canonical_bytes(item["entry"]))


def test_entry_by_log_index(live: Live) -> None:
    make_cast(live, "byindex")
    genesis = live.client.get("/entries/0").json()
    assert genesis["log_index"] == 0
    assert genesis["entry"]["statement"]["type"] == "IdentityRegistered"
    assert genesis["entry"]["stream"] == "identity/operator"
    beyond = live.client.get(f"/entries/{live.size()}")
    assert live.problem(beyond)["code"] == "not_found"
    assert live.problem(live.client.get("/entries/-1"))["code"] == "invalid_request"


def test_stream_and_record_in_order(live: Live) -> None:
    w = make_cast(live, "stream")
    alice = w["alice"]
    w.do(w.visibility(alice, "dossier", "public"))
    claims = [w.do(w.claim(alice, title=f"Claim {n}")) for n in range(3)]
    stream = _all_pages(live, f"/streams/record/{alice.id}", limit=2)
    assert [i["seq"] for i in stream] == [1, 2, 3, 4]
    assert [i["entry"]["statement"]["id"] for i in stream[1:]] == [c.statement.id for c in claims]
    for prev, item in itertools.pairwise(stream):
        assert item["entry"]["prev"] == prev["entry_hash"]
        assert item["log_index"] > prev["log_index"]
    record = _all_pages(live, f"/people/{alice.id}/record", limit=3)
    assert [i["stream"] for i in record][:1] == [f"identity/{alice.id}"]
    assert len(record) == 5
    assert [i["log_index"] for i in record] == sorted(i["log_index"] for i in record)
    titles = [{d[1]: d[2] for d in i["disclosures"]}.get("title") for i in record[2:]]
    assert titles == ["Claim 0", "Claim 1", "Claim 2"]
    assert live.problem(live.client.get("/streams/record/nobody-here"))["code"] == "not_found"
    assert live.problem(live.client.get("/streams/ledger/x"))["code"] == "invalid_request"


def test_people(live: Live) -> None:
    w = make_cast(live, "people")
    member = {"Authorization": f"Bearer {login(live, w['carol'].identity)}"}  # privacy.md §9
    bob = live.client.get(f"/people/{w['bob'].id}", headers=member).json()
    assert bob["department"] == "minbzk/dgo"
    assert {"role": "manager", "scope": "minbzk/dgo"} in bob["roles"]
    assert bob["current_key"] == w["bob"].key_id
    assert _b64(bob["keys"][0]["public_key"]) == w["bob"].identity.public_key.raw
    assert bob["display_name"] == "People-Bob van Dijk"
    ids = [p["id"] for p in _all_pages(live, "/people", limit=5, **member)]
    assert ids == sorted(ids)
    assert w["carol"].id in ids
    assert live.problem(live.client.get("/people/No%20Body"))["code"] == "invalid_request"
    assert live.problem(live.client.get("/people/nobody-at-all"))["code"] == "not_found"


def test_checkpoints_are_c2sp_notes_and_proofs_verify(live: Live) -> None:
    w = make_cast(live, "proofs")
    first = issue_checkpoint(live)
    claims = [w.do(w.claim(w["alice"], title=f"Work {n}")) for n in range(3)]
    second = issue_checkpoint(live)
    op = operator_member().identity.public_key.raw

    info = live.client.get("/log").json()
    assert info["latest_checkpoint"] == second
    assert info["size"] >= second
    verifier = NoteVerifier.for_key(info["origin"], op)

    latest = live.client.get("/checkpoints/latest")
    assert latest.headers["content-type"] == CHECKPOINT_TYPE
    checkpoint = verify_checkpoint(latest.text, verifiers=[verifier], origin=info["origin"])
    assert checkpoint.size == second
    older = live.client.get(f"/checkpoints/{first}")
    assert older.headers["content-type"] == CHECKPOINT_TYPE
    old = verify_checkpoint(older.text, verifiers=[verifier], origin=info["origin"])
    listed = _all_pages(live, "/checkpoints", limit=1)
    assert {first, second} <= {c["size"] for c in listed}
    assert live.problem(live.client.get(f"/checkpoints/{second + 10_000}"))["code"] == "not_found"

    mine = {"Authorization": f"Bearer {login(live, w['alice'].identity)}"}
    record = _all_pages(live, f"/streams/record/{w['alice'].id}", limit=50, **mine)
    for item in record:
        proof = live.client.get(
            "/proofs/inclusion", params={"index": item["log_index"], "size": second}
        ).json()
        entry = parse_entry(item["entry"])
        assert _b64(proof["leaf_hash"]) == merkle.leaf_hash(entry.canonical)
        merkle.verify_inclusion(
            leaf_hash=merkle.leaf_hash(entry.canonical),
            index=item["log_index"],
            size=second,
            proof=[_b64(h) for h in proof["hashes"]],
            root=checkpoint.root_hash,
        )
    assert [i["entry"]["statement"]["id"] for i in record] == [c.statement.id for c in claims]

    consistency = live.client.get(
        "/proofs/consistency", params={"first": first, "second": second}
    ).json()
    merkle.verify_consistency(
        size1=first,
        size2=second,
        root1=old.root_hash,
        root2=checkpoint.root_hash,
        proof=[_b64(h) for h in consistency["hashes"]],
    )
    bad = live.client.get("/proofs/inclusion", params={"index": second, "size": second})
    assert live.problem(bad)["code"] == "bad_index"
    too_big = live.client.get("/proofs/consistency", params={"first": 1, "second": 10**9})
    assert live.problem(too_big)["code"] == "bad_size"


def test_audit_runs_in_the_background(live: Live) -> None:
    make_cast(live, "audit")
    started = live.client.post("/audits")
    assert started.status_code == 202
    job = started.json()
    assert started.headers["location"] == f"/audits/{job['id']}"
    deadline = time.monotonic() + 60
    while job["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = live.client.get(f"/audits/{job['id']}").json()
    assert job["status"] == "done"
    assert job["report"]["ok"] is True
    assert job["report"]["entries"] == live.size()
    assert live.client.get("/audits/latest").json()["id"] == job["id"]
    assert live.problem(live.client.get("/audits/999999"))["code"] == "not_found"


def test_assignments_filters_and_candidates(live: Live) -> None:
    w = make_cast(live, "market")
    alice, bob = w["alice"], w["bob"]
    w.do(w.visibility(alice, "free", "public"))  # opt in to matching
    w.do(w.claim(alice, skills=["python", "sql"]))
    posted = w.do(w.post(bob))
    assignment = posted.statement.subject
    listed = live.client.get("/assignments", params={"owner": bob.id}).json()["items"]
    assert [a["id"] for a in listed] == [assignment]
    found = listed[0]
    assert found["title"] == "Data analyst for the housing dashboard"
    assert (found["status"], found["ring"], found["hours_per_week"]) == ("open", "government", 8)
    assert found["skills"] == ["python", "sql"]
    for params, expected in [
        ({"skill": "python", "owner": bob.id}, 1),
        ({"skill": "cooking", "owner": bob.id}, 0),
        ({"ring": "government", "owner": bob.id}, 1),
        ({"ring": "department", "owner": bob.id}, 0),
        ({"status": "open", "owner": bob.id}, 1),
        ({"status": "completed", "owner": bob.id}, 0),
    ]:
        items = live.client.get("/assignments", params=params).json()["items"]
        assert len(items) == expected, params
    bad = live.client.get("/assignments", params={"ring": "galaxy"})
    assert live.problem(bad)["code"] == "invalid_request"

    token = login(live, bob.identity)

    def found_candidates() -> list[dict[str, Any]]:
        path = f"/assignments/{assignment}/candidates"
        found: list[dict[str, Any]] = live.client.get(
            path, headers={"Authorization": f"Bearer {token}"}
        ).json()
        return found

    candidates = found_candidates()
    assert candidates[0]["person"] == alice.id
    assert candidates[0]["ring"] == "department"
    # Her claim is in her dossier (on request): bob sees where she ranks, not why.
    assert candidates[0]["score"] is None
    assert candidates[0]["skills"] == []
    assert candidates[0]["withheld"] == ["ambitions", "analytical", "dossier"]
    w.do(w.visibility(alice, "dossier", "public"))
    candidates = found_candidates()
    assert candidates[0]["person"] == alice.id
    assert candidates[0]["withheld"] == ["ambitions", "analytical"]
    assert any("python (1× evidence" in r for r in candidates[0]["reasons"])

    w.do(w.assign(bob, assignment, alice))
    w.do(w.complete(bob, assignment, alice, grade=5))
    one = live.client.get(f"/assignments/{assignment}").json()
    assert one["status"] == "completed"
    assert one["assignees"] == [alice.id]  # alice's free part is public


def test_portfolio_reputation_and_matches(live: Live) -> None:
    w = make_cast(live, "folio")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    claim = w.do(w.claim(alice, title="Housing dashboard", skills=["python"]))
    w.do(w.endorse(bob, alice, claim.statement.id, grade=5, role="manager"))
    w.do(w.endorse(carol, alice, claim.statement.id, grade=4, role="peer"))
    w.do(w.post(bob))

    anonymous = live.client.get(f"/people/{alice.id}/portfolio").json()
    assert anonymous["parts"] == {}  # everything on_request or private by default
    assert set(anonymous["hidden"]) == {"dossier", "analytical", "ambitions", "free"}

    bearer = {"Authorization": f"Bearer {login(live, bob.identity)}"}
    manager = live.client.get(f"/people/{alice.id}/portfolio", headers=bearer).json()
    assert manager["parts"] == {}  # managing her department gives no access of its own
    for part in ("dossier", "analytical"):  # bob asks, alice grants
        asked = w.do(w.request_access(bob, alice, part)).statement.id
        w.do(w.grant_access(alice, bob, part, request=asked))
    manager = live.client.get(f"/people/{alice.id}/portfolio", headers=bearer).json()
    assert set(manager["parts"]) == {"dossier", "analytical"}
    dossier = manager["parts"]["dossier"]["contributions"]
    titles = [c["personal"]["disclosed"]["title"] for c in dossier]
    assert titles == ["Housing dashboard"]
    grades = [
        e["grade"] for x in manager["parts"]["analytical"]["endorsed"] for e in x["endorsements"]
    ]
    assert sorted(grades) == [4, 5]

    explained = live.client.get(f"/people/{alice.id}/reputation/python", headers=bearer).json()
    assert explained["skill"] == "python"
    assert {r["rating"]["rater"] for r in explained["ratings"]} == {bob.id, carol.id}
    assert all(set(FACTORS) <= set(r) for r in explained["ratings"])  # every factor, named
    assert {"agreement", "cycle"} <= set(FACTORS)
    by = {r["rating"]["rater"]: r for r in explained["ratings"]}
    assert by[carol.id]["standing"] == 0.0  # no one with trust has rated carol: no weight
    assert by[carol.id]["weight"] == 0.0
    long_ago = f"/people/{alice.id}/reputation/python?at=2020-01-01"
    before = live.client.get(long_ago, headers=bearer).json()
    assert (before["ratings"], before["score"]) == ([], 3.0)  # nothing given yet: the prior
    bad = live.client.get(f"/people/{alice.id}/reputation/python?at=soon", headers=bearer)
    assert live.problem(bad)["code"] == "bad_date"
    dated = live.client.get(f"/people/{alice.id}/reputation?at=2020-01-01", headers=bearer)
    assert dated.json() == []
    assert live.client.get(f"/people/{alice.id}/reputation", headers=bearer).status_code == 200
    hidden = live.client.get(f"/people/{alice.id}/reputation/python")
    assert live.problem(hidden)["code"] == "not_visible"
    assert live.client.get(f"/people/{alice.id}/reputation").json() == []

    mine = {"Authorization": f"Bearer {login(live, alice.identity)}"}
    matches = live.client.get(f"/people/{alice.id}/matches", headers=mine).json()
    assert matches
    assert matches[0]["matched"] == ["python"]
    others = live.client.get(f"/people/{alice.id}/matches", headers=bearer)
    assert live.problem(others)["code"] == "not_yours"
