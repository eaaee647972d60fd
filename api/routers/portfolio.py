"""The read models: a person's portfolio, reputation (explained) and matching assignments.

Every query is made as the viewer (the session's person, or nobody), so the
portfolio's visibility settings decide what comes back — for the records the
person brought from other ledgers too (:mod:`ledger.imported_view`).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from ledger.access import REPUTATION_PART
from ledger.catalogue import SKILL_RE
from projections.matching.queries import assignments_for
from projections.portfolio import portfolio, viewer_sees
from projections.reputation.formula import FACTORS, Score
from projections.reputation.queries import (
    as_of,
    explain,
    rated_skills,
    reputation,
    snapshot_scores,
)

from ..context import AppContext
from ..deps import Ctx, CurrentSession, OptionalViewer, PersonId
from ..errors import ApiError, problem_responses
from ..models import AssignmentMatchOut, PortfolioOut, ReputationOut, SkillScore

__all__ = ["router"]

router = APIRouter(
    prefix="/people", tags=["portfolio"], responses=problem_responses(400, 401, 403, 404, 422)
)
_RATING_FIELDS = (
    "id", "kind", "rater", "role", "grade", "at", "position", "reciprocal", "clique", "origin",
)  # fmt: skip
Skill = Annotated[str, Path(pattern=SKILL_RE, description="a skill slug")]
AsOf = Annotated[
    str | None,
    Query(
        description="the score as of this day (YYYY-MM-DD, its end in UTC) or instant "
        "(RFC 3339 with an offset); default now",
        examples=["2026-06-30"],
    ),
]


def _as_of(at: str | None) -> int:
    """The Unix time ``?at=`` names (now if absent); 400 ``bad_date`` if it names none."""
    if at is None:
        return int(time.time())
    try:
        return as_of(at)
    except ValueError as exc:
        raise ApiError(400, "bad_date", f"at: {exc}") from exc


@router.get("/{person}/portfolio", response_model=PortfolioOut)
def get_portfolio(person: PersonId, ctx: Ctx, viewer: OptionalViewer) -> Response:
    """A person's portfolio in its four parts, as far as the viewer may see it."""

    version = ctx.version()  # the log's size read once for the cache and the catch-up

    def compute() -> PortfolioOut:
        with ctx.read_models.connection(log_size=version[0]) as conn:
            found = portfolio(conn, person, viewer=viewer.person, today=viewer.today)
        views = ctx.ledger.imported_views(person, viewer.person, today=viewer.today)
        imported = [v.as_json() for v in views]
        return PortfolioOut.model_validate(found.as_json() | {"imported": imported})

    return ctx.cached(("portfolio", person, viewer.person), compute, version)


@router.get("/{person}/reputation", response_model=list[SkillScore])
def get_reputation(person: PersonId, ctx: Ctx, viewer: OptionalViewer, at: AsOf = None) -> Response:
    """A person's reputation per skill: the last refresh's, or with ``at`` each skill's
    score as of that date (empty unless the viewer may see the analytical part, which the
    scores are made of)."""
    if at is not None:
        when = _as_of(at)
        return ctx.cached(
            ("reputation", person, viewer.person, when),
            lambda: _dated(ctx, person, viewer.person, viewer.today, when),
        )

    def compute() -> list[BaseModel]:
        with ctx.read_models.connection() as conn:
            if not viewer_sees(
                conn, person, REPUTATION_PART, viewer=viewer.person, today=viewer.today
            ):
                return []
            scores = snapshot_scores(conn, person)
        return [
            SkillScore(skill=skill, score=score, weight=weight, ratings=n)
            for skill, (score, weight, n) in scores.items()
        ]

    return ctx.cached(("reputation", person, viewer.person), compute)


def _dated(
    ctx: AppContext, person: str, viewer: str | None, today: str | None, when: int
) -> list[BaseModel]:
    with ctx.read_models.connection() as conn:
        if not viewer_sees(conn, person, REPUTATION_PART, viewer=viewer, today=today):
            return []
        scores = [explain(conn, person, skill, at=when) for skill in rated_skills(conn, person)]
    return [
        SkillScore(skill=s.skill, score=s.score, weight=s.weight, ratings=len(s.ratings))
        for s in scores
        if s.ratings
    ]


@router.get("/{person}/reputation/{skill}")
def explain_reputation(
    person: PersonId, skill: Skill, ctx: Ctx, viewer: OptionalViewer, at: AsOf = None
) -> ReputationOut:
    """A person's reputation in one skill as of now or ``at``, explained rating by rating:
    every factor of every rating's weight (403 unless the viewer may see the analytical
    part)."""
    when = _as_of(at)
    with ctx.read_models.connection() as conn:
        score = reputation(conn, person, skill, viewer=viewer.person, at=when)
    if score is None:
        raise ApiError(
            403, "not_visible", f"the analytical part of {person} is not visible to this viewer"
        )
    return reputation_out(score)


def reputation_out(score: Score) -> ReputationOut:
    """The API's form of an explained score."""
    ratings = [
        {
            "rating": {name: getattr(w.rating, name) for name in _RATING_FIELDS},
            **{name: getattr(w, name) for name in FACTORS},
            "weight": w.weight,
        }
        for w in score.ratings
    ]
    return ReputationOut(
        person=score.person,
        skill=score.skill,
        score=score.score,
        weight=score.weight,
        confidence=score.confidence,
        at=score.at,
        prior_mean=score.prior_mean,
        prior_weight=score.prior_weight,
        standing_position=score.standing_position,
        ratings=ratings,
    )


@router.get("/{person}/matches", response_model=list[AssignmentMatchOut])
def matching_assignments(
    person: PersonId,
    ctx: Ctx,
    session: CurrentSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Response:
    """Open assignments that fit the person, ranked, with reasons (the person only)."""
    if session.person != person:
        raise ApiError(403, "not_yours", "only the person themself sees what fits them")
    return ctx.cached(("matches", person, limit), lambda: _matches(ctx, person, limit))


def _matches(ctx: AppContext, person: str, limit: int) -> list[BaseModel]:
    with ctx.read_models.connection() as conn:
        found = assignments_for(conn, person, limit=limit)
    return [
        AssignmentMatchOut(
            assignment=m.assignment,
            title=m.title,
            organisation=m.organisation,
            department=m.department,
            ring=m.ring.value,
            hours_per_week=m.hours_per_week,
            matched=list(m.matched),
            missing=list(m.missing),
            fit=m.fit,
            reasons=[r.text for r in m.reasons],
        )
        for m in found
    ]
