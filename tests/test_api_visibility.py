"""Visibility through the API: for any portfolio settings, a stranger, a colleague, a
manager of the department the owner granted three parts to, someone from elsewhere and the
owner each see exactly what the access rule (:func:`ledger.access.may_read`) allows — on
every read path: the record, the portfolio, reputation, matching and the bundle export.

A property test over the four parts' settings (Hypothesis draws them; the owner signs
them as ``VisibilityChanged`` statements), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.catalogue import Part, Visibility
from tests.factories import World
from tests.support.api_server import (
    Live,
    issue_checkpoint,
    login,
    make_cast,
    refresh_reputation,
)

PARTS = [p.value for p in Part]
VISIBILITIES = [v.value for v in Visibility]


@dataclass
class Scene:
    """Alice's record with something in every part, and sessions of the viewers."""

    w: World
    owner: str
    tokens: dict[str, str | None]  # viewer -> bearer token (None: a stranger)
    ids: dict[str, str]  # viewer -> person id (not for the stranger)
    parts: dict[str, str | None]  # statement id -> portfolio part (None: always shown)
    open_assignment: str
    claims: dict[str, str]  # alice's ContributionClaimed statement ids -> their part


@pytest.fixture(scope="module")
def scene(live: Live) -> Scene:
    w = make_cast(live, "vis")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    claims: dict[str, str] = {}
    for part in PARTS:
        claim = w.do(w.claim(alice, title=f"In {part}", skills=["python"], part=part))
        claims[claim.statement.id] = part
    parts: dict[str, str | None] = dict(claims)
    dossier = next(sid for sid, p in parts.items() if p == "dossier")
    parts[w.do(w.endorse(bob, alice, dossier, grade=5, role="manager")).statement.id] = "analytical"
    parts[w.do(w.endorse(carol, alice, dossier, grade=3, role="peer")).statement.id] = "analytical"
    parts[w.do(w.ambition(alice)).statement.id] = "ambitions"
    done = w.do(w.post(bob)).statement.subject
    w.do(w.assign(bob, done, alice))
    w.do(w.complete(bob, done, alice, grade=4))
    # Her ambition (leadership) is one of the skills this one needs.
    open_assignment = w.do(w.post(bob, skills=["python", "sql", "leadership"])).statement.subject
    # bob asked; alice granted him her dossier, analytical and (made on request) free part
    w.do(w.visibility(alice, "free", "on_request"))
    for part in ("dossier", "analytical", "free"):
        asked = w.do(w.request_access(bob, alice, part)).statement.id
        w.do(w.grant_access(alice, bob, part, request=asked))
    issue_checkpoint(live)
    refresh_reputation(live)
    tokens: dict[str, str | None] = {
        "stranger": None,
        "colleague": login(live, carol.identity),
        "manager": login(live, bob.identity),
        "elsewhere": login(live, w["dave"].identity),
        "owner": login(live, alice.identity),
    }
    ids = {"colleague": carol.id, "manager": bob.id, "elsewhere": w["dave"].id, "owner": alice.id}
    return Scene(w, alice.id, tokens, ids, parts, open_assignment, claims)


GRANTED = frozenset({"dossier", "analytical", "free"})  # to bob, at set-up, with no end


def _sees(settings_: dict[str, str], viewer: str, part: str) -> bool:
    """The access rule of :func:`ledger.access.may_read`, for this scene's grants."""
    if viewer == "owner" or settings_[part] == Visibility.PUBLIC:
        return True
    on_request = settings_[part] == Visibility.ON_REQUEST
    return on_request and viewer == "manager" and part in GRANTED


def _get(live: Live, path: str, token: str | None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return live.client.get(path, headers=headers, params=params)


def _record(live: Live, owner: str, token: str | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = _get(live, f"/people/{owner}/record", token, **params).json()
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items


@settings(max_examples=8, deadline=None)
@given(chosen=st.fixed_dictionaries({p: st.sampled_from(VISIBILITIES) for p in PARTS}))
def test_each_viewer_sees_exactly_what_the_settings_allow(
    live: Live, scene: Scene, chosen: dict[str, str]
) -> None:
    w, owner = scene.w, scene.owner
    w.do_all([w.visibility(w["alice"], part, chosen[part]) for part in PARTS])
    for viewer, token in scene.tokens.items():
        visible = {p for p in PARTS if _sees(chosen, viewer, p)}

        # The record: entries of hidden parts are withheld (position and hash only).
        for item in _record(live, owner, token):
            if item["stream"] != f"record/{owner}":
                continue
            shown = item["entry"] is not None
            statement_id = item["entry"]["statement"]["id"] if shown else None
            if shown:
                part = scene.parts.get(statement_id)
                assert part is None or part in visible, (viewer, part, chosen)
                assert item["withheld_fields"] == []
            else:
                assert item["disclosures"] == []
                assert item["withheld"]
                if "access statement" in item["withheld"]:
                    assert viewer not in ("owner", "manager")  # the two it concerns
                    continue
                assert any(f"the {p} part" in item["withheld"] for p in set(PARTS) - visible)
        shown_ids = {
            i["entry"]["statement"]["id"]
            for i in _record(live, owner, token)
            if i["entry"] is not None
        }
        expected_ids = {sid for sid, p in scene.parts.items() if p in visible}
        assert expected_ids <= shown_ids, (viewer, chosen)

        # The portfolio: exactly the visible parts, the others named as hidden.
        folio = _get(live, f"/people/{owner}/portfolio", token).json()
        assert set(folio["parts"]) == visible, (viewer, chosen)
        assert set(folio["hidden"]) == set(PARTS) - visible

        # Reputation is made of endorsements: the analytical part.
        score = _get(live, f"/people/{owner}/reputation/python", token)
        assert score.status_code == (200 if "analytical" in visible else 403), (viewer, chosen)

        # Matching: the owner is a candidate only where her free part is visible, and
        # shows only what the viewer may read of her (the score only if all of it).
        if viewer != "owner":
            found = _get(live, f"/assignments/{scene.open_assignment}/candidates", token).json()
            mine = [c for c in found if c["person"] == owner]
            assert bool(mine) == ("free" in visible), (viewer, chosen)
            if mine:
                _check_candidate(mine[0], visible)

        # The bundle: exported by the owner only; for a viewer, it discloses what they see.
        export = _get(live, f"/people/{owner}/bundle", token)
        expected = {"stranger": 401, "owner": 200}.get(viewer, 403)
        assert export.status_code == expected, (viewer, export.text)
        if viewer in ("owner", "stranger"):
            continue
        export = _get(
            live, f"/people/{owner}/bundle", scene.tokens["owner"], **{"for": scene.ids[viewer]}
        )
        for item in export.json()["entries"]:
            part = scene.parts.get(item["entry"]["statement"]["id"])
            if item["entry"]["stream"] == f"record/{owner}" and part is not None:
                assert bool(item["disclosures"]) == (part in visible), (viewer, part, chosen)


def _check_candidate(candidate: dict[str, Any], visible: set[str]) -> None:
    """Alice as a candidate for python, sql and leadership: a contribution with python
    in each part, a completed assignment (python, sql: analytical), endorsements of python
    (analytical: reputation) and the ambition to develop leadership (ambitions)."""
    hidden = sorted(set(PARTS) - visible)
    skills = {s["skill"]: s for s in candidate["skills"]}
    analytical = "analytical" in visible
    python = len(visible) + analytical  # a contribution per visible part, the completion
    expected = {
        "python": (python, False),
        "sql": (int(analytical), False),
        "leadership": (0, "ambitions" in visible),
    }
    expected = {k: v for k, v in expected.items() if v != (0, False)}
    assert {k: (s["evidence"], s["ambition"]) for k, s in skills.items()} == expected, hidden
    assert candidate["withheld"] == hidden
    reasons = " ".join(candidate["reasons"])
    if analytical:
        assert skills["python"]["reputation"] is not None
    if not hidden:
        assert candidate["score"] is not None
        return
    assert candidate["score"] is None
    assert candidate["missing"] == []
    assert "withheld" in reasons
    if not analytical:
        assert all(s["reputation"] is None for s in skills.values())
        assert re.search(r"reputation \d", reasons) is None
    if "ambitions" not in visible:
        assert "wants to develop" not in reasons


def test_manager_page_shows_only_what_the_manager_may_read(live: Live, scene: Scene) -> None:
    """The manager page applies the access rule too: the endorsement requests list only
    contributions the manager may read (as ``/streams`` shows them), and the candidates
    only the skills and ambitions the manager may read."""
    w, owner = scene.w, scene.owner
    chosen = {
        "dossier": "on_request",
        "analytical": "on_request",
        "ambitions": "private",
        "free": "on_request",
    }
    w.do_all([w.visibility(w["alice"], part, chosen[part]) for part in PARTS])
    token = scene.tokens["manager"]
    assert token is not None
    with httpx.Client(base_url=live.url, cookies={"trackrecord_session": token}) as browser:
        page = browser.get("/manager")
    assert page.status_code == 200
    listed = set(re.findall(r'data-contribution="([^"]+)"', page.text))
    claims = scene.claims
    streams = {
        i["entry"]["statement"]["id"]
        for i in _record(live, owner, token)
        if i["entry"] is not None and i["entry"]["statement"]["type"] == "ContributionClaimed"
    }
    # bob endorsed the dossier claim already: it waits for nobody.
    waiting = {sid for sid, part in claims.items() if part != "dossier"}
    # bob holds grants for the dossier, analytical and free parts; ambitions is private.
    assert listed == {sid for sid in waiting if claims[sid] in ("analytical", "free")}
    assert listed == waiting & streams
    assert "(title" not in page.text  # no contribution listed without its title
    # Alice is a candidate (free part granted), her ambition (private) is not shown.
    assert re.search(rf'class="candidate">{owner}\b', page.text)
    assert "wants to develop" not in page.text
