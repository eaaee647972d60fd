"""The values the portfolio queries return (immutable, JSON-ready via ``as_json``)."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.catalogue import Part, Visibility

__all__ = [
    "AmbitionView",
    "AssignmentWork",
    "CompletionGrade",
    "ContributionView",
    "EndorsedContribution",
    "EndorsementView",
    "PartView",
    "Personal",
    "Portfolio",
]


@dataclass(frozen=True)
class Personal:
    """The personal fields of one statement: what is disclosed, and what is withheld.

    A withheld field (committed in the signed statement, but its disclosure
    withheld or erased) is named in ``withheld``; it is not an error.
    """

    disclosed: Mapping[str, str]
    withheld: tuple[str, ...] = ()

    @classmethod
    def from_stored(cls, text: str) -> Personal:
        """Parse the stored JSON form (``null`` marks a withheld field)."""
        fields: dict[str, str | None] = json.loads(text)
        disclosed = {k: v for k, v in fields.items() if v is not None}
        return cls(disclosed, tuple(sorted(k for k, v in fields.items() if v is None)))

    def get(self, name: str) -> str | None:
        """The disclosed value of ``name``, or None (absent or withheld)."""
        return self.disclosed.get(name)


@dataclass(frozen=True)
class ContributionView:
    """A contribution as shown in the part it was claimed into."""

    id: str
    part: Part
    kind: str
    skills: tuple[str, ...]
    period_start: str
    period_end: str | None
    evidence_sha256: str | None
    personal: Personal
    issued_at: str


@dataclass(frozen=True)
class EndorsementView:
    """One 360° endorsement: who (person and role), the grade 1-5 and the comment."""

    id: str
    endorser: str
    role: str
    grade: int
    personal: Personal
    issued_at: str


@dataclass(frozen=True)
class EndorsedContribution:
    """The endorsements of one contribution.

    ``contribution`` is the full contribution only when its own part is
    visible to the viewer; otherwise only its id and skills are shown.
    """

    contribution_id: str
    skills: tuple[str, ...]
    contribution: ContributionView | None
    endorsements: tuple[EndorsementView, ...]


@dataclass(frozen=True)
class CompletionGrade:
    """The grade an assignment's owner gave on completion."""

    assignment: str
    title: Personal
    outcome: str
    grade: int
    note: Personal


@dataclass(frozen=True)
class AmbitionView:
    """A stated ambition: goal, courses and skills to develop."""

    id: str
    skills: tuple[str, ...]
    personal: Personal
    issued_at: str


@dataclass(frozen=True)
class AssignmentWork:
    """An assignment the employee worked on (assigned, completed or cancelled)."""

    assignment: str
    organisation: str
    department: str
    skills: tuple[str, ...]
    hours_per_week: int
    status: str
    outcome: str | None
    personal: Personal


@dataclass(frozen=True)
class PartView:
    """One visible part of a portfolio.

    Every part lists the contributions claimed into it; the analytical part
    adds the endorsements and completion grades, the ambitions part the stated
    ambitions, the free part the assignments worked on.
    """

    part: Part
    visibility: Visibility
    contributions: tuple[ContributionView, ...] = ()
    endorsed: tuple[EndorsedContribution, ...] = ()
    completions: tuple[CompletionGrade, ...] = ()
    ambitions: tuple[AmbitionView, ...] = ()
    assignments: tuple[AssignmentWork, ...] = ()


@dataclass(frozen=True)
class Portfolio:
    """An employee's portfolio as one viewer may see it.

    ``parts`` holds only the parts visible to the viewer; ``hidden`` names the
    others with their visibility (so a viewer knows what to ask for), never
    their content. ``asked_to_review`` holds the contributions of hidden parts
    that a review request of the person asks the viewer to review: the request
    lets them read those, and nothing else of those parts.
    """

    person: str
    display_name: Personal
    organisation: str | None  # None: withheld from this viewer (ledger.access, the directory)
    department: str | None
    viewer: str | None
    parts: Mapping[Part, PartView] = field(default_factory=dict)
    hidden: Mapping[Part, Visibility] = field(default_factory=dict)
    asked_to_review: tuple[ContributionView, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as their values)."""
        result: dict[str, Any] = _plain(self)
        return result


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
