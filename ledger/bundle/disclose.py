"""Selective disclosure: which portfolio part an entry belongs to, and a bundle as one viewer
may read it.

One classification serves every reader (the API's entry views, the bundle
export for the owner and for a viewer): :func:`ledger.access.record_part`. On an
assignment stream, an assignment of a person belongs to the assignee's ``free``
part and a completion (with its grade) to their ``analytical`` part.

Withholding only ever drops disclosures: every entry stays with its
commitments, so a restricted bundle verifies exactly like the whole one
(docs/bundle.md §8). Pure: no I/O; the ledger state is only read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..access import ACCESS_TYPES, access_parties, assignment_part, may_read, record_part
from ..catalogue import Part
from ..state import LedgerState

__all__ = ["disclose_for_viewer", "withhold_parts"]


def _record_items(bundle: Mapping[str, Any], person: str) -> list[dict[str, Any]]:
    record = f"record/{person}"
    return [i for i in bundle["entries"] if i["entry"]["stream"] == record]


def withhold_parts(
    bundle: Mapping[str, Any],
    person: str,
    parts: Collection[Part],
    *,
    keep: Collection[str] = (),
) -> None:
    """Drop, in place, the disclosures of ``person``'s record entries in ``parts``, but
    those of the statements whose ids are in ``keep``."""
    contribution_parts: dict[str, Part] = {}
    for item in _record_items(bundle, person):
        s = item["entry"]["statement"]
        part = record_part(s["type"], s["body"], contribution_parts)
        if s["type"] == "ContributionClaimed" and part is not None:
            contribution_parts[s["id"]] = part
        if part in parts and s["id"] not in keep:
            item["disclosures"] = []


def _reviewed_by(bundle: Mapping[str, Any], person: str, viewer: str) -> set[str]:
    """The contributions of ``person`` a review request in the bundle asks ``viewer`` to
    review: ``viewer`` may read them (:func:`ledger.access.may_read_contribution`)."""
    return {
        str(s["body"]["contribution"])
        for item in _record_items(bundle, person)
        if (s := item["entry"]["statement"])["type"] == "ReviewRequested"
        and any(r["person"] == viewer for r in s["body"]["reviewers"])
    }


def disclose_for_viewer(
    bundle: Mapping[str, Any], state: LedgerState, viewer: str, *, today: str | None = None
) -> None:
    """Restrict, in place, the owner's bundle to what ``viewer`` may read (selective disclosure).

    Kept: the disclosures of the record entries in the parts ``viewer`` may read
    (:func:`ledger.access.may_read`: public parts and actively granted
    ``on_request`` parts) and of the contributions a review request asks ``viewer`` to
    review, of the access statements that concern ``viewer``, of
    every identity stream (display names), of postings (titles) and of a
    completion of the owner's work if ``viewer`` may read the analytical part.
    Dropped: everything else of the owner's (their applications' motivations,
    the other parts). Every entry stays, so the bundle still verifies.
    """
    person = str(bundle["person"])
    readable = {p for p in Part if may_read(state, person, viewer, p, today=today)}
    keep = _reviewed_by(bundle, person, viewer)
    withhold_parts(bundle, person, set(Part) - readable, keep=keep)
    for item in _record_items(bundle, person):
        s = item["entry"]["statement"]
        if s["type"] in ACCESS_TYPES and viewer not in access_parties(
            state, s["type"], s["subject"], s["author"], s["body"]
        ):
            item["disclosures"] = []
    for item in bundle["entries"]:
        s = item["entry"]["statement"]
        if not item["entry"]["stream"].startswith("assignment/"):
            continue
        if s["type"] == "AssignmentApplied":
            item["disclosures"] = []  # an application is seen by its applicant and owner
        elif (part := assignment_part(s["type"])) is not None and part not in readable:
            item["disclosures"] = []  # a completion's note: the assignee's analytical part
