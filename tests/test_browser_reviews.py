"""The 360° review in Chromium, in Dutch (issue 17): an employee asks a colleague (peer),
a client from another department and her manager, in one signed request, to review a
contribution of her dossier, which none of them may read otherwise (it is on request). Each
reviewer signs in with a key of their own browser, finds the request in their inbox (the
colleague on a phone, 390 px wide), reads the contribution's text, picks a grade (none is
preselected) and endorses. The client also reads it in her portfolio, where nothing else of
the dossier shows. A fourth person, a colleague the request was not addressed to, is offered
nothing, and an answer forced into her page is refused in words she can read, with the rule
code in small print. The employee then sees the three grades.

One server, one page load per step; screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect

from tests.factories import DEPT, OTHER_DEPT
from tests.support.api_server import Live
from tests.support.browser import (
    TIMEOUT_MS,
    create_key_and_register,
    horizontal_overflow,
    new_context,
    open_tab,
    script_problems,
    shot,
)

pytestmark = pytest.mark.browser
expect.set_options(timeout=TIMEOUT_MS)

DUTCH = "nl-NL"
TITLE = "Dashboard fraudesignalen"
DESCRIPTION = "Samen met het team toeslagen gebouwd; wekelijks bijgewerkt."
#: who is asked, the role they are asked in (as the Dutch pages name it), the grade they give
REVIEWERS = {
    "piet": ("peer", "collega", "4"),
    "carla": ("client", "opdrachtgever", "5"),
    "max": ("manager", "leidinggevende", "3"),
}
PHONE = "piet"  # the reviewer who answers on a 390 px wide phone


def _answer(page: Page, person: str) -> str:
    """As ``person``: find eva's request in the inbox, read what it asks about, grade it
    and endorse; return the request's id."""
    role, role_nl, grade = REVIEWERS[person]
    request = page.locator("li.review-request", has_text=TITLE)
    expect(request).to_contain_text(DESCRIPTION)  # the text they grade: no blind grading
    expect(request).to_contain_text(f"eva vraagt je als {role_nl}")
    expect(request.locator("form.answer-review")).to_have_attribute("data-role", role)
    grade_field = request.locator("select[name=grade]")
    expect(grade_field).to_have_value("")  # nothing preselected
    expect(grade_field.locator("option:checked")).to_have_text("Kies een cijfer")
    request_id = str(request.get_attribute("data-request"))
    grade_field.select_option(grade)
    request.locator("input[name=comment]").fill(f"Beoordeeld als {role_nl}.")
    with page.expect_navigation():  # the page reloads once the endorsement is accepted
        request.locator("button", has_text="Onderschrijven").click()
    expect(page.locator(".success")).to_contain_text("Onderschreven (registratie")
    expect(page.get_by_text("Onderschreven (registratie")).to_have_count(1)  # said once
    answered = page.locator("li.review-request", has_text=TITLE)
    expect(answered.locator(".answered")).to_have_text("Je hebt dit verzoek beantwoord.")
    expect(answered.locator("form.answer-review")).to_have_count(0)
    return request_id


def _forged_answer(request_id: str, contribution: str) -> str:
    """The answer form of eva's request as the page shows it to a peer it names, to be put
    into the page of someone it does not name (a forged or copied page)."""
    return (
        '<ul class="review-requests"><li class="review-request">'
        f'<form class="answer-review inline" data-owner="eva" data-contribution="{contribution}"'
        f' data-request="{request_id}" data-role="peer">'
        '<label>Cijfer <select name="grade" required><option value="" selected disabled>'
        'Kies een cijfer</option><option value="5">5</option></select></label>'
        '<label>Opmerking <input type="text" name="comment"></label>'
        '<button type="submit">Onderschrijven</button></form></li></ul>'
    )


def test_a_360_review_asked_and_answered_in_the_pages(
    operated_server: Live, chromium: Browser
) -> None:
    live = operated_server
    people = ("eva", "piet", "carla", "max", "olga")
    contexts = {p: new_context(chromium, DUTCH, width=390 if p == PHONE else None) for p in people}
    try:
        pages = {p: contexts[p].new_page() for p in people}
        # a refused submission is a failed request in the console: expected for olga only
        refused = re.compile(r"status of 422")

        def olga_refused(message: ConsoleMessage) -> bool:
            return bool(refused.search(message.text))

        problems = {
            p: script_problems(page, olga_refused if p == "olga" else lambda m: False)
            for p, page in pages.items()
        }
        eva = pages["eva"]
        create_key_and_register(live, eva, "eva")
        create_key_and_register(live, pages["piet"], "piet")
        create_key_and_register(live, pages["carla"], "carla", department=OTHER_DEPT)
        create_key_and_register(live, pages["max"], "max", manager_of=DEPT)
        create_key_and_register(live, pages["olga"], "olga")

        # -- eva claims into her dossier (on request: nobody reads it unasked) -------------
        expect(eva.locator("html")).to_have_attribute("lang", "nl")
        expect(eva.locator("#vis-dossier")).to_have_value("on_request")
        eva.click("#tab-claim")
        eva.fill("#title", TITLE)
        eva.fill("#description", DESCRIPTION)
        eva.fill("#skills", "data-analyse")  # the skill's Dutch label
        eva.fill("#start", "2026-09-01")
        with eva.expect_navigation():
            eva.click("#claim-form button[type=submit]")
        expect(eva.locator("#claim-heading + .success")).to_contain_text("Vastgelegd: registratie")

        # -- ... and asks a colleague, a client and her manager in one request -------------
        eva.click("#tab-reviews")
        eva.select_option("#review-contribution", label=TITLE)
        eva.fill("#review-peer", "piet")
        eva.fill("#review-client", "carla")
        eva.fill("#review-manager", "max")
        eva.fill("#review-message", "Graag jullie oordeel over het dashboard.")
        with eva.expect_navigation():
            eva.click("#review-form button[type=submit]")
        expect(eva.locator(".success")).to_contain_text("Om een beoordeling gevraagd")
        shot(eva, "360-01-employee-asked")
        contribution = str(
            eva.locator("#review-contribution option", has_text=TITLE).get_attribute("value")
        )

        # -- the colleague answers on his phone, from the Reviews tab ------------------------
        piet = pages["piet"]
        open_tab(piet, live.url + "/employee", "reviews")
        expect(piet.locator("li.review-request")).to_have_count(1)
        request_id = _answer(piet, "piet")
        assert horizontal_overflow(piet) == 0, "the colleague's page scrolls sideways at 390 px"
        shot(piet, "360-02-peer-answered-390px")

        # -- the client, from another department, reads it in eva's portfolio too ----------
        carla = pages["carla"]
        carla.goto(live.url + "/portfolio/eva")
        asked = carla.locator("#asked-to-review")
        expect(asked.locator("h3")).to_have_text("Gevraagd om te beoordelen")
        expect(asked.locator("tr.asked-contribution")).to_contain_text(TITLE)
        expect(asked.locator("tr.asked-contribution")).to_contain_text(DESCRIPTION)
        expect(carla.locator("#part-dossier")).to_contain_text("Niet zichtbaar voor jou")
        expect(carla.locator("#part-dossier tr.contribution")).to_have_count(0)
        open_tab(carla, live.url + "/employee", "reviews")
        assert _answer(carla, "carla") == request_id
        shot(carla, "360-03-client-answered")

        # -- the manager, from the requests addressed to him --------------------------------
        max_ = pages["max"]
        open_tab(max_, live.url + "/manager", "requests")
        assert _answer(max_, "max") == request_id
        shot(max_, "360-04-manager-answered")

        # -- olga, a colleague the request does not name, is offered nothing ----------------
        olga = pages["olga"]
        open_tab(olga, live.url + "/employee", "reviews")
        expect(olga.locator("li.review-request")).to_have_count(0)
        expect(olga.locator("#reviews-heading ~ p.muted").first).to_have_text(
            "Niemand heeft je om een beoordeling gevraagd."
        )
        olga.goto(live.url + "/portfolio/eva")
        expect(olga.locator("#asked-to-review")).to_have_count(0)
        expect(olga.locator("main")).not_to_contain_text(TITLE)

        # ... and an answer forced into her page (the peer's form, copied) is refused.
        def forge(route: Route) -> None:
            page = route.fetch()
            html = page.text().replace(
                '<p class="muted">Niemand heeft je om een beoordeling gevraagd.</p>',
                _forged_answer(request_id, contribution),
                1,
            )
            route.fulfill(response=page, body=html)

        olga.route(re.compile(r"/employee$"), forge)
        open_tab(olga, live.url + "/employee", "reviews")
        forced = olga.locator("form.answer-review")
        forced.locator("select[name=grade]").select_option("5")
        forced.locator("button").click()
        error = forced.locator(".form-error")
        expect(error).to_contain_text("Dit beoordelingsverzoek was niet aan jou gericht.")
        expect(error.locator(".rule-code")).to_have_text("code: not_addressed")
        expect(error).to_be_focused()
        shot(olga, "360-05-not-addressed-refused")
        olga.unroute(re.compile(r"/employee$"))

        # -- eva sees the three grades, each in the role she asked for ----------------------
        open_tab(eva, live.url + "/employee", "portfolio")
        endorsements = eva.locator("#part-analytical li.endorsement")
        expect(endorsements).to_have_count(3)
        for person, (_, role_nl, grade) in REVIEWERS.items():
            mine = endorsements.filter(has_text=f"{person} ({role_nl})")
            expect(mine).to_contain_text(f"{grade}/5")
            expect(mine).to_contain_text(f"Beoordeeld als {role_nl}.")
        shot(eva, "360-06-employee-three-grades")
        assert {p: found for p, found in problems.items() if found} == {}
    finally:
        for context in contexts.values():
            context.close()
