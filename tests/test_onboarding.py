"""Onboarding without a shell over HTTP (issue 16): invitation links, registration requests
signed by the newcomer's key, approval as one atomic batch signed by an admin, and every
admin action refused for anyone who is no admin (a problem document, and the page).

The newcomer's and the admin's browsers are played here by Python signing the same bytes
(tests/test_browser_onboarding.py runs the pages in Chromium with a real OpenID Connect
provider)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keys import Identity, Purpose
from ledger import commands
from ledger.canonical import b64encode
from ledger.checkpoint import verifier_key
from ledger.onboarding import (
    Kind,
    RegistrationRefused,
    RegistrationRequest,
    request_payload,
    verify_registration_request,
)
from tests.factories import DEPT, ORG, TEST_ORIGIN, MemoryLedger, World, identity_for
from tests.support.api_server import UNLIMITED, FakeClock, Live, live_server, login, make_cast
from tests.support.cli import Cli
from trackrecord.cli.errors import ExitCode

CLOCK = FakeClock()
CLOCK.now = 1_800_000_000.0  # the wall clock of sessions, invitations and requests


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("onboarding") / "ledger.db"
    config = dataclasses.replace(UNLIMITED, session_clock=CLOCK, session_ttl=10**9)
    with live_server(f"sqlite://{Path(path).resolve().as_posix()}", config) as live:
        yield live


def _request(
    identity: Identity, person: str, name: str, origin: str, kind: Kind = "register"
) -> dict[str, Any]:
    """What the newcomer's browser sends: the request signed with their new key."""
    wanted = RegistrationRequest(person, name, b64encode(identity.public_key.raw), "", kind)
    signature = identity.sign(Purpose.REGISTRATION, request_payload(origin, wanted))
    return {
        "person": person,
        "display_name": name,
        "public_key": wanted.public_key,
        "signature": base64.b64encode(signature).decode(),
        "kind": kind,
    }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _invite(live: Live, token: str, **body: Any) -> dict[str, Any]:
    response = live.client.post(
        "/invitations",
        json={"organisation": ORG, "department": DEPT, **body},
        headers=_bearer(token),
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _token_of(link: str) -> str:
    return link.rsplit("/join/", 1)[1]


def test_invited_newcomers_are_approved_in_one_batch_and_log_in(server: Live) -> None:
    w = make_cast(server, "onb")
    admin = w.operator  # the operator administers every organisation
    admin_token = login(server, admin.identity)
    newcomers = {f"onb-new{n}": identity_for(f"onb-new{n}") for n in range(3)}
    for person, identity in newcomers.items():
        invitation = _invite(server, admin_token, person=person)
        assert invitation["link"].startswith(server.url + "/join/")
        page = server.client.get(f"/join/{_token_of(invitation['link'])}")
        assert page.status_code == 200
        assert f'value="{person}"' in page.text
        assert "readonly" in page.text
        body = _request(identity, person, f"{person.title()} de Vries", w.origin)
        body["invitation"] = _token_of(invitation["link"])
        filed = server.client.post("/registrations", json=body)
        assert filed.status_code == 201, filed.text
        assert filed.json()["status"] == "pending"
        assert filed.json()["department"] == DEPT
        # The link works once.
        again = server.client.post("/registrations", json=body)
        assert server.problem(again)["code"] == "invitation_used"
        assert server.client.get(f"/join/{_token_of(invitation['link'])}").status_code == 410

    waiting = server.client.get("/registrations", headers=_bearer(admin_token)).json()
    assert {r["person"] for r in waiting} >= set(newcomers)

    # Approving many is one atomic batch of IdentityRegistered signed by the admin.
    approvals = [
        commands.register_identity(
            w.signer_for(admin.identity),
            person=r["person"],
            public_key=base64.b64decode(r["public_key"]),
            organisation=r["organisation"],
            department=r["department"],
            display_name=r["display_name"],
        )
        for r in waiting
        if r["person"] in newcomers
    ]
    response = server.client.post(
        "/statements/batch", json={"statements": [a.as_json() for a in approvals]}
    )
    assert response.status_code == 201, response.text
    left = server.client.get("/registrations", headers=_bearer(admin_token)).json()
    assert not {r["person"] for r in left} & set(newcomers)
    for person, identity in newcomers.items():
        token = login(server, identity)  # the key made in "the browser" now logs in
        # Registered where the invitation said; a member reads the directory entry, a
        # caller without a session not while the dossier is on request (privacy.md §9)
        mine = server.client.get(f"/people/{person}", headers=_bearer(token)).json()
        assert mine["department"] == DEPT
        anonymous = server.client.get(f"/people/{person}").json()
        assert (anonymous["department"], anonymous["directory"]) == (None, "withheld")


def test_requests_that_cannot_be_filed_are_refused_with_their_reason(server: Live) -> None:
    w = make_cast(server, "onbx")
    admin_token = login(server, w.operator.identity)
    link = _invite(server, admin_token)["link"]
    newcomer = identity_for("onbx-new")

    def refused(body: dict[str, Any]) -> dict[str, Any]:
        response = server.client.post(
            "/registrations", json={**body, "invitation": _token_of(link)}
        )
        return server.problem(response)

    forged = _request(newcomer, "onbx-new", "Nieuw", w.origin)
    forged["public_key"] = b64encode(identity_for("someone-else").public_key.raw)
    assert refused(forged)["code"] == "bad_signature"
    other_ledger = _request(newcomer, "onbx-new", "Nieuw", "elsewhere.example/ledger")
    assert refused(other_ledger)["code"] == "bad_signature"
    taken = refused(_request(newcomer, "onbx-alice", "Alice", w.origin))
    assert (taken["code"], taken["status"]) == ("already_registered", 409)
    reused = refused(_request(w["carol"].identity, "onbx-new", "Nieuw", w.origin))
    assert (reused["code"], reused["status"]) == ("key_in_use", 409)
    assert refused(_request(newcomer, "Not A Slug", "Nieuw", w.origin))["code"] == "bad_person"
    # Nothing was used up by the refusals: the link still files the good request.
    good = {**_request(newcomer, "onbx-new", "Nieuw", w.origin), "invitation": _token_of(link)}
    assert server.client.post("/registrations", json=good).status_code == 201

    reserved = server.client.post(
        "/invitations",
        json={"organisation": ORG, "department": DEPT, "person": "search"},
        headers=_bearer(admin_token),
    )
    assert (server.problem(reserved)["code"], reserved.status_code) == ("reserved_id", 422)
    fixed = _invite(server, admin_token, person="onbx-fixed")["link"]
    wrong = {**_request(newcomer, "onbx-other", "X", w.origin), "invitation": _token_of(fixed)}
    assert server.problem(server.client.post("/registrations", json=wrong))["code"] == "not_invited"
    unknown = {**_request(newcomer, "onbx-other", "X", w.origin), "invitation": "no-such-token"}
    unknown_problem = server.problem(server.client.post("/registrations", json=unknown))
    assert unknown_problem["code"] == "unknown_invitation"
    # Neither a sign-in nor an invitation: nobody vouches.
    anonymous = _request(identity_for("onbx-anon"), "onbx-anon", "Anon", w.origin)
    assert server.problem(server.client.post("/registrations", json=anonymous))["status"] == 401


def test_an_invitation_runs_out(server: Live) -> None:
    w = make_cast(server, "onbt")
    admin_token = login(server, w.operator.identity)
    link = _invite(server, admin_token)["link"]
    CLOCK.now += UNLIMITED.invitation_ttl + 1
    try:
        body = {**_request(identity_for("onbt-new"), "onbt-new", "N", w.origin)}
        body["invitation"] = _token_of(link)
        expired = server.problem(server.client.post("/registrations", json=body))
        assert (expired["code"], expired["status"]) == ("invitation_expired", 410)
        assert server.client.get(f"/join/{_token_of(link)}").status_code == 404
    finally:
        CLOCK.now -= UNLIMITED.invitation_ttl + 1


def test_every_admin_action_is_refused_for_someone_who_is_no_admin(server: Live) -> None:
    w = make_cast(server, "onbn")
    admin_token = login(server, w.operator.identity)
    link = _invite(server, admin_token)["link"]
    body = {**_request(identity_for("onbn-new"), "onbn-new", "N", w.origin)}
    filed = server.client.post("/registrations", json={**body, "invitation": _token_of(link)})
    registration = filed.json()["id"]
    manager = login(server, w["bob"].identity)  # a manager, no admin
    for method, path, json in (
        ("GET", "/registrations", None),
        ("DELETE", f"/registrations/{registration}", None),
        ("POST", "/invitations", {"organisation": ORG, "department": DEPT}),
        ("GET", "/invitations", None),
        ("GET", "/trusted-origins", None),
        ("POST", "/trusted-origins", {"verifier_key": _other_ledger_key(), "weight": 0.5}),
        ("DELETE", "/trusted-origins/other.example", None),
    ):
        response = server.client.request(method, path, json=json, headers=_bearer(manager))
        problem = server.problem(response)
        assert (problem["status"], problem["code"]) == (403, "not_admin"), (method, path)
        anonymous = server.client.request(method, path, json=json)
        assert server.problem(anonymous)["status"] == 401, (method, path)
    csv = b"person_id;name;organisation;department\nonbn-x;X;minbzk;minbzk/dgo\n"
    for path in ("/people-import/plan", "/people-import/addresses"):
        response = server.client.post(
            path, content=csv, headers={**_bearer(manager), "Content-Type": "text/csv"}
        )
        assert (server.problem(response)["status"], server.problem(response)["code"]) == (
            403,
            "not_admin",
        ), path
    # The admin's statements are the ledger's to refuse (rule not_admin).
    bob = w.signer_for(w["bob"].identity)
    for signed in (
        commands.register_identity(
            bob, person="onbn-new", public_key=base64.b64decode(body["public_key"]),
            organisation=ORG, department=DEPT, display_name="N",
        ),
        commands.grant_role(bob, person=w["carol"].id, role="manager", scope=DEPT),
        commands.transfer_employee(
            bob, person=w["carol"].id, organisation=ORG, department="minbzk/cio"
        ),
        commands.erase_person(bob, person=w["carol"].id),
    ):  # fmt: skip
        response = server.client.post("/statements", json=signed.as_json())
        assert server.problem(response)["code"] == "not_admin", signed.statement.type
    # The page: no form for a non-admin, and a 403.
    page = server.client.get("/admin", headers=_bearer(manager))
    assert page.status_code == 403
    assert 'id="not-admin"' in page.text
    assert "approve-form" not in page.text
    assert "invite-form" not in page.text
    assert "erase-form" not in page.text
    assert "trust-form" not in page.text
    # The request is still there for the admin, who may refuse it.
    refused = server.client.delete(f"/registrations/{registration}", headers=_bearer(admin_token))
    assert refused.status_code == 204
    page = server.client.get("/admin", headers=_bearer(admin_token))
    assert page.status_code == 200
    assert "onbn-new" not in page.text


def test_an_admin_of_one_organisation_sees_only_its_requests(server: Live) -> None:
    w = make_cast(server, "onbo")
    admin_token = login(server, w.operator.identity)
    _grant_admin(server, w, "alice", ORG)
    other_org_link = _invite(
        server, admin_token, department="other-org/hr", organisation="other-org"
    )
    body = _request(identity_for("onbo-new"), "onbo-new", "N", w.origin)
    filed = server.client.post(
        "/registrations", json={**body, "invitation": _token_of(other_org_link["link"])}
    )
    assert filed.status_code == 201, filed.text
    alice = login(server, w["alice"].identity)
    seen = server.client.get("/registrations", headers=_bearer(alice)).json()
    assert "onbo-new" not in {r["person"] for r in seen}
    response = server.client.delete(f"/registrations/{filed.json()['id']}", headers=_bearer(alice))
    assert server.problem(response)["code"] == "not_admin"
    response = server.client.post(
        "/invitations", json={"organisation": "other-org", "department": "other-org/hr"},
        headers=_bearer(alice),
    )  # fmt: skip
    assert server.problem(response)["code"] == "not_admin"
    bad = server.client.post(
        "/invitations", json={"organisation": ORG, "department": "other-org/hr"},
        headers=_bearer(alice),
    )  # fmt: skip
    assert server.problem(bad)["code"] == "bad_department"


def _grant_admin(live: Live, w: World, name: str, organisation: str) -> None:
    signed = commands.grant_role(
        w.signer_for(w.operator.identity), person=w[name].id, role="admin", scope=organisation
    )
    response = live.client.post("/statements", json=signed.as_json())
    assert response.status_code in (201, 409), response.text  # 409: granted by an earlier run


def test_a_lost_key_is_replaced_by_an_admin_re_key(server: Live) -> None:
    w = make_cast(server, "onbr")
    admin_token = login(server, w.operator.identity)
    carol, new_key = w["carol"], identity_for("onbr-carol", 1)
    # A re-key request is for someone registered; a registration for someone who is not.
    link = _invite(server, admin_token, person=carol.id)["link"]
    unknown = _request(new_key, "onbr-nobody", "N", w.origin, "rekey")
    unknown["invitation"] = _token_of(_invite(server, admin_token)["link"])
    response = server.client.post("/registrations", json=unknown)
    assert server.problem(response)["code"] == "not_registered"
    # The signature covers the kind: a registration's signature is no re-key's.
    forged = {**_request(new_key, carol.id, "Carol", w.origin), "kind": "rekey"}
    response = server.client.post("/registrations", json={**forged, "invitation": _token_of(link)})
    assert server.problem(response)["code"] == "bad_signature"
    body = {
        **_request(new_key, carol.id, "Carol", w.origin, "rekey"),
        "invitation": _token_of(link),
    }
    filed = server.client.post("/registrations", json=body)
    assert filed.status_code == 201, filed.text
    assert (filed.json()["kind"], filed.json()["status"]) == ("rekey", "pending")
    waiting = server.client.get("/registrations", headers=_bearer(admin_token)).json()
    assert [r["kind"] for r in waiting if r["person"] == carol.id] == ["rekey"]
    rekey = commands.rotate_key(
        w.signer_for(w.operator.identity), person=carol.id, new_public_key=new_key.public_key.raw
    )
    assert server.client.post("/statements", json=rekey.as_json()).status_code == 201
    login(server, new_key)  # the new key logs in
    ch = server.client.post("/auth/challenge").json()
    old = carol.identity.sign(Purpose.CHALLENGE, ch["challenge"].encode())
    response = server.client.post(
        "/auth/session",
        json={"key_id": carol.key_id, "nonce": ch["nonce"], "signature": b64encode(old)},
    )
    assert server.problem(response)["code"] == "unknown_key"  # the lost one no longer does
    left = server.client.get("/registrations", headers=_bearer(admin_token)).json()
    assert carol.id not in {r["person"] for r in left}


def test_an_hr_file_is_planned_for_the_admins_browser_to_sign(server: Live) -> None:
    w = make_cast(server, "onbi")
    admin_token = login(server, w.operator.identity)
    key = b64encode(identity_for("onbi-new").public_key.raw)
    csv = (
        "\ufeffperson_id;name;organisation;department;email;manages;public_key\r\n"
        f"onbi-new;Nieuw;minbzk;minbzk/dgo;n@minbzk.example;minbzk/dgo;{key}\r\n"
        f"{w['alice'].id};Alice;minbzk;minbzk/dgo;;;\r\n"
        "onbi-bad;Fout;minbzk;elders/dgo;;;\r\n"
    ).encode()
    headers = {**_bearer(admin_token), "Content-Type": "text/csv"}
    plan = server.client.post("/people-import/plan", content=csv, headers=headers).json()
    assert plan["refused"] == 1
    rows = {r["person"]: r for r in plan["rows"]}
    assert set(rows) == {"onbi-new", "onbi-bad"}  # alice is unchanged, so not listed
    assert [s["type"] for s in rows["onbi-new"]["statements"]] == [
        "IdentityRegistered",
        "RoleGranted",
    ]
    assert rows["onbi-new"]["statements"][0]["personal"] == {"display_name": "Nieuw"}
    assert rows["onbi-bad"]["statements"] == []
    unreadable = server.client.post("/people-import/plan", content=b"\xff\xfe", headers=headers)
    assert server.problem(unreadable)["code"] == "bad_people_file"


def test_the_inbox_lists_what_waits_for_each_person(server: Live) -> None:
    w = make_cast(server, "onbq")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    request = w.do(w.request_access(bob, alice, "dossier"))
    w.do(w.visibility(alice, "dossier", "public"))  # her claim is then visible to her manager
    claim = w.do(w.claim(alice))
    posted = w.do(w.post(bob))
    w.do(w.apply(carol, posted.statement.subject))

    def box(member_token: str) -> dict[str, Any]:
        response = server.client.get("/me/inbox", headers=_bearer(member_token))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    alices = box(login(server, alice.identity))
    assert alices["access_requests"] == [
        {"request": request.statement.id, "viewer": bob.id, "part": "dossier"}
    ]
    bobs = box(login(server, bob.identity))
    assert {"person": alice.id, "contribution": claim.statement.id} in bobs["endorsement_requests"]
    assert bobs["applications"] == [{"assignment": posted.statement.subject, "applicant": carol.id}]
    assert bobs["registrations"] == []  # no admin
    assert bobs["count"] == len(bobs["endorsement_requests"]) + 1
    admin_token = login(server, w.operator.identity)
    link = _invite(server, admin_token)["link"]
    body = {**_request(identity_for("onbq-new"), "onbq-new", "N", w.origin)}
    body["invitation"] = _token_of(link)
    assert server.client.post("/registrations", json=body).status_code == 201
    operators = box(admin_token)
    assert {"person": "onbq-new", "kind": "register"} in operators["registrations"]
    page = server.client.get("/inbox", headers=_bearer(admin_token))
    assert "onbq-new" in page.text
    assert server.problem(server.client.get("/me/inbox"))["status"] == 401


def test_without_an_identity_provider_there_is_no_sign_in(server: Live) -> None:
    assert server.problem(server.client.get("/auth/oidc/login"))["code"] == "no_identity_provider"
    page = server.client.get("/employee")
    assert "oidc-signin" not in page.text
    assert "invitation link" in page.text


def test_the_domain_rule_names_each_refusal() -> None:
    w = World(MemoryLedger())
    w.do(w.genesis())
    w.do(w.register("ann"))
    newcomer = identity_for("new")

    def check(
        person: str, identity: Identity, *, ledger: str = TEST_ORIGIN, name: str = "N"
    ) -> None:
        body = _request(identity, person, name, ledger)
        wanted = RegistrationRequest(person, name, body["public_key"], body["signature"])
        verify_registration_request(state=w.state, ledger=TEST_ORIGIN, request=wanted)

    check("new", newcomer)  # None: it may be filed
    for args, kwargs, code in (
        (("ann", newcomer), {}, "already_registered"),
        (("new", w["ann"].identity), {}, "key_in_use"),
        (("new", newcomer), {"ledger": "other.example/l"}, "bad_signature"),
        (("NEW", newcomer), {}, "bad_person"),
        (("search", newcomer), {}, "reserved_id"),  # GET /people/search is the search
        (("new", newcomer), {"name": " "}, "bad_display_name"),
    ):
        with pytest.raises(RegistrationRefused) as caught:
            check(*args, **kwargs)
        assert caught.value.code == code


def test_serve_needs_the_whole_identity_provider_configuration(tmp_path: Path) -> None:
    cli = Cli(f"sqlite://{(tmp_path / 'l.db').as_posix()}", tmp_path / "keys")
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    result = cli("serve", "--oidc-issuer", "https://idp.example", "--oidc-client-id", "tr")
    assert result.exit_code == ExitCode.USAGE
    assert "--oidc-client-secret" in result.output
    assert "--oidc-organisation" in result.output
    result = cli(
        "serve", "--oidc-issuer", "https://idp.example", "--oidc-client-id", "tr",
        "--oidc-organisation", "Not An Org", env={"TRACKRECORD_OIDC_CLIENT_SECRET": "s"},
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert "is not an organisation id" in result.output


def _other_ledger_key() -> str:
    """The operator key (a note verifier key) of another ledger, ``other.example/ledger``."""
    return verifier_key("other.example/ledger", identity_for("other-operator").public_key.raw)


def test_an_admin_trusts_and_stops_trusting_an_origin(server: Live) -> None:
    w = make_cast(server, "onbt")
    admin = login(server, w.operator.identity)
    key = _other_ledger_key()
    response = server.client.post(
        "/trusted-origins", json={"verifier_key": key, "weight": 0.8}, headers=_bearer(admin)
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"origin": "other.example/ledger", "verifier_key": key, "weight": 0.8}
    listed = server.client.get("/trusted-origins", headers=_bearer(admin)).json()
    assert {"origin": "other.example/ledger", "verifier_key": key, "weight": 0.8} in listed
    page = server.client.get("/admin", headers=_bearer(admin))
    assert 'data-origin="other.example/ledger"' in page.text
    bad = server.client.post(
        "/trusted-origins", json={"verifier_key": "not a key"}, headers=_bearer(admin)
    )
    assert server.problem(bad)["status"] == 422
    too_much = server.client.post(
        "/trusted-origins", json={"verifier_key": key, "weight": 2}, headers=_bearer(admin)
    )
    assert server.problem(too_much)["status"] == 422
    gone = server.client.delete("/trusted-origins/other.example%2Fledger", headers=_bearer(admin))
    assert gone.status_code == 204, gone.text
    assert key not in str(server.client.get("/trusted-origins", headers=_bearer(admin)).json())
    again = server.client.delete("/trusted-origins/other.example%2Fledger", headers=_bearer(admin))
    assert server.problem(again)["code"] == "not_found"
