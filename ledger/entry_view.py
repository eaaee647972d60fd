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

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from .access import (
    ACCESS_TYPES,
    DIRECTORY_PART,
    access_parties,
    assignment_part,
    may_read,
    record_part,
    shows_directory_entry,
    visibility_of,
)
from .catalogue import Part
from .privacy import ABOUT_ASSIGNEE
from .service import StoredEntry
from .state import LedgerState

__all__ = ["EntryView", "contribution_parts", "prefetch_views", "view_entry"]


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
        if (
            s.type == "ContributionClaimed"
            and viewer is not None  # a review request names people, never "no session"
            and (s.id, viewer) in state.reviewers
        ):
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


def prefetch_views(state: LedgerState, entries: Iterable[StoredEntry], viewer: str | None) -> None:
    """Read ahead, in two rounds, the rows of ``state`` that :func:`view_entry` and
    :func:`ledger.erasure.withhold_erased` consult for ``entries`` seen by ``viewer``:
    with a snapshot of a stored state (:meth:`LedgerState.snapshot`) that is two
    queries however many entries there are, where deciding entry by entry makes a
    round trip per look-up. Only a read-ahead: a row it misses is still looked up."""
    statements = [stored.entry.statement for stored in entries]
    first: list[tuple[str, Hashable]] = [("meta", "operator")]
    for s in statements:
        kind = s.stream.split("/", 1)[0]
        if kind == "identity":
            first += [("visibility", (s.subject, DIRECTORY_PART.value)), ("erased", s.subject)]
            continue
        owner = s.subject
        if kind == "record":
            first.append(("erased", owner))
            if s.type == "AccessRequested":
                first.append(("keys", s.author))
            elif s.type == "AccessRefused":
                first.append(("access_requests", str(s.body["request"])))
            elif s.type == "AccessRevoked":
                first.append(("access_grants", str(s.body["grant"])))
            elif s.type == "ContributionClaimed" and viewer is not None:
                first.append(("reviewers", (s.id, viewer)))
        else:  # an assignment stream: its owner, the author's person, the assignee's parts
            first += [("assignments", s.subject), ("keys", s.author)]
            if s.type not in ABOUT_ASSIGNEE:
                continue
            owner = str(s.body["assignee"])
            first.append(("erased", owner))
        first += [("visibility", (owner, part.value)) for part in Part]
        if viewer is not None and viewer != owner:
            first += [("active_grants", (owner, viewer, part.value)) for part in Part]
    state.prefetch(first)
    second: list[tuple[str, Hashable]] = []
    for table, key in first:
        if table == "active_grants":
            assert isinstance(key, tuple)
            if (grant := state.active_grants.get(key)) is not None:
                second.append(("access_grants", grant))
        elif table == "keys" and (record := state.keys.get(str(key))) is not None:
            second += [("people", record.person), ("erased", record.person)]
    state.prefetch(second)
