"""Reputation queries: one explained score, computed on query from the facts."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ledger.catalogue import Part

from ..portfolio.queries import viewer_sees
from . import tables as t
from .formula import ReputationParams, Score, score_ratings
from .model import group_ratings, load_ratings, load_targets, reciprocal_pairs

__all__ = ["explain", "reputation", "snapshot_scores"]


def explain(
    conn: Connection,
    person: str,
    skill: str,
    *,
    at: int,
    params: ReputationParams = ReputationParams(),
) -> Score:
    """The explained score of ``person`` in ``skill`` as of Unix time ``at``.

    Uses the endorsement facts as they are now and the standing of the last
    refresh (``Score.standing_position``; raters it does not know count at
    the floor). Ignores visibility: see :func:`reputation` for viewers.
    """
    rows = load_ratings(conn, [person])
    targets = load_targets(conn, {r[3] for r in rows})
    rows = [r for r in rows if skill in targets.get(r[3], ())]
    raters = sorted({r[4] for r in rows})
    weights: dict[str, float] = {}
    endorsed: set[tuple[str, str]] = set()
    if raters:
        back = [r for r in load_ratings(conn, raters) if r[4] == person]
        endorsed = reciprocal_pairs(back)
        s = t.standing.c
        weights = {
            p: float(w)
            for p, w in conn.execute(select(s.person, s.weight).where(s.person.in_(raters)))
        }
    snapshot = conn.execute(select(t.refresh_state.c.position)).scalar_one_or_none()
    ratings = group_ratings(rows, targets, endorsed).get((person, skill), [])
    return score_ratings(
        person,
        skill,
        ratings,
        weights,
        at=at,
        params=params,
        standing_position=None if snapshot is None else int(snapshot),
    )


def reputation(
    conn: Connection,
    person: str,
    skill: str,
    *,
    viewer: str | None,
    at: int,
    params: ReputationParams = ReputationParams(),
    today: str | None = None,
) -> Score | None:
    """:func:`explain` for ``viewer``: None unless they may see ``person``'s analytical part.

    A score and its explanation are made of endorsements, which belong to
    the analytical part; a viewer who may not see that part gets nothing.
    Raises :class:`ledger.errors.NotFound` if no such person is registered.
    """
    if not viewer_sees(conn, person, Part.ANALYTICAL, viewer=viewer, today=today):
        return None
    return explain(conn, person, skill, at=at, params=params)


def snapshot_scores(conn: Connection, person: str) -> dict[str, tuple[float, float, int]]:
    """The refreshed scores of ``person``: skill -> (score, weight, number of ratings)."""
    s = t.scores.c
    rows = conn.execute(
        select(s.skill, s.score, s.weight, s.ratings).where(s.person == person).order_by(s.skill)
    )
    return {r.skill: (float(r.score), float(r.weight), int(r.ratings)) for r in rows}
