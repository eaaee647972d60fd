"""Issue 16's "Done when", in Chromium: a new employee goes from never having heard of
trackrecord to a signed claim with no shell and no admin command.

A real OpenID Connect provider (``oidc-provider`` under node, tests/support/oidc.py) signs
Jan in; the employee page creates his key in the browser and files his registration
request; the admin approves it on the admin page in a second browser context (signing
``IdentityRegistered`` with her browser key); Jan logs in with his key and claims a
contribution. The admin herself was set up once by the operator (the bootstrap every
ledger has). A second newcomer joins by an invitation link, and two requests are approved
at once as one batch. Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ledger import commands
from ledger.audit import audit
from ledger.checkpoint import verifier_key
from ledger.statement import Signer
from ledger.store import open_store
from tests.factories import DEPT, ORG, identity_for
from tests.support.api_server import (
    UNLIMITED,
    HttpLedger,
    Live,
    ensure_genesis,
    live_server,
    login,
    loopback_socket,
    operator_member,
)
from tests.support.browser import ARTIFACTS, TIMEOUT_MS, create_key_and_register, new_context
from tests.support.notices import contact
from tests.support.oidc import oidc_provider, sign_in

pytestmark = pytest.mark.browser

expect.set_options(timeout=TIMEOUT_MS)

ACCOUNTS = {
    "jan.jansen": {
        "email": "jan.jansen@minbzk.example",
        "email_verified": True,
        "name": "Jan Jansen",
        "preferred_username": "jan.jansen",
    },
    "els": {"email": "els@minbzk.example", "email_verified": True, "name": "Els Bakker"},
}


def _as_member(live: Live, path: str) -> Any:
    """``path`` read with a member's session: who works where is not shown to anonymous
    callers (docs/privacy.md §9)."""
    token = login(live, operator_member().identity)
    return live.client.get(path, headers={"Authorization": f"Bearer {token}"}).json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The service, signed into by the test provider, on a fresh SQLite ledger."""
    path = tmp_path_factory.mktemp("onboarding-browser") / "ledger.db"
    sock = loopback_socket()
    callback = f"http://127.0.0.1:{sock.getsockname()[1]}/auth/oidc/callback"
    with oidc_provider(redirect_uri=callback, organisation=ORG, accounts=ACCOUNTS) as idp:
        config = dataclasses.replace(UNLIMITED, oidc=idp.settings)
        url = f"sqlite://{Path(path).resolve().as_posix()}"
        with live_server(url, config, operator=operator_member().identity, sock=sock) as live:
            ensure_genesis(live)
            yield live


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _make_admin(live: Live, page: Page, person: str) -> None:
    """The bootstrap: the operator registers the first admin (her key made in her browser)."""
    create_key_and_register(live, page, person)
    op = operator_member()
    grant = commands.grant_role(
        Signer(op.identity, live.config.default_origin), person=person, role="admin", scope=ORG
    )
    HttpLedger(live).append(grant)


def test_a_newcomer_signs_in_is_approved_and_claims(server: Live, chromium: Browser) -> None:
    live = server
    admin_ctx, jan_ctx = new_context(chromium), new_context(chromium)
    try:
        ann = admin_ctx.new_page()
        _make_admin(live, ann, "admin-ann")

        # -- Jan: sign in at the organisation's provider; key and request in the browser ---
        jan = jan_ctx.new_page()
        jan.goto(live.url + "/employee")
        jan.click("#oidc-signin")
        sign_in(jan, "jan.jansen")
        expect(jan.locator("#signin-email")).to_have_text("jan.jansen@minbzk.example")
        expect(jan.locator("#reg-person")).to_have_value("jan.jansen")
        expect(jan.locator("#reg-name")).to_have_value("Jan Jansen")
        _shot(jan, "onboarding-01-signed-in")
        with jan.expect_navigation():
            jan.click("#request-registration button[type=submit]")
        expect(jan.locator("#registration-status")).to_have_attribute("data-status", "pending")
        expect(jan.locator("#key-person")).to_have_text("jan.jansen")  # the key is in his browser
        _shot(jan, "onboarding-02-waiting")

        # -- the admin approves on the admin page, signing in her own browser ---------------
        ann.goto(live.url + "/admin")
        row = ann.locator("tr.registration[data-person='jan.jansen']")
        expect(row).to_contain_text("jan.jansen@minbzk.example")
        row.locator(".department").fill(DEPT)
        row.locator(".pick").check()
        _shot(ann, "onboarding-03-admin-pending")
        with ann.expect_navigation():
            ann.click("#approve-selected")
        expect(ann.locator("#no-registrations")).to_be_visible()
        expect(ann.locator("tr.person[data-person='jan.jansen']")).to_contain_text(DEPT)
        # the address the provider vouched for is kept for his e-mail notifications
        kept = contact(live.database_url, "jan.jansen")
        assert kept is not None
        assert kept.email == "jan.jansen@minbzk.example"

        # -- Jan logs in with his key and claims a contribution -----------------------------
        jan.reload()
        expect(jan.locator("#registration-status")).to_have_attribute("data-status", "approved")
        with jan.expect_navigation():
            jan.click("#login")
        expect(jan.locator("#viewer")).to_have_text("jan.jansen")
        jan.click("#tab-claim")
        jan.fill("#title", "Onboarding handbook, first chapter")
        jan.fill("#skills", "writing")
        jan.fill("#start", "2026-11-02")
        jan.click("#claim-form button[type=submit]")
        expect(jan.locator("#part-dossier tr.contribution")).to_contain_text("Onboarding handbook")
        _shot(jan, "onboarding-04-claimed")
        first_key = live.client.get("/people/jan.jansen").json()["current_key"]
        # Logging out offers to remove the key from this browser (a shared computer).
        jan.once("dialog", lambda dialog: dialog.accept())
        with jan.expect_navigation():
            jan.click("#logout")
        expect(jan.locator("#key-none")).to_be_visible()
        expect(jan.locator("#key-present")).to_be_hidden()

        # -- Jan lost his key (removed above): he asks for a new one, the admin re-keys ----
        expect(jan.locator("#reg-person")).to_have_value("jan.jansen")
        jan.check("#reg-rekey")
        with jan.expect_navigation():
            jan.click("#request-registration button[type=submit]")
        expect(jan.locator("#registration-status")).to_have_attribute("data-status", "pending")
        ann.goto(live.url + "/admin")
        row = ann.locator("tr.registration[data-person='jan.jansen']")
        expect(row.locator(".rekey")).to_be_visible()
        row.locator(".pick").check()
        with ann.expect_navigation():
            ann.click("#approve-selected")
        expect(ann.locator("#no-registrations")).to_be_visible()
        jan.reload()
        expect(jan.locator("#registration-status")).to_have_attribute("data-status", "approved")
        with jan.expect_navigation():
            jan.click("#login")
        expect(jan.locator("#viewer")).to_have_text("jan.jansen")
        expect(jan.locator("#part-dossier tr.contribution")).to_contain_text("Onboarding handbook")
        person = _as_member(live, "/people/jan.jansen")
        assert (person["department"], person["display_name"]) == (DEPT, "Jan Jansen")
        # Registered by the admin's browser key; the claim signed by Jan's own browser key.
        store = open_store(live.database_url)
        try:
            entries = [json.loads(r.head) for r in store.read(limit=10_000)]
        finally:
            store.close()
        jans = [e["statement"] for e in entries if e["statement"]["subject"] == "jan.jansen"]
        admin_key = live.client.get("/people/admin-ann").json()["current_key"]
        assert person["current_key"] != first_key
        # The re-key is recorded as the admin's: a KeyRotated signed by her key.
        assert [(s["type"], s["author"]) for s in jans] == [
            ("IdentityRegistered", admin_key),
            ("ContributionClaimed", first_key),
            ("KeyRotated", admin_key),
        ]
        # His older entries still verify: the whole ledger passes a full audit.
        store = open_store(live.database_url)
        try:
            assert audit(store).ok
        finally:
            store.close()
    finally:
        admin_ctx.close()
        jan_ctx.close()


def test_an_invited_newcomer_and_a_signed_in_one_approved_in_one_batch(
    server: Live, chromium: Browser
) -> None:
    live = server
    admin_ctx, els_ctx, piet_ctx = (new_context(chromium) for _ in range(3))
    try:
        ann = admin_ctx.new_page()
        _make_admin(live, ann, "admin-bea")
        ann.goto(live.url + "/admin")
        ann.fill("#invite-form input[name=department]", DEPT)
        ann.fill("#invite-form input[name=person]", "piet")
        ann.click("#invite-form button[type=submit]")
        link = ann.locator("#invitation-link")
        expect(link).to_contain_text("/join/")

        piet = piet_ctx.new_page()
        piet.goto(link.inner_text().strip())
        expect(piet.locator("#reg-person")).to_have_value("piet")
        piet.fill("#reg-name", "Piet de Boer")
        piet.click("#request-registration button[type=submit]")
        expect(piet.locator("#status")).to_contain_text("your request as piet waits for an admin")
        piet.reload()  # the link is spent now
        expect(piet.locator("#join-problem")).to_contain_text("was used already")

        els = els_ctx.new_page()
        els.goto(live.url + "/employee")
        els.click("#oidc-signin")
        sign_in(els, "els")
        expect(els.locator("#reg-person")).to_have_value("els")
        with els.expect_navigation():
            els.click("#request-registration button[type=submit]")
        expect(els.locator("#registration-status")).to_have_attribute("data-status", "pending")

        ann.goto(live.url + "/admin")
        expect(ann.locator("tr.registration")).to_have_count(2)
        ann.locator("tr.registration[data-person='els'] .department").fill(DEPT)
        ann.check("#select-all")
        size = live.size()
        with ann.expect_navigation():
            ann.click("#approve-selected")
        expect(ann.locator("#no-registrations")).to_be_visible()
        assert live.size() == size + 2
        # Both approvals went in as one batch (admin.js posts /statements/batch).
        for person in ("piet", "els"):
            assert _as_member(live, f"/people/{person}")["department"] == DEPT
        piet.goto(live.url + "/employee")
        with piet.expect_navigation():
            piet.click("#login")
        expect(piet.locator("#viewer")).to_have_text("piet")
    finally:
        for context in (admin_ctx, els_ctx, piet_ctx):
            context.close()


def test_an_hr_file_is_imported_on_the_admin_page(
    server: Live, chromium: Browser, tmp_path: Path
) -> None:
    context = new_context(chromium)
    try:
        page = context.new_page()
        _make_admin(server, page, "admin-cas")
        keys = [base64.b64encode(identity_for(f"hr-{n}").public_key.raw).decode() for n in (1, 2)]
        bad = tmp_path / "bad.csv"
        bad.write_bytes(
            "\ufeffperson_id;name;organisation;department;email;manages;public_key\r\n"
            "hr-9;Fout;minbzk;elders/x;;;\r\n".encode()
        )
        page.goto(server.url + "/admin")
        page.set_input_files("#import-file", str(bad))
        page.click("#import-form button[type=submit]")
        expect(page.locator("#import-rows tr.import-row.error")).to_have_count(1)
        expect(page.locator("#import-apply")).to_be_hidden()
        good = tmp_path / "hr.csv"
        good.write_bytes(
            (
                "\ufeffperson_id;name;organisation;department;email;manages;public_key\r\n"
                f"hr-1;Anna de Wit;minbzk;{DEPT};anna@minbzk.example;{DEPT};{keys[0]}\r\n"
                f"hr-2;Bram Smit;minbzk;{DEPT};bram@minbzk.example;;{keys[1]}\r\n"
            ).encode()
        )
        page.set_input_files("#import-file", str(good))
        page.click("#import-form button[type=submit]")
        expect(page.locator("#import-rows tr.import-row")).to_have_count(2)
        size = server.size()
        with page.expect_navigation():
            page.click("#import-apply")
        expect(page.locator("#import-heading + .success")).to_contain_text("Rows imported: 2.")
        expect(page.locator("#status")).to_be_empty()  # said once, where the user acted
        assert server.size() == size + 3  # two registrations and one manager role
        anna = _as_member(server, "/people/hr-1")
        assert (anna["display_name"], anna["department"]) == ("Anna de Wit", DEPT)
        assert {(r["role"], r["scope"]) for r in anna["roles"]} == {("manager", DEPT)}

        # -- trusted origins: trust another ledger's operator key with a weight, then stop -----
        other = verifier_key("elders.example/ledger", identity_for("elders-op").public_key.raw)
        page.fill("#trust-form [name=verifier_key]", "elders.example/ledger+0000+AAAA")
        page.click("#trust-form button[type=submit]")
        expect(page.locator("#trust-form .field-error")).to_be_visible()  # next to the key
        page.fill("#trust-form [name=verifier_key]", other)
        page.fill("#trust-form [name=weight]", "0.8")
        with page.expect_navigation():
            page.click("#trust-form button[type=submit]")
        row = page.locator("tr.trusted-origin[data-origin='elders.example/ledger']")
        expect(row).to_contain_text("0.80")
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            row.locator(".untrust").click()
        expect(
            page.locator("tr.trusted-origin[data-origin='elders.example/ledger']")
        ).to_have_count(0)
    finally:
        context.close()


def test_a_callback_not_started_in_this_browser_is_refused(server: Live) -> None:
    started = server.client.get("/auth/oidc/login")
    assert started.status_code == 303
    assert started.headers["location"].startswith(server.config.oidc.issuer)  # type: ignore[union-attr]
    assert "code_challenge_method=S256" in started.headers["location"]
    state = started.headers["location"].split("state=")[1].split("&")[0]
    # The same state, from a browser that did not start the sign-in (no state cookie).
    response = server.client.get("/auth/oidc/callback", params={"code": "x", "state": state})
    assert server.problem(response)["code"] == "oidc_failed"
    response = server.client.get(
        "/auth/oidc/callback",
        params={"code": "forged", "state": state},
        headers={"Cookie": f"trackrecord_oidc_state={state}"},
    )
    assert server.problem(response)["code"] == "oidc_failed"  # the provider refuses the code


def test_the_admin_page_offers_nothing_to_someone_who_is_no_admin(
    server: Live, chromium: Browser
) -> None:
    context = new_context(chromium)
    try:
        page = context.new_page()
        create_key_and_register(server, page, "kees")
        page.goto(server.url + "/admin")
        expect(page.locator("#not-admin")).to_be_visible()
        expect(page.locator("form")).to_have_count(0)
    finally:
        context.close()
