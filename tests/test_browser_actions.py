"""Every statement a role can make in the CLI has a page action, and its state stays
visible afterwards (issue 17): an employee states an ambition, withdraws a claim and
applies (the Apply button gives way to the application's status); a manager revokes an
endorsement he gave, cancels an assignment and reads the applicants of his own
assignment with their motivations, which nobody else may read over HTTP.

One server, one browser, one journey: each step signed in the page with WebCrypto.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.factories import DEPT
from tests.support.api_server import UNLIMITED, Live, ensure_genesis, live_server, operator_member
from tests.support.browser import TIMEOUT_MS, create_key_and_register, new_context, script_problems

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("actions") / "ledger.db"
    operator = operator_member().identity
    with live_server(f"sqlite://{path.resolve().as_posix()}", UNLIMITED, operator=operator) as live:
        ensure_genesis(live)
        yield live


def _claim(page: Page, title: str, skill: str) -> None:
    page.click("#tab-claim")
    page.fill("#title", title)
    page.fill("#skills", skill)
    page.fill("#start", "2026-09-01")
    with page.expect_navigation():  # the page reloads once the statement is accepted
        page.click("#claim-form button[type=submit]")
    expect(page.locator("#claim-heading + .success")).to_contain_text("Claimed: entry")


def _open(page: Page, url: str, tab: str) -> None:
    """Load ``url`` afresh (a goto to the same page with another #fragment would not
    reload it) and open one of its tabs."""
    page.goto(url)
    page.click(f"#tab-{tab}")


def _post(page: Page, title: str) -> str:
    page.click("#tab-post")
    page.fill("#a-title", title)
    page.fill("#a-skills", "data-analysis")
    page.fill("#a-hours", "8")
    with page.expect_navigation():
        page.click("#post-form button[type=submit]")
    expect(page.locator("#post-heading + .success")).to_contain_text("Posted (entry")
    page.click("#tab-mine")
    article = page.locator("article.assignment", has_text=title)
    return str(article.get_attribute("id")).removeprefix("assignment-")


def test_every_action_in_the_pages_and_its_state_afterwards(
    server: Live, chromium: Browser
) -> None:
    live = server
    eva_ctx, max_ctx, nobody_ctx = (new_context(chromium) for _ in range(3))
    try:
        eva = eva_ctx.new_page()
        problems = script_problems(eva)
        create_key_and_register(live, eva, "eva")
        # Her dossier public (so a manager may read what he grades), her free part public
        # (opted in to matching).
        for part in ("dossier", "free"):
            eva.select_option(f"#vis-{part}", "public")
            with eva.expect_navigation():
                eva.click(f"form.visibility[data-part={part}] button")

        # -- a claim withdrawn: gone from her portfolio, the other stays --------------------
        _claim(eva, "Fraud-risk dashboard", "data-analysis")
        _claim(eva, "Claimed by mistake", "python")
        eva.click("#tab-portfolio")
        mistake = eva.locator("#part-dossier tr.contribution", has_text="Claimed by mistake")
        mistake.locator("input[name=reason]").fill("Not my work")
        mistake.locator("form.withdraw button").click()
        expect(eva.locator("#portfolio-heading + .success")).to_contain_text(
            "Withdrawn: “Claimed by mistake”"
        )
        expect(eva.locator("#part-dossier tr.contribution", has_text="mistake")).to_have_count(0)
        expect(eva.locator("#part-dossier tr.contribution", has_text="Fraud-risk")).to_have_count(1)

        # -- a manager endorses, then revokes his endorsement -----------------------------
        max_ = max_ctx.new_page()
        create_key_and_register(live, max_, "max", manager_of=DEPT)
        # She asks him to review it (an endorsement answers a request) ...
        _open(eva, live.url + "/employee", "reviews")
        eva.select_option("#review-contribution", label="Fraud-risk dashboard")
        eva.fill("#review-manager", "max")
        with eva.expect_navigation():
            eva.click("#review-form button[type=submit]")
        # ... and he answers it from the requests addressed to him.
        _open(max_, live.url + "/manager", "requests")
        request = max_.locator("li.review-request", has_text="Fraud-risk dashboard")
        request.locator("select[name=grade]").select_option("5")
        with max_.expect_navigation():
            request.locator("form.answer-review button").click()
        max_.click("#tab-given")
        given = max_.locator("tr.given-endorsement[data-person=eva]")
        expect(given.locator(".endorsement-status")).to_have_text("active")
        given.locator("input[name=reason]").fill("Graded the wrong work")
        given.locator("form.revoke-endorsement button").click()
        expect(max_.locator("#given-heading + .success")).to_contain_text("Endorsement revoked")
        expect(given.locator(".endorsement-status")).to_have_text("revoked")
        expect(given.locator("form.revoke-endorsement")).to_have_count(0)
        _open(eva, live.url + "/employee", "portfolio")
        expect(eva.locator("#part-analytical li.endorsement")).to_have_count(0)

        # -- the owner cancels an assignment: it shows as cancelled, with no actions -------
        _post(max_, "Archive migration")
        doomed = max_.locator("article.assignment", has_text="Archive migration")
        doomed.locator("input[name=reason]").fill("Budget withdrawn")
        doomed.locator("form.cancel button").click()
        expect(max_.locator("#mine-heading + .success")).to_contain_text("Cancelled (entry")
        expect(doomed.locator("h3")).to_contain_text("cancelled")
        expect(doomed.locator("form")).to_have_count(0)

        # -- eva applies: the Apply button gives way to the application's status ----------
        sprint = _post(max_, "Data quality sprint")
        _open(eva, live.url + "/employee", "fit")
        offer = eva.locator("#fit-heading ~ ul li", has_text="Data quality sprint")
        offer.locator("input[name=motivation]").fill("I built the fraud-risk dashboard.")
        offer.locator("form.apply button").click()
        expect(eva.locator("#fit-heading + .success")).to_contain_text("Applied (entry")
        expect(offer.locator("form.apply")).to_have_count(0)
        expect(offer.locator(".applied-note")).to_be_visible()
        mine = eva.locator(f"tr.my-application[data-assignment='{sprint}']")
        expect(mine.locator(".application-status")).to_have_text("applied, waiting")
        expect(eva.locator("#fit-heading ~ ul li", has_text="Archive migration")).to_have_count(0)

        # -- the owner reads the applicants with their motivations, and assigns one -------
        _open(max_, live.url + "/manager", "mine")
        applicant = max_.locator(f"#assignment-{sprint} li.applicant[data-person=eva]")
        expect(applicant.locator(".motivation")).to_have_text("I built the fraud-risk dashboard.")
        expect(applicant).to_contain_text("applied, waiting")
        applicant.locator("form.assign button").click()
        expect(max_.locator("#mine-heading + .success")).to_contain_text("Assigned (entry")
        expect(applicant).to_contain_text("assigned")
        _open(eva, live.url + "/employee", "fit")
        expect(mine.locator(".application-status")).to_have_text("assigned")

        # -- an ambition: stated, then listed on its tab and in her portfolio -------------
        _open(eva, live.url + "/employee", "ambitions")
        eva.fill("#goal", "Lead a data team by 2028")
        eva.fill("#ambition-skills", "python")
        eva.fill("#courses", "Leergang datagedreven werken")
        eva.click("#ambition-form button[type=submit]")
        expect(eva.locator("#ambitions-heading + .success")).to_contain_text("Ambition stated")
        ambition = eva.locator("#my-ambitions li.ambition")
        expect(ambition).to_contain_text("Lead a data team by 2028")
        expect(ambition).to_contain_text("Leergang datagedreven werken")
        eva.click("#tab-portfolio")
        expect(eva.locator("#part-ambitions")).to_contain_text("Lead a data team by 2028")

        # -- over HTTP: the owner reads the applicants; nobody else does -------------------
        url = f"{live.url}/assignments/{sprint}/applicants"
        owner = max_.request.get(url)
        assert owner.status == 200, owner.text()
        [read] = owner.json()
        assert (read["person"], read["motivation"], read["status"]) == (
            "eva",
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
