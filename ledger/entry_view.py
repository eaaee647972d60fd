"""What one viewer may see of one entry: all of it, or only its place and hash.

The rule every reader applies to the ledger's own entries (the API's ``/entries``,
``/streams`` and records, :mod:`api.visibility`, and the command-line ``show`` and
``log``), decided on a caught-up :class:`~ledger.state.LedgerState` by
:func:`view_entry` (docs/privacy.md §4 and §9):

* identity streams: the person's directory entry, seen by every member of the ledger
  and, by a viewer without a session, only when the person made their dossier public
  (:func:`ledger.access.shows_directory_entry`);
* record streams: each entry belongs to a part (:func:`ledger.access.record_part`),
  read by whom that part's visibility and the owner's grants allow; access statements
  by the two people they concern; a claimed contribution also by its requested
  reviewers;
* assignment streams: postings and cancellations are public; an application is seen
  by its applicant and the assignment's owner; an assignment of a person and its
  completion belong to the assignee's ``free`` and ``analytical`` parts, always seen by
  the owner and the person concerned.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .access import (
    ACCESS_TYPES,
    access_parties,
    assignment_part,
    may_read,
    record_part,
    shows_directory_entry,
    visibility_of,
)
from .catalogue import Part
from .service import StoredEntry
from .state import LedgerState

__all__ = ["EntryView", "contribution_parts", "view_entry"]


@dataclass(frozen=True)
class EntryView:
    """What one viewer may see of one entry: all of it, or only its place and hash
    (``shown`` False, with the ``reason`` in the viewer's terms)."""

    stored: StoredEntry
    shown: bool
    reason: str | None = None

    @property
    def disclosures(self) -> list[list[str]]:
        return [d.as_json() for d in self.stored.disclosures] if self.shown else []

    @property
    def withheld_fields(self) -> list[str]:
        commitments = self.stored.entry.statement.body.get("commitments", {})
        disclosed = {d.field for d in self.stored.disclosures} if self.shown else set()
        return sorted(set(commitments) - disclosed)


def contribution_parts(record: Iterable[StoredEntry]) -> dict[str, Part]:
    """The part each contribution of a record stream (``record``, in seq order) was
    claimed into: what places its withdrawal."""
    return {
        stored.entry.statement.id: Part(stored.entry.statement.body["part"])
        for stored in record
        if stored.entry.statement.type == "ContributionClaimed"
    }


def _part_view(
    stored: StoredEntry, viewer: str | None, owner: str, part: Part, state: LedgerState, today: str
) -> EntryView:
    if may_read(state, owner, viewer, part, today=today):
        return EntryView(stored, True)
    visibility = visibility_of(state, owner, part).value
    return EntryView(stored, False, f"the {part.value} part of {owner} is {visibility}")


def view_entry(
    stored: StoredEntry,
    viewer: str | None,
    state: LedgerState,
    *,
    today: str,
    parts: Mapping[str, Part],
) -> EntryView:
    """What ``viewer`` (a person id, None without a session) may see of ``stored`` on
    ``today`` (see the module docstring); ``parts``: the part of each contribution of
    the entry's subject (:func:`contribution_parts`), to place a withdrawal."""
    entry = stored.entry
    s = entry.statement
    kind = entry.stream.split("/", 1)[0]
    if kind == "identity":
        if shows_directory_entry(state, s.subject, viewer):
            return EntryView(stored, True)
        return EntryView(
            stored, False, "who a person is and where they work is shown to members, or to "
            "anyone once they make their dossier public",
        )  # fmt: skip
    if kind == "record":
        if s.type in ACCESS_TYPES:
            if viewer is not None and viewer in access_parties(
                state, s.type, s.subject, s.author, s.body
            ):
                return EntryView(stored, True)
            return EntryView(stored, False, "an access statement is seen by its owner and viewer")
        part = record_part(s.type, s.body, parts)
        if part is None:
            return EntryView(stored, True)
        if s.type == "ContributionClaimed" and (s.id, viewer) in state.reviewers:
            return EntryView(stored, True)  # a review request asks them to review it
        return _part_view(stored, viewer, s.subject, part, state, today)
    assignment = state.assignments.get(s.subject)
    author = state.person_of_key(s.author)
    concerned = {assignment.owner if assignment else None, author.id if author else None}
    if s.type in ("AssignmentAssigned", "AssignmentCompleted"):
        concerned.add(str(s.body["assignee"]))
    if viewer is not None and viewer in concerned:
        return EntryView(stored, True)
    if s.type == "AssignmentApplied":
        return EntryView(stored, False, "an application is seen by its applicant and owner")
    part = assignment_part(s.type)
    if part is not None:
        return _part_view(stored, viewer, str(s.body["assignee"]), part, state, today)
    return EntryView(stored, True)
