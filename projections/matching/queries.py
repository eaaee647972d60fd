"""Matching queries: ranked, explained candidates for an assignment, ring by ring, and back.

**Who is a candidate.** A person whose free part is visible to the searcher
(the opt-in, see :mod:`projections.access`: ``public``, or ``on_request`` with
an active grant of it to the searcher in ``mt_grants``), who is not the searcher, not the
assignment's owner or already assigned to it, who has at least one of the
required skills — as evidence (a contribution or a completed assignment
tagged with it) or as a stated ambition — and whose available hours cover the
assignment: ``weekly budget − hours of active assignments ≥ hours needed``.

**Imported evidence.** Contributions and completed assignments in records the person
brought from other ledgers count as evidence too, weighed by the declared trust in
their origin (docs/reputation.md, "Imported evidence in matching"; the refresh step
writes them, :mod:`projections.matching.model`): a person whose history is only
imported is a candidate like any other, and a skill's reason names each origin its
evidence came from.

**Score.** For the n required skills, ``(1/n) Σ fit_k · (0.5 + 0.5 · (rep_k − 1)/4)``
over the skills the person has: ``fit`` is 1 for evidence on this ledger, else the
higher of the trust in the best-trusted origin with imported evidence of the skill
and 0.5 for an ambition; ``rep`` is the refreshed reputation in that skill (the prior 3
when there is none yet), which counts the ratings of imported records at the
declared trust in their origin (docs/reputation.md, "Imported ratings"); the skill's
reason names those origins. So covering more required skills always counts more
than excellence in fewer; reputation orders people of equal coverage. Ties go
to more available hours, then the person id.

**Rings.** Searched in order — the assignment's own department, the rest of
its organisation, then every other organisation on the ledger — up to the
ring the assignment was posted for; each ring is one indexed query
(``mt_skills`` by skill and department or organisation) with ``LIMIT``, and
the next ring is only searched while fewer than ``limit`` candidates were
found. Results are ordered by ring, then score.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Row,
    Select,
    and_,
    case,
    func,
    or_,
    select,
    true,
)

from ledger.catalogue import Part, Ring, Visibility
from ledger.errors import NotFound
from ledger.people_search import SearchRing

from ..access import grant_active, today_utc
from ..reputation import tables as rep
from . import tables as t
from .reasons import Reason, skill_entry

__all__ = [
    "AssignmentMatch",
    "AssignmentSpec",
    "ImportedSkill",
    "Match",
    "MatchParams",
    "SkillMatch",
    "assignments_for",
    "candidates",
    "candidates_for_assignment",
    "granted_owners",
    "hours_reason",
    "skills_reason",
]

_RINGS = (Ring.DEPARTMENT, Ring.ORGANISATION, Ring.GOVERNMENT)


@dataclass(frozen=True)
class MatchParams:
    """Constants of matching: the weekly budget of hours and the weight of an ambition."""

    weekly_budget_hours: int = 36
    ambition_fit: float = 0.5
    prior: float = 3.0


@dataclass(frozen=True)
class AssignmentSpec:
    """What an assignment asks for."""

    skills: tuple[str, ...]
    hours_per_week: int
    organisation: str
    department: str
    ring: Ring = Ring.GOVERNMENT


@dataclass(frozen=True)
class ImportedSkill:
    """Evidence of a skill in a record imported from ledger ``origin``: how many
    contributions and completed assignments of the portfolio ``part`` hold it, and the
    declared trust in the origin as of the last refresh (``weight``, 0: not counted)."""

    origin: str
    part: Part
    evidence: int
    weight: float


@dataclass(frozen=True)
class SkillMatch:
    """A required skill the candidate has: evidence count, ambition, refreshed reputation,
    the other ledgers whose imported ratings count in that reputation (``origins``), and
    how many of those ratings are in this skill (``imported``; counted only where they
    are the evidence, :mod:`projections.matching.search`), and the evidence of it in
    records imported from other ledgers (``imported_evidence``, by origin and part)."""

    skill: str
    evidence: int
    ambition: bool
    reputation: float | None
    origins: tuple[str, ...] = ()
    imported: int = 0
    imported_evidence: tuple[ImportedSkill, ...] = ()


@dataclass(frozen=True)
class Match:
    """One ranked candidate and why.

    ``withheld`` names the parts of the candidate's portfolio the viewer may not
    read (:func:`ledger.access.hidden_parts`); :meth:`as_seen` has then dropped
    what is drawn from them.
    """

    person: str
    ring: Ring | SearchRing  # SearchRing.BEYOND only in a people search
    score: float | None
    skills: tuple[SkillMatch, ...]
    missing: tuple[str, ...]
    available_hours: int
    reasons: tuple[Reason, ...] = field(default=())
    withheld: tuple[Part, ...] = ()

    def as_seen(self, hidden: Collection[Part], evidence: Mapping[str, int]) -> Match:
        """This match for a viewer who may not read the ``hidden`` parts of the candidate's
        portfolio and may read ``evidence`` (per skill, :func:`ledger.access.readable_evidence`).

        The place in the ranking (the list's order), ring and hours stay; the score
        (made of every part) goes, and each skill shows only the evidence, reputation
        (``analytical``) and ambition (``ambitions``) the viewer may read — a skill the
        viewer sees neither evidence nor ambition of is left out, and so are the
        missing skills (they would tell that no hidden evidence exists).
        """
        withheld = tuple(sorted(hidden))
        if not withheld:
            return self
        shown = []
        for s in self.skills:
            seen = SkillMatch(
                s.skill,
                evidence=evidence.get(s.skill, 0),
                ambition=s.ambition and Part.AMBITIONS not in hidden,
                reputation=None if Part.ANALYTICAL in hidden else s.reputation,
                origins=() if Part.ANALYTICAL in hidden else s.origins,
                imported=0 if Part.ANALYTICAL in hidden else s.imported,
                imported_evidence=tuple(i for i in s.imported_evidence if i.part not in hidden),
            )
            if seen.evidence or seen.ambition or seen.imported or seen.imported_evidence:
                shown.append(seen)
        reasons = [self.reasons[0]]  # _reasons puts the ring first and the hours last
        if shown:
            reasons.append(skills_reason(shown, reputation_shown=Part.ANALYTICAL not in hidden))
        parts = [p.value for p in withheld]
        reasons += [self.reasons[-1], Reason("withheld", {"person": self.person, "parts": parts})]
        return Match(
            person=self.person,
            ring=self.ring,
            score=None,
            skills=tuple(shown),
            missing=(),
            available_hours=self.available_hours,
            reasons=tuple(reasons),
            withheld=withheld,
        )


@dataclass(frozen=True)
class AssignmentMatch:
    """An open assignment that fits an employee, and why."""

    assignment: str
    title: str | None
    organisation: str
    department: str
    ring: Ring
    hours_per_week: int
    matched: tuple[str, ...]
    missing: tuple[str, ...]
    fit: float
    reasons: tuple[Reason, ...] = field(default=())


def candidates_for_assignment(
    conn: Connection,
    assignment: str,
    *,
    limit: int = 10,
    params: MatchParams = MatchParams(),
    today: str | None = None,
) -> list[Match]:
    """Candidates for a posted assignment, as its owner searches; raise :class:`NotFound`."""
    a = t.assignments.c
    row = conn.execute(
        select(t.assignments, t.keys.c.person.label("owner"))
        .join_from(t.assignments, t.keys, t.keys.c.key_id == a.owner_key)
        .where(a.id == assignment)
    ).first()
    if row is None:
        raise NotFound(f"no assignment {assignment!r} in the matching read model")
    assigned = [
        p
        for (p,) in conn.execute(
            select(t.assignees.c.person).where(t.assignees.c.assignment == assignment)
        )
    ]
    spec = AssignmentSpec(
        skills=tuple(json.loads(row.skills)),
        hours_per_week=row.hours_per_week,
        organisation=row.organisation,
        department=row.department,
        ring=Ring(row.ring),
    )
    return candidates(
        conn,
        spec,
        searcher=row.owner,
        limit=limit,
        exclude=assigned,
        params=params,
        today=today,
    )


def candidates(
    conn: Connection,
    spec: AssignmentSpec,
    *,
    searcher: str | None,
    limit: int = 10,
    exclude: Iterable[str] = (),
    params: MatchParams = MatchParams(),
    today: str | None = None,
    generation: int | None = None,
) -> list[Match]:
    """The best ``limit`` candidates for ``spec`` that ``searcher`` may find, ring by ring
    (``today``, default today in UTC, decides which grants of the free part still count),
    by the scores of the reputation refresh of ``generation`` (default: the published one,
    :func:`projections.reputation.tables.published`, read once for the whole answer)."""
    required = tuple(dict.fromkeys(spec.skills))
    if not required or limit <= 0:
        return []
    generation = rep.published(conn) if generation is None else generation
    excluded = sorted({*exclude, *([searcher] if searcher else [])})
    granted = granted_owners(conn, searcher, today or today_utc())
    found: list[Match] = []
    for ring in _RINGS[: _RINGS.index(spec.ring) + 1]:
        rows = conn.execute(
            _ring_query(
                spec, required, ring, excluded, granted, limit - len(found), params, generation
            )
        ).all()
        found.extend(_explain(conn, spec, required, ring, rows, params, generation))
        if len(found) >= limit:
            break
    return found


def granted_owners(conn: Connection, searcher: str | None, today: str) -> list[str]:
    """The people who granted ``searcher`` their free part, with the grant active on ``today``."""
    if searcher is None:
        return []
    g = t.grants.c
    query = select(g.person).where(g.viewer == searcher, grant_active(g.until, today)).distinct()
    return sorted(p for (p,) in conn.execute(query))


def _value(params: MatchParams) -> ColumnElement[float]:
    s, r = t.skills.c, rep.scores.c
    fit = case(
        (s.evidence > 0, 1.0),
        (and_(s.ambition > 0, s.imported < params.ambition_fit), params.ambition_fit),
        else_=s.imported,
    )
    reputation = func.coalesce(r.score, params.prior)
    return fit * (0.5 + 0.5 * (reputation - 1.0) / 4.0)


def _with_scores(generation: int) -> FromClause:
    """``mt_skills`` with the reputation score of each (person, skill) of the reputation
    refresh of ``generation``, if it has one."""
    s, r = t.skills.c, rep.scores.c
    on = and_(r.generation == generation, r.person == s.person, r.skill == s.skill)
    return t.skills.outerjoin(rep.scores, on)


def _ring_filter(spec: AssignmentSpec, ring: Ring) -> ColumnElement[bool]:
    s = t.skills.c
    if ring is Ring.DEPARTMENT:
        return and_(s.organisation == spec.organisation, s.department == spec.department)
    if ring is Ring.ORGANISATION:
        return and_(s.organisation == spec.organisation, s.department != spec.department)
    return s.organisation != spec.organisation


def _ring_query(
    spec: AssignmentSpec,
    required: tuple[str, ...],
    ring: Ring,
    excluded: Sequence[str],
    granted: Sequence[str],
    limit: int,
    params: MatchParams,
    generation: int,
) -> Select[Any]:
    s = t.skills.c
    shown = [Visibility.PUBLIC.value, *([Visibility.ON_REQUEST.value] if granted else [])]
    opted_in = and_(
        s.visibility.in_(shown),
        or_(s.visibility == Visibility.PUBLIC.value, s.person.in_(granted)) if granted else true(),
    )
    total = func.sum(_value(params)).label("total")
    committed = func.max(s.committed).label("committed")
    query = (
        select(s.person, total, committed)
        .select_from(_with_scores(generation))
        .where(
            s.skill.in_(required),
            _ring_filter(spec, ring),
            opted_in,
            s.committed <= params.weekly_budget_hours - spec.hours_per_week,
            s.person.not_in(excluded) if excluded else true(),
        )
        .group_by(s.person)
        .order_by(total.desc(), committed.asc(), s.person.asc())
        .limit(limit)
    )
    return query


def _explain(
    conn: Connection,
    spec: AssignmentSpec,
    required: tuple[str, ...],
    ring: Ring,
    rows: Sequence[Row[Any]],
    params: MatchParams,
    generation: int,
) -> list[Match]:
    if not rows:
        return []
    people = [row.person for row in rows]
    s, r = t.skills.c, rep.scores.c
    details: dict[str, dict[str, SkillMatch]] = {p: {} for p in people}
    imported = _imported_origins(conn, people, required, generation)
    evidence = imported_evidence(conn, people, required)
    for d in conn.execute(
        select(s.person, s.skill, s.evidence, s.ambition, r.score)
        .select_from(_with_scores(generation))
        .where(s.person.in_(people), s.skill.in_(required))
    ):
        score = None if d.score is None else round(float(d.score), 3)
        origins = imported.get((d.person, d.skill), ())
        details[d.person][d.skill] = SkillMatch(
            d.skill, int(d.evidence), bool(d.ambition), score, origins,
            imported_evidence=evidence.get((d.person, d.skill), ()),
        )  # fmt: skip
    out = []
    for row in rows:
        person = row.person
        have = tuple(details[person][k] for k in required if k in details[person])
        missing = tuple(k for k in required if k not in details[person])
        available = params.weekly_budget_hours - int(row.committed)
        score = float(row.total) / len(required)
        out.append(
            Match(
                person=person,
                ring=ring,
                score=round(score, 6),
                skills=have,
                missing=missing,
                available_hours=available,
                reasons=_reasons(spec, ring, have, missing, available, params),
            )
        )
    return out


def imported_evidence(
    conn: Connection, people: Sequence[str], skills: Collection[str] | None = None
) -> dict[tuple[str, str], tuple[ImportedSkill, ...]]:
    """Per (person, skill) of ``people`` (and of ``skills``, or every skill): the evidence
    imported from other ledgers the last refresh wrote (``mt_imported``), by origin and
    part."""
    i = t.imported.c
    query = select(t.imported).where(i.person.in_(people))
    if skills is not None:
        query = query.where(i.skill.in_(sorted(set(skills))))
    found: dict[tuple[str, str], list[ImportedSkill]] = {}
    for r in conn.execute(query.order_by(i.person, i.skill, i.origin, i.part)):
        found.setdefault((r.person, r.skill), []).append(
            ImportedSkill(r.origin, Part(r.part), int(r.evidence), float(r.weight))
        )
    return {k: tuple(v) for k, v in found.items()}


def _imported_origins(
    conn: Connection, people: Sequence[str], required: Collection[str], generation: int
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Per (person, required skill): the origins of the imported ratings the reputation
    refresh of ``generation`` counted (``rep_imported``), sorted."""
    i = rep.imported.c
    found: dict[tuple[str, str], set[str]] = {}
    query = (
        select(i.subject, i.origin, i.skills)
        .where(i.generation == generation, i.subject.in_(people))
        .distinct()
    )
    for subject, origin, skills in conn.execute(query):
        for skill in json.loads(skills):
            if skill in required:
                found.setdefault((subject, skill), set()).add(origin)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _reasons(  # the ring first, the hours last (Match.as_seen keeps those two)
    spec: AssignmentSpec,
    ring: Ring,
    have: tuple[SkillMatch, ...],
    missing: tuple[str, ...],
    available: int,
    params: MatchParams,
) -> tuple[Reason, ...]:
    where = {
        Ring.DEPARTMENT: Reason("ring_department", {"department": spec.department}),
        Ring.ORGANISATION: Reason("ring_organisation", {"organisation": spec.organisation}),
        Ring.GOVERNMENT: Reason("ring_government"),
    }[ring]
    reasons = [where, skills_reason(have, reputation_shown=True)]
    if missing:
        reasons.append(Reason("missing", {"skills": list(missing)}))
    reasons.append(hours_reason(available, spec.hours_per_week, params))
    return tuple(reasons)


def hours_reason(available: int, needed: int, params: MatchParams) -> Reason:
    """The reason that names a person's available hours against the hours needed."""
    values = {"available": available, "budget": params.weekly_budget_hours, "needed": needed}
    return Reason("hours", values)


def skills_reason(have: Iterable[SkillMatch], *, reputation_shown: bool) -> Reason:
    """The reason that names the asked skills a person has, each with its evidence (or
    imported ratings, or ambition) and reputation (unless not ``reputation_shown``)."""
    skills = [
        skill_entry(
            m.skill,
            evidence=m.evidence,
            ambition=m.ambition,
            reputation=m.reputation if reputation_shown else None,
            origins=m.origins if reputation_shown else (),
            imported=m.imported,
            imported_evidence=m.imported_evidence,
        )
        for m in have
    ]
    return Reason("skills", {"skills": skills, "reputation_shown": reputation_shown})


def _imported_only(conn: Connection, person: str, skills: Sequence[str]) -> dict[str, list[str]]:
    """The origins (trusted) of each of ``skills`` (without evidence on this ledger) that
    ``person`` has from records imported from other ledgers."""
    out = {}
    for (_, skill), imported in imported_evidence(conn, [person], skills).items():
        origins = sorted({i.origin for i in imported if i.weight > 0})
        if origins:
            out[skill] = origins
    return out


def assignments_for(
    conn: Connection,
    person: str,
    *,
    limit: int = 10,
    params: MatchParams = MatchParams(),
) -> list[AssignmentMatch]:
    """Open assignments that fit ``person``: ranked by skill fit, then ring closeness.

    An assignment fits if it is open, its ring reaches the person, its hours
    fit their available hours, it needs at least one skill they have, and they
    do not own it and are not assigned to it. Raises :class:`NotFound`.
    """
    me = conn.execute(select(t.people).where(t.people.c.person == person)).first()
    if me is None:
        raise NotFound(f"no person {person!r} in the matching read model")
    s = t.skills.c
    held = conn.execute(select(s.skill, s.evidence).where(s.person == person)).all()
    mine = [k for k, _ in held]
    if not mine:
        return []
    elsewhere = _imported_only(conn, person, [k for k, n in held if n <= 0])
    a, x, k = t.assignments.c, t.open_skills.c, t.keys.c
    reach = or_(
        a.ring == Ring.GOVERNMENT.value,
        and_(a.ring == Ring.ORGANISATION.value, a.organisation == me.organisation),
        and_(a.ring == Ring.DEPARTMENT.value, a.department == me.department),
    )
    closeness = case(
        (a.department == me.department, 0), (a.organisation == me.organisation, 1), else_=2
    )
    matched = func.count().label("matched")
    fit = (matched * 1.0 / a.skill_count).label("fit")
    assigned = select(t.assignees.c.assignment).where(t.assignees.c.person == person)
    ranked = conn.execute(
        select(a.id, fit, closeness.label("closeness"))
        .join_from(t.open_skills, t.assignments, a.id == x.assignment)
        .join(t.keys, k.key_id == a.owner_key)
        .where(
            x.skill.in_(mine),
            a.open.is_(True),
            reach,
            a.hours_per_week <= params.weekly_budget_hours - me.committed,
            k.person != person,
            a.id.not_in(assigned),
        )
        .group_by(a.id)  # the other columns depend on the primary key
        .order_by(fit.desc(), closeness.asc(), a.position.desc(), a.id)
        .limit(limit)
    ).all()
    if not ranked:
        return []
    details = {
        r.id: r
        for r in conn.execute(
            select(
                a.id, a.skills, a.personal, a.organisation, a.department, a.hours_per_week
            ).where(a.id.in_([r.id for r in ranked]))
        )
    }
    rows = [(details[r.id], r.fit, r.closeness) for r in ranked]
    mine_set = set(mine)
    out = []
    for row, row_fit, row_closeness in rows:
        needs = tuple(json.loads(row.skills))
        ring = (Ring.DEPARTMENT, Ring.ORGANISATION, Ring.GOVERNMENT)[int(row_closeness)]
        have = tuple(s for s in needs if s in mine_set)
        lacking = tuple(s for s in needs if s not in mine_set)
        title = json.loads(row.personal).get("title")
        out.append(
            AssignmentMatch(
                assignment=row.id,
                title=title,
                organisation=row.organisation,
                department=row.department,
                ring=ring,
                hours_per_week=row.hours_per_week,
                matched=have,
                missing=lacking,
                fit=round(float(row_fit), 6),
                reasons=(
                    Reason(
                        "assignment_skills",
                        {
                            "skills": list(have),
                            "needed": len(needs),
                            "imported": {k: elsewhere[k] for k in have if k in elsewhere},
                        },
                    ),
                    Reason("assignment_ring", {"ring": ring.value}),
                    Reason(
                        "assignment_hours",
                        {
                            "hours": row.hours_per_week,
                            "available": params.weekly_budget_hours - me.committed,
                        },
                    ),
                ),
            )
        )
    return out
