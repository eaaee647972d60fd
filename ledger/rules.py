"""The rules of DESIGN.md §6, checked on append and re-checked by the audit.

:func:`apply_entry` checks one entry against the state of the log before it and,
if every rule holds, folds it into the state. The same function serves the
append path (with signature verification) and the audit (which verifies
signatures in parallel and passes ``verify_signature=False``), so the rules that
decide what is accepted are exactly the rules the verifier re-checks.

Rule codes (each a :class:`~ledger.errors.RuleViolation` ``code``) are listed in
docs/rules.md.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from keys import key_id_for

from .access import active_grant, visibility_of
from .canonical import b64decode, sha256_hex
from .catalogue import DEPARTMENT_RE, GRADE_MAX, GRADE_MIN, SLUG_RE, Part, Role, Visibility
from .entry import GENESIS_PREV, Entry
from .errors import RuleViolation
from .state import (
    AccessGrant,
    AccessRequest,
    Assignment,
    Contribution,
    Endorsement,
    Head,
    KeyRecord,
    LedgerState,
    Person,
)
from .statement import Statement, check_statement_signature

__all__ = ["NEXT_KEY_PREFIX", "apply_entry", "next_key_digest"]

NEXT_KEY_PREFIX = b"trackrecord:next-key:v1\x00"


def next_key_digest(public_key: bytes) -> str:
    """The pre-commitment to a future key: ``SHA-256(prefix || public key)`` in hex."""
    return sha256_hex(NEXT_KEY_PREFIX + public_key)


@dataclasses.dataclass(frozen=True)
class _Ctx:
    state: LedgerState
    statement: Statement
    author: Person | None
    log_index: int
    where: dict[str, Any]
    today: str = ""  # the day the ledger records the entry (its recorded_at, UTC)

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


def _org_of(department: str) -> str:
    return department.split("/", 1)[0]


def _require_department_in(ctx: _Ctx, department: str, organisation: str) -> None:
    if _org_of(department) != organisation:
        raise ctx.fail(
            "bad_department",
            f"department {department!r} is not part of organisation {organisation!r}",
        )


def _new_key(ctx: _Ctx, public_key_b64: str, person: str) -> KeyRecord:
    raw = b64decode(public_key_b64, length=32, what="public_key")
    key_id = key_id_for(raw)
    if key_id in ctx.state.keys:
        raise ctx.fail("key_reused", f"key {key_id} is already registered")
    return KeyRecord(key_id, person, raw, valid_from=ctx.log_index)


# -- identity stream ----------------------------------------------------------
def _identity_registered(ctx: _Ctx) -> None:
    s, body, st = ctx.statement, ctx.body, ctx.state
    _require_department_in(ctx, body.department, body.organisation)
    if s.subject in st.people:
        raise ctx.fail("already_registered", f"{s.subject} is already registered")
    key = _new_key(ctx, body.public_key, s.subject)
    if ctx.author is None:  # genesis: checked by apply_entry
        st.put(st.meta, "operator", s.subject)
    else:
        ctx.require_admin(body.organisation)
    st.put(st.keys, key.key_id, key)
    person = Person(
        s.subject, body.organisation, body.department, key.key_id, body.next_key_digest,
        frozenset(), ctx.log_index,
    )  # fmt: skip
    st.put(st.people, s.subject, person)


def _key_rotated(ctx: _Ctx) -> None:
    st, body = ctx.state, ctx.body
    person = ctx.subject_person()
    key = _new_key(ctx, body.public_key, person.id)
    if ctx.me.id == person.id:
        if ctx.statement.author != person.current_key:
            raise ctx.fail("not_current_key", "a rotation must be signed by the current key")
        if person.next_key_digest and next_key_digest(key.public_key) != person.next_key_digest:
            raise ctx.fail(
                "precommit_mismatch", "the new key does not match the key committed to earlier"
            )
    else:
        ctx.require_admin(person.organisation)
    if person.current_key is not None:
        old = st.keys[person.current_key]
        st.put(st.keys, old.key_id, dataclasses.replace(old, retired_at=ctx.log_index))
    st.put(st.keys, key.key_id, key)
    st.put(
        st.people,
        person.id,
        dataclasses.replace(person, current_key=key.key_id, next_key_digest=body.next_key_digest),
    )


def _key_revoked(ctx: _Ctx) -> None:
    st, body = ctx.state, ctx.body
    person = ctx.subject_person()
    if ctx.me.id != person.id:
        ctx.require_admin(person.organisation)
    key = st.keys.get(body.key_id)
    if key is None or key.person != person.id:
        raise ctx.fail("unknown_key", f"{body.key_id} is not a key of {person.id}")
    if key.revoked:
        raise ctx.fail("already_revoked", f"key {body.key_id} is already revoked")
    retired = ctx.log_index if key.retired_at is None else key.retired_at
    st.put(st.keys, key.key_id, dataclasses.replace(key, retired_at=retired, revoked=True))
    if person.current_key == key.key_id:
        st.put(st.people, person.id, dataclasses.replace(person, current_key=None))


def _role_authority(ctx: _Ctx) -> tuple[Person, tuple[str, str]]:
    body = ctx.body
    person = ctx.subject_person()
    if body.role == Role.MANAGER:
        if not re.fullmatch(DEPARTMENT_RE, body.scope):
            raise ctx.fail(
                "bad_scope", f"a manager role is scoped to a department, not {body.scope!r}"
            )
        ctx.require_admin(_org_of(body.scope))
    else:
        if not re.fullmatch(SLUG_RE, body.scope):
            raise ctx.fail(
                "bad_scope", f"an admin role is scoped to an organisation, not {body.scope!r}"
            )
        ctx.require_admin(body.scope)
    return person, (body.role.value, body.scope)


def _role_granted(ctx: _Ctx) -> None:
    person, role = _role_authority(ctx)
    if role in person.roles:
        raise ctx.fail("role_already_granted", f"{person.id} already holds {role[0]} of {role[1]}")
    st = ctx.state
    st.put(st.people, person.id, dataclasses.replace(person, roles=person.roles | {role}))


def _role_revoked(ctx: _Ctx) -> None:
    person, role = _role_authority(ctx)
    if role not in person.roles:
        raise ctx.fail("role_not_held", f"{person.id} does not hold {role[0]} of {role[1]}")
    st = ctx.state
    st.put(st.people, person.id, dataclasses.replace(person, roles=person.roles - {role}))


def _employee_transferred(ctx: _Ctx) -> None:
    st, body = ctx.state, ctx.body
    person = ctx.subject_person()
    _require_department_in(ctx, body.department, body.organisation)
    if not (st.is_admin(ctx.me, person.organisation) or st.is_admin(ctx.me, body.organisation)):
        raise ctx.fail(
            "not_admin",
            f"{ctx.me.id} is an admin of neither {person.organisation!r} nor {body.organisation!r}",
        )
    if (person.organisation, person.department) == (body.organisation, body.department):
        raise ctx.fail("no_change", f"{person.id} already works in {body.department}")
    st.put(
        st.people,
        person.id,
        dataclasses.replace(person, organisation=body.organisation, department=body.department),
    )


# -- record stream ------------------------------------------------------------
def _contribution_claimed(ctx: _Ctx) -> None:
    subject = ctx.require_self("claim a contribution")
    st = ctx.state
    st.put(
        st.contributions,
        ctx.statement.id,
        Contribution(ctx.statement.id, subject.id, tuple(ctx.body.skills)),
    )


def _own_contribution(ctx: _Ctx, contribution_id: str) -> Contribution:
    c = ctx.state.contributions.get(contribution_id)
    if c is None or c.owner != ctx.statement.subject:
        raise ctx.fail(
            "unknown_contribution",
            f"{ctx.statement.subject} has no contribution {contribution_id}",
        )
    if c.withdrawn:
        raise ctx.fail("contribution_withdrawn", f"contribution {contribution_id} was withdrawn")
    return c


def _contribution_withdrawn(ctx: _Ctx) -> None:
    ctx.require_self("withdraw a contribution")
    c = _own_contribution(ctx, ctx.body.contribution)
    ctx.state.put(ctx.state.contributions, c.id, dataclasses.replace(c, withdrawn=True))


def _endorsement_given(ctx: _Ctx) -> None:
    st, body = ctx.state, ctx.body
    ctx.require_grade(body.grade)
    subject = ctx.subject_person()
    c = _own_contribution(ctx, body.contribution)
    if ctx.me.id == subject.id:
        raise ctx.fail("self_endorsement", f"{subject.id} cannot endorse their own work")
    if body.role == "manager" and not st.is_manager(ctx.me, subject.department):
        raise ctx.fail(
            "manager_role_required",
            f"{ctx.me.id} holds no manager role for {subject.department}, "
            f"the department of {subject.id}",
        )
    pair = (ctx.me.id, c.id)
    if pair in st.active_endorsements:
        raise ctx.fail("duplicate_endorsement", f"{ctx.me.id} already endorsed contribution {c.id}")
    e = Endorsement(ctx.statement.id, ctx.me.id, subject.id, c.id, body.grade, body.role.value)
    st.put(st.endorsements, e.id, e)
    st.put(st.active_endorsements, pair, e.id)


def _endorsement_revoked(ctx: _Ctx) -> None:
    st = ctx.state
    e = st.endorsements.get(ctx.body.endorsement)
    if e is None or e.subject != ctx.statement.subject:
        raise ctx.fail(
            "unknown_endorsement",
            f"{ctx.statement.subject} has no endorsement {ctx.body.endorsement}",
        )
    if e.endorser != ctx.me.id:
        raise ctx.fail("not_endorser", f"only {e.endorser} may revoke endorsement {e.id}")
    if e.revoked:
        raise ctx.fail("already_revoked", f"endorsement {e.id} is already revoked")
    st.put(st.endorsements, e.id, dataclasses.replace(e, revoked=True))
    st.put(st.active_endorsements, (e.endorser, e.contribution), None)
    del st.active_endorsements[(e.endorser, e.contribution)]


def _ambition_stated(ctx: _Ctx) -> None:
    ctx.require_self("state an ambition")


def _visibility_changed(ctx: _Ctx) -> None:
    owner = ctx.require_self("change visibility")
    body, st = ctx.body, ctx.state
    st.put(st.visibility, (owner.id, body.part.value), body.visibility.value)


# -- access on request (docs/privacy.md) --------------------------------------
def _require_on_request(ctx: _Ctx, owner: Person, part: str) -> None:
    current = visibility_of(ctx.state, owner.id, Part(part))
    if current is not Visibility.ON_REQUEST:
        raise ctx.fail(
            "not_on_request",
            f"the {part} part of {owner.id} is {current}; only an on_request part is "
            f"requested and granted",
        )


def _require_live_viewer(ctx: _Ctx, viewer: str) -> None:
    if viewer not in ctx.state.people:
        raise ctx.fail("unknown_person", f"no person {viewer!r} is registered")
    if viewer in ctx.state.erased:
        raise ctx.fail("erased", f"{viewer} was erased at log index {ctx.state.erased[viewer]}")


def _access_requested(ctx: _Ctx) -> None:
    st, part = ctx.state, ctx.body.part.value
    owner = ctx.subject_person()
    viewer = ctx.me.id
    if viewer == owner.id:
        raise ctx.fail("self_request", f"{owner.id} reads their own portfolio without a request")
    _require_on_request(ctx, owner, part)
    key = (owner.id, viewer, part)
    if _active_grant_id(ctx, key) is not None:
        raise ctx.fail("already_granted", f"{viewer} already holds a grant for this {part} part")
    if key in st.open_requests:
        raise ctx.fail(
            "already_requested",
            f"{viewer} already has an open request {st.open_requests[key]} for this {part} part",
        )
    request = AccessRequest(ctx.statement.id, owner.id, viewer, part)
    st.put(st.access_requests, request.id, request)
    st.put(st.open_requests, key, request.id)


def _active_grant_id(ctx: _Ctx, key: tuple[str, str, str]) -> str | None:
    """The grant for ``(owner, viewer, part)`` that is active on the entry's day, if any.

    An expired grant stays in ``active_grants`` (the rules have no clock but the
    log's): a new request or grant replaces it.
    """
    owner, viewer, part = key
    grant = active_grant(ctx.state, owner, viewer, Part(part), today=ctx.today)
    return None if grant is None else grant.id


def _open_request(ctx: _Ctx, request_id: str, owner: Person) -> AccessRequest:
    request = ctx.state.access_requests.get(request_id)
    if request is None or request.owner != owner.id:
        raise ctx.fail("unknown_request", f"{owner.id} has no access request {request_id}")
    if request.answer is not None:
        raise ctx.fail("already_answered", f"request {request_id} was already {request.answer}")
    return request


def _answer(ctx: _Ctx, request: AccessRequest, answer: str) -> None:
    st = ctx.state
    st.put(st.access_requests, request.id, dataclasses.replace(request, answer=answer))
    key = (request.owner, request.viewer, request.part)
    st.put(st.open_requests, key, None)
    del st.open_requests[key]


def _access_granted(ctx: _Ctx) -> None:
    st, body = ctx.state, ctx.body
    owner = ctx.require_self("grant access")
    viewer, part = body.viewer, body.part.value
    if viewer == owner.id:
        raise ctx.fail("self_grant", f"{owner.id} reads their own portfolio without a grant")
    _require_live_viewer(ctx, viewer)
    _require_on_request(ctx, owner, part)
    if body.request is not None:
        request = _open_request(ctx, body.request, owner)
        if (request.viewer, request.part) != (viewer, part):
            raise ctx.fail(
                "request_mismatch",
                f"request {request.id} asks {request.part} for {request.viewer}, "
                f"not {part} for {viewer}",
            )
        _answer(ctx, request, "granted")
    elif (owner.id, viewer, part) in st.open_requests:
        _answer(ctx, st.access_requests[st.open_requests[(owner.id, viewer, part)]], "granted")
    key = (owner.id, viewer, part)
    held = _active_grant_id(ctx, key)
    if held is not None:
        raise ctx.fail("already_granted", f"{viewer} already holds grant {held} for {part}")
    issued = ctx.statement.issued_at[:10]
    if body.until is not None and body.until < issued:
        raise ctx.fail(
            "grant_expired",
            f"a grant until {body.until}, issued on {issued}, ended before it began",
        )
    grant = AccessGrant(ctx.statement.id, owner.id, viewer, part, body.until)
    st.put(st.access_grants, grant.id, grant)
    st.put(st.active_grants, key, grant.id)


def _access_refused(ctx: _Ctx) -> None:
    owner = ctx.require_self("refuse access")
    _answer(ctx, _open_request(ctx, ctx.body.request, owner), "refused")


def _access_revoked(ctx: _Ctx) -> None:
    st = ctx.state
    owner = ctx.require_self("revoke access")
    grant = st.access_grants.get(ctx.body.grant)
    if grant is None or grant.owner != owner.id:
        raise ctx.fail("unknown_grant", f"{owner.id} has no access grant {ctx.body.grant}")
    if grant.revoked:
        raise ctx.fail("already_revoked", f"grant {grant.id} is already revoked")
    st.put(st.access_grants, grant.id, dataclasses.replace(grant, revoked=True))
    key = (grant.owner, grant.viewer, grant.part)
    if st.active_grants.get(key) == grant.id:  # not a grant that ran out and was replaced
        st.put(st.active_grants, key, None)
        del st.active_grants[key]


# -- erasure (docs/privacy.md) ------------------------------------------------
def _person_erased(ctx: _Ctx) -> None:
    st = ctx.state
    person = ctx.subject_person()
    if person.id in st.erased:
        raise ctx.fail(
            "already_erased", f"{person.id} was already erased at log index {st.erased[person.id]}"
        )
    if st.is_operator(person):
        raise ctx.fail(
            "operator_not_erasable", "the ledger operator signs checkpoints and cannot be erased"
        )
    ctx.require_admin(person.organisation)
    st.put(st.erased, person.id, ctx.log_index)
    if person.current_key is not None:  # an erased person's keys sign nothing after this
        key = st.keys[person.current_key]
        st.put(st.keys, key.key_id, dataclasses.replace(key, retired_at=ctx.log_index))
        st.put(st.people, person.id, dataclasses.replace(person, current_key=None))


# -- assignment stream --------------------------------------------------------
def _assignment(ctx: _Ctx) -> Assignment:
    a = ctx.state.assignments.get(ctx.statement.subject)
    if a is None:
        raise ctx.fail("unknown_assignment", f"no assignment {ctx.statement.subject} was posted")
    return a


def _owned_assignment(ctx: _Ctx, allowed: tuple[str, ...]) -> Assignment:
    a = _assignment(ctx)
    if a.owner != ctx.me.id:
        raise ctx.fail("not_owner", f"only the owner {a.owner} may do this; signed by {ctx.me.id}")
    if a.status not in allowed:
        raise ctx.fail("assignment_closed", f"assignment {a.id} is {a.status}")
    return a


def _assignment_posted(ctx: _Ctx) -> None:
    st, body, sid = ctx.state, ctx.body, ctx.statement.subject
    if sid in st.assignments:
        raise ctx.fail("already_posted", f"assignment {sid} already exists")
    _require_department_in(ctx, body.department, body.organisation)
    if not st.is_manager(ctx.me, body.department):
        raise ctx.fail(
            "manager_role_required",
            f"{ctx.me.id} holds no manager role for {body.department} and cannot post there",
        )
    a = Assignment(sid, ctx.me.id, body.organisation, body.department, tuple(body.skills), "open")
    st.put(st.assignments, sid, a)


def _assignment_applied(ctx: _Ctx) -> None:
    a = _assignment(ctx)
    if a.status != "open":
        raise ctx.fail("assignment_closed", f"assignment {a.id} is {a.status}")
    if a.owner == ctx.me.id:
        raise ctx.fail("self_application", "the owner cannot apply to their own assignment")
    if ctx.me.id in a.applicants:
        raise ctx.fail("already_applied", f"{ctx.me.id} already applied to {a.id}")
    ctx.state.put(
        ctx.state.assignments, a.id, dataclasses.replace(a, applicants=a.applicants | {ctx.me.id})
    )


def _assignment_assigned(ctx: _Ctx) -> None:
    a = _owned_assignment(ctx, ("open", "assigned"))
    assignee = ctx.body.assignee
    if assignee not in ctx.state.people:
        raise ctx.fail("unknown_person", f"no person {assignee!r} is registered")
    if assignee == a.owner:
        raise ctx.fail(
            "self_assignment", "the owner cannot assign their own assignment to themselves"
        )
    if assignee in a.assignees:
        raise ctx.fail("already_assigned", f"{assignee} is already assigned to {a.id}")
    new = dataclasses.replace(a, assignees=a.assignees | {assignee}, status="assigned")
    ctx.state.put(ctx.state.assignments, a.id, new)


def _assignment_completed(ctx: _Ctx) -> None:
    ctx.require_grade(ctx.body.grade)
    a = _owned_assignment(ctx, ("assigned", "completed"))
    assignee = ctx.body.assignee
    if assignee not in a.assignees:
        raise ctx.fail("not_assigned", f"{assignee} is not assigned to {a.id}")
    if assignee in a.completed:
        raise ctx.fail("already_completed", f"{a.id} was already completed for {assignee}")
    completed = a.completed | {assignee}
    status = "completed" if completed == a.assignees else a.status
    ctx.state.put(
        ctx.state.assignments, a.id, dataclasses.replace(a, completed=completed, status=status)
    )


def _assignment_cancelled(ctx: _Ctx) -> None:
    a = _owned_assignment(ctx, ("open", "assigned"))
    ctx.state.put(ctx.state.assignments, a.id, dataclasses.replace(a, status="cancelled"))


_HANDLERS: dict[str, Callable[[_Ctx], None]] = {
    "IdentityRegistered": _identity_registered,
    "KeyRotated": _key_rotated,
    "KeyRevoked": _key_revoked,
    "RoleGranted": _role_granted,
    "RoleRevoked": _role_revoked,
    "EmployeeTransferred": _employee_transferred,
    "ContributionClaimed": _contribution_claimed,
    "ContributionWithdrawn": _contribution_withdrawn,
    "EndorsementGiven": _endorsement_given,
    "EndorsementRevoked": _endorsement_revoked,
    "AmbitionStated": _ambition_stated,
    "VisibilityChanged": _visibility_changed,
    "AssignmentPosted": _assignment_posted,
    "AssignmentApplied": _assignment_applied,
    "AssignmentAssigned": _assignment_assigned,
    "AssignmentCompleted": _assignment_completed,
    "AssignmentCancelled": _assignment_cancelled,
    "PersonErased": _person_erased,
    "AccessRequested": _access_requested,
    "AccessGranted": _access_granted,
    "AccessRefused": _access_refused,
    "AccessRevoked": _access_revoked,
}


def _author_key(
    state: LedgerState, s: Statement, log_index: int, where: dict[str, Any]
) -> KeyRecord:
    """Return the key that may sign ``s`` at ``log_index``, or raise."""
    if log_index == 0:
        if s.type != "IdentityRegistered":
            raise RuleViolation(
                "genesis_required",
                "the first entry of a ledger registers its operator (IdentityRegistered)",
                statement_id=s.id,
                **where,
            )
        raw = b64decode(s.body["public_key"], length=32, what="public_key")
        if key_id_for(raw) != s.author:
            raise RuleViolation(
                "genesis_not_self_signed",
                "the operator's registration must be signed by the key it registers",
                statement_id=s.id,
                **where,
            )
        return KeyRecord(s.author, s.subject, raw, valid_from=log_index)
    key = state.keys.get(s.author)
    if key is None:
        raise RuleViolation(
            "unknown_key", f"key {s.author} is not registered", statement_id=s.id, **where
        )
    if key.person in state.erased:
        raise RuleViolation(
            "erased",
            f"key {s.author} belongs to {key.person}, who was erased at log index "
            f"{state.erased[key.person]}, and signs nothing after it",
            statement_id=s.id,
            **where,
        )
    if key.retired_at is not None and log_index > key.retired_at:
        code = "key_revoked" if key.revoked else "key_superseded"
        how = "revoked" if key.revoked else "rotated out"
        raise RuleViolation(
            code,
            f"key {s.author} of {key.person} was {how} at log index {key.retired_at} "
            f"and signs nothing after it",
            statement_id=s.id,
            **where,
        )
    return key


def _refuse_erased(state: LedgerState, entry: Entry, where: dict[str, Any]) -> None:
    """After ``PersonErased``, nothing more is written on or about the erased person."""
    if not state.erased:
        return
    s = entry.statement
    erased: str | None = None
    if entry.stream.startswith(("identity/", "record/")) and s.subject in state.erased:
        if s.type == "PersonErased":
            return  # its handler says already_erased
        erased = s.subject
    elif s.type in ("AssignmentAssigned", "AssignmentCompleted") and (
        str(s.body.get("assignee")) in state.erased
    ):
        erased = str(s.body["assignee"])
    if erased is not None:
        raise RuleViolation(
            "erased",
            f"{erased} was erased at log index {state.erased[erased]}; "
            f"nothing more is recorded on or about them",
            statement_id=s.id,
            **where,
        )


def apply_entry(
    state: LedgerState,
    entry: Entry,
    *,
    log_index: int,
    verify_signature: bool = True,
    partial: bool = False,
) -> KeyRecord:
    """Check ``entry`` at ``log_index`` against ``state`` and fold it in.

    Returns the key record that signed it. Raises :class:`RuleViolation` (and
    changes nothing) if any rule of DESIGN.md §6 fails: chain position, replay,
    key validity at this log position, signature, authorship and the
    type-specific rules.

    ``partial`` folds a subset of the log (a bundle: whole streams, in log
    order, with gaps between log indexes); the rules then see only what the
    subset holds, which is why a bundle carries the identity streams of every
    author it needs.
    """
    s = entry.statement
    where: dict[str, Any] = {"stream": entry.stream, "seq": entry.seq, "log_index": log_index}
    if partial:
        if log_index < state.size:
            raise RuleViolation(
                "bad_position",
                f"entry at log index {log_index} comes after log index {state.size - 1}",
                **where,
            )
    elif log_index != state.size:
        raise RuleViolation(
            "bad_position", f"entry at log index {log_index}, expected {state.size}", **where
        )
    head = state.heads.get(entry.stream)
    expected_seq, expected_prev = (head.seq + 1, head.hash) if head else (1, GENESIS_PREV)
    if entry.seq != expected_seq or entry.prev != expected_prev:
        raise RuleViolation(
            "chain_broken",
            f"entry {entry.stream}#{entry.seq} does not follow the stream head "
            f"(expected seq {expected_seq} after {expected_prev[:16]}…)",
            **where,
        )
    if s.id in state.statement_ids:
        raise RuleViolation(
            "replayed_id",
            f"statement id {s.id} was already accepted at log index {state.statement_ids[s.id]}",
            statement_id=s.id,
            **where,
        )
    key = _author_key(state, s, log_index, where)
    if verify_signature:
        check_statement_signature(s, entry.signature, key.public_key, **where)
    author = None if log_index == 0 else state.people.get(key.person)
    if log_index != 0 and author is None:
        raise RuleViolation("unknown_person", f"key {s.author} belongs to no person", **where)
    _refuse_erased(state, entry, where)
    _HANDLERS[s.type](_Ctx(state, s, author, log_index, where, entry.recorded_at[:10]))
    state.put(state.statement_ids, s.id, log_index)
    state.put(state.heads, entry.stream, Head(entry.seq, entry.hash))
    state.put(state.meta, "size", log_index + 1)
    return key
