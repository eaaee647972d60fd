"""The web pages: landing, employee, manager and auditor, rendered on the server.

The pages read through the same read models and visibility rules as the API;
everything they write is a statement signed in the browser (``api/static``)
and submitted to ``POST /statements``.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from ledger.access import (
    DIRECTORY_PART,
    OPT_IN_PART,
    GrantLine,
    applications_of,
    visibility_of,
)
from ledger.catalogue import ContributionKind, Part
from ledger.checkpoint import CheckpointError
from ledger.cosignature import verify_cosignatures
from ledger.errors import LedgerError, NotFound
from ledger.people_search import SearchRing, find_skill, people_query
from ledger.state import AccessRequest, LedgerState
from projections.matching.queries import assignments_for, candidates
from projections.portfolio import portfolio

from ..context import AppContext
from ..deps import Ctx, PersonId, viewer_of
from ..errors import ApiError
from ..i18n import N_, language, language_of
from ..onboarding_views import newcomer_values
from ..rendering import render
from ..search_views import search_and_count
from ..views import (
    applicants_out,
    assignment_out,
    checkpoint_out,
    request_messages,
    review_inbox_out,
    spec_of,
)
from ..visibility import Viewer, view_candidates
from ..wallet_flow import form_fields, issuer_url, make_offer, verify_presented
from ..wording import AUDIT_FINDINGS, GRADES, PART_TITLES, RULES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

KINDS = [k.value for k in ContributionKind]


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, ctx: Ctx) -> HTMLResponse:
    """The public landing page: what the ledger proves and how to verify it."""
    origin = None
    with contextlib.suppress(NotFound):
        origin = ctx.log.origin
    latest = ctx.store.get_checkpoint()
    return render(
        request,
        "landing.html",
        N_("A verifiable track record"),
        "home",
        viewer=viewer_of(request, ctx),
        size=ctx.state().size,
        origin=origin,
        latest=latest[0] if latest else None,
    )


def _grant(line: GrantLine) -> dict[str, Any]:
    g = line.grant
    return {
        "id": g.id,
        "owner": g.owner,
        "viewer": g.viewer,
        "part": g.part,
        "until": g.until,
        "status": line.status,
        "readable": line.readable,
    }


def _access_given(ctx: AppContext, me: str) -> dict[str, list[dict[str, Any]]]:
    """The access requests made to me, each with its message, and the grants I gave
    (:meth:`ledger.app.Ledger.access_given`)."""
    given = ctx.ledger.access_given(me, today=ctx.today())
    messages = request_messages(ctx, me, ctx.state()) if given.open or given.answered else {}

    def request(r: AccessRequest) -> dict[str, Any]:
        return {
            "id": r.id,
            "viewer": r.viewer,
            "part": r.part,
            "answer": r.answer,
            "message": messages.get(r.id),
        }

    return {
        "open": [request(r) for r in given.open],
        "answered": [request(r) for r in given.answered],
        "grants": [_grant(line) for line in given.grants],
    }


def _access_held(ctx: AppContext, me: str) -> dict[str, list[dict[str, Any]]]:
    """My access requests to others and the grants I hold
    (:meth:`ledger.app.Ledger.access_held`)."""
    held = ctx.ledger.access_held(me, today=ctx.today())
    return {
        "requests": [
            {"id": r.id, "owner": r.owner, "part": r.part, "answer": r.answer}
            for r in held.requests
        ],
        "grants": [_grant(line) for line in held.grants],
    }


def _applications(ctx: AppContext, me: str) -> list[dict[str, Any]]:
    """The assignments I applied to and where each application stands
    (:func:`ledger.access.applications_of`)."""
    out = []
    for a, status in applications_of(ctx.state(), me)[:50]:
        title = ctx.board.posting(a.id).title
        out.append(
            {"assignment": a.id, "title": title, "department": a.department, "status": status}
        )
    return out


@router.get("/employee", response_class=HTMLResponse)
def employee(request: Request, ctx: Ctx) -> HTMLResponse:
    """My portfolio, access requests, claiming a contribution, assignments that fit me."""
    me = viewer_of(request, ctx)
    values: dict[str, Any] = {"viewer": me, "part_titles": PART_TITLES, "kinds": KINDS}
    if me is not None:
        with ctx.read_models.connection() as conn:
            values["folio"] = portfolio(conn, me, viewer=me, today=ctx.today()).as_json()
            values["matches"] = [m.__dict__ for m in assignments_for(conn, me)]
        views = ctx.ledger.imported_views(me, me, today=ctx.today())
        values["imported"] = [v.as_json() for v in views]
        values["access"] = _access_given(ctx, me)
        values["reviews"] = _reviews(ctx, me)
        values["grades"] = GRADES
        values["applications"] = _applications(ctx, me)
        values["applied"] = {a["assignment"] for a in values["applications"]}
        values["findable"] = _findable(ctx, me)
    else:
        values.update(newcomer_values(request, ctx))
    return render(request, "employee.html", N_("Employee"), "employee", **values)


def _reviews(ctx: AppContext, me: str, role: str | None = None) -> list[dict[str, Any]]:
    """The review requests addressed to me (in ``role``, if given), each with the
    contribution's text the request lets me read (:func:`api.views.review_inbox_out`)."""
    inbox = review_inbox_out(ctx, me, ctx.state(), seen_by=me).requests
    return [r.model_dump() for r in inbox if role is None or r.role == role]


@router.get("/portfolio/{person}", response_class=HTMLResponse)
def portfolio_page(person: PersonId, request: Request, ctx: Ctx) -> HTMLResponse:
    """Someone's portfolio as I may read it: the parts I may read, the others only named."""
    me = viewer_of(request, ctx)
    values: dict[str, Any] = {"viewer": me, "person": person, "part_titles": PART_TITLES}
    try:
        with ctx.read_models.connection() as conn:
            values["folio"] = portfolio(conn, person, viewer=me, today=ctx.today()).as_json()
        views = ctx.ledger.imported_views(person, me, today=ctx.today())
        values["imported"] = [v.as_json() for v in views]
    except NotFound:
        values["folio"] = None
    response = render(request, "portfolio.html", N_("Portfolio"), "portfolio", **values)
    if values["folio"] is None:
        response.status_code = 404
    return response


def _my_assignments(ctx: AppContext, me: str, state: LedgerState) -> list[dict[str, Any]]:
    mine = [a for a in state.assignments.values() if a.owner == me][::-1][:20]
    out = []
    with ctx.read_models.connection() as conn:
        for a in mine:
            view = assignment_out(a, ctx, Viewer(ctx.today(), me), state).model_dump()
            view["to_complete"] = sorted(a.assignees - a.completed)
            view["candidates"] = []
            if a.status in ("open", "assigned"):
                spec = spec_of(a, ctx)
                exclude = {a.owner, *a.assignees}
                found = candidates(
                    conn, spec, searcher=me, limit=5, exclude=exclude, today=ctx.today()
                )
                view["candidates"] = [
                    {"person": m.person, "score": m.score, "reasons": list(m.reasons)}
                    for m in view_candidates(found, Viewer(ctx.today(), me), state)
                ]
            view["applications"] = [x.model_dump() for x in applicants_out(ctx, a.id, me, state)]
            out.append(view)
    return out


def _endorsements_given(me: str, state: LedgerState) -> list[dict[str, Any]]:
    """The endorsements I gave, newest first (at most 50), revoked ones marked."""
    mine = [e for e in state.endorsements.values() if e.endorser == me][::-1][:50]
    return [
        {
            "id": e.id,
            "person": e.subject,
            "contribution": e.contribution,
            "skills": list(state.contributions[e.contribution].skills)
            if e.contribution in state.contributions
            else [],
            "grade": e.grade,
            "role": e.role,
            "status": "revoked" if e.revoked else "active",
        }
        for e in mine
    ]


def _findable(ctx: AppContext, me: str) -> dict[str, Any]:
    """Whether and by whom people searches find me (my opt-in, ledger.people_search), and
    how many searches found me so far (api.search_counts)."""
    state = ctx.state()
    return {
        "opt_in": visibility_of(state, me, OPT_IN_PART).value,
        "directory": visibility_of(state, me, DIRECTORY_PART).value,
        "found": ctx.search_appearances.found(me),
    }


def _people_search(request: Request, ctx: AppContext, me: str) -> dict[str, Any]:
    """The search tab's form as asked (``?skill=&hours=&ring=``) and, once a skill is
    asked, the people found (or the refusal, in words)."""
    asked = request.query_params
    form = {
        "skill": asked.get("skill", ""),
        "hours": asked.get("hours", "0"),
        "ring": asked.get("ring", SearchRing.GOVERNMENT.value),
    }
    out: dict[str, Any] = {"form": form, "rings": [r.value for r in SearchRing]}
    if "skill" not in asked:
        return out
    try:
        hours = int(form["hours"] or 0)
    except ValueError:
        hours = -1  # refused below, in the user's words
    try:
        query = people_query(form["skill"].split(","), hours=hours, ring=form["ring"], limit=20)
        found = search_and_count(ctx, query, Viewer(ctx.today(), me))
    except LedgerError as exc:
        code = getattr(exc, "code", "malformed")
        said = language(language_of(request))
        values = {"skill": _refused_skill(form["skill"])}
        message = said.gettext(RULES[code], **values) if code in RULES else exc.message
        out["error"] = {"code": code, "message": message}
        return out
    out["query"] = query
    out["found"] = [{"match": f.match, "parts": [p.value for p in f.portfolio]} for f in found]
    return out


def _refused_skill(typed: str) -> str:
    """The first of the comma-separated skills ``typed`` that names no skill (or "")."""
    for text in typed.split(","):
        try:
            find_skill(text)
        except LedgerError:
            return text.strip()
    return ""


@router.get("/manager", response_class=HTMLResponse)
def manager(request: Request, ctx: Ctx) -> HTMLResponse:
    """Review requests addressed to me as manager, posting assignments, ranked candidates,
    assign and complete."""
    me = viewer_of(request, ctx)
    values: dict[str, Any] = {"viewer": me, "grades": GRADES, "parts": [p.value for p in Part]}
    if me is not None:
        state = ctx.state()
        person = state.people.get(me)
        departments = sorted(s for r, s in person.roles if r == "manager") if person else []
        values["departments"] = departments
        values["access"] = _access_held(ctx, me)
        if departments:
            values["reviews"] = _reviews(ctx, me, "manager")
            values["assignments"] = _my_assignments(ctx, me, state)
        values["given"] = _endorsements_given(me, state)
        values["search"] = _people_search(request, ctx, me)
    return render(request, "manager.html", N_("Manager"), "manager", **values)


def _history(ctx: AppContext) -> list[dict[str, Any]]:
    """The latest 50 checkpoints, newest first, each checked against the one before it."""
    rows: list[dict[str, Any]] = []
    for link in ctx.log.history(50):
        row = checkpoint_out(link.checkpoint).model_dump()
        row["consistent"] = link.consistent
        row["previous"] = link.previous
        row["problem"] = link.problem
        row["cosigned_by"], row["cosignature_problem"] = _cosigners(ctx, link.checkpoint.note)
        rows.append(row)
    return rows


def _cosigners(ctx: AppContext, note: str) -> tuple[list[dict[str, Any]], str | None]:
    """Who of the configured witnesses cosigned ``note`` (name and UTC time), or the problem."""
    keys = [endpoint.key for endpoint in ctx.config.witnesses]
    try:
        found = verify_cosignatures(note, witnesses=keys, quorum=0)
    except CheckpointError as exc:
        return [], exc.message
    return [
        {"name": c.key.name, "time": datetime.fromtimestamp(c.timestamp, UTC)} for c in found
    ], None


@router.get("/auditor", response_class=HTMLResponse)
def auditor(request: Request, ctx: Ctx) -> HTMLResponse:
    """Verify a bundle entry by entry, the checkpoint history, a full audit with progress."""
    said = language(language_of(request))
    return render(
        request,
        "auditor.html",
        N_("Auditor"),
        "auditor",
        viewer=viewer_of(request, ctx),
        checkpoints=_history(ctx),
        audit_findings={code: said.gettext(text) for code, text in AUDIT_FINDINGS.items()},
    )


@router.post("/wallet/offer", response_class=HTMLResponse)
def wallet_offer(request: Request, ctx: Ctx) -> HTMLResponse:
    """A credential offer of my record for my wallet: a QR code and a deep link."""
    me = viewer_of(request, ctx)
    values: dict[str, Any] = {"viewer": me}
    if me is not None:
        offer = make_offer(ctx, issuer_url(request), me)
        qr = segno.make(offer.deep_link, error="m")
        values.update(
            deep_link=offer.deep_link,
            expires_in=offer.expires_in,
            qr_svg=Markup(qr.svg_inline(scale=4, title="Credential offer", dark="#000")),
        )
    return render(
        request, "wallet_offer.html", N_("Add my record to my wallet"), "employee", **values
    )


async def _verifier_form(request: Request) -> dict[str, str]:
    return await form_fields(request) if request.method == "POST" else {}


@router.api_route("/verifier", methods=["GET", "POST"], response_class=HTMLResponse)
def verifier(
    request: Request, ctx: Ctx, form: Annotated[dict[str, str], Depends(_verifier_form)]
) -> HTMLResponse:
    """A new employer checks a presentation of this ledger's credentials."""
    values: dict[str, Any] = {"viewer": viewer_of(request, ctx), "audience": issuer_url(request)}
    if form:
        try:
            verified, checked = verify_presented(
                ctx,
                form.get("presentation", ""),
                nonce=form.get("nonce", ""),
                audience=issuer_url(request),
                inclusion=form.get("inclusion") == "on",
            )
            values["result"] = verified.as_json()
            values["claims_json"] = json.dumps(verified.claims, indent=2, ensure_ascii=False)
            values["inclusion_checked"] = checked
        except (LedgerError, ApiError) as exc:
            values["refusal"] = {"code": exc.code, "message": exc.message}
    values["nonce"] = ctx.wallet.issue("vp_nonce").secret
    return render(request, "verifier.html", N_("Verify a presentation"), "verifier", **values)
