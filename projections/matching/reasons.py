"""Why a match was made: each reason a code and its values, worded in English here.

The pages word the same reasons in the reader's language (``api.wording.reason_text``,
through the gettext catalogue); the API gives the code, the values and this English
text. Codes and values:

==========================  ======================================================
code                        values
==========================  ======================================================
``ring_department``         ``department``: the searcher's (the assignment's) department
``ring_organisation``       ``organisation``
``ring_government``         (none): another organisation of this ledger
``ring_beyond``             ``origins``: the other ledgers the evidence comes from
``skills``                  ``skills``: per skill ``skill``, ``evidence`` (count),
                            ``imported`` (ratings from other ledgers), ``ambition``,
                            ``reputation`` (None: none yet), ``origins``,
                            ``imported_evidence`` (per origin: ``origin``,
                            ``evidence`` count, trust ``weight``);
                            ``reputation_shown``: False when the reader may not read it
``missing``                 ``skills``: the asked skills the person has not
``hours``                   ``available``, ``budget``, ``needed`` (hours a week)
``withheld``                ``person``, ``parts``: the parts the reader may not read
``assignment_skills``       ``skills`` (matched), ``needed`` (how many it needs),
                            ``imported`` (skill: origins, for skills held only
                            from records imported from other ledgers)
``assignment_ring``         ``ring``
``assignment_hours``        ``hours`` (it needs), ``available``
==========================  ======================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reason", "skill_entry"]


@dataclass(frozen=True)
class Reason:
    """One reason of a match: a ``code`` (the table above) and its ``values`` (JSON)."""

    code: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The reason in English."""
        text: str = _ENGLISH[self.code](self.values)
        return text

    def __str__(self) -> str:
        return self.text

    def as_json(self) -> dict[str, Any]:
        """``{"code", "values", "text"}``, as the API gives it."""
        return {"code": self.code, "values": dict(self.values), "text": self.text}


def skill_entry(
    skill: str,
    *,
    evidence: int,
    ambition: bool,
    reputation: float | None,
    origins: Sequence[str] = (),
    imported: int = 0,
    imported_evidence: Iterable[Any] = (),
) -> dict[str, Any]:
    """One skill's values in a ``skills`` reason; ``imported_evidence`` holds
    :class:`~projections.matching.queries.ImportedSkill` values (summed per origin)."""
    per_origin: dict[str, dict[str, Any]] = {}
    for i in imported_evidence:
        entry = per_origin.setdefault(
            i.origin, {"origin": i.origin, "evidence": 0, "weight": i.weight}
        )
        entry["evidence"] += i.evidence
    return {
        "skill": skill,
        "evidence": evidence,
        "imported": imported,
        "ambition": ambition,
        "reputation": reputation,
        "origins": list(origins),
        "imported_evidence": [per_origin[o] for o in sorted(per_origin)],
    }


def imported_evidence_english(s: Mapping[str, Any]) -> list[str]:
    """``N× evidence imported from ORIGIN at trust W`` per origin of a skill's values."""
    return [
        f"{e['evidence']}× evidence imported from {e['origin']} at trust {e['weight']:.2f}"
        for e in s.get("imported_evidence", ())
    ]


def _skill_english(s: Mapping[str, Any], reputation_shown: bool) -> str:
    if not reputation_shown:
        rep = "reputation not visible"
    elif s["reputation"] is None:
        rep = "no reputation yet"
    else:
        rep = f"reputation {s['reputation']:.2f}"
    if reputation_shown and s["origins"]:
        rep += ", with ratings imported from " + ", ".join(s["origins"])
    rep = ", ".join([*imported_evidence_english(s), rep])
    if s["evidence"]:
        return f"{s['skill']} ({s['evidence']}× evidence, {rep})"
    if s.get("imported"):
        return f"{s['skill']} ({s['imported']}× rated on another ledger, {rep})"
    if s.get("imported_evidence") and not s["ambition"]:
        return f"{s['skill']} ({rep})"
    return f"{s['skill']} (wants to develop it, {rep})"


def _assignment_skills(v: Mapping[str, Any]) -> str:
    imported = v.get("imported", {})
    skills = [
        f"{k} (imported from {', '.join(imported[k])})" if k in imported else k for k in v["skills"]
    ]
    return f"skills: {', '.join(skills)} of {v['needed']} needed"


def _skills(v: Mapping[str, Any]) -> str:
    shown = bool(v.get("reputation_shown", True))
    return "skills: " + "; ".join(_skill_english(s, shown) for s in v["skills"])


_ENGLISH: Mapping[str, Any] = {
    "ring_department": lambda v: f"ring: own department ({v['department']})",
    "ring_organisation": lambda v: f"ring: own organisation ({v['organisation']})",
    "ring_government": lambda v: "ring: another organisation",
    "ring_beyond": lambda v: (
        "ring: beyond government (evidence imported from " + ", ".join(v["origins"]) + ")"
    ),
    "skills": _skills,
    "missing": lambda v: "missing: " + ", ".join(v["skills"]),
    "hours": lambda v: f"available {v['available']} of {v['budget']} h/week, {v['needed']} needed",
    "withheld": lambda v: (
        f"score and other details withheld: the {', '.join(v['parts'])} part(s) of "
        f"{v['person']} are not visible"
    ),
    "assignment_skills": _assignment_skills,
    "assignment_ring": lambda v: f"ring: {v['ring']}",
    "assignment_hours": lambda v: f"{v['hours']} h/week fits {v['available']} available",
}
