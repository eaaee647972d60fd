"""The rules of the assignment stream: posting, applying, assigning, completing, cancelling."""

from __future__ import annotations

import dataclasses

from ..state import Assignment
from .context import Ctx, require_department_in, require_period
from .reviews import fold_coworkers

__all__ = [
    "assignment_applied",
    "assignment_assigned",
    "assignment_cancelled",
    "assignment_completed",
    "assignment_posted",
]


def _assignment(ctx: Ctx) -> Assignment:
    a = ctx.state.assignments.get(ctx.statement.subject)
    if a is None:
        raise ctx.fail("unknown_assignment", f"no assignment {ctx.statement.subject} was posted")
    return a


def _owned_assignment(ctx: Ctx, allowed: tuple[str, ...]) -> Assignment:
    a = _assignment(ctx)
    if a.owner != ctx.me.id:
        raise ctx.fail("not_owner", f"only the owner {a.owner} may do this; signed by {ctx.me.id}")
    if a.status not in allowed:
        raise ctx.fail("assignment_closed", f"assignment {a.id} is {a.status}")
    return a


def assignment_posted(ctx: Ctx) -> None:
    st, body, sid = ctx.state, ctx.body, ctx.statement.subject
    if sid in st.assignments:
        raise ctx.fail("already_posted", f"assignment {sid} already exists")
    require_department_in(ctx, body.department, body.organisation)
    require_period(ctx, body.starts, body.ends, "the assignment")
    if not st.is_manager(ctx.me, body.department):
        raise ctx.fail(
            "manager_role_required",
            f"{ctx.me.id} holds no manager role for {body.department} and cannot post there",
        )
    a = Assignment(sid, ctx.me.id, body.organisation, body.department, tuple(body.skills), "open")
    st.put(st.assignments, sid, a)


def assignment_applied(ctx: Ctx) -> None:
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


def assignment_assigned(ctx: Ctx) -> None:
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
    fold_coworkers(ctx, assignee, a.assignees)


def assignment_completed(ctx: Ctx) -> None:
    ctx.require_grade(ctx.body.grade)
    a = _owned_assignment(ctx, ("assigned", "completed"))
    assignee = ctx.body.assignee
    if assignee not in a.assignees:
        raise ctx.fail("not_assigned", f"{assignee} is not assigned to {a.id}")
    if assignee in a.completed:
        raise ctx.fail("already_completed", f"{a.id} was already completed for {assignee}")
    completed = a.completed | {assignee}
    status = "completed" if completed == a.assignees else a.status
    if (a.owner, assignee) not in ctx.state.completed_for:
        ctx.state.put(ctx.state.completed_for, (a.owner, assignee), a.id)
    ctx.state.put(
        ctx.state.assignments, a.id, dataclasses.replace(a, completed=completed, status=status)
    )


def assignment_cancelled(ctx: Ctx) -> None:
    a = _owned_assignment(ctx, ("open", "assigned"))
    ctx.state.put(ctx.state.assignments, a.id, dataclasses.replace(a, status="cancelled"))
