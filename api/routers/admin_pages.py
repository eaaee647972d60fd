"""The admin page and the invitation page, rendered on the server.

The admin page shows an organisation admin what waits for them (registration requests,
open invitations) and the people of their organisations; every change it makes is a
statement signed in the admin's browser (``api/static/admin.js``), or a call to the
onboarding endpoints (:mod:`api.routers.onboarding`) that check the admin role again.
Anyone else sees that the page is for admins, and no form.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from ledger.catalogue import ErasureBasis, Role
from ledger.errors import NotFound
from ledger.onboarding import admin_scope
from ledger.state import LedgerState, Person

from ..context import AppContext
from ..deps import Ctx, viewer_of
from ..errors import ApiError
from ..i18n import N_
from ..onboarding_views import invitation_out, trusted_origins, waiting_registrations
from ..rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_PEOPLE_SHOWN = 100


@router.get("/join/{token}", name="join", response_class=HTMLResponse)
def join(
    token: Annotated[str, Path(max_length=64)], request: Request, context: Ctx
) -> HTMLResponse:
    """An invitation link: create a key and ask to be registered."""
    values: dict[str, Any] = {"viewer": viewer_of(request, context)}
    try:
        values["invitation"] = context.onboarding.invitation(token)
        values["invitation_token"] = token
    except ApiError as exc:
        values["problem"] = exc.message
    response = render(request, "join.html", N_("Join"), "join", **values)
    if "problem" in values:
        response.status_code = 410 if "used" in values["problem"] else 404
    return response


def _organisations(state: LedgerState, scope: frozenset[str] | None) -> list[str]:
    if scope is not None:
        return sorted(scope)
    return sorted({p.organisation for p in state.people.values()})


def _person_row(p: Person, state: LedgerState) -> dict[str, Any]:
    return {
        "id": p.id,
        "organisation": p.organisation,
        "department": p.department,
        "roles": sorted(f"{role} of {scope}" for role, scope in p.roles),
        "key_id": p.current_key,
        "erased": p.id in state.erased,
    }


def _people(state: LedgerState, orgs: list[str], query: str) -> list[dict[str, Any]]:
    q = query.strip().lower()
    found = [
        p
        for p in state.people.values()
        if p.organisation in orgs and (not q or q in p.id or q in p.department)
    ]
    found.sort(key=lambda p: p.id)
    return [_person_row(p, state) for p in found[:_PEOPLE_SHOWN]]


@router.get("/admin", response_class=HTMLResponse)
def admin(
    request: Request, context: Ctx, q: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    """Registration requests, invitations, people, roles, transfers and erasure."""
    me = viewer_of(request, context)
    values: dict[str, Any] = {"viewer": me, "query": q}
    if me is not None:
        state = context.state()
        scope = admin_scope(state, me)
        values["is_admin"] = scope is None or bool(scope)
        if values["is_admin"]:
            orgs = _organisations(state, scope)
            pending = waiting_registrations(context, state, scope)
            values.update(
                organisations=orgs,
                departments=sorted({p.department for p in state.people.values()}),
                registrations=pending,
                invitations=[invitation_out(i) for i in context.onboarding.invitations(scope)],
                people=_people(state, orgs, q),
                roles=[r.value for r in Role],
                bases=[b.value for b in ErasureBasis],
                status=_status(context, state),
                trusted=trusted_origins(context),
            )
    response = render(request, "admin.html", N_("Admin"), "admin", **values)
    if me is not None and not values.get("is_admin"):
        response.status_code = 403
    return response


def _status(ctx: AppContext, state: LedgerState) -> dict[str, Any]:
    latest = ctx.store.get_checkpoint()
    audit = None
    with contextlib.suppress(NotFound, ApiError, LookupError):
        job = ctx.audits.latest()
        audit = {"status": job.status, "checked": job.checked, "total": job.total}
    return {
        "size": state.size,
        "checkpoint": latest[0] if latest else None,
        "signing": ctx.checkpointer is not None,
        "audit": audit,
    }
