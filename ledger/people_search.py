"""People search: who may be found by whom, in which ring, by which skill (issue 17).

A project manager searches people by skill, available hours and ring. This module holds
the rules; the query runs over the matching read model
(:mod:`projections.matching.search`), which applies the same rules over its own rows and
whose answers are checked here again against the ledger's state (fail closed: a read
model may lag the log).

**Who may be found** (:func:`may_find`) by a searcher (a person with a session, or
nobody): a person who opted in towards them — their ``free`` part
(:data:`ledger.access.OPT_IN_PART`, the opt-in of matching) is readable by the searcher
(:func:`ledger.access.may_read`: ``public``, or ``on_request`` with an active grant to
the searcher; ``private``, the default, is found by nobody) — who is not the searcher,
has not left this ledger (``EmployeeLeft``) and was not erased; a searcher without a
session finds only people whose directory entry is public as well
(:func:`ledger.access.shows_directory_entry`, docs/privacy.md §9), so a search never
tells an outsider who works where.

**Rings** (:class:`SearchRing`), counted from the searcher's own place and searched in
order up to the ring asked for: ``department`` (the searcher's department),
``organisation`` (the rest of the searcher's organisation), ``government`` (every other
organisation of this ledger: the ledger is government's, each of its organisations a
government body) and ``beyond`` (beyond government: people whose evidence of a skill
comes only from another ledger — a record imported from a trusted origin,
:mod:`ledger.imports`, whose ratings count here at the declared trust,
:mod:`ledger.imported_ratings` — and who are therefore not found for it in the three
rings of this ledger). A searcher without a session has no place: they search the
``government`` and ``beyond`` rings only (``no_place`` otherwise).

**Links.** Each person found links to their portfolio, which shows the parts the
searcher may read (:func:`readable_parts`); being found opens nothing more.

Pure: no I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .access import OPT_IN_PART, may_read, shows_directory_entry
from .catalogue import SKILL_RE, Part
from .errors import MalformedInput, NotPermitted
from .skills import SKILLS
from .state import LedgerState

__all__ = [
    "MAX_LIMIT",
    "MAX_SKILLS",
    "OPT_IN_PART",
    "PeopleQuery",
    "Place",
    "SearchRing",
    "find_skill",
    "may_find",
    "people_query",
    "place_of",
    "readable_parts",
    "rings_to_search",
]

#: at most this many skills in one search, and this many people found
MAX_SKILLS = 5
MAX_LIMIT = 50
#: the weekly hours one may ask to be available (the matching's weekly budget)
MAX_HOURS = 36


class SearchRing(enum.StrEnum):
    """How far a search reaches, nearest first (see the module docstring)."""

    DEPARTMENT = "department"
    ORGANISATION = "organisation"
    GOVERNMENT = "government"
    BEYOND = "beyond"


@dataclass(frozen=True)
class Place:
    """Where a searcher works: the rings are counted from here."""

    organisation: str
    department: str


@dataclass(frozen=True)
class PeopleQuery:
    """A search: skills (slugs, at least one), the weekly hours a person must still have
    available, how far to search, and how many people to find at most."""

    skills: tuple[str, ...]
    hours: int = 0
    ring: SearchRing = SearchRing.GOVERNMENT
    limit: int = 10


_LABELS = {label.casefold(): s.slug for s in SKILLS for label in (s.label_nl, s.label_en, s.slug)}
_SKILL = re.compile(SKILL_RE)


def find_skill(text: str) -> str:
    """The skill slug ``text`` names: a skill of the taxonomy by its Dutch or English label
    or its slug (case and surrounding spaces ignored), or a skill of one's own written as a
    slug (statements may carry those). Raise :class:`MalformedInput` (``unknown_skill``)
    for anything else."""
    wanted = text.strip()
    found = _LABELS.get(wanted.casefold())
    if found is not None:
        return found
    if _SKILL.fullmatch(wanted):
        return wanted
    raise MalformedInput(
        f"{wanted!r} is neither a skill of the taxonomy (by its Dutch or English label) "
        "nor a skill name (lower-case letters, digits and hyphens)",
        code="unknown_skill",
        field="skill",
    )


def people_query(
    skills: Iterable[str], *, hours: int = 0, ring: str = "government", limit: int = 10
) -> PeopleQuery:
    """A checked :class:`PeopleQuery` from what a user typed: skills by label or slug
    (:func:`find_skill`), duplicates dropped. Raise :class:`MalformedInput`: ``no_skill``,
    ``too_many_skills``, ``unknown_skill``, ``bad_hours``, ``bad_ring``, ``bad_limit``."""
    slugs = tuple(dict.fromkeys(find_skill(s) for s in skills if s.strip()))
    if not slugs:
        raise MalformedInput(
            "name at least one skill to search for", code="no_skill", field="skill"
        )
    if len(slugs) > MAX_SKILLS:
        raise MalformedInput(
            f"at most {MAX_SKILLS} skills in one search", code="too_many_skills", field="skill"
        )
    if not 0 <= hours <= MAX_HOURS:
        raise MalformedInput(
            f"available hours are 0 to {MAX_HOURS} a week, not {hours}",
            code="bad_hours",
            field="hours",
        )
    if ring not in SearchRing.__members__.values():
        rings = ", ".join(r.value for r in SearchRing)
        raise MalformedInput(
            f"a ring is one of {rings}, not {ring!r}", code="bad_ring", field="ring"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise MalformedInput(
            f"find 1 to {MAX_LIMIT} people, not {limit}", code="bad_limit", field="limit"
        )
    return PeopleQuery(slugs, hours, SearchRing(ring), limit)


def place_of(state: LedgerState, searcher: str | None) -> Place | None:
    """Where ``searcher`` works (None without a session, or for nobody registered)."""
    person = None if searcher is None else state.people.get(searcher)
    return None if person is None else Place(person.organisation, person.department)


def rings_to_search(ring: SearchRing, place: Place | None) -> tuple[SearchRing, ...]:
    """The rings a search up to ``ring`` visits, nearest first, from ``place``. Raise
    :class:`NotPermitted` (``no_place``) for the department or organisation ring without a
    place: they are counted from one's own."""
    rings = tuple(SearchRing)
    wanted = rings[: rings.index(ring) + 1]
    if place is None:
        if ring in (SearchRing.DEPARTMENT, SearchRing.ORGANISATION):
            raise NotPermitted(
                "no_place",
                "the department and organisation rings are counted from your own place: "
                "log in to search them, or search the government ring",
            )
        return tuple(r for r in wanted if r not in (SearchRing.DEPARTMENT, SearchRing.ORGANISATION))
    return wanted


def may_find(state: LedgerState, person: str, searcher: str | None, *, today: str) -> bool:
    """Whether a search by ``searcher`` (None: without a session) may find ``person``
    (the rule of the module docstring)."""
    if person == searcher or person not in state.people:
        return False
    if person in state.departures or state.is_erased(person):
        return False
    if not may_read(state, person, searcher, OPT_IN_PART, today=today):
        return False
    return searcher is not None or shows_directory_entry(state, person, None)


def readable_parts(
    state: LedgerState, person: str, viewer: str | None, *, today: str
) -> tuple[Part, ...]:
    """The parts of ``person``'s portfolio ``viewer`` may read, in the portfolio's order:
    what the link to their portfolio shows."""
    return tuple(p for p in Part if may_read(state, person, viewer, p, today=today))
