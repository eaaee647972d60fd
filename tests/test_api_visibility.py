"""Visibility through the API: for any portfolio settings, a stranger, a colleague, a
manager of the department the owner granted three parts to, someone from elsewhere and the
owner each see exactly what the access rule (:func:`ledger.access.may_read`) allows — on
every read path: the record, the portfolio, reputation, matching and the bundle export.

A property test over the four parts' settings (Hypothesis draws them; the owner signs
them as ``VisibilityChanged`` statements), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.catalogue import Visibility
from tests.support.api_server import Live, refresh_reputation
from tests.support.visibility import (
    PARTS,
    Scene,
    candidate_leaks,
    manager_page_leaks,
    visible_parts,
)

VISIBILITIES = [v.value for v in Visibility]


@pytest.fixture(scope="module")
def scene(live: Live) -> Scene:
    built = Scene.build(live, "vis")
    refresh_reputation(live)
    return built


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
    owner = scene.owner
    scene.set_visibility(chosen)
    for viewer, token in scene.tokens.items():
        visible = visible_parts(chosen, viewer)

        # The record: entries of hidden parts are withheld (position and hash only).
        for item in _record(live, owner, token):
            if item["stream"] != f"record/{owner}":
                continue
            shown = item["entry"] is not None
            statement_id = item["entry"]["statement"]["id"] if shown else None
            if shown:
                part = scene.parts.get(statement_id)
                reviewer = viewer in scene.reviewers.get(statement_id, ())
                assert part is None or part in visible or reviewer, (viewer, part, chosen)
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
        # ... and of a hidden part the contributions a review request asks them about
        asked = {
            sid
            for sid, reviewers in scene.reviewers.items()
            if viewer in reviewers and scene.parts[sid] not in visible
        }
        assert {c["id"] for c in folio["asked_to_review"]} == asked, (viewer, chosen)

        # Reputation is made of endorsements: the analytical part.
        score = _get(live, f"/people/{owner}/reputation/python", token)
        assert score.status_code == (200 if "analytical" in visible else 403), (viewer, chosen)

        # Matching: the owner is a candidate only where her free part is visible (and, to
        # a caller without a session, her directory entry: her dossier; privacy.md §9), and
        # shows only what the viewer may read of her (the score only if all of it).
        if viewer != "owner":
            found = _get(live, f"/assignments/{scene.open_assignment}/candidates", token).json()
            mine = [c for c in found if c["person"] == owner]
            listed = "free" in visible and (token is not None or "dossier" in visible)
            assert bool(mine) == listed, (viewer, chosen)
            if mine:
                assert candidate_leaks(mine[0], visible) == [], (viewer, chosen)

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
            sid = item["entry"]["statement"]["id"]
            part = scene.parts.get(sid)
            if item["entry"]["stream"] == f"record/{owner}" and part is not None:
                reads = part in visible or viewer in scene.reviewers.get(sid, ())
                assert bool(item["disclosures"]) == reads, (viewer, part, chosen)


def test_manager_page_shows_only_what_the_manager_may_read(live: Live, scene: Scene) -> None:
    """The manager page applies the access rule too: the endorsement requests list only
    contributions the manager may read (as ``/streams`` shows them), and the candidates
    only the skills and ambitions the manager may read."""
    owner = scene.owner
    chosen = {
        "dossier": "on_request",
        "analytical": "on_request",
        "ambitions": "private",
        "free": "on_request",
    }
    scene.set_visibility(chosen)
    # alice asks bob to review her free claim (he answered the dossier one already); the
    # analytical claim, readable to him, nobody asked him about
    w = scene.w
    free = next(sid for sid, part in scene.claims.items() if part == "free")
    w.do(w.ask_review(w["alice"], free, (w["bob"], "manager")))
    token = scene.tokens["manager"]
    assert token is not None
    with httpx.Client(base_url=live.url, cookies={"trackrecord_session": token}) as browser:
        page = browser.get("/manager")
    assert page.status_code == 200
    # The requests waiting for him (the answer forms) and, on the Endorsed tab, the
    # endorsements he gave: his own statements, of contributions he was asked to review
    listed = set(
        re.findall(r'class="answer-review[^"]*"[^>]*data-contribution="([^"]+)"', page.text)
    )
    given = set(
        re.findall(r'class="given-endorsement[^"]*"[^>]*data-contribution="([^"]+)"', page.text)
    )
    assert manager_page_leaks(listed, {free}) == []
    assert given == {sid for sid, who in scene.reviewers.items() if "manager" in who}
    scene.reviewers[free] = scene.reviewers.get(free, frozenset()) | {"manager"}  # he reads it
    streams = {
        i["entry"]["statement"]["id"]
        for i in _record(live, owner, token)
        if i["entry"] is not None and i["entry"]["statement"]["type"] == "ContributionClaimed"
    }
    assert listed | given <= streams  # what /streams shows the manager, no more
    assert 'class="answered"' in page.text  # the dossier claim's request, answered
    # no contribution listed without its title: the placeholder texts are looked for in
    # the page's markup, not in its JSON script catalogues (#i18n-messages holds every text
    # the scripts may show, "(title withheld)" of the auditor's facts table among them)
    markup = re.sub(r'<script type="application/json"[^>]*>.*?</script>', "", page.text, flags=re.S)
    assert "(title erased)" not in markup
    assert "(title withheld)" not in markup
    # Alice is a candidate (free part granted), her ambition (private) is not shown.
    assert re.search(rf'class="candidate">{owner}\b', page.text)
    assert "wants to develop" not in page.text
