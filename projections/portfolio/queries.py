"""Portfolio queries: what one viewer may see of one employee's portfolio, and nothing more.

Only the parts visible to the viewer (:mod:`projections.access`: the owner's
settings and the viewer's active grants in ``pf_grants``) are read from the
database at all, so nothing hidden can leak into the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Row, and_, select

from ledger.access import DIRECTORY_PART, directory_visible
from ledger.catalogue import Part, Visibility
from ledger.errors import NotFound

from ..access import grant_active, today_utc, visible_parts
from . import tables as t
from .views import (
    AmbitionView,
    AssignmentWork,
    CompletionGrade,
    ContributionView,
    EndorsedContribution,
    EndorsementView,
    PartView,
    Personal,
    Portfolio,
)

__all__ = ["granted_parts", "part_settings", "portfolio", "viewer_sees"]


def part_settings(row: Row[tuple[object, ...]] | Mapping[str, object]) -> dict[Part, Visibility]:
    """The visibility of each part from a ``pf_people`` row."""
    m = row._mapping if isinstance(row, Row) else row
    return {p: Visibility(str(m[f"vis_{p.value}"])) for p in Part}


def granted_parts(
    conn: Connection, owner: str, viewer: str | None, *, today: str | None = None
) -> frozenset[Part]:
    """The parts of ``owner``'s portfolio ``viewer`` holds an active grant for on ``today``."""
    if viewer is None or viewer == owner:
        return frozenset()
    g = t.grants.c
    rows = conn.execute(
        select(g.part).where(
            g.person == owner, g.viewer == viewer, grant_active(g.until, today or today_utc())
        )
    )
    return frozenset(Part(part) for (part,) in rows)


def viewer_sees(
    conn: Connection,
    person: str,
    part: Part,
    *,
    viewer: str | None,
    today: str | None = None,
) -> bool:
    """Whether ``viewer`` may see ``part`` of ``person``'s portfolio; raise :class:`NotFound`."""
    row = _person(conn, person)
    return part in _visible(conn, row, viewer, today)


def _person(conn: Connection, person: str) -> Row[tuple[object, ...]]:
    row = conn.execute(select(t.people).where(t.people.c.person == person)).first()
    if row is None:
        raise NotFound(f"no person {person!r} in the portfolio read model")
    return row


def _visible(
    conn: Connection, row: Row[tuple[object, ...]], viewer: str | None, today: str | None
) -> frozenset[Part]:
    owner = str(row._mapping["person"])
    return visible_parts(
        part_settings(row),
        is_owner=viewer is not None and viewer == owner,
        granted=granted_parts(conn, owner, viewer, today=today),
    )


def portfolio(
    conn: Connection,
    person: str,
    *,
    viewer: str | None,
    today: str | None = None,
) -> Portfolio:
    """``person``'s portfolio as ``viewer`` (a person id, None for anonymous) may see it
    on ``today`` (``YYYY-MM-DD``, default: today in UTC; it decides whether a grant ran out).

    Raises :class:`ledger.errors.NotFound` if no such person is registered.
    """
    row = _person(conn, person)
    m = row._mapping
    settings = part_settings(row)
    visible = _visible(conn, row, viewer, today)
    contributions = _contributions(conn, person, visible)
    asked = _asked_to_review(conn, person, viewer, visible)
    parts: dict[Part, PartView] = {}
    for part in Part:
        if part not in visible:
            continue
        own = tuple(c for c in contributions.values() if c.part is part)
        view = PartView(part, settings[part], own)
        if part is Part.ANALYTICAL:
            view = PartView(
                part,
                settings[part],
                own,
                endorsed=_endorsed(conn, person, contributions | asked),
                completions=_completions(conn, person),
            )
        elif part is Part.AMBITIONS:
            view = PartView(part, settings[part], own, ambitions=_ambitions(conn, person))
        elif part is Part.FREE:
            view = PartView(part, settings[part], own, assignments=_assignments(conn, person))
        parts[part] = view
    if not directory_visible(settings[DIRECTORY_PART], viewer=viewer):
        return Portfolio(  # who they are and where they work stays with members (privacy.md §9)
            person=person,
            display_name=Personal({}, ("display_name",)),
            organisation=None,
            department=None,
            viewer=viewer,
            parts=parts,
            hidden={p: v for p, v in settings.items() if p not in visible},
            asked_to_review=tuple(asked.values()),
        )
    return Portfolio(
        person=person,
        display_name=Personal.from_stored(str(m["personal"])),
        organisation=str(m["organisation"]),
        department=str(m["department"]),
        viewer=viewer,
        parts=parts,
        hidden={p: v for p, v in settings.items() if p not in visible},
        asked_to_review=tuple(asked.values()),
    )


def _skills(text: object) -> tuple[str, ...]:
    return tuple(json.loads(str(text)))


def _contributions(
    conn: Connection, person: str, visible: frozenset[Part]
) -> dict[str, ContributionView]:
    c = t.contributions.c
    rows = conn.execute(
        select(t.contributions)
        .where(c.person == person, c.part.in_(sorted(p.value for p in visible)))
        .order_by(c.position)
    )
    return _contribution_views(rows)


def _asked_to_review(
    conn: Connection, person: str, viewer: str | None, visible: frozenset[Part]
) -> dict[str, ContributionView]:
    """The contributions of ``person``'s parts hidden from ``viewer`` that a review request
    of ``person`` asks ``viewer`` to review (``ledger.access.may_read_contribution``)."""
    if viewer is None or viewer == person:
        return {}
    c, r = t.contributions.c, t.reviewers.c
    rows = conn.execute(
        select(t.contributions)
        .join(t.reviewers, and_(r.person == c.person, r.contribution == c.id))
        .where(
            c.person == person,
            r.reviewer == viewer,
            c.part.not_in(sorted(p.value for p in visible)),
        )
        .order_by(c.position)
    )
    return _contribution_views(rows)


def _contribution_views(rows: Iterable[Row[Any]]) -> dict[str, ContributionView]:
    out = {}
    for r in rows:
        out[r.id] = ContributionView(
            id=r.id,
            part=Part(r.part),
            kind=r.kind,
            skills=_skills(r.skills),
            period_start=r.period_start,
            period_end=r.period_end,
            evidence_sha256=r.evidence_sha256,
            personal=Personal.from_stored(r.personal),
            issued_at=r.issued_at,
        )
    return out


def _endorsed(
    conn: Connection, person: str, visible_contributions: Mapping[str, ContributionView]
) -> tuple[EndorsedContribution, ...]:
    e, k, c = t.endorsements.c, t.keys.c, t.contributions.c
    rows = conn.execute(
        select(
            e.id,
            e.contribution,
            e.role,
            e.grade,
            e.personal,
            e.issued_at,
            k.person.label("endorser"),
            c.skills,
        )
        .join_from(t.endorsements, t.keys, k.key_id == e.endorser_key)
        .join(t.contributions, and_(c.person == e.person, c.id == e.contribution))
        .where(e.person == person)
        .order_by(c.position, e.position)
    )
    groups: dict[str, tuple[tuple[str, ...], list[EndorsementView]]] = {}
    for r in rows:
        view = EndorsementView(
            r.id, r.endorser, r.role, r.grade, Personal.from_stored(r.personal), r.issued_at
        )
        groups.setdefault(r.contribution, (_skills(r.skills), []))[1].append(view)
    return tuple(
        EndorsedContribution(cid, skills, visible_contributions.get(cid), tuple(views))
        for cid, (skills, views) in groups.items()
    )


def _completions(conn: Connection, person: str) -> tuple[CompletionGrade, ...]:
    x, a = t.assignment_people.c, t.assignments.c
    rows = conn.execute(
        select(x.assignment, x.outcome, x.grade, x.personal, a.personal.label("title"))
        .join_from(t.assignment_people, t.assignments, a.id == x.assignment)
        .where(x.person == person, x.status == "completed")
        .order_by(x.position)
    )
    return tuple(
        CompletionGrade(
            r.assignment,
            _title_only(r.title),
            r.outcome,
            r.grade,
            Personal.from_stored(r.personal),
        )
        for r in rows
    )


def _title_only(stored: str) -> Personal:
    full = Personal.from_stored(stored)
    disclosed = {k: v for k, v in full.disclosed.items() if k == "title"}
    return Personal(disclosed, tuple(w for w in full.withheld if w == "title"))


def _ambitions(conn: Connection, person: str) -> tuple[AmbitionView, ...]:
    c = t.ambitions.c
    rows = conn.execute(select(t.ambitions).where(c.person == person).order_by(c.position))
    return tuple(
        AmbitionView(r.id, _skills(r.skills), Personal.from_stored(r.personal), r.issued_at)
        for r in rows
    )


def _assignments(conn: Connection, person: str) -> tuple[AssignmentWork, ...]:
    x, a = t.assignment_people.c, t.assignments.c
    rows = conn.execute(
        select(
            x.assignment,
            x.status,
            x.outcome,
            a.organisation,
            a.department,
            a.skills,
            a.hours_per_week,
            a.personal,
            a.cancelled,
        )
        .join_from(t.assignment_people, t.assignments, and_(a.id == x.assignment))
        .where(x.person == person)
        .order_by(x.position)
    )
    return tuple(
        AssignmentWork(
            assignment=r.assignment,
            organisation=r.organisation,
            department=r.department,
            skills=_skills(r.skills),
            hours_per_week=r.hours_per_week,
            status="cancelled" if r.cancelled and r.status != "completed" else r.status,
            outcome=r.outcome,
            personal=Personal.from_stored(r.personal),
        )
        for r in rows
    )
