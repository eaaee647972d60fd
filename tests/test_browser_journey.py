"""One journey per role in real Chromium, every statement signed in the browser.

An employee creates a key in her browser, is registered by the operator (the test plays
the admin at the command line), logs in, opts in to matching and claims a contribution
with an evidence file hashed in the browser. A manager, with a key of his own browser, asks
to read her dossier and free part (both on request); she grants both on her page, and he
follows the grant from "My access" to read her dossier. He endorses her work with a grade
and comment, posts an assignment, assigns the employee from the ranked candidates and
confirms completion. She revokes his access to her dossier on her page (a stale tab trying
again shows the refusal), and he can no longer read it. The employee sees the grade and
downloads her record; an auditor uploads it and sees every entry verified, then runs a
full audit.
Screenshots of every step go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from ledger.bundle import verify_bundle
from ledger.canonical import b64decode
from ledger.checkpoint import NoteVerifier
from tests.factories import DEPT
from tests.support.api_server import Live
from tests.support.browser import (
    ARTIFACTS,
    TIMEOUT_MS,
    create_key_and_register,
    new_context,
    shot,
)

pytestmark = pytest.mark.browser

expect.set_options(timeout=TIMEOUT_MS)


def test_employee_manager_auditor_journey(
    operated_server: Live, chromium: Browser, tmp_path: Path
) -> None:
    live = operated_server
    employee_ctx, manager_ctx, auditor_ctx = (new_context(chromium) for _ in range(3))
    try:
        # -- employee: key, login, opt in to matching, claim with evidence ------------------
        eva = employee_ctx.new_page()
        create_key_and_register(live, eva, "eva")
        shot(eva, "01-employee-logged-in")
        eva.select_option("#vis-free", "on_request")
        with eva.expect_navigation():  # the page reloads once the statement is accepted
            eva.click("form.visibility[data-part=free] button")
        expect(eva.locator("#vis-free")).to_have_value("on_request")

        evidence = tmp_path / "dashboard-report.pdf"
        evidence.write_bytes(b"%PDF-1.4 final report of the fraud-risk dashboard\n")
        eva.click("#tab-claim")  # the employee page is split into tabs
        eva.fill("#title", "Fraud-risk dashboard — Zoë’s analyse")
        eva.fill("#description", "Built with the benefits team; 日本語 notes included.")
        eva.fill("#skills", "data-analysis, python")
        eva.fill("#start", "2026-09-01")
        eva.set_input_files("#evidence", str(evidence))
        digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
        expect(eva.locator("#evidence-digest")).to_have_text(f"SHA-256 {digest}")
        eva.click("#claim-form button[type=submit]")
        row = eva.locator("#part-dossier tr.contribution")
        expect(row).to_contain_text("Fraud-risk dashboard — Zoë’s analyse")
        expect(row).to_contain_text(digest[:16])
        shot(eva, "02-employee-claimed")

        # -- manager: endorse, post, assign from ranked candidates, complete ----------------
        max_ = manager_ctx.new_page()
        create_key_and_register(live, max_, "max", manager_of=DEPT)
        # Her dossier and free part are on request: max asks, eva grants (managing her
        # department gives no access of its own).
        max_.click("#tab-ask")
        for part in ("dossier", "free"):
            max_.fill("#ask-owner", "eva")
            max_.select_option("#ask-part", part)
            max_.fill("#ask-message", f"To review and staff: your {part} part.")
            max_.click("#access-form button[type=submit]")
            expect(max_.locator("#status")).to_contain_text(f"Asked eva for their {part} part")
        expect(max_.locator("tr.my-request .answer", has_text="waiting")).to_have_count(2)
        eva.reload()
        eva.click("#tab-access")
        expect(eva.locator("tr.access-request")).to_have_count(2)
        shot(eva, "03a-employee-access-requests")
        for part in ("dossier", "free"):
            asked = eva.locator("tr.access-request", has_text=f"your {part} part")
            with eva.expect_navigation():
                asked.locator("form.grant-access button").click()
        expect(eva.locator("tr.access-request")).to_have_count(0)
        expect(eva.locator("tr.access-grant.active")).to_have_count(2)
        expect(eva.locator("tr.access-answered", has_text="granted")).to_have_count(2)

        # He sees the grants under "My access" and follows one to read her dossier.
        max_.reload()
        max_.click("#tab-my-access")
        held = max_.locator("tr.held-grant[data-part=dossier]")
        expect(held.locator(".grant-status")).to_contain_text("active")
        expect(max_.locator("tr.my-request .answer", has_text="granted")).to_have_count(2)
        shot(max_, "03b-manager-my-access")
        with max_.expect_navigation():
            held.locator("a.read-portfolio").click()
        expect(max_.locator("#part-dossier tr.contribution")).to_contain_text(
            "Fraud-risk dashboard"
        )
        shot(max_, "03c-manager-reads-dossier")
        # Asking again while holding a grant is refused; the page shows the problem.
        max_.goto(live.url + "/manager#tab-ask")
        max_.fill("#ask-owner", "eva")
        max_.select_option("#ask-part", "dossier")
        max_.click("#access-form button[type=submit]")
        # ... in his words, next to the form, with the rule code in small print
        refused = max_.locator("#access-form .form-error")
        expect(refused).to_contain_text("Access to this part has already been given.")
        expect(refused.locator(".rule-code")).to_have_text("code: already_granted")
        expect(refused).to_be_focused()
        # Nothing waits for him until eva asks him to review her work (360° on request).
        max_.goto(live.url + "/manager#tab-requests")
        expect(max_.locator("li.review-request")).to_have_count(0)
        eva.goto(live.url + "/employee#tab-reviews")
        eva.fill("#review-manager", "max")
        eva.fill("#review-message", "Graag je oordeel over het dashboard.")
        with eva.expect_navigation():
            eva.click("#review-form button[type=submit]")
        max_.reload()  # the same address: a goto would only move to the fragment
        request = max_.locator("li.review-request", has_text="Fraud-risk dashboard")
        expect(request).to_be_visible()
        expect(request).to_contain_text("Built with the benefits team")  # the text he grades
        expect(request.locator("select[name=grade]")).to_have_value("")  # nothing chosen
        shot(max_, "03-manager-requests")
        request.locator("select[name=grade]").select_option("5")
        request.locator("input[name=comment]").fill("Uitstekend: clear, reproducible, on time.")
        with max_.expect_navigation():
            request.locator("button").click()
        expect(max_.locator("li.review-request .answered")).to_have_count(1)

        max_.click("#tab-post")
        max_.fill("#a-title", "Data quality sprint")
        max_.fill("#a-skills", "data-analysis")
        max_.fill("#a-hours", "8")
        max_.click("#post-form button[type=submit]")
        # said after the reload, in the section it was done in (the tab stays open)
        expect(max_.locator("#post-heading + .success")).to_contain_text("Posted (entry")
        max_.click("#tab-mine")
        candidate = max_.locator("li.candidate", has_text="eva")
        # the reason names the skill by its label in the page's language (ledger/skills.py)
        expect(candidate).to_contain_text("data analysis")
        shot(max_, "04-manager-candidates")
        candidate.locator("button").click()
        completion = max_.locator("form.complete[data-person=eva]")
        expect(completion).to_be_visible()
        completion.locator("select[name=grade]").select_option("4")
        completion.locator("input[name=note]").fill("Delivered early.")
        completion.locator("button").click()
        expect(max_.locator("article.assignment", has_text="Data quality sprint")).to_contain_text(
            "completed"
        )
        shot(max_, "05-manager-completed")

        # -- employee revokes his access to her dossier; he no longer reads it ---------------
        stale = employee_ctx.new_page()  # a second tab, left open from before the revocation
        stale.goto(live.url + "/employee#tab-access")
        eva.goto(live.url + "/employee#tab-access")
        given = eva.locator("tr.access-grant[data-part=dossier]")
        given.locator("input[name=reason]").fill("The review is done.")
        with eva.expect_navigation():
            given.locator("form.revoke-access button").click()
        expect(given.locator(".grant-status")).to_have_text("revoked")
        expect(given.locator("form.revoke-access")).to_have_count(0)
        expect(eva.locator("tr.access-grant.active[data-part=free]")).to_have_count(1)
        shot(eva, "05b-employee-revoked")
        stale.locator("tr.access-grant[data-part=dossier] form.revoke-access button").click()
        refused = stale.locator("tr.access-grant[data-part=dossier] .form-error")
        expect(refused).to_contain_text("This has already been revoked.")
        expect(refused.locator(".rule-code")).to_have_text("code: already_revoked")
        stale.close()

        max_.goto(live.url + "/manager")
        held = max_.locator("tr.held-grant[data-part=dossier]")
        expect(held.locator(".grant-status")).to_have_text("revoked")
        expect(held.locator("a.read-portfolio")).to_have_count(0)
        shot(max_, "05c-manager-access-revoked")
        max_.goto(live.url + "/portfolio/eva")
        expect(max_.locator("#part-dossier")).to_contain_text("Not visible to you")
        expect(max_.locator("#part-dossier tr.contribution")).to_have_count(0)
        seen = max_.request.get(live.url + "/people/eva/portfolio").json()  # his session cookie
        assert "dossier" not in seen["parts"]
        assert seen["hidden"]["dossier"] == "on_request"

        # -- employee: sees the grade, downloads her record ---------------------------------
        eva.reload()
        endorsement = eva.locator("#part-analytical li.endorsement")
        expect(endorsement).to_contain_text("max (manager): grade 5/5")
        expect(endorsement).to_contain_text("Uitstekend")
        shot(eva, "06-employee-endorsed")
        eva.click("#tab-export")
        with eva.expect_download() as download_info:
            eva.click("#export")
        bundle_path = tmp_path / "eva-record.json"
        download_info.value.save_as(bundle_path)
        (ARTIFACTS / "eva-record.json").write_bytes(bundle_path.read_bytes())

        # The bundle verifies offline, pinned to the operator's key, with what the browsers signed.
        origin = live.client.get("/log").json()["origin"]
        operator_key = live.client.get("/people/operator").json()["keys"][0]["public_key"]
        pinned = NoteVerifier.for_key(origin, b64decode(operator_key, length=32))
        report = verify_bundle(bundle_path.read_text(), trusted=[pinned])
        assert report.person == "eva"
        assert [(e.endorser, e.role, e.grade) for e in report.endorsements] == [
            ("max", "manager", 5)
        ]
        assert [c.title for c in report.contributions] == ["Fraud-risk dashboard — Zoë’s analyse"]
        assert [(a.owner, a.grade) for a in report.assignments_completed] == [("max", 4)]

        # -- auditor: upload the bundle, see it verified entry by entry; full audit ------------
        audit = auditor_ctx.new_page()
        audit.goto(live.url + "/auditor")
        audit.set_input_files("#bundle", str(bundle_path))
        audit.click("#bundle-form button[type=submit]")
        expect(audit.locator("#bundle-verdict")).to_contain_text("Verified: the record of eva")
        rows = audit.locator("#bundle-entries tbody tr")
        expect(rows).to_have_count(report.entry_count)
        expect(audit.locator("#bundle-entries td.ok")).to_have_count(report.entry_count)
        shot(audit, "07-auditor-bundle-verified")

        tampered = tmp_path / "tampered.json"
        tampered.write_text(
            re.sub(r'"grade": 5', '"grade": 4', bundle_path.read_text(), count=1), "utf-8"
        )
        audit.set_input_files("#bundle", str(tampered))
        audit.click("#bundle-form button[type=submit]")
        expect(audit.locator("#bundle-verdict")).to_contain_text("Not valid")
        expect(audit.locator("#bundle-entries td.failed")).to_have_count(1)
        shot(audit, "08-auditor-tampered-bundle")

        audit.reload()
        expect(audit.locator("#checkpoints tbody tr").first).to_be_visible()
        audit.click("#run-audit")
        expect(audit.locator("#audit-result")).to_contain_text("Audit passed")
        shot(audit, "09-auditor-audit-passed")
    finally:
        for context in (employee_ctx, manager_ctx, auditor_ctx):
            context.close()
