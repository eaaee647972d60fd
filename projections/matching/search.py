"""People search over the matching read model: ranked people with reasons (issue 17).

The rules are the ledger's (:mod:`ledger.people_search`: who may be found by whom, the
rings); this is the one query every adapter runs (the API's ``GET /people/search``, the
manager page's search tab, ``trackrecord people search``):

1. the rings of this ledger (department, organisation, government, counted from the
   searcher's place) are searched as for an assignment's candidates
   (:func:`projections.matching.queries.candidates`): the asked skills, the hours still
   available (``weekly budget − hours on active assignments ≥ hours``), the opt-in
   towards the searcher, ranked by skill fit and reputation;
2. the ``beyond`` ring, while fewer than ``limit`` people were found: the people the
   rings of this ledger found only by evidence imported from other ledgers (no asked
   skill with evidence or an ambition here: ``mt_skills.imported``), and the people whose
   ratings in an asked skill come from an imported record (``rep_imported``, as the last
   reputation refresh counted it), with the same opt-in and hours, by score;
3. every person found is checked again against the ledger's state
   (:func:`ledger.people_search.may_find`), and shown as far as the searcher may read the
   parts the match is made of (:meth:`Match.as_seen`); each names the parts of their
   portfolio the searcher may read (the link to it shows those). The evidence shown of
   someone only partly readable is counted, by :func:`ledger.access.readable_evidence`'s
   rule, over the portfolio read model's rows of the people found (the ledger state has
   no index by owner: that function reads every contribution of the ledger).

The query does not care how rows got into ``mt_skills`` (claims, completions, or records
brought from elsewhere): whoever is there is searched in the rings of this ledger.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, false, or_, select, true

from ledger.access import MATCHING_PARTS, today_utc
from ledger.catalogue import Part, Ring, Visibility
from ledger.people_search import (
    PeopleQuery,
    Place,
    SearchRing,
    may_find,
    place_of,
    readable_parts,
    rings_to_search,
)
from ledger.state import LedgerState

from ..portfolio import tables as pf
from ..reputation import tables as rep
from . import tables as t
from .queries import (
    AssignmentSpec,
    Match,
    MatchParams,
    SkillMatch,
    candidates,
    granted_owners,
    hours_reason,
    skills_reason,
)
from .reasons import Reason

__all__ = ["PersonFound", "search_people"]


@dataclass(frozen=True)
class PersonFound:
    """One person a search found, as the searcher may see them: the match (rank, ring,
    hours, and what the searcher may read of skills, score and reasons) and the parts of
    their portfolio the searcher may read (``portfolio``: what the link to it shows)."""

    match: Match
    portfolio: tuple[Part, ...]

    @property
    def person(self) -> str:
        return self.match.person

    def as_json(self) -> dict[str, Any]:
        """The person found as JSON (the API's ``PersonFoundOut``, the CLI's ``--json``):
        reasons as code, values and English text; ``portfolio``: the page of it."""
        m = self.match
        return {
            "person": m.person,
            "ring": m.ring.value,
            "score": m.score,
            "skills": [dataclasses.asdict(s) for s in m.skills],
            "missing": list(m.missing),
            "available_hours": m.available_hours,
            "reasons": [r.as_json() for r in m.reasons],
            "withheld": [p.value for p in m.withheld],
            "portfolio": f"/portfolio/{m.person}",
            "portfolio_parts": [p.value for p in self.portfolio],
        }


def search_people(
    conn: Connection,
    state: LedgerState,
    query: PeopleQuery,
    *,
    searcher: str | None,
    today: str | None = None,
    params: MatchParams = MatchParams(),
) -> list[PersonFound]:
    """The people ``searcher`` (None: without a session) finds with ``query``, best first,
    ring by ring (the module docstring). ``state``: the ledger's state, caught up at least
    as far as the read model. Raise :class:`~ledger.errors.NotPermitted` (``no_place``) for
    a ring counted from a place the searcher does not have."""
    today = today or today_utc()
    generation = rep.published(conn)  # one reputation refresh's scores for the whole answer
    place = place_of(state, searcher)
    rings = rings_to_search(query.ring, place)
    found: list[Match] = []
    elsewhere: list[Match] = []  # found in mt_skills by evidence imported only
    local = [r for r in rings if r is not SearchRing.BEYOND]
    if local:
        spec = _spec(query, place, Ring(local[-1].value))
        matches = candidates(
            conn, spec, searcher=searcher, limit=query.limit, today=today, params=params,
            generation=generation,
        )  # fmt: skip
        matches = [m for m in matches if may_find(state, m.person, searcher, today=today)]
        found = [m for m in matches if _evidence_here(m)]
        elsewhere = [_as_beyond(m) for m in matches if not _evidence_here(m)]
    if SearchRing.BEYOND in rings and len(found) < query.limit:
        seen = {m.person for m in found + elsewhere} | ({searcher} if searcher else set())
        beyond = _beyond(conn, query, searcher, seen, today, params, generation)
        beyond = [m for m in beyond if may_find(state, m.person, searcher, today=today)]
        beyond = sorted(elsewhere + beyond, key=lambda m: (-(m.score or 0.0), m.person))
        found += beyond[: query.limit - len(found)]
    return _as_seen(conn, state, found, searcher, today)


def _evidence_here(m: Match) -> bool:
    """Whether some asked skill of ``m`` is shown on this ledger (evidence or an ambition
    here): else all of it comes from records imported from other ledgers, and the person
    is found in the ``beyond`` ring, whichever way those rows reached ``mt_skills``."""
    return any(s.evidence or s.ambition for s in m.skills)


def _as_beyond(m: Match) -> Match:
    """``m`` (found by imported evidence only) in the ``beyond`` ring, its ring reason
    naming the ledgers the evidence comes from."""
    origins = sorted(
        {o for s in m.skills for o in s.origins}
        | {i.origin for s in m.skills for i in s.imported_evidence}
    )
    ring = Reason("ring_beyond", {"origins": origins})
    return dataclasses.replace(m, ring=SearchRing.BEYOND, reasons=(ring, *m.reasons[1:]))


def _spec(query: PeopleQuery, place: Place | None, ring: Ring) -> AssignmentSpec:
    """The search as the assignment matching takes it; without a place every person is in
    "another organisation" (the empty organisation is nobody's)."""
    return AssignmentSpec(
        skills=query.skills,
        hours_per_week=query.hours,
        organisation=place.organisation if place else "",
        department=place.department if place else "",
        ring=ring,
    )


def _beyond(
    conn: Connection,
    query: PeopleQuery,
    searcher: str | None,
    seen: set[str],
    today: str,
    params: MatchParams,
    generation: int,
) -> list[Match]:
    """The ``beyond`` ring: people with imported ratings in an asked skill, not ``seen``
    (those the reputation refresh of ``generation`` counted)."""
    i, p = rep.imported.c, t.people.c
    granted = granted_owners(conn, searcher, today)
    opted_in = or_(
        p.visibility == Visibility.PUBLIC.value,
        and_(p.visibility == Visibility.ON_REQUEST.value, p.person.in_(granted))
        if granted
        else false(),
    )
    rows = conn.execute(
        select(i.subject, i.origin, i.skills, p.committed)
        .join_from(rep.imported, t.people, p.person == i.subject)
        .where(
            i.generation == generation,
            opted_in,
            p.committed <= params.weekly_budget_hours - query.hours,
            i.subject.not_in(sorted(seen)) if seen else true(),
        )
    ).all()
    wanted = set(query.skills)
    ratings: dict[str, dict[str, list[str]]] = {}  # person -> skill -> origins, one a rating
    committed: dict[str, int] = {}
    for row in rows:
        for skill in set(json.loads(row.skills)) & wanted:
            ratings.setdefault(row.subject, {}).setdefault(skill, []).append(row.origin)
            committed[row.subject] = int(row.committed)
    if not ratings:
        return []
    scores = _scores(conn, sorted(ratings), wanted, generation)
    out = []
    for person, skills in ratings.items():
        have = tuple(
            SkillMatch(
                k,
                evidence=0,
                ambition=False,
                reputation=scores.get((person, k)),
                origins=tuple(sorted(set(skills[k]))),
                imported=len(skills[k]),
            )
            for k in query.skills
            if k in skills
        )
        total = sum(_value(m.reputation, params) for m in have) / len(query.skills)
        available = params.weekly_budget_hours - committed[person]
        missing = tuple(k for k in query.skills if k not in skills)
        origins = sorted({o for m in have for o in m.origins})
        reasons = [
            Reason("ring_beyond", {"origins": origins}),
            skills_reason(have, reputation_shown=True),
        ]
        if missing:
            reasons.append(Reason("missing", {"skills": list(missing)}))
        reasons.append(hours_reason(available, query.hours, params))
        out.append(
            Match(
                person=person,
                ring=SearchRing.BEYOND,
                score=round(total, 6),
                skills=have,
                missing=missing,
                available_hours=available,
                reasons=tuple(reasons),
            )
        )
    out.sort(key=lambda m: (-(m.score or 0.0), -m.available_hours, m.person))
    return out[: query.limit]


def _value(reputation: float | None, params: MatchParams) -> float:
    """A skill's share of the score, as for evidence: ``0.5 + 0.5 · (rep − 1)/4``."""
    score = params.prior if reputation is None else reputation
    return 0.5 + 0.5 * (score - 1.0) / 4.0


def _scores(
    conn: Connection, people: Sequence[str], skills: set[str], generation: int
) -> dict[tuple[str, str], float]:
    r = rep.scores.c
    rows = conn.execute(
        select(r.person, r.skill, r.score).where(
            r.generation == generation, r.person.in_(people), r.skill.in_(sorted(skills))
        )
    )
    return {(row.person, row.skill): round(float(row.score), 3) for row in rows}


def _as_seen(
    conn: Connection,
    state: LedgerState,
    found: Sequence[Match],
    searcher: str | None,
    today: str,
) -> list[PersonFound]:
    readable = {m.person: readable_parts(state, m.person, searcher, today=today) for m in found}
    hidden = {p: frozenset(MATCHING_PARTS - set(parts)) for p, parts in readable.items()}
    partly = {p: parts for p, parts in readable.items() if hidden[p]}
    evidence = _readable_evidence(conn, partly) if partly else {}
    return [
        PersonFound(m.as_seen(hidden[m.person], evidence.get(m.person, {})), readable[m.person])
        for m in found
    ]


def _readable_evidence(
    conn: Connection, readable: Mapping[str, Sequence[Part]]
) -> dict[str, Counter[str]]:
    """Per person, per skill, the evidence a viewer who may read the ``readable`` parts of
    each person reads (:func:`ledger.access.readable_evidence`'s rule over the portfolio
    read model): their contributions (not withdrawn) in those parts, and the assignments
    they completed if they may read the ``analytical`` part."""
    found: dict[str, Counter[str]] = {p: Counter() for p in readable}
    c = pf.contributions.c
    rows = conn.execute(select(c.person, c.part, c.skills).where(c.person.in_(sorted(readable))))
    for person, part, skills in rows:
        if Part(part) in readable[person]:
            found[person].update(json.loads(skills))
    graded = sorted(p for p, parts in readable.items() if Part.ANALYTICAL in parts)
    if graded:
        x, a = pf.assignment_people.c, pf.assignments.c
        done = conn.execute(
            select(x.person, a.skills)
            .join_from(pf.assignment_people, pf.assignments, a.id == x.assignment)
            .where(x.person.in_(graded), x.status == "completed")
        )
        for person, skills in done:
            found[person].update(json.loads(skills))
    return found
