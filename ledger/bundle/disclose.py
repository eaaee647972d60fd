"""Selective disclosure: which portfolio part an entry belongs to, and a bundle as one viewer
may read it.

One classification serves every reader (the API's entry views, the bundle
export for the owner and for a viewer): an entry of ``record/<person>`` belongs
to a portfolio part — a claimed contribution to its ``part``, its withdrawal to
the same part, endorsements and their revocations to ``analytical``, ambitions
to ``ambitions`` — or to none (``VisibilityChanged`` says who may see what and
nothing more; the access statements concern two people only, see
:func:`access_parties`). On an assignment stream, an assignment of a person
belongs to the assignee's ``free`` part and a completion (with its grade) to
their ``analytical`` part.

Withholding only ever drops disclosures: every entry stays with its
commitments, so a restricted bundle verifies exactly like the whole one
(docs/bundle.md §8). Pure: no I/O; the ledger state is only read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..access import may_read
from ..catalogue import Part
from ..state import LedgerState

__all__ = [
    "ACCESS_TYPES",
    "access_parties",
    "disclose_for_viewer",
    "record_part",
    "withhold_parts",
]

ACCESS_TYPES = frozenset({"AccessRequested", "AccessGranted", "AccessRefused", "AccessRevoked"})
"""Record-stream statements about access: seen by the owner and the viewer concerned only."""


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


def access_parties(
    state: LedgerState, statement_type: str, subject: str, author: str, body: Mapping[str, Any]
) -> frozenset[str]:
    """The owner and the viewer an access statement concerns (empty for other types).

    The viewer of an ``AccessRequested`` is its signer; of a grant, its
    ``body.viewer``; of a refusal or revocation, the viewer of the request or
    grant it answers (looked up in ``state``).
    """
    viewer: str | None = None
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


def _record_items(bundle: Mapping[str, Any], person: str) -> list[dict[str, Any]]:
    record = f"record/{person}"
    return [i for i in bundle["entries"] if i["entry"]["stream"] == record]


def withhold_parts(bundle: Mapping[str, Any], person: str, parts: Collection[Part]) -> None:
    """Drop, in place, the disclosures of ``person``'s record entries in ``parts``."""
    contribution_parts: dict[str, Part] = {}
    for item in _record_items(bundle, person):
        s = item["entry"]["statement"]
        part = record_part(s["type"], s["body"], contribution_parts)
        if s["type"] == "ContributionClaimed" and part is not None:
            contribution_parts[s["id"]] = part
        if part in parts:
            item["disclosures"] = []


def disclose_for_viewer(
    bundle: Mapping[str, Any], state: LedgerState, viewer: str, *, today: str | None = None
) -> None:
    """Restrict, in place, the owner's bundle to what ``viewer`` may read (selective disclosure).

    Kept: the disclosures of the record entries in the parts ``viewer`` may read
    (:func:`ledger.access.may_read`: public parts and actively granted
    ``on_request`` parts), of the access statements that concern ``viewer``, of
    every identity stream (display names), of postings (titles) and of a
    completion of the owner's work if ``viewer`` may read the analytical part.
    Dropped: everything else of the owner's (their applications' motivations,
    the other parts). Every entry stays, so the bundle still verifies.
    """
    person = str(bundle["person"])
    readable = {p for p in Part if may_read(state, person, viewer, p, today=today)}
    withhold_parts(bundle, person, set(Part) - readable)
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
        elif s["type"] == "AssignmentCompleted" and Part.ANALYTICAL not in readable:
            item["disclosures"] = []
