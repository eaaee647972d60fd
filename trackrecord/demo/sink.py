"""The sink: one method per statement; it counts them and, unless dry, signs them.

Signed statements carry timestamps from a simulated clock of working hours,
07:00-17:00 UTC on weekdays, spread over each monthly round.
"""

from __future__ import annotations

import datetime as _dt
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from keys import Identity
from ledger import commands
from ledger.skills import SKILLS_BY_SLUG
from ledger.statement import SignedStatement, Signer

from .behaviour import ROUNDS
from .roster import Roster
from .vocabulary import (
    ACCESS_MESSAGES,
    CANCEL_REASONS,
    COMMENTS,
    FIELDS,
    MOTIVATIONS,
    OUTCOME_NOTES,
    REFUSE_REASONS,
    RESULTS_EN,
    RESULTS_NL,
    REVIEW_MESSAGES,
    REVOKE_ACCESS_REASONS,
    ROLES,
    SCHOOLS,
    STOLEN_NOTE,
    TITLES_EN,
    TITLES_NL,
    TOPICS,
    UNENDORSE_REASONS,
    WITHDRAW_REASONS,
)

__all__ = ["Sink"]

FORMER_LEDGER = "vorige-werkgever.trackrecord/ledger"  # where the demo's newcomer came from
NEXT_LEDGER = "volgende-werkgever.trackrecord/ledger"  # where the demo's leaver goes
_Build = Callable[[dict[str, Any]], SignedStatement]

# The ledger refuses a grant whose ``until`` day lies before the day it is *recorded*, and
# a demo is recorded whenever someone runs it: so time-limited grants run to year-ends well
# after the simulated year, not to the end of an assignment in it.
_UNTIL_YEARS = range(2030, 2036)

# -- the simulated clock ----------------------------------------------------------------

_START = _dt.date(2025, 1, 6)  # a Monday
_OPENS = _dt.datetime(2025, 1, 6, 7, tzinfo=_dt.UTC)  # working hours 07:00-17:00 UTC
_WORKDAY_US = 10 * 3600 * 1_000_000


def _work_offset(day: _dt.date) -> int:
    """Working microseconds from the start to the opening of ``day`` (or the next workday)."""
    weeks, weekday = divmod((day - _START).days, 7)
    if weekday >= 5:
        weeks, weekday = weeks + 1, 0
    return (weeks * 5 + weekday) * _WORKDAY_US


def _round_window(index: int) -> tuple[_dt.date, _dt.date]:
    def month(k: int) -> _dt.date:
        return _dt.date(2025 + k // 12, k % 12 + 1, 1)

    return (_START if index == 0 else month(index)), month(index + 1)


class _Clock:
    """Simulated time in working hours; each statement is issued a random step later."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._work_us = 0
        self._mean_step = 60e6

    def begin_round(self, index: int, statements: int) -> None:
        start, end = _round_window(index)
        self._work_us = max(self._work_us, _work_offset(start))
        span = max(_work_offset(end) - self._work_us, _WORKDAY_US)
        self._mean_step = 0.9 * span / max(statements, 1)  # leave room for chance

    def now(self) -> _dt.datetime:
        weeks, rest = divmod(self._work_us, 5 * _WORKDAY_US)
        days, micros = divmod(rest, _WORKDAY_US)
        return _OPENS + _dt.timedelta(days=7 * weeks + days, microseconds=micros)

    def today(self) -> _dt.date:
        return self.now().date()

    def tick(self) -> str:
        self._work_us += 1 + int(self._rng.random() * 2 * self._mean_step)
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the sink: one method per statement -----------------------------------------------------


class Sink:
    """Receives the simulation's statements; counts them and, unless dry, signs them.

    Methods take people as roster indices and return handles (statement or
    assignment ids; empty strings when dry) that the simulation passes back.
    """

    def __init__(
        self, roster: Roster, rng: random.Random | None, rounds: Sequence[int], *, origin: str
    ) -> None:
        self.dry = rng is None
        self.origin = origin  # the ledger every statement is addressed to
        self._rng = rng or random.Random(0)
        self._roster = roster
        self._rounds = rounds
        self._clock = _Clock(self._rng)
        self._round = 0
        self.counts: Counter[str] = Counter()
        self.round_counts = [0] * (ROUNDS + 1)
        self.buffer: list[SignedStatement] = []
        self.erased: set[int] = set()
        self.keys: list[Identity] = []
        if not self.dry:
            self.keys = [Identity(self._rng.randbytes(32)) for _ in roster.people]

    def begin_round(self, index: int) -> None:
        self._round = index
        if not self.dry:
            self._clock.begin_round(index, self._rounds[index])

    def _emit(self, type_: str, build: _Build) -> SignedStatement | None:
        self.counts[type_] += 1
        self.round_counts[self._round] += 1
        if self.dry:
            return None
        sid = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        opts = {"statement_id": sid, "issued_at": self._clock.tick(), "salt_source": self._salt}
        signed = build(opts)
        self.buffer.append(signed)
        return signed

    def _signer(self, person: int) -> Signer:
        return Signer(self.keys[person], self.origin)

    def _salt(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def _choice(self, options: Sequence[str]) -> str:
        return options[self._rng.randrange(len(options))]

    def _pid(self, person: int) -> str:
        return self._roster.people[person].pid

    # identity statements
    def register(self, signer: int, person: int, org: str, department: str) -> None:
        p = self._roster.people[person]
        self._emit("IdentityRegistered", lambda o: commands.register_identity(
            self._signer(signer), person=p.pid, public_key=self.keys[person].public_key.raw,
            organisation=org, department=department, display_name=p.name, **o,
        ))  # fmt: skip

    def grant_role(self, signer: int, person: int, role: str, scope: str) -> None:
        self._emit("RoleGranted", lambda o: commands.grant_role(
            self._signer(signer), person=self._pid(person), role=role, scope=scope, **o
        ))  # fmt: skip

    def revoke_role(self, signer: int, person: int, role: str, scope: str) -> None:
        self._emit("RoleRevoked", lambda o: commands.revoke_role(
            self._signer(signer), person=self._pid(person), role=role, scope=scope, **o
        ))  # fmt: skip

    def transfer(self, signer: int, person: int, org: str, department: str) -> None:
        self._emit("EmployeeTransferred", lambda o: commands.transfer_employee(
            self._signer(signer), person=self._pid(person), organisation=org,
            department=department, **o,
        ))  # fmt: skip

    def consent(self, person: int, org: str, department: str) -> None:
        """``person`` consents to move to ``department`` of another organisation."""
        self._emit("TransferConsented", lambda o: commands.consent_to_transfer(
            self._signer(person), person=self._pid(person), organisation=org,
            department=department, **o,
        ))  # fmt: skip

    def link(self, admin: int, person: int) -> None:
        """``person`` links their record on a former employer's ledger, countersigned by
        ``admin`` (their key there was lost)."""
        lost_key = self._rng.randbytes(32) if not self.dry else bytes(32)
        self._emit("IdentityLinked", lambda o: commands.link_identity(
            self._signer(person), person=self._pid(person), origin=FORMER_LEDGER,
            public_key=lost_key, countersigner=self.keys[admin], **o,
        ))  # fmt: skip

    def rotate_key(self, signer: int, person: int) -> None:
        """Rotate ``person`` to a fresh key, signed by their current key or by an admin."""

        def build(o: dict[str, Any]) -> SignedStatement:
            new = Identity(self._rng.randbytes(32))
            signed = commands.rotate_key(
                self._signer(signer),
                person=self._pid(person),
                new_public_key=new.public_key.raw,
                **o,
            )
            self.keys[person] = new
            return signed

        self._emit("KeyRotated", build)

    def revoke_key(self, signer: int, person: int) -> None:
        """Revoke ``person``'s current key as compromised (it was stolen)."""
        self._emit("KeyRevoked", lambda o: commands.revoke_key(
            self._signer(signer), person=self._pid(person), key_id=self.keys[person].key_id,
            reason="compromised", note=STOLEN_NOTE, **o,
        ))  # fmt: skip

    def leave(self, person: int) -> None:
        """``person`` leaves for an employer on another ledger (signed by them)."""
        self._emit("EmployeeLeft", lambda o: commands.leave_ledger(
            self._signer(person), person=self._pid(person), destination=NEXT_LEDGER, **o
        ))  # fmt: skip

    def erase(self, signer: int, person: int, basis: str) -> None:
        """Erase ``person`` (signed by an admin); their key signs nothing afterwards."""
        self.erased.add(person)
        self._emit("PersonErased", lambda o: commands.erase_person(
            self._signer(signer), person=self._pid(person), basis=basis, **o
        ))  # fmt: skip

    # record statements
    def claim(self, person: int, kind: str, part: str, skills: Sequence[str]) -> str:
        signed = self._emit("ContributionClaimed", lambda o: self._claim(
            person, kind, part, skills, o
        ))  # fmt: skip
        return signed.statement.id if signed else ""

    def _claim(
        self, person: int, kind: str, part: str, skills: Sequence[str], opts: dict[str, Any]
    ) -> SignedStatement:
        rng, today = self._rng, self._clock.today()
        title, description = self._describe(kind, skills)
        start, end = _period(rng, kind, today)
        proof = rng.random() < (0.8 if kind in ("diploma", "certificate") else 0.3)
        return commands.claim_contribution(
            self._signer(person), person=self._pid(person), title=title, skills=list(skills),
            start=start, end=end, part=part, kind=kind, description=description,
            evidence_sha256=rng.randbytes(32).hex() if proof else None, **opts,
        )  # fmt: skip

    def _describe(self, kind: str, skills: Sequence[str]) -> tuple[str, str | None]:
        first = SKILLS_BY_SLUG[skills[0]]
        topic = self._choice(TOPICS)
        if kind == "diploma":
            degree = self._choice(("Master", "Bachelor", "Hbo-bachelor"))
            field = FIELDS.get(first.category) or FIELDS[first.slug]
            return f"{degree} {field}", self._choice(SCHOOLS)
        if kind == "course":
            return f"Leergang {first.label_nl} (Rijksacademie)", None
        if kind == "certificate":
            return f"Certificate in {first.label_en}", None
        if kind == "publication":
            return f"Artikel over {topic} in Binnenlands Bestuur", None
        if self._rng.random() < 0.7:
            title = self._choice(TITLES_NL[first.category]).format(topic=topic)
            return title, f"Bijdrage met {first.label_nl}. {self._choice(RESULTS_NL)}"
        title = self._choice(TITLES_EN[first.category]).format(topic=topic)
        return title, f"Contributed {first.label_en}. {self._choice(RESULTS_EN)}"

    def withdraw(self, person: int, contribution: str) -> None:
        self._emit("ContributionWithdrawn", lambda o: commands.withdraw_contribution(
            self._signer(person), person=self._pid(person), contribution=contribution,
            reason=self._choice(WITHDRAW_REASONS), **o,
        ))  # fmt: skip

    def request_review(
        self, person: int, contribution: str, reviewers: Sequence[tuple[int, str]]
    ) -> str:
        signed = self._emit("ReviewRequested", lambda o: commands.request_review(
            self._signer(person), person=self._pid(person), contribution=contribution,
            reviewers=[(self._pid(q), role) for q, role in reviewers],
            message=self._choice(REVIEW_MESSAGES) if self._rng.random() < 0.5 else None, **o,
        ))  # fmt: skip
        return signed.statement.id if signed else ""

    def endorse(
        self,
        signer: int,
        person: int,
        contribution: str,
        grade: int,
        role: str,
        request: str | None = None,
    ) -> str:
        signed = self._emit("EndorsementGiven", lambda o: commands.endorse(
            self._signer(signer), person=self._pid(person), contribution=contribution, grade=grade,
            role=role, comment=self._choice(COMMENTS[grade]) if self._rng.random() < 0.7 else None,
            request=request or None, **o,
        ))  # fmt: skip
        return signed.statement.id if signed else ""

    def revoke_endorsement(self, signer: int, person: int, endorsement: str) -> None:
        self._emit("EndorsementRevoked", lambda o: commands.revoke_endorsement(
            self._signer(signer), person=self._pid(person), endorsement=endorsement,
            reason=self._choice(UNENDORSE_REASONS), **o,
        ))  # fmt: skip

    def state_ambition(self, person: int, skills: Sequence[str]) -> None:
        self._emit("AmbitionStated", lambda o: self._ambition(person, skills, o))

    def _ambition(
        self, person: int, skills: Sequence[str], opts: dict[str, Any]
    ) -> SignedStatement:
        wanted = SKILLS_BY_SLUG[skills[0]]
        goal = self._choice((
            f"Ik wil mij verder ontwikkelen in {wanted.label_nl}.",
            f"Doorgroeien naar een rol als {self._choice(ROLES)}.",
            f"Meer ervaring opdoen met {wanted.label_nl} via klussen bij andere organisaties.",
            f"Learn {wanted.label_en} by working on cross-government assignments.",
        ))  # fmt: skip
        courses = (
            f"Leergang {wanted.label_nl} (Rijksacademie)" if self._rng.random() < 0.5 else None
        )
        return commands.state_ambition(
            self._signer(person), person=self._pid(person), goal=goal, skills=list(skills),
            courses=courses, **opts,
        )  # fmt: skip

    def change_visibility(self, person: int, part: str, visibility: str) -> None:
        self._emit("VisibilityChanged", lambda o: commands.change_visibility(
            self._signer(person), person=self._pid(person), part=part, visibility=visibility, **o
        ))  # fmt: skip

    def request_access(self, viewer: int, owner: int, part: str) -> str:
        signed = self._emit("AccessRequested", lambda o: commands.request_access(
            self._signer(viewer), owner=self._pid(owner), part=part,
            message=self._choice(ACCESS_MESSAGES[part]).format(topic=self._choice(TOPICS))
            if self._rng.random() < 0.85 else None,
            **o,
        ))  # fmt: skip
        return signed.statement.id if signed else ""

    def grant_access(self, owner: int, viewer: int, part: str, request: str) -> str:
        """Grant ``viewer`` access to ``part``, answering ``request``; a third until a date."""

        def build(o: dict[str, Any]) -> SignedStatement:
            rng = self._rng
            until = f"{rng.choice(_UNTIL_YEARS)}-12-31" if rng.random() < 0.35 else None
            return commands.grant_access(
                self._signer(owner), person=self._pid(owner), viewer=self._pid(viewer), part=part,
                request=request, until=until, **o,
            )  # fmt: skip

        signed = self._emit("AccessGranted", build)
        return signed.statement.id if signed else ""

    def refuse_access(self, owner: int, request: str) -> None:
        self._emit("AccessRefused", lambda o: commands.refuse_access(
            self._signer(owner), person=self._pid(owner), request=request,
            reason=self._choice(REFUSE_REASONS) if self._rng.random() < 0.6 else None, **o,
        ))  # fmt: skip

    def revoke_access(self, owner: int, grant: str) -> None:
        self._emit("AccessRevoked", lambda o: commands.revoke_access(
            self._signer(owner), person=self._pid(owner), grant=grant,
            reason=self._choice(REVOKE_ACCESS_REASONS), **o,
        ))  # fmt: skip

    # assignment statements
    def post(
        self, owner: int, org: str, department: str, skills: Sequence[str], hours: int, ring: str
    ) -> str:
        signed = self._emit("AssignmentPosted", lambda o: self._post(
            owner, org, department, skills, hours, ring, o
        ))  # fmt: skip
        return signed.statement.subject if signed else ""

    def _post(
        self, owner: int, org: str, department: str, skills: Sequence[str], hours: int,
        ring: str, opts: dict[str, Any],
    ) -> SignedStatement:  # fmt: skip
        rng, wanted, topic = self._rng, SKILLS_BY_SLUG[skills[0]], self._choice(TOPICS)
        starts = self._clock.today() + _dt.timedelta(days=rng.randint(5, 20))
        if rng.random() < 0.7:
            title = f"Klus: {wanted.label_nl} voor {topic}"
            text = f"Voor {hours} uur per week zoeken wij ervaring met {wanted.label_nl}."
        else:
            title = f"Assignment: {wanted.label_en} for {topic}"
            text = f"We are looking for {hours} hours a week of {wanted.label_en} support."
        return commands.post_assignment(
            self._signer(owner), assignment=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            organisation=org, department=department, title=title, skills=list(skills),
            hours_per_week=hours, ring=ring, description=text, starts=starts.isoformat(),
            ends=(starts + _dt.timedelta(days=rng.randint(28, 120))).isoformat(), **opts,
        )  # fmt: skip

    def apply(self, person: int, assignment: str, hours: int) -> None:
        self._emit("AssignmentApplied", lambda o: commands.apply_to_assignment(
            self._signer(person), assignment=assignment, hours_per_week=hours,
            motivation=self._choice(MOTIVATIONS), **o,
        ))  # fmt: skip

    def assign(self, owner: int, assignment: str, assignee: int) -> None:
        self._emit("AssignmentAssigned", lambda o: commands.assign(
            self._signer(owner), assignment=assignment, assignee=self._pid(assignee), **o
        ))  # fmt: skip

    def complete(self, owner: int, assignment: str, assignee: int, grade: int) -> None:
        outcome = (
            "delivered" if grade >= 3 else "partly_delivered" if grade == 2 else "not_delivered"
        )
        self._emit("AssignmentCompleted", lambda o: commands.complete_assignment(
            self._signer(owner), assignment=assignment, assignee=self._pid(assignee), grade=grade,
            outcome=outcome, note=self._choice(OUTCOME_NOTES[outcome]), **o,
        ))  # fmt: skip

    def cancel(self, owner: int, assignment: str, why: str) -> None:
        self._emit("AssignmentCancelled", lambda o: commands.cancel_assignment(
            self._signer(owner), assignment=assignment,
            reason=self._choice(CANCEL_REASONS[why]), **o,
        ))  # fmt: skip


def _period(rng: random.Random, kind: str, today: _dt.date) -> tuple[str, str | None]:
    """A plausible (start, end) for a contribution of ``kind`` claimed on ``today``."""
    days = _dt.timedelta
    if kind == "diploma":
        year = rng.randint(1995, 2022)
        start = _dt.date(year - rng.choice((3, 4, 5)), 9, 1)
        end: _dt.date | None = _dt.date(year, rng.randint(6, 8), rng.randint(1, 28))
    elif kind in ("course", "certificate"):
        end = today - days(rng.randint(10, 900))
        start = end - days(rng.randint(1, 120))
    else:
        end = today - days(rng.randint(0, 14))
        start = end - days(rng.randint(14, 200))
        if kind == "work" and rng.random() < 0.15:
            end = None  # still ongoing
    return start.isoformat(), end.isoformat() if end else None
