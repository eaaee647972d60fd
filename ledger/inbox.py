"""What waits for a person: the inbox the pages show (issue 16).

:func:`inbox` gathers, for one person, what asks for their answer in the ledger: access
requests to their portfolio still open, contributions in the departments they manage
that they have not endorsed, and applications to their open assignments that they have
not answered by assigning. (Registration requests waiting for an admin are kept by the
service, not the ledger: :mod:`api.onboarding` adds them.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .app import Ledger

__all__ = ["Application", "Inbox", "inbox"]

_LIMIT = 50


@dataclass(frozen=True)
class Application:
    """``applicant`` applied to ``assignment`` (owned by the inbox's person), not assigned."""

    assignment: str
    applicant: str


@dataclass(frozen=True)
class Inbox:
    """What waits for one person; each list newest first, at most 50."""

    person: str
    #: open access requests to the person: ``(request id, viewer, part)``
    access_requests: list[tuple[str, str, str]] = field(default_factory=list)
    #: contributions waiting for the person's endorsement as manager: ``(owner, id)``
    endorsement_requests: list[tuple[str, str]] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.access_requests) + len(self.endorsement_requests) + len(self.applications)


def inbox(ledger: Ledger, person: str, *, today: str) -> Inbox:
    """What waits for ``person`` on ``today`` (an empty inbox for someone unknown)."""
    given = ledger.access_given(person, today=today)
    waiting = ledger.awaiting_endorsement(person, limit=_LIMIT, today=today)
    with ledger.service.reading() as state:
        mine = [a for a in state.assignments.values() if a.owner == person]
    applications = [
        Application(a.id, applicant)
        for a in reversed(mine)
        if a.status in ("open", "assigned")
        for applicant in sorted(a.applicants - a.assignees)
    ]
    return Inbox(
        person,
        [(r.id, r.viewer, r.part) for r in given.open][:_LIMIT],
        [(c.owner, c.id) for c in waiting],
        applications[:_LIMIT],
    )
