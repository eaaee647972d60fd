"""The wallet pages in Chromium: the employee's QR code of a credential offer, and the
relying party's /verifier page checking a pasted presentation (docs/wallet.md)."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest
from jwcrypto.jwk import JWK
from playwright.sync_api import Browser, expect
from sd_jwt.holder import SDJWTHolder

from ledger.credentials import credential_identifiers, issue_sd_jwt_vc, verified_record
from ledger.export import export_bundle
from tests.support.api_server import Live, operator_member
from tests.support.browser import create_key_and_register, new_context
from tests.support.bundles import build_scenario

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(operated_server: Live) -> Live:
    """The module's server (tests.support.browser.operated_server), by the name used here."""
    return operated_server


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, JWK]:
    """A summary credential signed by the operator key (the same on every test ledger)."""
    url = f"sqlite://{(tmp_path_factory.mktemp('other') / 'a.db').resolve().as_posix()}"
    scenario = build_scenario(url)
    operator = operator_member().identity
    record = verified_record(export_bundle(scenario.log, "alice"), operator=operator)
    holder = JWK.generate(kty="EC", crv="P-256")
    vc = issue_sd_jwt_vc(
        record,
        credential_identifiers(record)["summary"][0],
        operator=operator,
        issuer="https://ledger.example",
        holder_key=holder.export_public(as_dict=True),
        issued_at=int(time.time()),
        valid_for=3600,
    )
    return vc.issuance, holder


def test_the_employee_gets_a_qr_code_of_a_credential_offer(live: Live, chromium: Browser) -> None:
    context = new_context(chromium)
    try:
        page = context.new_page()
        create_key_and_register(live, page, "wallet-eva")
        page.goto(live.url + "/employee")
        page.click("#tab-wallet")  # the employee page is split into tabs
        page.click("#wallet-offer button")
        expect(page.locator("#offer-qr svg")).to_be_visible()
        link = page.locator("#offer-link").get_attribute("href") or ""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
        offer = json.loads(query["credential_offer"][0])
        assert offer["credential_issuer"] == live.url
        assert offer["credential_configuration_ids"] == [
            "contribution",
            "endorsement",
            "assignment",
            "summary",
        ]
    finally:
        context.close()


def test_the_verifier_page_checks_a_pasted_presentation(
    live: Live, chromium: Browser, summary: tuple[str, JWK], tmp_path: Path
) -> None:
    issuance, holder = summary
    context = new_context(chromium, locale="nl-NL")
    try:
        page = context.new_page()
        page.goto(live.url + "/verifier")
        expect(page.locator("h1")).to_have_text("Een presentatie controleren")
        nonce = page.locator("#nonce").inner_text()
        audience = page.locator("#audience").inner_text()
        assert audience == live.url
        h = SDJWTHolder(issuance)
        h.create_presentation({"skills": {"policy-advice": True}}, nonce, audience, holder, "ES256")
        page.fill("#verify-presentation textarea", str(h.sd_jwt_presentation))
        page.click("#verify-presentation button")
        expect(page.locator("#verdict")).to_have_attribute("data-ok", "true")
        claims = json.loads(page.locator("#claims").inner_text())
        assert claims["skills"] == {"policy-advice": {"contributions": 1, "grades": [3, 4, 5]}}
        assert "person" not in claims
        # the same presentation again: the form now asks for a fresh nonce, which it lacks
        assert page.locator("#nonce").inner_text() != nonce
        page.fill("#verify-presentation textarea", str(h.sd_jwt_presentation))
        page.click("#verify-presentation button")
        expect(page.locator("#verdict")).to_have_attribute("data-ok", "false")
        expect(page.locator("#refusal-code")).to_have_text("wrong_nonce")
    finally:
        context.close()
