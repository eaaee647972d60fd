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
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Collection, Mapping
from types import MappingProxyType

from .catalogue import Part, Visibility
from .state import AccessGrant, LedgerState

__all__ = [
    "DEFAULT_VISIBILITY",
    "MATCHING_PARTS",
    "active_grant",
    "grant_is_active",
    "hidden_parts",
    "may_read",
    "readable_evidence",
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


def today_utc() -> str:
    """Today's date in UTC as ``YYYY-MM-DD`` (the day a grant's ``until`` is compared with)."""
    return _dt.datetime.now(_dt.UTC).date().isoformat()


def visibility_of(state: LedgerState, owner: str, part: Part) -> Visibility:
    """The visibility ``owner`` has set for ``part`` (or its default)."""
    value = state.visibility.get((owner, part.value))
    return DEFAULT_VISIBILITY[part] if value is None else Visibility(value)


def grant_is_active(grant: AccessGrant, *, today: str) -> bool:
    """Whether ``grant`` gives access on ``today`` (``YYYY-MM-DD``)."""
    return not grant.revoked and (grant.until is None or today <= grant.until)


def active_grant(
    state: LedgerState, owner: str, viewer: str, part: Part, *, today: str | None = None
) -> AccessGrant | None:
    """``viewer``'s active grant for ``owner``'s ``part``, if any."""
    grant_id = state.active_grants.get((owner, viewer, part.value))
    if grant_id is None:
        return None
    grant = state.access_grants[grant_id]
    return grant if grant_is_active(grant, today=today or today_utc()) else None


def may_read(
    state: LedgerState, owner: str, viewer: str | None, part: Part, *, today: str | None = None
) -> bool:
    """Whether ``viewer`` (a person id, or None without a session) may read ``owner``'s ``part``."""
    if viewer == owner:
        return True
    visibility = visibility_of(state, owner, part)
    if visibility is Visibility.PUBLIC:
        return True
    if visibility is Visibility.ON_REQUEST and viewer is not None:
        return active_grant(state, owner, viewer, part, today=today) is not None
    return False


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
