"""Reputation queries: one explained score, computed on query from the facts."""

from __future__ import annotations

import dataclasses
import datetime as _dt

from sqlalchemy import Connection, select

from ledger.access import REPUTATION_PART

from ..portfolio.queries import viewer_sees
from . import tables as t
from .consensus import Consensus
from .formula import Raters, ReputationParams, Score, score_ratings
from .model import (
    group_imported,
    group_ratings,
    load_imported,
    load_origins,
    load_ratings,
    load_targets,
    reciprocal_pairs,
)

__all__ = ["as_of", "explain", "rated_skills", "reputation", "snapshot_scores"]


def explain(
    conn: Connection,
    person: str,
    skill: str,
    *,
    at: int,
    params: ReputationParams = ReputationParams(),
) -> Score:
    """The explained score of ``person`` in ``skill`` as of Unix time ``at``.

    Counts the ratings given at or before ``at`` that are active now (one revoked
    since does not count), decayed to ``at``; and what the last refresh found about
    the raters (``Score.standing_position``): their standing and discrimination, and
    the dense-clique, agreement and cycle factors of each pair; a rater it does not
    know has no standing.
    The ratings of imported records the last refresh wrote count too, each with its
    origin and the declared trust in it (as of that refresh) as its standing.
    Ignores visibility: see :func:`reputation` for viewers.
    """
    mark = conn.execute(select(t.refresh_state.c.position, t.refresh_state.c.generation)).first()
    generation = 0 if mark is None else int(mark[1])  # one refresh's rows throughout
    rows = [r for r in load_ratings(conn, [person]) if r[7] <= at]
    targets = load_targets(conn, {r[3] for r in rows})
    rows = [r for r in rows if skill in targets.get(r[3], ())]
    names = sorted({r[4] for r in rows})
    raters = Raters()
    endorsed: set[tuple[str, str]] = set()
    clique: dict[tuple[str, str], float] = {}
    consensus = Consensus()
    if names:
        back = [r for r in load_ratings(conn, names) if r[4] == person]
        endorsed = reciprocal_pairs(back)
        s, c = t.raters.c, t.cliques.c
        found = conn.execute(
            select(s.person, s.standing, s.discrimination).where(
                s.generation == generation, s.person.in_(names)
            )
        ).all()
        raters = Raters({p: float(w) for p, w, _ in found}, {p: float(d) for p, _, d in found})
        pairs = select(c.rater, c.factor).where(
            c.generation == generation, c.subject == person, c.rater.in_(names)
        )
        clique = {(r, person): float(f) for r, f in conn.execute(pairs)}
        a = t.consensus.c
        judged = conn.execute(
            select(a.rater, a.agreement, a.cycle).where(
                a.generation == generation, a.subject == person, a.rater.in_(names)
            )
        ).all()
        consensus = Consensus(
            {(r, person): float(f) for r, f, _ in judged},
            {(r, person): float(c) for r, _, c in judged},
        )
    ratings = group_ratings(rows, targets, endorsed, clique, consensus).get((person, skill), [])
    imported = [r for r in load_imported(conn, person, generation) if r.at <= at]
    if imported:
        ratings = [*ratings, *group_imported(imported).get((person, skill), [])]
        raters = dataclasses.replace(raters, origins=load_origins(conn, generation))
    return score_ratings(
        person,
        skill,
        ratings,
        raters,
        at=at,
        params=params,
        standing_position=None if mark is None else int(mark[0]),
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
    if not viewer_sees(conn, person, REPUTATION_PART, viewer=viewer, today=today):
        return None
    return explain(conn, person, skill, at=at, params=params)


def as_of(text: str) -> int:
    """The Unix time a ``--at`` / ``?at=`` value names: a day ``YYYY-MM-DD`` means the end
    of that day (UTC), so the ratings given that day count; an RFC 3339 time with an
    offset names that instant. Raises :class:`ValueError` for anything else."""
    text = text.strip()
    if len(text) == 10:
        day = _dt.date.fromisoformat(text)
        end = _dt.datetime.combine(day, _dt.time(23, 59, 59), tzinfo=_dt.UTC)
        return int(end.timestamp())
    moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset: write e.g. {text}Z")
    return int(moment.timestamp())


def rated_skills(conn: Connection, person: str) -> list[str]:
    """The skills in which ``person`` has at least one active rating (their own or an
    imported one), sorted."""
    rows = load_ratings(conn, [person])
    targets = load_targets(conn, {r[3] for r in rows})
    imported = {skill for r in load_imported(conn, person, t.published(conn)) for skill in r.skills}
    return sorted({skill for r in rows for skill in targets.get(r[3], ())} | imported)


def snapshot_scores(conn: Connection, person: str) -> dict[str, tuple[float, float, int]]:
    """The refreshed scores of ``person`` (the published generation's): skill -> (score,
    weight, number of ratings)."""
    s = t.scores.c
    rows = conn.execute(
        select(s.skill, s.score, s.weight, s.ratings)
        .where(s.generation == t.published(conn), s.person == person)
        .order_by(s.skill)
    )
    return {r.skill: (float(r.score), float(r.weight), int(r.ratings)) for r in rows}
