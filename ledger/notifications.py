"""Who is told about a new entry: the notices of e-mail notifications (issue 16).

Something new waits for a person (the inbox, :mod:`ledger.inbox`) when an entry asks for
their answer. :func:`notices_of` names, for one accepted entry, who is to be told and
about what:

================== ============================== =========================================
entry              told                           about
================== ============================== =========================================
AccessRequested    the owner of the portfolio     the viewer asking, the part
ReviewRequested    each reviewer the request names the owner asking, the contribution
AssignmentApplied  the owner of the assignment    the applicant, the assignment
================== ============================== =========================================

:func:`registration_notices` does the same for a registration request waiting for the
admins of an organisation (kept by the service, not the ledger). Nobody is told about their
own statement, and an erased person is told nothing. How a notice travels (the service's
outbox, e-mail) is the service's business: :mod:`api.notify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .entry import Entry
from .state import LedgerState

__all__ = ["NOTICE_KINDS", "Notice", "NoticeKind", "notices_of", "registration_notices"]

NoticeKind = Literal["access_request", "review_request", "application", "registration"]
NOTICE_KINDS: tuple[NoticeKind, ...] = (
    "access_request",
    "review_request",
    "application",
    "registration",
)


@dataclass(frozen=True)
class Notice:
    """Tell ``recipient`` that ``sender`` asks them something of ``kind`` about ``about``
    (a portfolio part, a contribution id, an assignment id, a registering person id)."""

    recipient: str
    kind: NoticeKind
    sender: str
    about: str


def notices_of(entry: Entry, state: LedgerState) -> list[Notice]:
    """Who is to be told about ``entry``, read against ``state`` (at or after the entry)."""
    statement = entry.statement
    author = state.person_of_key(statement.author)
    if author is None:
        return []
    found: list[Notice] = []
    if statement.type == "AccessRequested":
        found.append(
            Notice(statement.subject, "access_request", author.id, str(statement.body["part"]))
        )
    elif statement.type == "ReviewRequested":
        contribution = str(statement.body["contribution"])
        for reviewer in statement.body.get("reviewers", ()):
            found.append(Notice(str(reviewer["person"]), "review_request", author.id, contribution))
    elif statement.type == "AssignmentApplied":
        assignment = state.assignments.get(statement.subject)
        if assignment is not None:
            found.append(Notice(assignment.owner, "application", author.id, assignment.id))
    return [
        n
        for n in found
        if n.recipient != author.id
        and n.recipient in state.people
        and not state.is_erased(n.recipient)
    ]


def registration_notices(state: LedgerState, organisation: str, person: str) -> list[Notice]:
    """Tell the admins of ``organisation`` (or, when it has none, the operator) that
    ``person`` asks to be registered there."""
    admins = sorted(
        p.id
        for p in state.people.values()
        if ("admin", organisation) in p.roles and not state.is_erased(p.id)
    )
    if not admins and state.operator is not None:
        admins = [state.operator]
    return [Notice(admin, "registration", person, organisation) for admin in admins]
