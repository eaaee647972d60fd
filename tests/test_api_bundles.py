"""Portable records through the API: export (owner only, parts withheld on request),
verify an upload entry by entry, import from a trusted origin only."""

from __future__ import annotations

import json

from ledger.bundle import verify_bundle
from tests.support.api_server import Live, issue_checkpoint, login, make_cast


def _bearer(live: Live, identity: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(live, identity)}"}  # type: ignore[arg-type]


def test_export_verify_and_tamper(live: Live) -> None:
    w = make_cast(live, "bundle")
    alice, bob = w["alice"], w["bob"]
    claim = w.do(w.claim(alice, title="Woo guide"))
    w.do(w.endorse(bob, alice, claim.statement.id, grade=5, role="manager"))
    w.do(w.ambition(alice, goal="Lead a data team"))
    size = issue_checkpoint(live)
    mine = _bearer(live, alice.identity)

    export = live.client.get(f"/people/{alice.id}/bundle", headers=mine)
    assert export.status_code == 200
    assert export.headers["content-disposition"] == f'attachment; filename="{alice.id}-record.json"'
    report = verify_bundle(export.text, trusted=None)
    assert report.person == alice.id
    assert report.checkpoint_size == size
    assert [c.title for c in report.contributions] == ["Woo guide"]

    assert live.problem(live.client.get(f"/people/{alice.id}/bundle"))["code"] == "unauthenticated"
    as_bob = _bearer(live, bob.identity)
    others = live.client.get(f"/people/{alice.id}/bundle", headers=as_bob, params={"for": "x"})
    assert live.problem(others)["code"] == "not_yours"  # only the owner chooses the viewer

    verified = live.client.post("/bundles/verify", content=export.content).json()
    assert verified["ok"] is True
    assert verified["report"]["key_pinned"] is True  # this ledger's own operator key
    assert {e["status"] for e in verified["entries"]} == {"ok"}
    assert len(verified["entries"]) == report.entry_count

    doc = json.loads(export.text)
    victim = next(
        n
        for n, item in enumerate(doc["entries"])
        if item["entry"]["statement"]["type"] == "EndorsementGiven"
    )
    doc["entries"][victim]["entry"]["statement"]["body"]["grade"] = 4
    tampered = live.client.post("/bundles/verify", content=json.dumps(doc)).json()
    assert tampered["ok"] is False
    assert tampered["failure"]["entry_index"] == victim
    statuses = [e["status"] for e in tampered["entries"]]
    assert statuses[victim] == "failed"
    assert set(statuses[:victim]) <= {"ok"}
    assert set(statuses[victim + 1 :]) <= {"unchecked"}
    # The failure says what changed, proven by the checkpoint: the grade, logged as 5.
    failure = tampered["failure"]
    assert failure["code"] == "bad_inclusion_proof"
    assert (failure["field"], failure["logged"], failure["shown"]) == ("grade", 5, 4)
    assert failure["type"] == "EndorsementGiven"
    row = tampered["entries"][victim]
    assert (row["subject"], row["grade"], row["role"]) == (alice.id, 4, "manager")
    assert row["contribution"] == claim.statement.id
    claimed = next(e for e in tampered["entries"] if e["id"] == claim.statement.id)
    assert claimed["title"] == "Woo guide"

    # A change the checkpoint cannot pin to one field is reported without naming one.
    doc["entries"][victim]["entry"]["statement"]["body"]["grade"] = 5
    doc["entries"][victim]["entry"]["recorded_at"] = "2020-01-01T00:00:00.000000Z"
    moved = live.client.post("/bundles/verify", content=json.dumps(doc)).json()
    assert moved["failure"]["code"] == "bad_inclusion_proof"
    assert moved["failure"]["entry_index"] == victim
    assert not {"field", "logged", "shown"} & set(moved["failure"])


def test_export_can_withhold_parts(live: Live) -> None:
    w = make_cast(live, "withhold")
    alice = w["alice"]
    w.do(w.claim(alice, title="Public work"))
    w.do(w.ambition(alice, goal="Secret plan"))
    issue_checkpoint(live)
    export = live.client.get(
        f"/people/{alice.id}/bundle",
        params={"withhold": ["ambitions"]},
        headers=_bearer(live, alice.identity),
    )
    report = verify_bundle(export.text, trusted=None)  # still complete and valid
    assert report.withheld_fields >= 1
    text = export.text
    assert "Secret plan" not in text
    assert "Public work" in text


def test_import_needs_a_session_and_a_trusted_origin(live: Live) -> None:
    w = make_cast(live, "import")
    alice = w["alice"]
    w.do(w.claim(alice))
    issue_checkpoint(live)
    mine = _bearer(live, alice.identity)
    bundle = live.client.get(f"/people/{alice.id}/bundle", headers=mine).content
    assert (
        live.problem(live.client.post("/bundles/import", content=bundle))["code"]
        == "unauthenticated"
    )
    refused = live.client.post("/bundles/import", content=bundle, headers=mine)
    assert live.problem(refused)["code"] == "untrusted_key"
    listed = live.client.get("/imports", headers=mine).json()
    assert listed == {"items": [], "next_cursor": None}


def test_the_employee_page_exports_a_chosen_bundle(live: Live) -> None:
    """The page's form: a viewer (optional) and parts to leave out, sent as a plain GET."""
    w = make_cast(live, "chosen")
    alice = w["alice"]
    w.do(w.claim(alice, title="Shown work"))
    w.do(w.ambition(alice, goal="Hidden plan"))
    issue_checkpoint(live)
    mine = _bearer(live, alice.identity)
    page = live.client.get("/employee", headers=mine).text
    assert 'id="export-chosen"' in page
    assert f'action="/people/{alice.id}/bundle"' in page
    # What the form sends with no viewer chosen and one part ticked:
    export = live.client.get(
        f"/people/{alice.id}/bundle", params={"for": "", "withhold": "ambitions"}, headers=mine
    )
    assert export.status_code == 200, export.text
    assert "Hidden plan" not in export.text
    assert "Shown work" in export.text
    assert verify_bundle(export.text, trusted=None).withheld_fields >= 1
