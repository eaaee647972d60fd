"""What a viewer may read of a person's imported records (bundles from other ledgers).

A record an employee brings from another ledger (:mod:`ledger.imports`) belongs
in their portfolio here, beside the parts recorded on this ledger, and under the
same rule: a viewer reads an imported part exactly when they may read that part
of the person's portfolio on *this* ledger (:func:`ledger.access.may_read` with
the receiving ledger's state). The owner's visibility settings and grants here
govern what they brought along; those they had at the origin do not travel.
Parts the viewer may not read are left out entirely, as local ones are.

Each entry of the person's record stream in the bundle belongs to the part
:func:`ledger.access.record_part` names (a contribution to the part it was
claimed into, an endorsement to ``analytical``); a completed assignment, with
its grade, belongs to ``analytical`` (as in :func:`ledger.bundle.disclose_for_viewer`).
Personal fields (titles, comments, display names) show only as the stored bundle
discloses them, so what the origin withheld stays withheld.

Erased people (:mod:`ledger.erasure`): their content in the stored bundles is sealed
under their data key, which the erasure destroys; the view also withholds the content
of everyone erased in the state it is given, so no answer computed around an
erasure shows theirs. Their facts (grades, skills, periods, counts) remain.

**The list of imported bundles** (who brought a record from which ledger, at which
checkpoint: the API's ``GET /imports``, the command line's ``imported``) is for the
members of this ledger, and the verification report of each (what the bundle holds,
entry by entry, names and titles included) for the person it is of only
(:func:`listed_imports`); everyone else reads what the access rule lets them, above.

Pure: no I/O; the state is only read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .access import may_read, record_part
from .bundle import BundleReport, load_bundle
from .catalogue import Part
from .errors import NotPermitted
from .imports import ImportedRecord, key_state, withhold_content_of
from .state import LedgerState

__all__ = [
    "ImportedCompletion",
    "ImportedContribution",
    "ImportedEndorsement",
    "ImportedPart",
    "ImportedRecordView",
    "ListedImport",
    "imported_view",
    "imported_views",
    "listed_imports",
]


@dataclass(frozen=True)
class ImportedContribution:
    """A contribution claimed on the origin ledger (``title`` None when withheld)."""

    id: str
    title: str | None
    kind: str
    skills: tuple[str, ...]
    period_start: str
    period_end: str | None
    withdrawn: bool


@dataclass(frozen=True)
class ImportedEndorsement:
    """An endorsement given on the origin ledger and not revoked there."""

    id: str
    contribution: str
    endorser: str
    endorser_name: str | None
    role: str
    grade: int
    comment: str | None


@dataclass(frozen=True)
class ImportedCompletion:
    """An assignment its owner on the origin ledger confirmed the person completed."""

    assignment: str
    title: str | None
    outcome: str
    grade: int


@dataclass(frozen=True)
class ImportedPart:
    """What one portfolio part holds of an imported record."""

    contributions: tuple[ImportedContribution, ...] = ()
    endorsements: tuple[ImportedEndorsement, ...] = ()
    assignments_completed: tuple[ImportedCompletion, ...] = ()

    def is_empty(self) -> bool:
        """True if the part holds nothing of the record."""
        return not (self.contributions or self.endorsements or self.assignments_completed)


@dataclass(frozen=True)
class ImportedRecordView:
    """One imported record as a viewer may read it: where it was verified, and the
    non-empty parts the viewer may read, in the order of :class:`~ledger.catalogue.Part`."""

    origin: str
    person: str
    checkpoint_size: int
    imported_at: str
    verifier_key: str
    parts: Mapping[Part, ImportedPart]
    #: how the record is bound to the person here (``IdentityLinked``): ``"key"`` (their
    #: last key there countersigned), an admin's id (the key was lost), None (no link)
    linked_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples as arrays, parts keyed by their name)."""
        return {
            "origin": self.origin,
            "person": self.person,
            "checkpoint_size": self.checkpoint_size,
            "imported_at": self.imported_at,
            "verifier_key": self.verifier_key,
            "linked_by": self.linked_by,
            "parts": {
                part.value: dataclasses.asdict(view, dict_factory=_json_dict)
                for part, view in self.parts.items()
            },
        }


@dataclass(frozen=True)
class ListedImport:
    """One imported bundle as a viewer may list it: the record, and its verification
    report only for the person it is of (None for anyone else)."""

    record: ImportedRecord
    report: BundleReport | None


def listed_imports(records: Iterable[ImportedRecord], viewer: str | None) -> list[ListedImport]:
    """``records`` as ``viewer`` (a person id, None without a session) may list them (see
    the module docstring). Raise :class:`~ledger.errors.NotPermitted` (``members_only``)
    without a viewer."""
    if viewer is None:
        raise NotPermitted(
            "members_only", "the imported records are listed to members of this ledger only"
        )
    return [ListedImport(r, r.report if r.person == viewer else None) for r in records]


def _json_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in pairs}


def imported_view(
    record: ImportedRecord,
    bundle_text: str,
    state: LedgerState,
    viewer: str | None,
    *,
    today: str | None = None,
) -> ImportedRecordView | None:
    """``record`` (its stored bundle is ``bundle_text``) as ``viewer`` may read it in
    ``state``, the receiving ledger's; None when the viewer reads nothing of it (the
    owner is always shown the record). ``today`` (``YYYY-MM-DD``, default: today in
    UTC) decides whether a grant ran out. Raises
    :class:`~ledger.bundle.BundleError` if the text is not bundle JSON."""
    person = record.person
    readable = [p for p in Part if may_read(state, person, viewer, p, today=today)]
    if not readable:
        return None
    doc = load_bundle(bundle_text)
    if state.erased:
        withhold_content_of(doc, state.erased.keys())
    found = _Found.of(doc, person)
    parts = {p: view for p in readable if not (view := found.part(p)).is_empty()}
    if not parts and viewer != person:
        return None
    r = record
    link = state.links.get((person, r.origin))
    return ImportedRecordView(
        r.origin, person, r.checkpoint_size, r.imported_at, r.verifier_key, parts,
        None if link is None else link.countersigned_by,
    )  # fmt: skip


def imported_views(
    stored: Iterable[tuple[ImportedRecord, str]],
    state: LedgerState,
    viewer: str | None,
    *,
    today: str | None = None,
) -> list[ImportedRecordView]:
    """The newest import of each origin among ``stored`` (records with their bundle text,
    :meth:`~ledger.imports.ImportRegistry.with_bundles`) as ``viewer`` may read it, by
    origin. Only the newest: a bundle holds its streams whole up to its checkpoint, so a
    later one of the same origin holds everything an earlier one does."""
    newest: dict[str, tuple[ImportedRecord, str]] = {}
    for record, text in stored:
        kept = newest.get(record.origin)
        if kept is None or kept[0].checkpoint_size < record.checkpoint_size:
            newest[record.origin] = (record, text)
    views = (imported_view(r, t, state, viewer, today=today) for r, t in newest.values())
    return sorted((v for v in views if v is not None), key=lambda v: v.origin)


@dataclass
class _Found:
    """The contributions, endorsements and completions of one person in a bundle."""

    contributions: dict[str, tuple[Part, ImportedContribution]]
    endorsements: dict[str, ImportedEndorsement]
    completions: list[ImportedCompletion]

    @classmethod
    def of(cls, doc: Mapping[str, Any], person: str) -> _Found:
        keys = key_state(doc["entries"])
        names: dict[str, str] = {}
        titles: dict[str, str] = {}
        parts: dict[str, Part] = {}
        found = cls({}, {}, [])
        record = f"record/{person}"
        for item in doc["entries"]:
            s = item["entry"]["statement"]
            kind, body = s["type"], s["body"]
            fields = {str(d[1]): str(d[2]) for d in item["disclosures"]}
            if kind == "IdentityRegistered" and "display_name" in fields:
                names[s["subject"]] = fields["display_name"]
            elif kind == "AssignmentPosted" and "title" in fields:
                titles[s["subject"]] = fields["title"]
            elif kind == "AssignmentCompleted" and body["assignee"] == person:
                found.completions.append(
                    ImportedCompletion(
                        s["subject"], titles.get(s["subject"]), body["outcome"], body["grade"]
                    )
                )
            elif item["entry"]["stream"] == record:
                part = record_part(kind, body, parts)
                if kind == "ContributionClaimed" and part is not None:
                    parts[s["id"]] = part
                found._record(kind, s, fields, part, keys, names)
        return found

    def _record(
        self,
        kind: str,
        s: Mapping[str, Any],
        fields: Mapping[str, str],
        part: Part | None,
        keys: LedgerState,
        names: Mapping[str, str],
    ) -> None:
        body = s["body"]
        if kind == "ContributionClaimed" and part is not None:
            period = body["period"]
            contribution = ImportedContribution(
                s["id"],
                fields.get("title"),
                body["kind"],
                tuple(body["skills"]),
                period["start"],
                period.get("end"),
                withdrawn=False,
            )
            self.contributions[s["id"]] = (part, contribution)
        elif kind == "ContributionWithdrawn" and body["contribution"] in self.contributions:
            was, claimed = self.contributions[body["contribution"]]
            self.contributions[body["contribution"]] = (
                was,
                dataclasses.replace(claimed, withdrawn=True),
            )
        elif kind == "EndorsementGiven":
            author = keys.person_of_key(s["author"])
            endorser = author.id if author is not None else str(s["author"])
            self.endorsements[s["id"]] = ImportedEndorsement(
                s["id"],
                body["contribution"],
                endorser,
                names.get(endorser),
                body["role"],
                body["grade"],
                fields.get("comment"),
            )
        elif kind == "EndorsementRevoked":
            self.endorsements.pop(body["endorsement"], None)

    def part(self, part: Part) -> ImportedPart:
        """What ``part`` holds (endorsements and completions belong to ``analytical``)."""
        analytical = part is Part.ANALYTICAL
        return ImportedPart(
            tuple(c for p, c in self.contributions.values() if p is part),
            tuple(self.endorsements.values()) if analytical else (),
            tuple(self.completions) if analytical else (),
        )
