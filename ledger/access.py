"""Who may read which part of a person's portfolio: the defaults and the one access rule.

**Defaults** (until the owner signs a ``VisibilityChanged``): dossier and
analytical ``on_request``, ambitions and free part ``private``. They follow
data protection by default (GDPR/AVG art. 25(2)): nothing about a person is
shown to an indefinite number of people until the person decides so.

**The rule**, for a part with visibility *v*, an owner and a viewer:

- the owner reads every part of their own portfolio;
- ``public``: everyone reads it, viewers without a session included;
- ``on_request``: a viewer reads it while they hold an active grant for that
  part — an ``AccessGranted`` signed by the owner (usually the answer to the
  viewer's ``AccessRequested``), not revoked by an ``AccessRevoked`` and not
  past its ``until`` day (UTC). A grant only counts while the part is
  ``on_request``: making the part ``private`` shuts every grantee out, making
  it ``on_request`` again lets the grants that are still active count again;
- ``private``: the owner only.

**Review requests** open one contribution, not a part: the people a
``ReviewRequested`` names read that contribution's text whatever its part's
visibility, from the request on (:func:`may_read_contribution`), so they can judge
what they are asked to grade. Withdrawing the contribution or changing the part's
visibility does not take it back: the owner showed it to them on purpose. A review
request opens nothing else (no part, so no match details or reputation).

**Which part an entry belongs to** (:func:`record_part`): an entry of
``record/<person>`` belongs to a portfolio part — a claimed contribution to its
``part``, its withdrawal to the same part, endorsements and their revocations to
``analytical``, ambitions to ``ambitions`` — or to none (``VisibilityChanged``
says who may see what and nothing more); on an assignment stream, an assignment or
its completion belongs to a part of the assignee's (:func:`assignment_part`). The
access statements (:data:`ACCESS_TYPES`) concern the owner and the viewer (or, for a
review request, the reviewers) only (:func:`access_parties`).

The ledger's rules (:mod:`ledger.rules`) keep the grants in
:class:`~ledger.state.LedgerState`; the API, the bundle exporter and the read
models all decide with :func:`may_read` or the same rule over their own rows.

**Derived answers** follow the parts they are made of: a reputation score is
made of endorsements (``analytical``); a match of a candidate to an assignment
(:data:`MATCHING_PARTS`) of contributions in any part and completed assignments
as evidence, reputation, ambitions as skills to develop, and the ``free`` part
as the opt-in and the hours. Ranking may use all of it, but a viewer is shown
the details of a match (score, skills, evidence, reasons) only if they may read
every part it is made of (:func:`hidden_parts`); otherwise only the candidate's
place in the ranking, ring and available hours.

**The directory** (who a person is and where they work: their display name,
organisation, department, roles, and the ledger they left for) follows their
``dossier`` part (:data:`DIRECTORY_PART`: the CV part, which says where one
works): a member of the ledger (a viewer with a session) sees everyone's
directory entry, as colleagues do in an employer's directory; a viewer without
a session sees it only for people who made their dossier ``public``, and for the
operator (:func:`shows_directory_entry`, :func:`directory_listing`). By default, then,
nobody outside the ledger learns who works where from its lists (docs/privacy.md §9).
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from types import MappingProxyType
from typing import Any

from .catalogue import Part, Visibility
from .errors import NotFound, NotPermitted
from .state import (
    AccessGrant,
    AccessRequest,
    Assignment,
    Contribution,
    LedgerState,
    ReviewRequest,
)

__all__ = [
    "ACCESS_TYPES",
    "DEFAULT_VISIBILITY",
    "DIRECTORY_PART",
    "HISTORY",
    "MATCHING_PARTS",
    "OPT_IN_PART",
    "REPUTATION_PART",
    "AccessGiven",
    "AccessHeld",
    "GrantLine",
    "access_given",
    "access_held",
    "access_listed",
    "access_parties",
    "active_grant",
    "application_status",
    "applications_of",
    "applied_for",
    "assignment_part",
    "directory_listing",
    "directory_visible",
    "grant_is_active",
    "grant_status",
    "hidden_parts",
    "may_read",
    "may_read_contribution",
    "permits",
    "readable_evidence",
    "record_part",
    "review_inbox",
    "shows_assignee",
    "shows_directory_entry",
    "today_utc",
    "visibility_of",
]

DEFAULT_VISIBILITY: Mapping[Part, Visibility] = MappingProxyType(
    {
        Part.DOSSIER: Visibility.ON_REQUEST,
        Part.ANALYTICAL: Visibility.ON_REQUEST,
        Part.AMBITIONS: Visibility.PRIVATE,
        Part.FREE: Visibility.PRIVATE,
    }
)


#: the parts a match of a candidate is made of: contributions (claimed into any part)
#: and completions as evidence, endorsements as reputation, ambitions, the free part
MATCHING_PARTS: frozenset[Part] = frozenset(Part)

#: the part a reputation is made of (endorsements, and completions' grades): who may read
#: a person's ``analytical`` part sees their scores and how they were reached, nobody else
REPUTATION_PART = Part.ANALYTICAL

#: the part whose visibility is a person's opt-in to matching and people search: who may
#: read their ``free`` part may find them (private by default: nobody)
OPT_IN_PART = Part.FREE


def today_utc() -> str:
    """Today's date in UTC as ``YYYY-MM-DD`` (the day a grant's ``until`` is compared with)."""
    return _dt.datetime.now(_dt.UTC).date().isoformat()


def visibility_of(state: LedgerState, owner: str, part: Part) -> Visibility:
    """The visibility ``owner`` has set for ``part`` (or its default)."""
    value = state.visibility.get((owner, part.value))
    return DEFAULT_VISIBILITY[part] if value is None else Visibility(value)


#: the part whose visibility decides who sees a person's directory entry (see above)
DIRECTORY_PART = Part.DOSSIER


def shows_directory_entry(state: LedgerState, person: str, viewer: str | None) -> bool:
    """Whether ``viewer`` (a person id, or None without a session) sees ``person``'s
    directory entry: display name, organisation, department, roles, where they went. The
    operator's is public: they sign the checkpoints everyone verifies."""
    dossier = visibility_of(state, person, DIRECTORY_PART)
    return directory_visible(dossier, viewer=viewer, operator=person == state.operator)


def directory_visible(dossier: Visibility, *, viewer: str | None, operator: bool = False) -> bool:
    """The directory rule on its own: whether ``viewer`` sees the directory entry of a
    person whose dossier part has visibility ``dossier`` (``operator``: of the operator)."""
    return viewer is not None or operator or dossier is Visibility.PUBLIC


def directory_listing(state: LedgerState, viewer: str | None) -> list[str]:
    """The ids of the people whose directory entry ``viewer`` sees, in id order: everyone
    for a member, only those whose dossier is ``public`` for a viewer without a session
    (one pass over the visibility table, not a look-up per person)."""
    people = sorted(state.people)
    if viewer is not None:
        return people
    dossier = DIRECTORY_PART.value
    chosen = {owner: v for (owner, part), v in state.visibility.items() if part == dossier}
    default = DEFAULT_VISIBILITY[DIRECTORY_PART].value
    public = Visibility.PUBLIC.value
    operator = state.operator
    return [p for p in people if p == operator or chosen.get(p, default) == public]


def grant_is_active(grant: AccessGrant, *, today: str) -> bool:
    """Whether ``grant`` gives access on ``today`` (``YYYY-MM-DD``)."""
    return not grant.revoked and (grant.until is None or today <= grant.until)


def grant_status(grant: AccessGrant, *, today: str) -> str:
    """``active`` (it gives access on ``today``), ``revoked``, or ``expired`` (past its
    ``until`` day, UTC)."""
    if grant_is_active(grant, today=today):
        return "active"
    return "revoked" if grant.revoked else "expired"


def active_grant(
    state: LedgerState, owner: str, viewer: str, part: Part, *, today: str | None = None
) -> AccessGrant | None:
    """``viewer``'s active grant for ``owner``'s ``part``, if any."""
    grant_id = state.active_grants.get((owner, viewer, part.value))
    if grant_id is None:
        return None
    grant = state.access_grants[grant_id]
    return grant if grant_is_active(grant, today=today or today_utc()) else None


def permits(visibility: Visibility, *, is_owner: bool, granted: bool) -> bool:
    """The access rule for one part with ``visibility``: may a viewer read it who is its
    owner (``is_owner``) or not, and holds an active grant for it (``granted``) or not.

    Every reader decides with it: :func:`may_read` over the ledger state, the read
    models (:mod:`projections.access`) over their own rows.
    """
    if is_owner or visibility is Visibility.PUBLIC:
        return True
    if visibility is Visibility.ON_REQUEST:
        return granted
    return False


def may_read(
    state: LedgerState, owner: str, viewer: str | None, part: Part, *, today: str | None = None
) -> bool:
    """Whether ``viewer`` (a person id, or None without a session) may read ``owner``'s ``part``."""
    if viewer == owner:
        return True
    visibility = visibility_of(state, owner, part)
    granted = (
        visibility is Visibility.ON_REQUEST
        and viewer is not None
        and active_grant(state, owner, viewer, part, today=today) is not None
    )
    return permits(visibility, is_owner=False, granted=granted)


def may_read_contribution(
    state: LedgerState, contribution: Contribution, viewer: str | None, *, today: str | None = None
) -> bool:
    """Whether ``viewer`` may read ``contribution``'s text: they may read its part
    (:func:`may_read`), or a review request of its owner names them for it."""
    if may_read(state, contribution.owner, viewer, Part(contribution.part), today=today):
        return True
    return viewer is not None and (contribution.id, viewer) in state.reviewers


def review_inbox(
    state: LedgerState, reviewer: str, *, seen_by: str | None, history: int = 50
) -> tuple[tuple[ReviewRequest, str | None], ...]:
    """The review requests naming ``reviewer``, newest first (at most ``history``), each
    with the id of ``reviewer``'s active endorsement of the contribution (None: not answered
    yet; a withdrawn contribution's requests are left out). One's review requests are seen
    by oneself only: raise :class:`~ledger.errors.NotPermitted` (``not_yours``) when
    ``seen_by`` (a person id, None without a session) is anyone else."""
    if seen_by != reviewer:
        raise NotPermitted("not_yours", "only the person themself sees their review requests")
    found: list[tuple[ReviewRequest, str | None]] = []
    for r in reversed(list(state.review_requests.values())):
        if len(found) == history:
            break
        c = state.contributions.get(r.contribution)
        if r.role_of(reviewer) is None or c is None or c.withdrawn:
            continue
        found.append((r, state.active_endorsements.get((reviewer, r.contribution))))
    return tuple(found)


def hidden_parts(
    state: LedgerState,
    owner: str,
    viewer: str | None,
    parts: frozenset[Part],
    *,
    today: str | None = None,
) -> frozenset[Part]:
    """The ones of ``parts`` of ``owner``'s portfolio that ``viewer`` may not read: an
    answer made of ``parts`` is shown to ``viewer`` in full only if this is empty."""
    today = today or today_utc()
    return frozenset(p for p in parts if not may_read(state, owner, viewer, p, today=today))


def readable_evidence(
    state: LedgerState, owners: Collection[str], viewer: str | None, *, today: str | None = None
) -> dict[str, Counter[str]]:
    """Per owner, per skill, the evidence of ``owners`` that ``viewer`` may read: their
    contributions not withdrawn in the parts ``viewer`` may read, and the assignments they
    completed (part of their ``analytical`` part) if ``viewer`` may read that part."""
    today = today or today_utc()
    found: dict[str, Counter[str]] = {owner: Counter() for owner in owners}
    readable = {
        owner: {p.value for p in Part if may_read(state, owner, viewer, p, today=today)}
        for owner in owners
    }
    for c in state.contributions.values():
        if c.owner in found and not c.withdrawn and c.part in readable[c.owner]:
            found[c.owner].update(c.skills)
    for a in state.assignments.values():
        for owner in a.completed:
            if owner in found and Part.ANALYTICAL.value in readable[owner]:
                found[owner].update(a.skills)
    return found


ACCESS_TYPES = frozenset(
    {"AccessRequested", "AccessGranted", "AccessRefused", "AccessRevoked", "ReviewRequested"}
)
"""Record-stream statements about access: seen by the owner and the viewer concerned only
(the people a review request names, for a ``ReviewRequested``)."""


def record_part(
    statement_type: str, body: Mapping[str, Any], contribution_parts: Mapping[str, Part]
) -> Part | None:
    """The part a record-stream statement belongs to, or None if it belongs to none.

    ``contribution_parts`` maps the contributions claimed earlier on the same
    record to their part (a withdrawal belongs to the part of what it withdraws).
    """
    if statement_type == "ContributionClaimed":
        return Part(body["part"])
    if statement_type == "ContributionWithdrawn":
        return contribution_parts.get(str(body["contribution"]), Part.DOSSIER)
    if statement_type in ("EndorsementGiven", "EndorsementRevoked"):
        return Part.ANALYTICAL
    if statement_type == "AmbitionStated":
        return Part.AMBITIONS
    return None


def assignment_part(statement_type: str) -> Part | None:
    """The part of the *assignee's* portfolio an assignment-stream statement belongs to:
    an assignment to their ``free`` part (the assignments they worked on), a completion
    (with its grade) to their ``analytical`` part; None for the other statements."""
    if statement_type == "AssignmentAssigned":
        return Part.FREE
    if statement_type == "AssignmentCompleted":
        return Part.ANALYTICAL
    return None


def access_parties(
    state: LedgerState, statement_type: str, subject: str, author: str, body: Mapping[str, Any]
) -> frozenset[str]:
    """The owner and the viewer an access statement concerns (empty for other types).

    The viewer of an ``AccessRequested`` is its signer; of a grant, its
    ``body.viewer``; of a refusal or revocation, the viewer of the request or
    grant it answers (looked up in ``state``). A ``ReviewRequested`` concerns its
    owner and every reviewer it names.
    """
    viewer: str | None = None
    if statement_type == "ReviewRequested":
        return frozenset({subject, *(str(r["person"]) for r in body["reviewers"])})
    if statement_type == "AccessRequested":
        key = state.keys.get(author)
        viewer = None if key is None else key.person
    elif statement_type == "AccessGranted":
        viewer = str(body["viewer"])
    elif statement_type == "AccessRefused":
        request = state.access_requests.get(str(body["request"]))
        viewer = None if request is None else request.viewer
    elif statement_type == "AccessRevoked":
        grant = state.access_grants.get(str(body["grant"]))
        viewer = None if grant is None else grant.viewer
    else:
        return frozenset()
    return frozenset({subject} if viewer is None else {subject, viewer})


HISTORY = 50
"""Answered requests and ended grants listed at most by :func:`access_given` and
:func:`access_held` (open requests and active grants are always listed in full)."""


@dataclass(frozen=True)
class GrantLine:
    """A grant with its ``status`` on a day (:func:`grant_status`) and whether it lets its
    viewer read the part that day (``readable``: it is active and the part is still
    ``on_request``; making the part ``private`` suspends every grant to it)."""

    grant: AccessGrant
    status: str
    readable: bool


@dataclass(frozen=True)
class AccessGiven:
    """What an owner is asked and has given: the access requests made to them that are
    ``open`` (oldest first) and ``answered`` (newest first), and the grants they gave
    (active ones first, then the ended ones newest first)."""

    open: tuple[AccessRequest, ...]
    answered: tuple[AccessRequest, ...]
    grants: tuple[GrantLine, ...]


@dataclass(frozen=True)
class AccessHeld:
    """What a viewer asked for and holds: their access requests to others (newest first)
    and the grants they hold (active ones first, then the ended ones newest first)."""

    requests: tuple[AccessRequest, ...]
    grants: tuple[GrantLine, ...]


def _grant_lines(
    state: LedgerState, grants: Iterable[AccessGrant], *, today: str, history: int
) -> tuple[GrantLine, ...]:
    """``grants`` (given newest first) as lines: the active ones, then at most ``history``
    ended ones."""
    lines = []
    for g in grants:
        status = grant_status(g, today=today)
        readable = status == "active" and may_read(
            state, g.owner, g.viewer, Part(g.part), today=today
        )
        lines.append(GrantLine(g, status, readable))
    active = [line for line in lines if line.status == "active"]
    return (*active, *[line for line in lines if line.status != "active"][:history])


def access_given(
    state: LedgerState, owner: str, *, today: str, history: int = HISTORY
) -> AccessGiven:
    """The access requests made to ``owner`` and the grants they gave, on ``today``."""
    asked = [r for r in state.access_requests.values() if r.owner == owner]
    given = (g for g in reversed(list(state.access_grants.values())) if g.owner == owner)
    return AccessGiven(
        open=tuple(r for r in asked if r.answer is None),
        answered=tuple(r for r in reversed(asked) if r.answer is not None)[:history],
        grants=_grant_lines(state, given, today=today, history=history),
    )


def access_held(
    state: LedgerState, viewer: str, *, today: str, history: int = HISTORY
) -> AccessHeld:
    """``viewer``'s access requests to others and the grants they hold, on ``today``."""
    asked = (r for r in reversed(list(state.access_requests.values())) if r.viewer == viewer)
    held = (g for g in reversed(list(state.access_grants.values())) if g.viewer == viewer)
    return AccessHeld(
        requests=tuple(islice(asked, history)),
        grants=_grant_lines(state, held, today=today, history=history),
    )


def access_listed(
    state: LedgerState, person: str, *, seen_by: str | None, made_to_only: bool = False
) -> tuple[list[AccessRequest], list[AccessGrant]]:
    """The access requests and grants of ``person``, in log order, that ``seen_by`` (a
    person id, None without a session) may see.

    An access request or grant is seen by its two parties only, its owner and its viewer
    (as :func:`ledger.entry_view.view_entry` shows its entry): the person themself sees
    every one of theirs, anyone else only those they are the other party of, and a
    caller without a session none. ``made_to_only`` (the API's ``GET
    /people/{person}/access``): only those made to ``person`` as owner; otherwise (the
    command line's ``access list``) every one ``person`` is owner or viewer of.
    """

    def listed(owner: str, viewer: str) -> bool:
        concerned = owner == person if made_to_only else person in (owner, viewer)
        return concerned and seen_by is not None and seen_by in (owner, viewer)

    requests = [r for r in state.access_requests.values() if listed(r.owner, r.viewer)]
    grants = [g for g in state.access_grants.values() if listed(g.owner, g.viewer)]
    return requests, grants


def applied_for(state: LedgerState, assignment: str, viewer: str | None) -> Assignment:
    """``assignment``, if ``viewer`` may read who applied to it and why: only its owner
    may (applicants are only counted for everyone else). Raise
    :class:`~ledger.errors.NotFound` for no such assignment and
    :class:`~ledger.errors.NotPermitted` (``not_owner``) for anyone but its owner."""
    found = state.assignments.get(assignment)
    if found is None:
        raise NotFound(f"no assignment {assignment}")
    if viewer != found.owner:
        raise NotPermitted(
            "not_owner", f"only the owner {found.owner} reads the applications to {assignment}"
        )
    return found


def shows_assignee(
    state: LedgerState, assignment: Assignment, person: str, viewer: str | None, *, today: str
) -> bool:
    """Whether ``viewer`` (a person id, None without a session) is shown that ``person`` was
    assigned to (or completed) ``assignment`` on ``today``: its owner is, and whoever may
    read ``person``'s ``free`` part (:func:`assignment_part`: the assignments they worked
    on), ``person`` themself included. Everyone else sees the assignment, not who does it."""
    return viewer == assignment.owner or may_read(state, person, viewer, Part.FREE, today=today)


def application_status(a: Assignment, person: str) -> str:
    """Where ``person``'s application to ``a`` stands: ``completed`` or ``assigned`` (they
    were chosen), ``cancelled`` (the assignment was), ``closed`` (someone else was
    chosen and it is no longer open) or ``applied`` (waiting)."""
    if person in a.completed:
        return "completed"
    if person in a.assignees:
        return "assigned"
    if a.status == "cancelled":
        return "cancelled"
    return "applied" if a.status == "open" else "closed"


def applications_of(state: LedgerState, person: str) -> list[tuple[Assignment, str]]:
    """The assignments ``person`` applied to, newest first, each with the status of
    their application (:func:`application_status`)."""
    mine = [a for a in state.assignments.values() if person in a.applicants]
    return [(a, application_status(a, person)) for a in reversed(mine)]
