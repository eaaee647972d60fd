"""The portfolio read model: from entries to the ``pf_`` tables (writes only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from sqlalchemy import Executable, bindparam, delete, update

from ledger.catalogue import Part

from ..access import DEFAULT_VISIBILITY
from ..base import ReadModel
from ..batch import Phase, WriteBatch
from ..entries import AcceptedEntry, json_list
from ..erasure import PersonalColumn, by_author_key, by_person
from . import tables as t

__all__ = ["PortfolioModel"]

_Handler = Callable[["PortfolioModel", AcceptedEntry, WriteBatch], None]

_TRANSFER = (
    update(t.people)
    .where(t.people.c.person == bindparam("b_person"))
    .values(organisation=bindparam("b_organisation"), department=bindparam("b_department"))
)
_VISIBILITY: dict[str, Executable] = {
    part.value: update(t.people)
    .where(t.people.c.person == bindparam("b_person"))
    .values({f"vis_{part.value}": bindparam("b_visibility")})
    for part in Part
}
_COMPLETE = (
    update(t.assignment_people)
    .where(
        t.assignment_people.c.assignment == bindparam("b_assignment"),
        t.assignment_people.c.person == bindparam("b_person"),
    )
    .values(
        status="completed",
        outcome=bindparam("b_outcome"),
        grade=bindparam("b_grade"),
        personal=bindparam("b_personal"),
    )
)
_CANCEL = (
    update(t.assignments).where(t.assignments.c.id == bindparam("b_id")).values(cancelled=True)
)
_WITHDRAW = delete(t.contributions).where(
    t.contributions.c.person == bindparam("b_person"), t.contributions.c.id == bindparam("b_id")
)
_WITHDRAW_ENDORSEMENTS = delete(t.endorsements).where(
    t.endorsements.c.person == bindparam("b_person"),
    t.endorsements.c.contribution == bindparam("b_id"),
)
_REVOKE_GRANT = delete(t.grants).where(
    t.grants.c.person == bindparam("b_person"), t.grants.c.id == bindparam("b_id")
)
_REVOKE = delete(t.endorsements).where(
    t.endorsements.c.person == bindparam("b_person"), t.endorsements.c.id == bindparam("b_id")
)


class PortfolioModel(ReadModel):
    """The four parts of every employee's portfolio, with the visibility they chose."""

    name = "portfolio"
    metadata = t.metadata
    # Whose content each personal column holds (ledger.privacy.content_owner): the
    # record's person (an endorsement's subject, not its endorser), the assignee of a
    # completion, the author of a posting.
    personal_columns: ClassVar[tuple[PersonalColumn, ...]] = (
        by_person(t.people),
        by_person(t.contributions),
        by_person(t.endorsements),
        by_person(t.ambitions),
        by_person(t.assignment_people),
        by_author_key(t.assignments, t.keys),
    )
    _handlers: ClassVar[dict[str, _Handler]]

    def handle(self, entry: AcceptedEntry, batch: WriteBatch) -> None:
        handler = self._handlers.get(entry.type)
        if handler is not None:
            handler(self, entry, batch)

    def _registered(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        body = e.body
        row = {
            "person": e.subject,
            "organisation": body["organisation"],
            "department": body["department"],
            "personal": e.personal_json(),
            "position": e.position,
        }
        row.update({f"vis_{p.value}": v.value for p, v in DEFAULT_VISIBILITY.items()})
        batch.insert(t.people, row)
        batch.insert(t.keys, {"key_id": e.new_key_id, "person": e.subject})

    def _rotated(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        batch.insert(t.keys, {"key_id": e.new_key_id, "person": e.subject})

    def _transferred(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        params = {
            "b_person": e.subject,
            "b_organisation": e.body["organisation"],
            "b_department": e.body["department"],
        }
        batch.add(Phase.DERIVE, "transfer", _TRANSFER, params)

    def _visibility(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        part = e.body["part"]
        params = {"b_person": e.subject, "b_visibility": e.body["visibility"]}
        batch.add(Phase.DERIVE, ("visibility", part), _VISIBILITY[part], params)

    def _claimed(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        body = e.body
        row = {
            "id": e.id,
            "person": e.subject,
            "part": body["part"],
            "kind": body["kind"],
            "skills": json_list(body["skills"]),
            "period_start": body["period"]["start"],
            "period_end": body["period"].get("end"),
            "evidence_sha256": body.get("evidence_sha256"),
            "personal": e.personal_json(),
            "issued_at": e.issued_at,
            "position": e.position,
        }
        batch.insert(t.contributions, row)

    def _withdrawn(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        params = {"b_person": e.subject, "b_id": e.body["contribution"]}
        batch.add(Phase.DELETE, "withdraw", _WITHDRAW, params)
        batch.add(Phase.DELETE, "withdraw_endorsements", _WITHDRAW_ENDORSEMENTS, params)

    def _endorsed(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        body = e.body
        row = {
            "id": e.id,
            "person": e.subject,
            "contribution": body["contribution"],
            "endorser_key": e.author,
            "role": body["role"],
            "grade": body["grade"],
            "personal": e.personal_json(),
            "issued_at": e.issued_at,
            "position": e.position,
        }
        batch.insert(t.endorsements, row)

    def _endorsement_revoked(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        params = {"b_person": e.subject, "b_id": e.body["endorsement"]}
        batch.add(Phase.DELETE, "revoke", _REVOKE, params)

    def _ambition(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        row = {
            "id": e.id,
            "person": e.subject,
            "skills": json_list(e.body["skills"]),
            "personal": e.personal_json(),
            "issued_at": e.issued_at,
            "position": e.position,
        }
        batch.insert(t.ambitions, row)

    def _review_requested(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        named = batch.net_set(t.reviewers, "person", "contribution", "reviewer")
        for reviewer in e.body["reviewers"]:
            named.add(e.subject, e.body["contribution"], reviewer["person"])

    def _access_granted(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        body = e.body
        row = {
            "person": e.subject,
            "id": e.id,
            "viewer": body["viewer"],
            "part": body["part"],
            "until": body.get("until"),
        }
        batch.insert(t.grants, row)

    def _access_revoked(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        params = {"b_person": e.subject, "b_id": e.body["grant"]}
        batch.add(Phase.DELETE, "revoke_grant", _REVOKE_GRANT, params)

    def _posted(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        body = e.body
        row = {
            "id": e.subject,
            "owner_key": e.author,
            "organisation": body["organisation"],
            "department": body["department"],
            "skills": json_list(body["skills"]),
            "hours_per_week": body["hours_per_week"],
            "personal": e.personal_json(),
            "cancelled": False,
            "position": e.position,
        }
        batch.insert(t.assignments, row)

    def _assigned(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        row = {
            "assignment": e.subject,
            "person": e.body["assignee"],
            "status": "assigned",
            "outcome": None,
            "grade": None,
            "personal": "{}",
            "position": e.position,
        }
        batch.insert(t.assignment_people, row)

    def _completed(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        params = {
            "b_assignment": e.subject,
            "b_person": e.body["assignee"],
            "b_outcome": e.body["outcome"],
            "b_grade": e.body["grade"],
            "b_personal": e.personal_json(),
        }
        batch.add(Phase.DERIVE, "complete", _COMPLETE, params)

    def _cancelled(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        batch.add(Phase.DERIVE, "cancel", _CANCEL, {"b_id": e.subject})


PortfolioModel._handlers = {
    "IdentityRegistered": PortfolioModel._registered,
    "KeyRotated": PortfolioModel._rotated,
    "EmployeeTransferred": PortfolioModel._transferred,
    "VisibilityChanged": PortfolioModel._visibility,
    "ContributionClaimed": PortfolioModel._claimed,
    "ContributionWithdrawn": PortfolioModel._withdrawn,
    "EndorsementGiven": PortfolioModel._endorsed,
    "EndorsementRevoked": PortfolioModel._endorsement_revoked,
    "ReviewRequested": PortfolioModel._review_requested,
    "AmbitionStated": PortfolioModel._ambition,
    "AccessGranted": PortfolioModel._access_granted,
    "AccessRevoked": PortfolioModel._access_revoked,
    "AssignmentPosted": PortfolioModel._posted,
    "AssignmentAssigned": PortfolioModel._assigned,
    "AssignmentCompleted": PortfolioModel._completed,
    "AssignmentCancelled": PortfolioModel._cancelled,
}
