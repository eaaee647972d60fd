"""The inbox: what waits for the logged-in person (:mod:`ledger.inbox`), as JSON and as a
page, with the registration requests waiting for them as an admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from ledger.inbox import inbox
from ledger.onboarding import admin_scope
from projections.notices import remember_language

from ..context import AppContext
from ..deps import Ctx, CurrentSession, viewer_of
from ..errors import problem_responses
from ..i18n import N_, language_of
from ..onboarding_views import waiting_registrations
from ..rendering import render

__all__ = ["router"]

router = APIRouter(tags=["inbox"])


class InboxOut(BaseModel):
    """What waits for me: each list newest first, at most 50."""

    person: str
    #: open access requests to my portfolio
    access_requests: list[dict[str, str]]
    #: contributions in departments I manage that I have not endorsed
    endorsement_requests: list[dict[str, str]]
    #: applications to my open assignments that I have not answered
    applications: list[dict[str, str]]
    #: registration requests waiting for me as an organisation admin
    registrations: list[dict[str, str]]
    count: int


def _inbox(ctx: AppContext, me: str) -> InboxOut:
    box = inbox(ctx.ledger, me, today=ctx.today())
    state = ctx.state()
    scope = admin_scope(state, me)
    registrations = []
    if scope is None or scope:
        for out in waiting_registrations(ctx, state, scope):
            registrations.append({"person": out.person, "kind": out.kind})
    return InboxOut(
        person=me,
        access_requests=[{"request": r, "viewer": v, "part": p} for r, v, p in box.access_requests],
        endorsement_requests=[
            {"person": o, "contribution": c} for o, c in box.endorsement_requests
        ],
        applications=[
            {"assignment": a.assignment, "applicant": a.applicant} for a in box.applications
        ],
        registrations=registrations,
        count=box.count + len(registrations),
    )


@router.get("/me/inbox", responses=problem_responses(401))
def get_inbox(session: CurrentSession, ctx: Ctx) -> InboxOut:
    """What waits for me: access and endorsement requests, applications, registrations."""
    return _inbox(ctx, session.person)


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The inbox as a page (log in first)."""
    me = viewer_of(request, ctx)
    values: dict[str, Any] = {"viewer": me}
    if me is not None:
        values["inbox"] = _inbox(ctx, me)
        # the language e-mail notifications are written in (api.notify)
        remember_language(ctx.read_models.projector.engine, me, language_of(request))
    return render(request, "inbox.html", N_("Inbox"), "inbox", **values)
