"""The ratings and evidence an imported record carries: what reputation and matching
count of it.

A bundle from another ledger (:mod:`ledger.imports`) holds its person's record stream
and the assignments they completed, with the origin's signatures. Each endorsement of
one of the person's contributions that was not revoked (of a contribution not
withdrawn), and each completed assignment, is a rating here (docs/reputation.md,
"imported ratings"); each contribution not withdrawn and each completed assignment is
evidence of its skills for matching ("imported evidence"). Both are weighed by the
receiving ledger's declared trust in the origin
(:meth:`ledger.imports.ImportRegistry.origin_weights`).

Pure: no I/O.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .bundle import load_bundle
from .catalogue import Part
from .imports import ImportedRecord, ImportRegistry, key_state

__all__ = [
    "ImportedEvidence",
    "ImportedRating",
    "NewestBundle",
    "bundle_evidence",
    "bundle_ratings",
    "newest_bundles",
]


@dataclass(frozen=True)
class ImportedRating:
    """One rating of ``subject`` given on ledger ``origin``: an ``endorsement`` (role of
    the endorser) or a ``completion`` (role ``owner``), with the skills it counts in;
    ``at`` is min(issued_at, recorded_at) in Unix seconds, ``position`` the entry's log
    index on the origin ledger."""

    origin: str
    subject: str
    id: str
    kind: str
    rater: str
    role: str
    grade: int
    at: int
    position: int
    skills: tuple[str, ...]


@dataclass(frozen=True)
class ImportedEvidence:
    """Evidence of ``skills`` for ``subject`` recorded on ledger ``origin``: a
    ``contribution`` they claimed and did not withdraw (in the portfolio ``part`` it was
    claimed into) or an assignment they ``completion``-ed (part ``analytical``, as
    :func:`ledger.access.readable_evidence` counts it); ``id`` is the claim's statement
    id or the assignment's id."""

    origin: str
    subject: str
    id: str
    kind: str
    part: Part
    skills: tuple[str, ...]


def bundle_evidence(doc: Mapping[str, Any], person: str, origin: str) -> list[ImportedEvidence]:
    """The evidence of ``person`` in the bundle document ``doc`` from ``origin``: their
    contributions not withdrawn and the assignments completed for them, in the origin's
    log order."""
    posted: dict[str, tuple[str, ...]] = {}
    found: dict[str, ImportedEvidence] = {}
    record = f"record/{person}"
    for item in sorted(doc["entries"], key=lambda i: int(i["log_index"])):
        entry = item["entry"]
        s = entry["statement"]
        kind, body = s["type"], s["body"]
        if kind == "AssignmentPosted":
            posted[s["subject"]] = tuple(dict.fromkeys(body["skills"]))
        elif kind == "ContributionClaimed" and entry["stream"] == record:
            skills = tuple(dict.fromkeys(body["skills"]))
            found[s["id"]] = ImportedEvidence(
                origin, person, s["id"], "contribution", Part(body["part"]), skills
            )
        elif kind == "ContributionWithdrawn" and entry["stream"] == record:
            found.pop(body["contribution"], None)
        elif kind == "AssignmentCompleted" and body["assignee"] == person:
            skills = posted.get(s["subject"], ())
            found[s["subject"]] = ImportedEvidence(
                origin, person, s["subject"], "completion", Part.ANALYTICAL, skills
            )
    return [e for e in found.values() if e.skills]


def bundle_ratings(doc: Mapping[str, Any], person: str, origin: str) -> list[ImportedRating]:
    """The active ratings of ``person`` in the bundle document ``doc`` from ``origin``,
    in the origin's log order."""
    keys = key_state(doc["entries"])
    skills: dict[str, tuple[str, ...]] = {}
    found: dict[str, ImportedRating] = {}
    targets: dict[str, str] = {}  # endorsement -> the contribution it endorses
    record = f"record/{person}"
    for item in sorted(doc["entries"], key=lambda i: int(i["log_index"])):
        entry = item["entry"]
        s = entry["statement"]
        kind, body = s["type"], s["body"]
        at = min(_seconds(s["issued_at"]), _seconds(entry["recorded_at"]))
        if kind in ("ContributionClaimed", "AssignmentPosted"):
            skills[s["id"] if kind == "ContributionClaimed" else s["subject"]] = tuple(
                dict.fromkeys(body["skills"])
            )
        elif kind == "ContributionWithdrawn" and entry["stream"] == record:
            withdrawn = body["contribution"]
            found = {k: r for k, r in found.items() if targets.get(k) != withdrawn}
            skills.pop(withdrawn, None)
        elif kind == "EndorsementGiven" and entry["stream"] == record:
            author = keys.person_of_key(s["author"])
            rater = author.id if author is not None else str(s["author"])
            target = targets[s["id"]] = body["contribution"]
            found[s["id"]] = ImportedRating(
                origin, person, s["id"], "endorsement", rater, body["role"], body["grade"],
                at, int(item["log_index"]), skills.get(target, ()),
            )  # fmt: skip
        elif kind == "EndorsementRevoked" and entry["stream"] == record:
            found.pop(body["endorsement"], None)
        elif kind == "AssignmentCompleted" and body["assignee"] == person:
            author = keys.person_of_key(s["author"])
            owner = author.id if author is not None else str(s["author"])
            found[s["id"]] = ImportedRating(
                origin, person, s["id"], "completion", owner, "owner", body["grade"],
                at, int(item["log_index"]), skills.get(s["subject"], ()),
            )  # fmt: skip
    return [r for r in found.values() if r.skills]


def _seconds(timestamp: str) -> int:
    """Whole Unix seconds of an RFC 3339 UTC timestamp (as projections.entries reads them)."""
    return int(_dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


@dataclass(frozen=True)
class NewestBundle:
    """A person's newest imported bundle of one origin, parsed (``doc``)."""

    person: str
    origin: str
    doc: Mapping[str, Any]

    def ratings(self) -> list[ImportedRating]:
        """The active ratings it carries (:func:`bundle_ratings`)."""
        return bundle_ratings(self.doc, self.person, self.origin)

    def evidence(self) -> list[ImportedEvidence]:
        """The evidence it carries (:func:`bundle_evidence`)."""
        return bundle_evidence(self.doc, self.person, self.origin)


def newest_bundles(
    registry: ImportRegistry, records: Sequence[ImportedRecord] | None = None
) -> list[NewestBundle]:
    """Every person's newest imported bundle of each origin among ``records`` (default:
    every record in ``registry``), parsed, by person and origin: a later bundle of an
    origin holds everything an earlier one does, so its ratings and evidence are the
    person's from there. Each bundle is read (and parsed) once here."""
    newest: dict[tuple[str, str], ImportedRecord] = {}
    for r in registry.imported_records() if records is None else records:
        kept = newest.get((r.person, r.origin))
        if kept is None or kept.checkpoint_size < r.checkpoint_size:
            newest[(r.person, r.origin)] = r
    return [
        NewestBundle(
            person, origin, load_bundle(registry.bundle_text(origin, person, r.checkpoint_size))
        )
        for (person, origin), r in sorted(newest.items())
    ]
