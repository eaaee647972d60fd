"""``GET /people/search`` and the pages around it (issue 17), on a real server: anonymous,
member and manager find different people; visibility is respected; bad input is a
problem document; each appearance is counted, and only the count is kept."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import inspect, text

from ledger.people_search import MAX_HOURS
from projections.db import create_read_model_engine
from tests.factories import World
from tests.support.api_server import Live, login, make_cast

SKILL = "data-analysis"  # searched below by its Dutch label, "data-analyse"


@pytest.fixture(scope="module")
def cast(live: Live) -> World:
    """alice (dgo) opted in publicly, dossier public too; carol (dgo) opted in, dossier on
    request; dave (cio, same organisation) on request, granted to bob (manager of dgo);
    each claimed data analysis."""
    w = make_cast(live, "search")
    alice, bob, carol, dave = (w[n] for n in ("alice", "bob", "carol", "dave"))
    for person in (alice, carol, dave):
        w.do(w.claim(person, skills=[SKILL]))
    w.do(w.visibility(alice, "free", "public"))
    w.do(w.visibility(alice, "dossier", "public"))
    w.do(w.visibility(carol, "free", "public"))
    w.do(w.visibility(dave, "free", "on_request"))
    asked = w.do(w.request_access(bob, dave, "free")).statement.id
    w.do(w.grant_access(dave, bob, "free", request=asked))
    return w


def _as(live: Live, w: World, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(live, w[name].identity)}"}


def _search(live: Live, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = live.client.get("/people/search", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _found(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["person"], f["ring"]) for f in body["found"]]


def test_anonymous_member_and_manager_find_different_people(live: Live, cast: World) -> None:
    w = cast
    alice, carol, dave = w["alice"].id, w["carol"].id, w["dave"].id
    anonymous = _search(live, skill="data-analyse")
    assert anonymous["skills"] == [SKILL]  # the Dutch label, resolved
    assert _found(anonymous) == [(alice, "government")]  # only public directory entries
    member = _search(live, _as(live, w, "carol"), skill="data-analyse")
    assert _found(member) == [(alice, "department")]  # not herself, not dave (not granted)
    manager = _search(live, _as(live, w, "bob"), skill="Data analysis", ring="organisation")
    assert _found(manager) == [(alice, "department"), (carol, "department"), (dave, "organisation")]
    # the department ring only
    nearest = _search(live, _as(live, w, "bob"), skill=SKILL, ring="department")
    assert [p for p, _ in _found(nearest)] == [alice, carol]


def test_each_person_is_shown_as_far_as_their_visibility_allows(live: Live, cast: World) -> None:
    w = cast
    found = {f["person"]: f for f in _search(live, _as(live, w, "bob"), skill=SKILL)["found"]}
    dave = found[w["dave"].id]
    assert dave["portfolio"] == f"/portfolio/{w['dave'].id}"
    assert dave["portfolio_parts"] == ["free"]  # granted to bob: nothing else
    assert dave["score"] is None
    assert dave["skills"] == []  # his claim is in his dossier part, on request
    assert dave["withheld"] == ["ambitions", "analytical", "dossier"]
    assert [r["code"] for r in dave["reasons"]] == ["ring_organisation", "hours", "withheld"]
    hours = dave["reasons"][1]
    assert hours["values"] == {"available": 36, "budget": 36, "needed": 0}
    assert hours["text"] == "available 36 of 36 h/week, 0 needed"
    alice = found[w["alice"].id]
    assert alice["portfolio_parts"] == ["dossier", "free"]
    assert [s["skill"] for s in alice["skills"]] == [SKILL]  # her dossier is public
    # the portfolio the link leads to shows the same parts
    page = live.client.get(alice["portfolio"], headers=_as(live, w, "bob"))
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 422, "invalid_request"),  # no skill
        ({"skill": "Geen Vaardigheid!"}, 422, "unknown_skill"),
        ({"skill": SKILL, "hours": MAX_HOURS + 1}, 422, "invalid_request"),
        ({"skill": SKILL, "ring": "universe"}, 422, "invalid_request"),
        ({"skill": SKILL, "limit": 0}, 422, "invalid_request"),
        ({"skill": [SKILL] * 6}, 422, "invalid_request"),
        ({"skill": SKILL, "ring": "department"}, 403, "no_place"),  # anonymous: no place
    ],
)
def test_bad_input_is_a_problem_document(
    live: Live, cast: World, params: dict[str, Any], status: int, code: str
) -> None:
    response = live.client.get("/people/search", params=params)
    assert response.status_code == status, response.text
    assert live.problem(response)["code"] == code


def test_found_counts_appearances_and_keeps_nothing_else(live: Live, cast: World) -> None:
    w = cast
    me = _as(live, w, "alice")

    def count() -> int:
        page = live.client.get("/employee", params={"lang": "en"}, headers=me).text
        found = re.search(r'id="found-count">Number of searches that found you: (\d+)\.', page)
        assert found is not None, page
        return int(found.group(1))

    before = count()
    _search(live, skill=SKILL)  # lists alice
    _search(live, _as(live, w, "carol"), skill=SKILL)  # lists alice
    _search(live, skill="statistics")  # lists nobody
    assert count() == before + 2
    dutch = live.client.get("/employee", params={"lang": "nl"}, headers=me).text
    assert "Je vrije deel is openbaar" in dutch
    engine = create_read_model_engine(live.database_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("api_search_appearances")}
    finally:
        engine.dispose()
    assert columns == {"person", "found"}  # neither who searched, nor what, nor when


def test_an_erasure_deletes_the_count(live: Live, cast: World) -> None:
    w = cast
    erin = w.member("search-erin")
    w.do(w.register("search-erin"))
    w.do(w.claim(erin, skills=["statistics"]))
    w.do(w.visibility(erin, "free", "public"))
    [found] = _search(live, _as(live, w, "bob"), skill="statistiek")["found"]
    assert found["person"] == erin.id

    def counted() -> list[str]:
        engine = create_read_model_engine(live.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT person FROM api_search_appearances"))
                return [p for (p,) in rows]
        finally:
            engine.dispose()

    assert erin.id in counted()
    w.do(w.erase(erin))
    assert _search(live, _as(live, w, "bob"), skill="statistiek")["found"] == []
    assert erin.id not in counted()
