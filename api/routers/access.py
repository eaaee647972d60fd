"""Access on request: the requests made to a person and the grants they gave.

Requests, grants, refusals and revocations are signed statements like every
other write (``AccessRequested`` by the viewer, the others by the owner,
submitted to ``POST /statements``); this router only reads them back, from the
ledger state, for the two people each one concerns.
"""

from __future__ import annotations

from fastapi import APIRouter

from ledger.access import access_listed, grant_is_active
from ledger.errors import NotFound

from ..deps import Ctx, CurrentSession, PersonId
from ..errors import problem_responses
from ..models import AccessGrantOut, AccessOut, AccessRequestOut
from ..views import request_messages

__all__ = ["router"]

router = APIRouter(prefix="/people", tags=["access"], responses=problem_responses(400, 401, 404))


@router.get("/{person}/access")
def get_access(person: PersonId, ctx: Ctx, session: CurrentSession) -> AccessOut:
    """Access requests made to a person and grants they gave: all of them for the person
    themself, the session's own for any other viewer."""
    today = ctx.today()
    with ctx.locked_state() as state:
        if person not in state.people:
            raise NotFound(f"no person {person!r} is registered")
        me = session.person
        requests, grants = access_listed(state, person, seen_by=me, made_to_only=True)
        ids = [r.id for r in requests] + [g.id for g in grants]
        index = {i: state.statement_ids.get(i) for i in ids}
    messages = request_messages(ctx, person, ctx.state()) if requests else {}
    return AccessOut(
        person=person,
        viewer=me,
        requests=[
            AccessRequestOut(
                id=r.id,
                owner=r.owner,
                viewer=r.viewer,
                part=r.part,
                answer=r.answer,  # type: ignore[arg-type]  # "granted" | "refused" | None
                message=messages.get(r.id),
                log_index=index[r.id],
            )
            for r in requests
        ],
        grants=[
            AccessGrantOut(
                id=g.id,
                owner=g.owner,
                viewer=g.viewer,
                part=g.part,
                until=g.until,
                revoked=g.revoked,
                active=grant_is_active(g, today=today),
                log_index=index[g.id],
            )
            for g in grants
        ],
    )
