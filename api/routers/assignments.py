"""The assignment marketplace: list and filter assignments, read one."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from ledger.catalogue import UUID_RE
from ledger.errors import NotFound
from projections.matching.queries import candidates

from ..context import AppContext
from ..deps import Ctx, CurrentSession, OptionalViewer, Paging
from ..errors import problem_responses
from ..models import ApplicantOut, AssignmentOut, CandidateOut, Page
from ..views import applicants_out, assignment_out, spec_of
from ..visibility import Viewer, view_candidates

__all__ = ["router"]

router = APIRouter(
    prefix="/assignments", tags=["assignments"], responses=problem_responses(400, 404, 422)
)
AssignmentId = Annotated[str, Path(pattern=UUID_RE, description="an assignment id (UUID)")]
Status = Literal["open", "assigned", "completed", "cancelled"]
RingName = Literal["department", "organisation", "government"]


@router.get("")
def list_assignments(
    ctx: Ctx,
    viewer: OptionalViewer,
    page: Paging,
    skill: Annotated[str | None, Query(max_length=48, description="needs this skill")] = None,
    ring: Annotated[RingName | None, Query(description="searched in this ring")] = None,
    status: Annotated[Status | None, Query(description="in this status")] = None,
    department: Annotated[str | None, Query(max_length=129)] = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AssignmentOut]:
    """Assignments, newest first, filtered by skill, ring, status, department or
    owner (cursor: an offset)."""
    with ctx.locked_state() as state:
        found = [
            a
            for a in state.assignments.values()
            if (skill is None or skill in a.skills)
            and (status is None or a.status == status)
            and (department is None or a.department == department)
            and (owner is None or a.owner == owner)
        ]
    state = ctx.state()
    items = [assignment_out(a, ctx, viewer, state) for a in reversed(found)]
    if ring is not None:
        items = [i for i in items if i.ring == ring]
    offset = page.offset()
    more = offset + page.limit < len(items)
    return Page[AssignmentOut](
        items=items[offset : offset + page.limit],
        next_cursor=str(offset + page.limit) if more else None,
    )


@router.get("/{assignment}")
def get_assignment(assignment: AssignmentId, ctx: Ctx, viewer: OptionalViewer) -> AssignmentOut:
    """One assignment."""
    state = ctx.state()
    found = state.assignments.get(assignment)
    if found is None:
        raise NotFound(f"no assignment {assignment}")
    return assignment_out(found, ctx, viewer, state)


@router.get("/{assignment}/applicants", responses=problem_responses(401, 403))
def get_applicants(
    assignment: AssignmentId, ctx: Ctx, session: CurrentSession
) -> list[ApplicantOut]:
    """Who applied to one's own assignment, in the order they applied, with their hours,
    motivation and where each application stands; only its owner may read this
    (``not_owner``, 403), everyone else sees only how many applied."""
    return applicants_out(ctx, assignment, session.person, ctx.state())


@router.get("/{assignment}/candidates", response_model=list[CandidateOut])
def get_candidates(
    assignment: AssignmentId,
    ctx: Ctx,
    viewer: OptionalViewer,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Response:
    """Ranked candidates for an assignment, ring by ring, each with its reasons; only
    people who opted in towards the viewer (their free part is visible to them), and
    of each only the rank, ring and hours unless the viewer may read every part of
    their portfolio the match is made of (``withheld`` names the others)."""
    key = ("candidates", assignment, viewer.person, limit)
    return ctx.cached(key, lambda: _candidates(ctx, assignment, viewer, limit))


def _candidates(ctx: AppContext, assignment: str, viewer: Viewer, limit: int) -> list[BaseModel]:
    state = ctx.state()
    found = state.assignments.get(assignment)
    if found is None:
        raise NotFound(f"no assignment {assignment}")
    spec = spec_of(found, ctx)
    exclude = {found.owner, *found.assignees}
    with ctx.read_models.connection() as conn:
        matches = candidates(
            conn, spec, searcher=viewer.person, limit=limit, exclude=exclude, today=viewer.today
        )
    return [
        CandidateOut(
            person=m.person,
            ring=m.ring.value,
            score=m.score,
            skills=[dataclasses.asdict(s) for s in m.skills],
            missing=list(m.missing),
            available_hours=m.available_hours,
            reasons=[r.text for r in m.reasons],
            withheld=[p.value for p in m.withheld],
        )
        for m in view_candidates(matches, viewer, state)
    ]
