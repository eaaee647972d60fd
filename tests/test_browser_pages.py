"""Defects of the pages found by trying them in Chromium (issue 17), each reproduced here.

No script error on any page, logged in or out; an end date before the start refused next
to its field; the export's "for" field validated by the browser and a refusal shown on
the page; the auditor's verdict never green for an unpinned operator key and cleared when
another file is chosen, a tampered grade named as such (entry, field, logged and shown
value) and a good bundle's grades shown; ``/docs`` served without any other host; a favicon.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from ledger.bundle import dump_bundle
from ledger.export import export_bundle
from ledger.vault import sealed_owner
from tests.support.api_server import (
    UNLIMITED,
    Live,
    issue_checkpoint,
    live_server,
    login,
    make_cast,
    operator_member,
)
from tests.support.browser import (
    TIMEOUT_MS,
    create_key_and_register,
    new_context,
    script_problems,
)
from tests.support.bundles import build_scenario
from tests.support.tamper import SqliteRows

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT_MS)

PAGES = (
    "/",
    "/employee",
    "/manager",
    "/auditor",
    "/portfolio/eva",
    "/verifier",
    "/docs",
    "/redoc",
)


@dataclass
class Site:
    live: Live
    eva: BrowserContext  # a browser holding eva's key, logged in


@pytest.fixture(scope="module")
def site(operated_server: Live, chromium: Browser) -> Iterator[Site]:
    eva = new_context(chromium)
    create_key_and_register(operated_server, eva.new_page(), "eva")
    yield Site(operated_server, eva)
    eva.close()


@pytest.mark.parametrize("logged_in", [False, True], ids=["logged-out", "logged-in"])
def test_no_script_error_and_no_other_host_on_any_page(
    site: Site, chromium: Browser, logged_in: bool
) -> None:
    context = site.eva if logged_in else new_context(chromium)
    page = context.new_page()
    problems = script_problems(page)
    here = urlsplit(site.live.url).netloc
    page.on(
        "request",
        lambda r: (
            problems.append(f"other host: {r.url}")
            if urlsplit(r.url).netloc not in (here, "")
            else None
        ),
    )
    try:
        for path in PAGES:
            page.goto(site.live.url + path, wait_until="networkidle")
            if path not in ("/docs", "/redoc"):
                expect(page.locator("#viewer")).to_have_count(1 if logged_in else 0)
        assert problems == []
    finally:
        page.close()
        if not logged_in:
            context.close()


def test_docs_render_from_local_assets_and_the_favicon_is_served(
    site: Site, chromium: Browser
) -> None:
    context = new_context(chromium)
    page = context.new_page()
    # Offline: every request to another host fails, as it would without a network.
    here = urlsplit(site.live.url).netloc
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if urlsplit(route.request.url).netloc == here else route.abort()
        ),
    )
    try:
        page.goto(site.live.url + "/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("trackrecord")
        expect(page.locator(".opblock").first).to_be_visible()
        page.goto(site.live.url + "/redoc")
        expect(page.locator(".api-info h1")).to_contain_text("trackrecord")
        expect(page.locator("img[alt='redocly logo']")).to_have_attribute(
            "src", "/static/favicon.svg"
        )
        page.goto(site.live.url + "/")
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert icon == "/static/favicon.svg"
        served = page.request.get(site.live.url + icon)
        assert served.ok
        assert served.headers["content-type"].startswith("image/svg+xml")
        assert page.request.get(site.live.url + "/favicon.ico").url.endswith(icon)
    finally:
        context.close()


def test_an_end_before_the_start_is_refused_next_to_the_end_field(site: Site) -> None:
    page = site.eva.new_page()
    try:
        page.goto(site.live.url + "/employee#tab-claim")
        page.fill("#title", "Backwards in time")
        page.fill("#skills", "python")
        page.fill("#start", "2026-09-10")
        page.fill("#end", "2026-09-01")
        page.click("#claim-form button[type=submit]")
        error = page.locator("#end-error")
        expect(error).to_contain_text("The end date is before the start date.")
        expect(error.locator(".rule-code")).to_have_text("code: bad_period")
        expect(page.locator("#end")).to_be_focused()
        expect(page.locator("#end")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#end")).to_have_attribute("aria-describedby", "end-error")
        page.reload()
        expect(page.locator("#part-dossier tr.contribution", has_text="Backwards")).to_have_count(0)
    finally:
        page.close()


def test_the_export_for_field_is_validated_and_a_refusal_shows_on_the_page(site: Site) -> None:
    page = site.eva.new_page()
    try:
        page.goto(site.live.url + "/employee#tab-export")
        field = page.locator("#export-for")
        field.fill("Not An Id")
        # Chromium compiles the pattern with the v flag; an invalid pattern is ignored.
        assert field.evaluate("el => el.checkValidity()") is False
        page.click("#export-chosen button[type=submit]")
        assert page.url == site.live.url + "/employee#tab-export"
        field.fill("nobody-here")  # well-formed, but no such person
        page.click("#export-chosen button[type=submit]")
        expect(page.locator("#export-for-error")).to_contain_text(
            "There is no person with this id."
        )
        expect(field).to_be_focused()
        assert page.url == site.live.url + "/employee#tab-export"
        field.fill("")
        with page.expect_download() as download:
            page.click("#export-chosen button[type=submit]")
        assert download.value.suggested_filename == "eva-record.json"
        expect(page.locator("#export-for-error")).to_have_count(0)
    finally:
        page.close()


def _verify_on_the_auditor_page(page: Page, live: Live, bundle: Path) -> None:
    page.goto(live.url + "/auditor")
    page.set_input_files("#bundle", str(bundle))
    page.click("#bundle-form button[type=submit]")


def test_the_auditor_never_shows_an_unpinned_bundle_as_verified(
    site: Site, chromium: Browser, tmp_path: Path
) -> None:
    # A separately set-up ledger under another name: its own operator key, which this
    # ledger has never pinned.
    scenario = build_scenario(f"sqlite://{(tmp_path / 'other.db').resolve().as_posix()}")
    foreign = tmp_path / "alice-record.json"
    foreign.write_text(dump_bundle(export_bundle(scenario.log, "alice")), "utf-8")
    context = new_context(chromium)
    page = context.new_page()
    try:
        _verify_on_the_auditor_page(page, site.live, foreign)
        verdict = page.locator("#bundle-verdict")
        expect(verdict).to_contain_text("Not trusted")
        expect(verdict).to_contain_text(str(scenario.key))
        expect(verdict).to_contain_text("NOT pinned")
        expect(verdict).not_to_contain_text("Verified")
        expect(verdict).not_to_have_class("verdict ok")
        expect(verdict).to_have_class("verdict warn")
        green = "rgb(26, 127, 55)"  # --ok in style.css
        assert verdict.evaluate("el => getComputedStyle(el).color") != green
    finally:
        context.close()


def test_choosing_another_file_clears_the_auditor_verdict(site: Site, tmp_path: Path) -> None:
    page = site.eva.new_page()
    try:
        good = tmp_path / "eva-record.json"
        good.write_bytes(page.request.get(site.live.url + "/people/eva/bundle").body())
        _verify_on_the_auditor_page(page, site.live, good)
        verdict = page.locator("#bundle-verdict")
        expect(verdict).to_contain_text("Verified: the record of eva")
        expect(verdict).to_have_class("verdict ok")
        expect(page.locator("#bundle-entries")).to_be_visible()

        other = tmp_path / "notes.txt"
        other.write_text("not a bundle", "utf-8")
        page.set_input_files("#bundle", str(other))
        expect(verdict).to_have_text("")
        expect(verdict).to_have_class("verdict")
        expect(page.locator("#bundle-entries")).to_be_hidden()
        expect(page.locator("#bundle-entries tbody tr")).to_have_count(0)
    finally:
        page.close()


def test_the_auditor_names_an_altered_grade_and_shows_the_grades_it_verified(
    site: Site, chromium: Browser, tmp_path: Path
) -> None:
    w = make_cast(site.live, "audit")
    alice, bob = w["alice"], w["bob"]
    claim = w.do(w.claim(alice, title="Woo guide"))
    w.do(w.endorse(bob, alice, claim.statement.id, grade=4, role="manager"))
    issue_checkpoint(site.live)
    token = login(site.live, alice.identity)
    export = site.live.client.get(
        f"/people/{alice.id}/bundle", headers={"Authorization": f"Bearer {token}"}
    )
    good = tmp_path / "good.json"
    good.write_bytes(export.content)
    doc = json.loads(export.content)
    item = next(i for i in doc["entries"] if i["entry"]["statement"]["type"] == "EndorsementGiven")
    item["entry"]["statement"]["body"]["grade"] = 2
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc), "utf-8")
    index = item["log_index"]
    said = {
        "en-US": [
            f"the grade of entry {index} was altered after it was logged: "
            "the ledger's checkpoint holds 4, the bundle shows 2",
            f"an endorsement of {alice.id}'s contribution “Woo guide” by a manager, grade 2",
        ],
        "nl-NL": [
            f"het veld cijfer van registratie {index} is gewijzigd nadat ze is vastgelegd: "
            "het controlepunt van het grootboek bevat 4, de bundel toont 2",
            f"de bijdrage “Woo guide” van {alice.id} door een leidinggevende, cijfer 2",
        ],
    }
    for locale, sentences in said.items():
        context = new_context(chromium, locale)
        page = context.new_page()
        try:
            _verify_on_the_auditor_page(page, site.live, tampered)
            verdict = page.locator("#bundle-verdict")
            for sentence in sentences:
                expect(verdict).to_contain_text(sentence)
            expect(verdict.locator(".rule-code")).to_contain_text("bad_inclusion_proof")
            expect(verdict).to_have_class("verdict error")
            failed = page.locator("#bundle-entries tbody tr.failed")
            expect(failed).to_have_count(1)
            expect(failed.locator("td").first).to_have_text(str(index))
            # its statement type in words, the type itself in small print
            kind = failed.locator("td").nth(3)
            words = {"en-US": "endorsement given", "nl-NL": "onderschrijving gegeven"}
            expect(kind).to_contain_text(words[locale])
            expect(kind.locator(".rule-code")).to_have_text("EndorsementGiven")
            expect(page.locator("#bundle-facts")).to_be_hidden()
        finally:
            context.close()

    # the skills by their label in the page's language, not their slugs
    for locale, heading, skills in (
        ("en-US", "What the bundle proves", "policy advice, Python"),
        ("nl-NL", "Wat de bundel bewijst", "beleidsadvisering, Python"),
    ):
        context = new_context(chromium, locale)
        page = context.new_page()
        try:
            _verify_on_the_auditor_page(page, site.live, good)
            expect(page.locator("#bundle-verdict")).to_have_class("verdict ok")
            expect(page.locator("#bundle-facts-heading")).to_have_text(heading)
            row = page.locator("#bundle-contributions tbody tr", has_text="Woo guide")
            expect(row.locator("td").nth(1)).to_have_text(skills)
            expect(row).not_to_contain_text("policy-advice")
            if locale == "en-US":
                expect(row).to_contain_text("(manager): grade 4")
            expect(page.locator("#bundle-entries tbody tr.failed")).to_have_count(0)
        finally:
            context.close()


def test_an_import_refused_shows_next_to_the_bundle_file_in_words(
    site: Site, chromium: Browser, tmp_path: Path
) -> None:
    """The employee page imports a record from another ledger; a bundle from an origin not
    trusted here, and then one this ledger cannot bind to the person importing it
    (``identity_unproven``: only the JSON API reached it before), is refused next to the
    file, in the page's language, with the code in small print."""
    scenario = build_scenario(f"sqlite://{(tmp_path / 'a.db').resolve().as_posix()}")
    bundle = tmp_path / "alice-record.json"
    bundle.write_text(dump_bundle(export_bundle(scenario.log, "alice")), "utf-8")

    def refused(page: Page, code: str, said: str, lang: str = "en") -> None:
        page.goto(f"{site.live.url}/employee?lang={lang}#tab-export")
        page.set_input_files("#import-bundle", str(bundle))
        page.click("#import-record button[type=submit]")
        note = page.locator("#import-bundle-error")
        expect(note).to_contain_text(said)
        expect(note.locator(".rule-code")).to_contain_text(code)
        expect(page.locator("#import-bundle")).to_have_attribute("aria-invalid", "true")

    # someone registered here as "alice", whose record on the other ledger it is not
    context = new_context(chromium)
    page = context.new_page()
    create_key_and_register(site.live, page, "alice")
    refused(page, "untrusted_key", "does not trust the operator key of the ledger")
    operator = {"Authorization": f"Bearer {login(site.live, operator_member().identity)}"}
    trusted = site.live.client.post(
        "/trusted-origins", json={"verifier_key": str(scenario.key)}, headers=operator
    )
    assert trusted.status_code == 201, trusted.text
    try:
        refused(page, "identity_unproven", "cannot tell that this record is yours: link it")
        refused(page, "identity_unproven", "kan niet nagaan dat dit dossier van jou is", "nl")
    finally:
        context.close()
        untrusted = site.live.client.delete(
            f"/trusted-origins/{scenario.key.name}", headers=operator
        )
        assert untrusted.status_code == 204


def test_a_failed_full_audit_is_said_in_words_with_its_code(
    chromium: Browser, tmp_path: Path
) -> None:
    """The full audit's verdict says what it found in the page's language, not a bare code:
    the code stays in small print, the audit's own message behind a detail."""
    url = f"sqlite://{(tmp_path / 'cut.db').resolve().as_posix()}"
    with live_server(url, UNLIMITED, operator=operator_member().identity) as live:
        make_cast(live, "cut")
        rows = SqliteRows(url)
        try:  # the newest personal texts cut off in the database: removed, not erased
            row = [r for r in rows.rows() if sealed_owner(r.state.partition(b"\n")[2])][-1]
            rows.set_state(row.position, row.state.partition(b"\n")[0] + b"\n")
        finally:
            rows.close()
        for locale, said in (
            ("en-US", "its personal texts were removed from the store without an erasure."),
            ("nl-NL", "haar persoonlijke teksten zijn zonder wissing uit de opslag verwijderd."),
        ):
            context = new_context(chromium, locale)
            page = context.new_page()
            try:
                page.goto(live.url + "/auditor")
                page.click("#run-audit")
                result = page.locator("#audit-result")
                expect(result).to_have_class("verdict error")
                expect(result).to_contain_text(said)
                expect(result).to_contain_text(
                    "Audit FAILED at entry"
                    if locale == "en-US"
                    else "Audit MISLUKT bij registratie"
                )
                expect(result.locator(".rule-code")).to_contain_text("content_missing")
                detail = page.locator("#audit-detail")
                expect(detail).to_be_visible()
                detail.locator("summary").click()
                expect(page.locator("#audit-message")).not_to_be_empty()
            finally:
                context.close()
