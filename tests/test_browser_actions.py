"""Every statement a role can make in the CLI has a page action, and its state stays
visible afterwards (issue 17): an employee states an ambition, withdraws a claim and
applies (the Apply button gives way to the application's status); a manager revokes an
endorsement he gave, cancels an assignment and reads the applicants of his own
assignment with their motivations, which nobody else may read over HTTP.

One server, one browser, one journey per language (English, and Dutch: the pages'
default, its texts checked as a Dutch user reads them): each step signed in the page with
WebCrypto.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.factories import DEPT
from tests.support.api_server import Live
from tests.support.browser import (
    TIMEOUT_MS,
    create_key_and_register,
    new_context,
    open_tab,
    script_problems,
)

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT_MS)


@dataclass(frozen=True)
class Texts:
    """What the pages say after each action, in one language (the start of each text)."""

    locale: str
    claimed: str
    withdrawn: str
    revoked_endorsement: str
    cancelled: str
    posted: str
    applied: str
    assigned: str
    ambition: str
    courses: str
    active: str
    revoked: str
    cancelled_status: str
    waiting: str
    assigned_status: str
    ambition_stays: str


ENGLISH = Texts(
    "en-US", "Claimed: entry", "Withdrawn: “Claimed by mistake”", "Endorsement revoked",
    "Cancelled (entry", "Posted (entry", "Applied (entry", "Assigned (entry", "Ambition stated",
    "Courses:", "active", "revoked", "cancelled", "applied, waiting", "assigned",
    "An ambition stays on your record once signed: the ledger has no statement that withdraws",
)  # fmt: skip
DUTCH = Texts(
    "nl-NL", "Vastgelegd: registratie", "Ingetrokken: “Claimed by mistake”",
    "Onderschrijving ingetrokken", "Geannuleerd (registratie", "Geplaatst (registratie",
    "Gesolliciteerd (registratie", "Toegewezen (registratie", "Ambitie vastgelegd",
    "Cursussen:", "actief", "ingetrokken", "geannuleerd", "gesolliciteerd, wacht op antwoord",
    "toegewezen",
    "Een ambitie blijft na ondertekening in je dossier staan: het grootboek kent geen verklaring",
)  # fmt: skip


def _claim(page: Page, title: str, skill: str, said: str) -> None:
    page.click("#tab-claim")
    page.fill("#title", title)
    page.fill("#skills", skill)
    page.fill("#start", "2026-09-01")
    with page.expect_navigation():  # the page reloads once the statement is accepted
        page.click("#claim-form button[type=submit]")
    expect(page.locator("#claim-heading + .success")).to_contain_text(said)


def _post(page: Page, title: str, said: str) -> str:
    page.click("#tab-post")
    page.fill("#a-title", title)
    page.fill("#a-skills", "data-analysis")
    page.fill("#a-hours", "8")
    with page.expect_navigation():
        page.click("#post-form button[type=submit]")
    expect(page.locator("#post-heading + .success")).to_contain_text(said)
    page.click("#tab-mine")
    article = page.locator("article.assignment", has_text=title)
    return str(article.get_attribute("id")).removeprefix("assignment-")


@pytest.mark.parametrize("say", [ENGLISH, DUTCH], ids=["en", "nl"])
def test_every_action_in_the_pages_and_its_state_afterwards(
    operated_server: Live, chromium: Browser, say: Texts
) -> None:
    live, lang = operated_server, say.locale[:2]
    # one ledger for both languages: people and assignments of their own in each run
    me, him = f"eva-{lang}", f"max-{lang}"
    sprint_title, archive_title = f"Data quality sprint {lang}", f"Archive migration {lang}"
    eva_ctx, max_ctx, nobody_ctx = (new_context(chromium, say.locale) for _ in range(3))
    try:
        eva = eva_ctx.new_page()
        problems = script_problems(eva)
        create_key_and_register(live, eva, me)
        expect(eva.locator("html")).to_have_attribute("lang", lang)
        # Her dossier public (so a manager may read what he grades), her free part public
        # (opted in to matching).
        for part in ("dossier", "free"):
            eva.select_option(f"#vis-{part}", "public")
            with eva.expect_navigation():
                eva.click(f"form.visibility[data-part={part}] button")

        # -- a claim withdrawn: gone from her portfolio, the other stays --------------------
        _claim(eva, "Fraud-risk dashboard", "data-analysis", say.claimed)
        _claim(eva, "Claimed by mistake", "python", say.claimed)
        eva.click("#tab-portfolio")
        mistake = eva.locator("#part-dossier tr.contribution", has_text="Claimed by mistake")
        mistake.locator("input[name=reason]").fill("Not my work")
        mistake.locator("form.withdraw button").click()
        expect(eva.locator("#portfolio-heading + .success")).to_contain_text(say.withdrawn)
        expect(eva.locator("#part-dossier tr.contribution", has_text="mistake")).to_have_count(0)
        expect(eva.locator("#part-dossier tr.contribution", has_text="Fraud-risk")).to_have_count(1)

        # -- a manager endorses, then revokes his endorsement -----------------------------
        max_ = max_ctx.new_page()
        create_key_and_register(live, max_, him, manager_of=DEPT)
        # She asks him to review it (an endorsement answers a request) ...
        open_tab(eva, live.url + "/employee", "reviews")
        eva.select_option("#review-contribution", label="Fraud-risk dashboard")
        eva.fill("#review-manager", him)
        with eva.expect_navigation():
            eva.click("#review-form button[type=submit]")
        # ... and he answers it from the requests addressed to him.
        open_tab(max_, live.url + "/manager", "requests")
        request = max_.locator("li.review-request", has_text="Fraud-risk dashboard")
        request.locator("select[name=grade]").select_option("5")
        with max_.expect_navigation():
            request.locator("form.answer-review button").click()
        max_.click("#tab-given")
        given = max_.locator(f"tr.given-endorsement[data-person={me}]")
        expect(given.locator(".endorsement-status")).to_have_text(say.active)
        given.locator("input[name=reason]").fill("Graded the wrong work")
        given.locator("form.revoke-endorsement button").click()
        expect(max_.locator("#given-heading + .success")).to_contain_text(say.revoked_endorsement)
        expect(given.locator(".endorsement-status")).to_have_text(say.revoked)
        expect(given.locator("form.revoke-endorsement")).to_have_count(0)
        open_tab(eva, live.url + "/employee", "portfolio")
        expect(eva.locator("#part-analytical li.endorsement")).to_have_count(0)

        # -- the owner cancels an assignment: it shows as cancelled, with no actions -------
        _post(max_, archive_title, say.posted)
        doomed = max_.locator("article.assignment", has_text=archive_title)
        doomed.locator("input[name=reason]").fill("Budget withdrawn")
        doomed.locator("form.cancel button").click()
        expect(max_.locator("#mine-heading + .success")).to_contain_text(say.cancelled)
        expect(doomed.locator("h3")).to_contain_text(say.cancelled_status)
        expect(doomed.locator("form")).to_have_count(0)

        # -- eva applies: the Apply button gives way to the application's status ----------
        sprint = _post(max_, sprint_title, say.posted)
        open_tab(eva, live.url + "/employee", "fit")
        offer = eva.locator("#fit-heading ~ ul li", has_text=sprint_title)
        offer.locator("input[name=motivation]").fill("I built the fraud-risk dashboard.")
        offer.locator("form.apply button").click()
        expect(eva.locator("#fit-heading + .success")).to_contain_text(say.applied)
        expect(offer.locator("form.apply")).to_have_count(0)
        expect(offer.locator(".applied-note")).to_be_visible()
        mine = eva.locator(f"tr.my-application[data-assignment='{sprint}']")
        expect(mine.locator(".application-status")).to_have_text(say.waiting)
        expect(eva.locator("#fit-heading ~ ul li", has_text=archive_title)).to_have_count(0)

        # -- the owner reads the applicants with their motivations, and assigns one -------
        open_tab(max_, live.url + "/manager", "mine")
        applicant = max_.locator(f"#assignment-{sprint} li.applicant[data-person={me}]")
        expect(applicant.locator(".motivation")).to_have_text("I built the fraud-risk dashboard.")
        expect(applicant).to_contain_text(say.waiting)
        applicant.locator("form.assign button").click()
        expect(max_.locator("#mine-heading + .success")).to_contain_text(say.assigned)
        expect(applicant).to_contain_text(say.assigned_status)
        open_tab(eva, live.url + "/employee", "fit")
        expect(mine.locator(".application-status")).to_have_text(say.assigned_status)

        # -- an ambition: stated, then listed on its tab and in her portfolio -------------
        open_tab(eva, live.url + "/employee", "ambitions")
        eva.fill("#goal", "Lead a data team by 2028")
        eva.fill("#ambition-skills", "python")
        eva.fill("#courses", "Leergang datagedreven werken")
        eva.click("#ambition-form button[type=submit]")
        expect(eva.locator("#ambitions-heading + .success")).to_contain_text(say.ambition)
        ambition = eva.locator("#my-ambitions li.ambition")
        expect(ambition).to_contain_text("Lead a data team by 2028")
        expect(ambition).to_contain_text(f"{say.courses} Leergang datagedreven werken")
        # there is no statement that withdraws an ambition (DESIGN.md §5): the tab says so
        # and leads to the part's visibility instead
        stays = eva.locator("#ambition-stays")
        expect(stays).to_contain_text(say.ambition_stays)
        stays.locator("a").click()
        expect(eva.locator("#vis-ambitions")).to_be_visible()
        eva.click("#tab-portfolio")
        expect(eva.locator("#part-ambitions")).to_contain_text("Lead a data team by 2028")

        # -- over HTTP: the owner reads the applicants; nobody else does -------------------
        url = f"{live.url}/assignments/{sprint}/applicants"
        owner = max_.request.get(url)
        assert owner.status == 200, owner.text()
        [read] = owner.json()
        assert (read["person"], read["motivation"], read["status"]) == (
            me,
            "I built the fraud-risk dashboard.",
            "assigned",
        )
        other = eva.request.get(url)
        assert other.status == 403
        assert other.headers["content-type"].startswith("application/problem+json")
        assert other.json()["code"] == "not_owner"
        anonymous = nobody_ctx.request.get(url)
        assert anonymous.status == 401
        missing = max_.request.get(
            f"{live.url}/assignments/{'0' * 8}-0000-4000-8000-{'0' * 12}/applicants"
        )
        assert missing.status == 404
        assert missing.json()["code"] == "not_found"
        assert problems == []
    finally:
        for context in (eva_ctx, max_ctx, nobody_ctx):
            context.close()
