"""What every rule handler works with: the entry's context and the shared checks.

:class:`Ctx` carries the state, the statement, its author and where the entry stands in
the log; its ``fail`` builds the :class:`~ledger.errors.RuleViolation` with that location.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from keys import key_id_for

from ..canonical import b64decode, sha256_hex
from ..catalogue import GRADE_MAX, GRADE_MIN
from ..errors import RuleViolation
from ..state import Contribution, KeyRecord, LedgerState, Person
from ..statement import Statement

__all__ = [
    "NEXT_KEY_PREFIX",
    "Ctx",
    "Handler",
    "new_key",
    "next_key_digest",
    "org_of",
    "own_contribution",
    "require_department_in",
    "require_live_person",
    "require_period",
]

NEXT_KEY_PREFIX = b"trackrecord:next-key:v1\x00"


def next_key_digest(public_key: bytes) -> str:
    """The pre-commitment to a future key: ``SHA-256(prefix || public key)`` in hex."""
    return sha256_hex(NEXT_KEY_PREFIX + public_key)


@dataclasses.dataclass(frozen=True)
class Ctx:
    state: LedgerState
    statement: Statement
    author: Person | None
    log_index: int
    where: dict[str, Any]
    today: str = ""  # the day the ledger records the entry (its recorded_at, UTC)
    #: the rules see part of the log only (a bundle: docs/bundle.md §6 lists what that relaxes)
    partial: bool = False
    #: the statement is offered for appending now, not an entry re-checked (``apply_entry``)
    submitted: bool = False

    def fail(self, code: str, message: str) -> RuleViolation:
        return RuleViolation(code, message, statement_id=self.statement.id, **self.where)

    @property
    def body(self) -> Any:
        return self.statement.model

    @property
    def me(self) -> Person:
        assert self.author is not None
        return self.author

    def subject_person(self) -> Person:
        person = self.state.people.get(self.statement.subject)
        if person is None:
            raise self.fail("unknown_person", f"no person {self.statement.subject!r} is registered")
        return person

    def require_self(self, what: str) -> Person:
        subject = self.subject_person()
        if self.me.id != subject.id:
            raise self.fail(
                "not_subject",
                f"only {subject.id} may {what} on their own record; signed by {self.me.id}",
            )
        return subject

    def require_admin(self, organisation: str) -> None:
        if not self.state.is_admin(self.me, organisation):
            raise self.fail(
                "not_admin", f"{self.me.id} is not an admin of organisation {organisation!r}"
            )

    def require_grade(self, grade: int) -> None:
        if not GRADE_MIN <= grade <= GRADE_MAX:
            raise self.fail(
                "bad_grade", f"grade {grade} is outside the uniform scale {GRADE_MIN}-{GRADE_MAX}"
            )


Handler = Callable[[Ctx], None]
"""A statement type's rules: check the entry in ``ctx`` and fold it into ``ctx.state``."""


def org_of(department: str) -> str:
    return department.split("/", 1)[0]


def require_department_in(ctx: Ctx, department: str, organisation: str) -> None:
    if org_of(department) != organisation:
        raise ctx.fail(
            "bad_department",
            f"department {department!r} is not part of organisation {organisation!r}",
        )


def require_period(ctx: Ctx, start: str | None, end: str | None, what: str) -> None:
    """An end, when given with a start, is not before it (ISO dates compare as text)."""
    if start is not None and end is not None and end < start:
        raise ctx.fail("bad_period", f"{what} ends on {end}, before it starts on {start}")


def new_key(ctx: Ctx, public_key_b64: str, person: str) -> KeyRecord:
    raw = b64decode(public_key_b64, length=32, what="public_key")
    key_id = key_id_for(raw)
    if key_id in ctx.state.keys:
        raise ctx.fail("key_reused", f"key {key_id} is already registered")
    return KeyRecord(key_id, person, raw, valid_from=ctx.log_index)


def own_contribution(ctx: Ctx, contribution_id: str) -> Contribution:
    c = ctx.state.contributions.get(contribution_id)
    if c is None or c.owner != ctx.statement.subject:
        raise ctx.fail(
            "unknown_contribution",
            f"{ctx.statement.subject} has no contribution {contribution_id}",
        )
    if c.withdrawn:
        raise ctx.fail("contribution_withdrawn", f"contribution {contribution_id} was withdrawn")
    return c


def require_live_person(ctx: Ctx, person: str) -> None:
    """``person``, named in the body (an access grant's viewer, a review request's reviewer),
    is registered and not erased.

    In a bundle (``ctx.partial``) an unknown person is let pass: the bundle carries the
    identity streams of the people whose keys signed its entries (docs/bundle.md §5); one
    named without signing anything there (a viewer granted access unasked, a reviewer who
    never answered) is theirs, not the owner's to export, so the bundle check cannot see
    them and does not ask (docs/bundle.md §6.1). The ledger checked it on append, and its
    audit re-checks it.
    """
    if person not in ctx.state.people:
        if ctx.partial:
            return
        raise ctx.fail("unknown_person", f"no person {person!r} is registered")
    if person in ctx.state.erased:
        raise ctx.fail("erased", f"{person} was erased at log index {ctx.state.erased[person]}")
