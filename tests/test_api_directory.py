"""Directory privacy (issue 14, item 9; docs/privacy.md §9): who works where is shown to
members of the ledger, and to callers without a session only for people who made their
dossier public — in ``GET /people``, a person, their identity stream, their portfolio
(API and page) and ranked candidates. On a real server, SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from ledger.access import directory_visible
from ledger.catalogue import Visibility
from tests.support.api_server import Live, login, make_cast


def _get(live: Live, path: str, token: str | None = None) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = live.client.get(path, headers=headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_rule() -> None:
    assert directory_visible(Visibility.PUBLIC, viewer=None)
    assert not directory_visible(Visibility.ON_REQUEST, viewer=None)
    assert not directory_visible(Visibility.PRIVATE, viewer=None)
    assert directory_visible(Visibility.PRIVATE, viewer=None, operator=True)
    assert directory_visible(Visibility.PRIVATE, viewer="anyone-with-a-session")


def test_anonymous_member_and_admin_see_the_directory_as_each_may(live: Live) -> None:
    w = make_cast(live, "dir")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    w.do(w.visibility(alice, "dossier", "public"))  # alice shows where she works; bob does not
    w.do(w.claim(bob, part="free"))
    w.do(w.visibility(bob, "free", "public"))  # a public part of bob's is not his directory

    anonymous = [p["id"] for p in _get(live, "/people")["items"]]
    assert anonymous == sorted(["operator", alice.id])
    hidden = _get(live, f"/people/{bob.id}")
    assert hidden["directory"] == "withheld"
    assert (hidden["display_name"], hidden["organisation"], hidden["department"]) == (
        None,
        None,
        None,
    )
    assert hidden["roles"] == []
    assert hidden["keys"][0]["key_id"] == bob.key_id
    shown = _get(live, f"/people/{alice.id}")
    assert (shown["directory"], shown["department"]) == ("shown", "minbzk/dgo")
    stream = _get(live, f"/streams/identity/{bob.id}")["items"]
    assert stream
    assert all(item["entry"] is None and item["entry_hash"] for item in stream)
    assert _get(live, f"/streams/identity/{alice.id}")["items"][0]["entry"] is not None
    folio = _get(live, f"/people/{bob.id}/portfolio")
    assert (folio["organisation"], folio["department"], folio["display_name"]["disclosed"]) == (
        None,
        None,
        {},
    )
    assert "free" in folio["parts"]  # what he made public is still shown
    page = live.client.get(f"/portfolio/{bob.id}")
    assert page.status_code == 200
    assert "minbzk/dgo" not in page.text
    assert "minbzk/dgo" in live.client.get(f"/portfolio/{alice.id}").text

    for who in (carol, w.operator):  # a member, and the admin (the operator)
        token = login(live, who.identity)
        listed = [p["id"] for p in _get(live, "/people", token)["items"]]
        assert {alice.id, bob.id, carol.id, w["dave"].id} <= set(listed)
        bob_seen = _get(live, f"/people/{bob.id}", token)
        assert (bob_seen["directory"], bob_seen["department"]) == ("shown", "minbzk/dgo")
        assert {"role": "manager", "scope": "minbzk/dgo"} in bob_seen["roles"]
        assert bob_seen["display_name"] is not None
        stream = _get(live, f"/streams/identity/{bob.id}", token)["items"]
        assert all(item["entry"] is not None for item in stream)
        assert _get(live, f"/people/{bob.id}/portfolio", token)["department"] == "minbzk/dgo"
