"""The demo's rating facts without signing: what the reputation read model would hold.

A :class:`FactSink` runs the same simulation as a signed demo (same people, same
decisions, same grades) but, instead of building statements, records what the
reputation read model keeps from them (:mod:`projections.reputation.model`): one
row per active endorsement and assignment completion, the skills of every
contribution and assignment, and the manager roles an admin granted and nobody
revoked. A 2,000-person year takes about a second this way, against minutes to sign
and append it, which is what lets ``bench/reputation_attacks.py`` and the attack tests
score large organisations with the projection's own scoring function
(:func:`projections.reputation.score_all`).

Times: statement *k* of round *r* is dated the first day of the round's month
(00:00 UTC) plus *k* seconds, so the order of the facts is the log order.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from .plan import DemoPlan
from .roster import Roster
from .sink import Sink

__all__ = ["DemoFacts", "FactSink", "RatingRow", "demo_facts"]

RatingRow = tuple[str, str, str, str, str, str, int, int, int]
"""As :data:`projections.reputation.model.RatingRow`: (subject, id, kind, target, rater,
role, grade, at, position)."""


@dataclass
class DemoFacts:
    """The facts of a demo year: ``rows`` in log order, ``targets`` (contribution or
    assignment -> skills), ``managers`` (person -> departments managed), and, per person
    id, the planted ``quality`` (−1, 0, +1), ``team`` index and ``department``."""

    rows: list[RatingRow] = field(default_factory=list)
    targets: dict[str, list[str]] = field(default_factory=dict)
    managers: dict[str, set[str]] = field(default_factory=dict)
    quality: dict[str, int] = field(default_factory=dict)
    team: dict[str, int] = field(default_factory=dict)
    department: dict[str, str] = field(default_factory=dict)
    skills: dict[str, tuple[str, ...]] = field(default_factory=dict)
    end: int = 0
    """Unix time just after the last fact."""


class FactSink(Sink):
    """A dry :class:`Sink` that records the rating facts (see the module text)."""

    def __init__(self, roster: Roster) -> None:
        super().__init__(roster, None, (), origin="")
        self.facts = DemoFacts()
        for index, person in enumerate(roster.people):
            self.facts.quality[person.pid] = person.quality
            self.facts.skills[person.pid] = person.skills
            team = roster.team_of[index]
            self.facts.team[person.pid] = team
            self.facts.department[person.pid] = roster.teams[team].department if team >= 0 else ""
        self._serial = 0
        self._round_start = 0
        self._assignments: dict[str, list[str]] = {}

    def begin_round(self, index: int) -> None:
        super().begin_round(index)
        day = _dt.date(2025 + index // 12, index % 12 + 1, 1)
        self._round_start = calendar.timegm(day.timetuple())

    def _next(self, prefix: str) -> tuple[str, int, int]:
        """A fresh id, its time and its log position."""
        self._serial += 1
        at = self._round_start + self._serial
        self.facts.end = max(self.facts.end, at + 1)
        return f"{prefix}{self._serial}", at, self._serial

    def _p(self, index: int) -> str:
        return self._roster.people[index].pid

    def grant_role(self, signer: int, person: int, role: str, scope: str) -> None:
        super().grant_role(signer, person, role, scope)
        self._next("r")
        if role == "manager":
            self.facts.managers.setdefault(self._p(person), set()).add(scope)

    def revoke_role(self, signer: int, person: int, role: str, scope: str) -> None:
        super().revoke_role(signer, person, role, scope)
        self._next("r")
        if role == "manager":
            self.facts.managers.get(self._p(person), set()).discard(scope)

    def transfer(self, signer: int, person: int, org: str, department: str) -> None:
        super().transfer(signer, person, org, department)
        self.facts.department[self._p(person)] = department

    def claim(self, person: int, kind: str, part: str, skills: Sequence[str]) -> str:
        super().claim(person, kind, part, skills)
        cid, _, _ = self._next("c")
        self.facts.targets[cid] = list(dict.fromkeys(skills))
        return cid

    def withdraw(self, person: int, contribution: str) -> None:
        super().withdraw(person, contribution)
        self._next("w")
        self.facts.rows = [r for r in self.facts.rows if r[3] != contribution]
        self.facts.targets.pop(contribution, None)

    def endorse(
        self,
        signer: int,
        person: int,
        contribution: str,
        grade: int,
        role: str,
        request: str | None = None,
    ) -> str:
        super().endorse(signer, person, contribution, grade, role, request)
        eid, at, position = self._next("e")
        row = (self._p(person), eid, "endorsement", contribution, self._p(signer), role, grade)
        self.facts.rows.append((*row, at, position))
        return eid

    def revoke_endorsement(self, signer: int, person: int, endorsement: str) -> None:
        super().revoke_endorsement(signer, person, endorsement)
        self._next("v")
        self.facts.rows = [r for r in self.facts.rows if r[1] != endorsement]

    def post(
        self, owner: int, org: str, department: str, skills: Sequence[str], hours: int, ring: str
    ) -> str:
        super().post(owner, org, department, skills, hours, ring)
        aid, _, _ = self._next("a")
        self.facts.targets[aid] = list(dict.fromkeys(skills))
        return aid

    def complete(self, owner: int, assignment: str, assignee: int, grade: int) -> None:
        super().complete(owner, assignment, assignee, grade)
        cid, at, position = self._next("d")
        row = (self._p(assignee), cid, "completion", assignment, self._p(owner), "owner", grade)
        self.facts.rows.append((*row, at, position))


def demo_facts(people: int, seed: int) -> DemoFacts:
    """The rating facts of the demo of ``people`` and ``seed`` (the same year
    :class:`~trackrecord.demo.DemoPlan` signs)."""
    plan = DemoPlan(people=people, seed=seed)
    sink = FactSink(plan.roster)
    for _ in plan.simulation(sink).run():
        pass
    return sink.facts
