"""Access on request, end to end: request → grant → the viewer reads the part on every read
path (portfolio, record, log, bundle); revoke → withheld again; a stranger never reads it.
Through the real HTTP server on SQLite and PostgreSQL, and through the CLI.

The rule itself (``ledger.access.may_read``, expiry with an explicit day, the ledger's
refusals) is tested in ``tests/test_rules.py``; the read models' side in
``tests/test_projections_portfolio.py`` and ``tests/test_projections_matching.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from ledger import commands
from ledger.access import (
    access_given,
    access_held,
    access_listed,
    grant_status,
    may_read,
    today_utc,
)
from ledger.bundle import verify_bundle
from ledger.catalogue import Part
from ledger.state import AccessGrant
from ledger.statement import SignedStatement, Signer
from tests.factories import TEST_ORIGIN, MemoryLedger, World, standard_world
from tests.support.api_server import Live, Refused, issue_checkpoint, login, make_cast
from tests.support.cli import Cli, claim, organisation


def _get(live: Live, path: str, token: str | None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return live.client.get(path, headers=headers, params=params)


def _record_item(live: Live, owner: str, token: str | None, log_index: int) -> dict[str, Any]:
    """The item of ``owner``'s record at ``log_index``, as the viewer of ``token`` sees it."""
    items = _get(live, f"/people/{owner}/record", token, limit=200).json()["items"]
    [item] = [i for i in items if i["log_index"] == log_index]
    found: dict[str, Any] = item
    return found


def _do(w: World, signed: SignedStatement) -> tuple[str, int]:
    """Append ``signed`` through the API; its statement id and log index."""
    accepted = w.ledger.append(signed)
    return signed.statement.id, int(accepted["log_index"])


def _title_seen(live: Live, w: World, token: str | None, claim: tuple[str, int]) -> bool:
    """Whether the viewer of ``token`` reads the claim's title on the portfolio, the record
    and the log (asserting the three read paths agree)."""
    owner = w["alice"].id
    folio = _get(live, f"/people/{owner}/portfolio", token).json()
    in_folio = any(
        c["id"] == claim[0] for c in folio["parts"].get("dossier", {}).get("contributions", [])
    )
    item = _record_item(live, owner, token, claim[1])
    in_record = item["entry"] is not None and bool(item["disclosures"])
    logged = _get(live, f"/entries/{claim[1]}", token).json()
    in_log = logged["entry"] is not None and bool(logged["disclosures"])
    assert in_folio == in_record == in_log, (in_folio, in_record, in_log)
    return in_folio


def test_request_grant_read_revoke_on_every_read_path(live: Live) -> None:
    w = make_cast(live, "access")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    claim = _do(w, w.claim(alice, title="Housing dashboard", skills=["python"]))
    tokens = {m: login(live, w[m].identity) for m in ("alice", "bob", "carol")}

    # bob manages alice's department: that alone reads nothing on request
    assert not _title_seen(live, w, tokens["bob"], claim)
    request, request_at = _do(w, w.request_access(bob, alice, "dossier"))

    # the request: listed for alice and bob, not for carol; its entry likewise
    mine = _get(live, f"/people/{alice.id}/access", tokens["alice"]).json()
    assert [(r["id"], r["viewer"], r["answer"]) for r in mine["requests"]] == [
        (request, bob.id, None)
    ]
    assert mine["requests"][0]["message"] == "For the staffing of the housing dashboard."
    assert (
        _get(live, f"/people/{alice.id}/access", tokens["bob"]).json()["requests"]
        == (mine["requests"])
    )
    theirs = _get(live, f"/people/{alice.id}/access", tokens["carol"]).json()
    assert (theirs["requests"], theirs["grants"]) == ([], [])
    assert live.problem(_get(live, f"/people/{alice.id}/access", None))["code"] == (
        "unauthenticated"
    )
    assert live.problem(_get(live, "/people/nobody-here/access", tokens["bob"]))["code"] == (
        "not_found"
    )
    assert _record_item(live, alice.id, tokens["bob"], request_at)["entry"] is not None
    withheld = _record_item(live, alice.id, tokens["carol"], request_at)
    assert withheld["entry"] is None
    assert "access statement" in withheld["withheld"]

    # granted (until today: still active) → bob reads the dossier on every read path
    today = today_utc()
    grant = w.do(w.grant_access(alice, bob, "dossier", request=request, until=today))
    grant_id = grant.statement.id
    assert _title_seen(live, w, tokens["bob"], claim)
    assert not _title_seen(live, w, tokens["carol"], claim)
    assert not _title_seen(live, w, None, claim)
    listed = _get(live, f"/people/{alice.id}/access", tokens["bob"]).json()
    assert listed["requests"][0]["answer"] == "granted"
    assert [(g["id"], g["until"], g["active"]) for g in listed["grants"]] == [
        (grant_id, today, True)
    ]

    # the bundle alice exports for bob discloses what he may read; bob cannot export it
    issue_checkpoint(live)
    export = _get(live, f"/people/{alice.id}/bundle", tokens["alice"], **{"for": bob.id})
    assert export.status_code == 200, export.text
    assert f"-for-{bob.id}" in export.headers["content-disposition"]
    report = verify_bundle(export.text, trusted=None)
    assert [c.title for c in report.contributions] == ["Housing dashboard"]
    not_his = _get(live, f"/people/{alice.id}/bundle", tokens["bob"])
    assert not_his.status_code == 403
    assert not_his.json()["code"] == "not_yours"
    for_carol = _get(live, f"/people/{alice.id}/bundle", tokens["alice"], **{"for": carol.id})
    report = verify_bundle(for_carol.text, trusted=None)
    assert [c.title for c in report.contributions] == [None]
    assert any(w_.endswith(" title") for w_ in report.withheld)
    assert report.display_name == f"{alice.id.title()} van Dijk"

    # revoked → withheld again
    w.do(w.revoke_access(alice, grant_id))
    assert not _title_seen(live, w, tokens["bob"], claim)
    after = _get(live, f"/people/{alice.id}/access", tokens["alice"]).json()
    assert [(g["revoked"], g["active"]) for g in after["grants"]] == [(True, False)]

    # a refusal: seen by carol (whom it concerns) and alice, not by bob
    asked = w.do(w.request_access(carol, alice, "analytical")).statement.id
    _, refusal_at = _do(w, w.refuse_access(alice, asked))
    assert _record_item(live, alice.id, tokens["carol"], refusal_at)["disclosures"]
    assert _record_item(live, alice.id, tokens["bob"], refusal_at)["entry"] is None
    answers = _get(live, f"/people/{alice.id}/access", tokens["carol"]).json()["requests"]
    assert [(r["id"], r["answer"]) for r in answers] == [(asked, "refused")]
    assert not _title_seen(live, w, tokens["carol"], claim)


def test_only_the_owner_grants_and_only_an_on_request_part(live: Live) -> None:
    w = make_cast(live, "access2")
    alice, bob = w["alice"], w["bob"]
    with pytest.raises(Refused) as refused:
        w.do(w.request_access(bob, alice, "ambitions"))  # private by default
    assert refused.value.problem["code"] == "not_on_request"
    forged = commands.grant_access(  # bob signs a grant to himself on alice's record
        Signer(bob.identity, TEST_ORIGIN),
        person=alice.id,
        viewer=bob.id,
        part="dossier",
        **w.opts(),
    )
    with pytest.raises(Refused) as not_owner:
        w.do(forged)
    assert not_owner.value.problem["code"] == "not_subject"


def test_cli_access_round_trip(sqlite_url: str, tmp_path: Path) -> None:
    cli = Cli(sqlite_url, tmp_path / "keys")
    organisation(cli)
    claim(cli)
    asked = cli.json(
        "access", "request", "alice", "--part", "dossier", "--message", "For the review",
        who="bob",
    )  # fmt: skip
    request = asked["request"]
    listed = cli.json("access", "list", who="alice")
    assert [(r["id"], r["viewer"], r["answer"]) for r in listed["requests"]] == [
        (request, "bob", None)
    ]
    granted = cli.json(
        "access", "grant", "bob", "--part", "dossier", "--request", request[:8],
        "--until", "2999-12-31", who="alice",
    )  # fmt: skip
    listed = cli.json("access", "list", "bob", who="alice")
    assert [(g["id"], g["until"], g["active"]) for g in listed["grants"]] == [
        (granted["grant"], "2999-12-31", True)
    ]
    assert listed["requests"][0]["answer"] == "granted"
    text = cli.ok("access", "list", who="alice").stdout
    assert "granted" in text
    assert request[:8] in text

    # the bundle for bob discloses the granted dossier; for the operator it does not
    cli.ok("checkpoint", "--issue", "--origin", "trackrecord.test/access", who="op")
    for viewer, title in (("bob", "Policy brief"), ("op", None)):
        out = tmp_path / f"for-{viewer}.json"
        cli.ok("export", "alice", "--for", viewer, "-o", str(out))
        report = verify_bundle(out.read_text(), trusted=None)
        assert [c.title for c in report.contributions] == [title]
    assert cli("export", "alice", "--for", "nobody").exit_code == 6
    # for someone outside this ledger, the owner picks the parts to leave out
    whole, chosen = tmp_path / "whole.json", tmp_path / "chosen.json"
    cli.ok("export", "alice", "-o", str(whole))
    cli.ok("export", "alice", "--withhold", "dossier", "-o", str(chosen))
    assert [c.title for c in verify_bundle(whole.read_text(), trusted=None).contributions] == [
        "Policy brief"
    ]
    withheld = verify_bundle(chosen.read_text(), trusted=None)
    assert [c.title for c in withheld.contributions] == [None]
    assert withheld.withheld_fields == 1
    assert cli("export", "alice", "--withhold", "everything").exit_code != 0

    cli.ok("access", "revoke", granted["grant"][:8], who="alice")
    listed = cli.json("access", "list", "alice", who="alice")
    assert [(g["revoked"], g["active"]) for g in listed["grants"]] == [(True, False)]
    again = cli.json("access", "request", "alice", "--part", "dossier", who="bob")["request"]
    cli.ok("access", "refuse", again, "--reason", "Not now", who="alice")
    refused = cli("access", "refuse", again, who="alice")
    assert refused.exit_code == 2
    assert "already_answered" in refused.stderr
    assert cli("access", "request", "alice", "--part", "ambitions", who="bob").exit_code == 2


def test_revoking_a_grant_that_ran_out_leaves_its_successor_active() -> None:
    """A grant that ran out is replaced by a new one; revoking the old one (it was never
    revoked) must not end the new one — in the ledger state and so for ``may_read``."""
    day = ["2026-03-01"]
    w = standard_world(MemoryLedger(clock=lambda: f"{day[0]}T09:00:00Z"))
    alice, bob = w["alice"], w["bob"]
    old = w.do(w.grant_access(alice, bob, until="2026-03-01")).statement.id
    day[0] = "2026-03-05"
    new = w.do(w.grant_access(alice, bob)).statement.id  # the old one ran out
    w.do(w.revoke_access(alice, old))
    assert w.state.active_grants[("alice", "bob", "dossier")] == new
    assert may_read(w.state, "alice", "bob", Part.DOSSIER, today="2026-03-05")


def test_a_grant_is_active_until_its_last_day_then_expired_unless_revoked() -> None:
    grant = AccessGrant("g", "alice", "bob", "dossier", until="2026-12-06")
    assert grant_status(grant, today="2026-12-06") == "active"  # its last day still counts
    assert grant_status(grant, today="2026-12-07") == "expired"
    revoked = dataclasses.replace(grant, revoked=True)
    assert grant_status(revoked, today="2026-12-06") == "revoked"
    assert grant_status(revoked, today="2026-12-07") == "revoked"
    assert grant_status(AccessGrant("h", "alice", "bob", "free"), today="9999-12-31") == "active"


def test_access_given_and_held_list_requests_and_grants_active_first() -> None:
    """The lists the employee and manager pages show (:func:`ledger.access.access_given`,
    :func:`ledger.access.access_held`): open requests oldest first, answered ones and ended
    grants newest first and cut at ``history``, active grants always first; a grant to a
    part its owner made private is active but not readable."""
    w = standard_world(MemoryLedger(clock=lambda: "2026-03-01T09:00:00Z"))
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    first = w.do(w.request_access(bob, alice, "dossier")).statement.id
    second = w.do(w.request_access(carol, alice, "analytical")).statement.id
    third = w.do(w.request_access(bob, alice, "analytical")).statement.id
    w.do(w.refuse_access(alice, first))
    w.do(w.refuse_access(alice, third))
    ended = w.do(w.grant_access(alice, bob, "dossier", until="2026-03-01")).statement.id
    revoked = w.do(w.grant_access(alice, carol, "dossier")).statement.id
    w.do(w.revoke_access(alice, revoked))
    waiting = w.do(w.request_access(carol, alice, "dossier")).statement.id
    active = w.do(w.grant_access(alice, carol, "analytical", request=second)).statement.id
    w.do(w.visibility(alice, "analytical", "private"))
    day = "2026-03-02"  # the grant ``until`` 2026-03-01 ran out

    given = access_given(w.state, alice.id, today=day)
    assert [r.id for r in given.open] == [waiting]
    assert [(r.id, r.answer) for r in given.answered] == [
        (third, "refused"),
        (second, "granted"),
        (first, "refused"),
    ]
    assert [(line.grant.id, line.status) for line in given.grants] == [
        (active, "active"),
        (revoked, "revoked"),
        (ended, "expired"),
    ]
    assert not given.grants[0].readable  # alice made the analytical part private since
    cut = access_given(w.state, alice.id, today=day, history=1)
    assert [r.id for r in cut.answered] == [third]
    assert [line.grant.id for line in cut.grants] == [active, revoked]

    held = access_held(w.state, bob.id, today=day)
    assert [(r.id, r.owner, r.answer) for r in held.requests] == [
        (third, alice.id, "refused"),
        (first, alice.id, "refused"),
    ]
    assert [(line.grant.id, line.status, line.readable) for line in held.grants] == [
        (ended, "expired", False)
    ]
    assert access_held(w.state, bob.id, today="2026-03-01").grants[0].readable
    assert access_given(w.state, bob.id, today=day) == access_given(w.state, "nobody", today=day)

    w.do(w.visibility(alice, "analytical", "on_request"))  # the grant counts again
    [line] = access_held(w.state, carol.id, today=day, history=0).grants
    assert (line.grant.id, line.status, line.readable) == (active, "active", True)


def test_access_listed_by_owner_viewer_and_anyone_involved() -> None:
    """:func:`ledger.access.access_listed`, the API's and the CLI's listing: each is seen by
    its two parties only. Made to the owner (the API): the owner sees every request made to
    them and grant they gave, another viewer only their own; every one the person is owner
    or viewer of (the CLI): the same parties; without a session, none."""
    w = standard_world(MemoryLedger(clock=lambda: "2026-03-01T09:00:00Z"))
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    to_alice = w.do(w.request_access(bob, alice, "dossier")).statement.id
    carols = w.do(w.request_access(carol, alice, "analytical")).statement.id
    to_bob = w.do(w.request_access(alice, bob, "dossier")).statement.id
    grant = w.do(w.grant_access(alice, carol, "analytical", request=carols)).statement.id

    def ids(listing: tuple[list[Any], list[Any]]) -> tuple[list[str], list[str]]:
        return [r.id for r in listing[0]], [g.id for g in listing[1]]

    def made_to(person: str, seen_by: str | None) -> tuple[list[str], list[str]]:
        return ids(access_listed(w.state, person, seen_by=seen_by, made_to_only=True))

    def involving(person: str, seen_by: str | None) -> tuple[list[str], list[str]]:
        return ids(access_listed(w.state, person, seen_by=seen_by))

    assert made_to(alice.id, alice.id) == ([to_alice, carols], [grant])
    assert made_to(alice.id, bob.id) == ([to_alice], [])
    assert made_to(alice.id, carol.id) == ([carols], [grant])
    assert made_to(alice.id, None) == ([], [])
    assert involving(alice.id, alice.id) == ([to_alice, carols, to_bob], [grant])
    assert involving(bob.id, bob.id) == ([to_alice, to_bob], [])
    assert involving(alice.id, bob.id) == ([to_alice, to_bob], [])  # bob's side of them
    assert involving(alice.id, carol.id) == ([carols], [grant])
    assert involving(alice.id, None) == ([], [])
