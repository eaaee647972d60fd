"""360° reviews on request: the review requests addressed to a person.

Asking (``ReviewRequested``, by the owner) and answering (``EndorsementGiven`` naming the
request) are signed statements like every other write, submitted to ``POST /statements``,
where the rules refuse an answer by someone the request does not name (``not_addressed``);
this router only reads the requests back for the reviewer, with the contribution's text.
"""

from __future__ import annotations

from fastapi import APIRouter

from ledger.errors import NotFound

from ..deps import Ctx, CurrentSession, PersonId
from ..errors import problem_responses
from ..models import ReviewRequestsOut
from ..views import review_inbox_out

__all__ = ["router"]

router = APIRouter(
    prefix="/people", tags=["reviews"], responses=problem_responses(400, 401, 403, 404)
)


@router.get("/{person}/review-requests")
def get_review_requests(person: PersonId, ctx: Ctx, session: CurrentSession) -> ReviewRequestsOut:
    """The review requests addressed to a person (their inbox), newest first, each with the
    contribution's text the request lets them read; for that person's own session only."""
    state = ctx.state()
    if person not in state.people:
        raise NotFound(f"no person {person!r} is registered")
    return review_inbox_out(ctx, person, state, seen_by=session.person)
