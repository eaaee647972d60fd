"""The report of a verified bundle: what it establishes about one person, as of its checkpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..checkpoint import Checkpoint, NoteVerifier
from ..state import LedgerState
from .items import Item

__all__ = [
    "AssignmentSummary",
    "BundleReport",
    "ContributionSummary",
    "EndorsementSummary",
    "build_report",
]


@dataclass(frozen=True)
class ContributionSummary:
    """A contribution on the person's record (title None when withheld)."""

    id: str
    title: str | None
    skills: tuple[str, ...]
    withdrawn: bool


@dataclass(frozen=True)
class EndorsementSummary:
    """An endorsement of one of the person's contributions that was not revoked."""

    id: str
    contribution: str
    endorser: str
    endorser_name: str | None
    role: str
    grade: int


@dataclass(frozen=True)
class AssignmentSummary:
    """An assignment its owner confirmed the person completed."""

    id: str
    title: str | None
    owner: str
    outcome: str
    grade: int


@dataclass(frozen=True)
class LinkSummary:
    """The person's record on another ledger, bound to them (``IdentityLinked``): by their
    last key there (``countersigned_by`` ``"key"``) or by the admin named, the key lost."""

    origin: str
    countersigned_by: str

    def describe(self, person: str) -> str:
        how = (
            f"proven by {person}'s last key there"
            if self.countersigned_by == "key"
            else f"countersigned by admin {self.countersigned_by}: the key there was lost"
        )
        return f"linked to {person}'s record on {self.origin} ({how})"


def _json_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in pairs}


_PARTS: dict[str, type[Any]] = {
    "contributions": ContributionSummary,
    "endorsements": EndorsementSummary,
    "assignments_completed": AssignmentSummary,
    "links": LinkSummary,
}


@dataclass(frozen=True)
class BundleReport:
    """What a verified bundle establishes about one person, as of its checkpoint."""

    person: str
    display_name: str | None
    organisation: str
    department: str
    origin: str
    checkpoint_size: int
    checkpoint_root: str
    verifier_key: str
    key_pinned: bool
    entry_count: int
    streams: tuple[str, ...]
    withheld_fields: int
    contributions: tuple[ContributionSummary, ...]
    endorsements: tuple[EndorsementSummary, ...]
    assignments_completed: tuple[AssignmentSummary, ...]
    warnings: tuple[str, ...]
    withheld: tuple[str, ...] = ()
    """Each withheld personal field as ``<stream>#<seq> <field>``, in log order."""
    links: tuple[LinkSummary, ...] = ()
    """The person's records on other ledgers bound to them here, by origin."""
    left_for: str | None = None
    """The ledger the person left this one for (``EmployeeLeft``: their record's last word)."""

    def endorsements_by_role(self) -> dict[str, dict[int, int]]:
        """Return ``{role: {grade: count}}`` over the endorsements."""
        out: dict[str, dict[int, int]] = {}
        for e in self.endorsements:
            grades = out.setdefault(e.role, {})
            grades[e.grade] = grades.get(e.grade, 0) + 1
        return out

    def endorsers(self) -> tuple[str, ...]:
        """Return the people who endorsed the person's work, sorted."""
        return tuple(sorted({e.endorser for e in self.endorsements}))

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON object (tuples become arrays)."""
        return dict(dataclasses.asdict(self, dict_factory=_json_dict))

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> BundleReport:
        """Rebuild a report written by :meth:`as_json`."""
        values = dict(raw)
        for name, part in _PARTS.items():
            values[name] = tuple(
                part(**{k: tuple(v) if isinstance(v, list) else v for k, v in x.items()})
                for x in values.get(name, ())
            )
        for name in ("streams", "warnings", "withheld"):
            values[name] = tuple(values.get(name, ()))
        return cls(**values)

    def summary(self) -> str:
        """Return a human-readable summary: who, what, by whom, which grades."""
        who = f"{self.person} ({self.display_name})" if self.display_name else self.person
        pinned = "pinned" if self.key_pinned else "NOT pinned: taken from the bundle itself"
        withdrawn = sum(c.withdrawn for c in self.contributions)
        plural = "" if self.withheld_fields == 1 else "s"
        lines = [
            f"{who}, {self.department}: record verified at checkpoint {self.checkpoint_size} "
            f"of {self.origin}",
            f"  operator key: {self.verifier_key} ({pinned})",
            f"  {self.entry_count} entries in {len(self.streams)} streams; "
            f"{self.withheld_fields} personal field{plural} withheld",
            f"  contributions: {len(self.contributions)} ({withdrawn} withdrawn)",
        ]
        for c in self.contributions:
            given = [
                f"{e.endorser_name or e.endorser} ({e.role}, {e.grade})"
                for e in self.endorsements
                if e.contribution == c.id
            ]
            by = f"; endorsed by {', '.join(given)}" if given else ""
            gone = " [withdrawn]" if c.withdrawn else ""
            lines.append(f"    - {c.title or '(title withheld)'}{gone} [{', '.join(c.skills)}]{by}")
        roles = "; ".join(
            f"{role}: {sum(g.values())} (grades "
            + ", ".join(str(k) for k in sorted(g, reverse=True) for _ in range(g[k]))
            + ")"
            for role, g in sorted(self.endorsements_by_role().items())
        )
        lines.append(f"  endorsements: {len(self.endorsements)}" + (f" — {roles}" if roles else ""))
        lines.append(f"  endorsers: {', '.join(self.endorsers()) or 'none'}")
        lines.append(f"  assignments completed: {len(self.assignments_completed)}")
        for a in self.assignments_completed:
            title = a.title or "(title withheld)"
            lines.append(f"    - {title}, owner {a.owner}: {a.outcome}, grade {a.grade}")
        lines.extend(f"  {link.describe(self.person)}" for link in self.links)
        if self.left_for is not None:
            lines.append(f"  left {self.origin} for the ledger {self.left_for}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


_UNPINNED = (
    "the operator key was taken from the bundle itself, not pinned: anyone can make a bundle "
    "that verifies this way; compare the key with the operator's published key"
)


def build_report(
    person: str,
    checkpoint: Checkpoint,
    key: NoteVerifier,
    pinned: bool,
    items: list[Item],
    state: LedgerState,
) -> BundleReport:
    """Summarise the verified ``items`` and folded ``state`` as a :class:`BundleReport`."""
    names: dict[str, str] = {}
    disclosed: dict[str, dict[str, str]] = {}
    withheld: list[str] = []
    for item in items:
        s = item.entry.statement
        fields = {d.field: d.value for d in item.disclosures}
        disclosed[s.id] = fields
        where = f"{item.entry.stream}#{item.entry.seq}"
        committed = sorted(s.body.get("commitments", {}))
        withheld += [f"{where} {name}" for name in committed if name not in fields]
        if s.type == "IdentityRegistered" and "display_name" in fields:
            names[s.subject] = fields["display_name"]
    completed = [
        i.entry.statement
        for i in items
        if i.entry.statement.type == "AssignmentCompleted"
        and i.entry.statement.body["assignee"] == person
    ]
    me = state.people[person]
    departure = state.departures.get(person)
    return BundleReport(
        person=person,
        display_name=names.get(person),
        organisation=me.organisation,
        department=me.department,
        origin=checkpoint.origin,
        checkpoint_size=checkpoint.size,
        checkpoint_root=checkpoint.root_hash.hex(),
        verifier_key=str(key),
        key_pinned=pinned,
        entry_count=len(items),
        streams=tuple(sorted({i.entry.stream for i in items})),
        withheld_fields=len(withheld),
        contributions=tuple(
            ContributionSummary(c.id, disclosed[c.id].get("title"), c.skills, c.withdrawn)
            for c in state.contributions.values()
            if c.owner == person
        ),
        endorsements=tuple(
            EndorsementSummary(
                e.id, e.contribution, e.endorser, names.get(e.endorser), e.role, e.grade
            )
            for e in state.endorsements.values()
            if e.subject == person and not e.revoked
        ),
        assignments_completed=tuple(
            AssignmentSummary(
                s.subject,
                _posted_title(items, s.subject),
                state.assignments[s.subject].owner,
                s.body["outcome"],
                s.body["grade"],
            )
            for s in completed
        ),
        warnings=() if pinned else (_UNPINNED,),
        withheld=tuple(withheld),
        links=tuple(
            LinkSummary(link.origin, link.countersigned_by)
            for (who, _), link in sorted(state.links.items())
            if who == person
        ),
        left_for=None if departure is None else departure.destination,
    )


def _posted_title(items: Iterable[Item], assignment: str) -> str | None:
    for item in items:
        s = item.entry.statement
        if s.type == "AssignmentPosted" and s.subject == assignment:
            return next((d.value for d in item.disclosures if d.field == "title"), None)
    return None
