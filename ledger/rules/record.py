"""The rules of the record stream: contributions, endorsements, ambitions, visibility."""

from __future__ import annotations

import dataclasses

from ..state import Contribution, Endorsement
from .context import Ctx, own_contribution, require_period
from .reviews import check_evidence

__all__ = [
    "ambition_stated",
    "contribution_claimed",
    "contribution_withdrawn",
    "endorsement_given",
    "endorsement_revoked",
    "visibility_changed",
]


def contribution_claimed(ctx: Ctx) -> None:
    subject = ctx.require_self("claim a contribution")
    period = ctx.body.period
    require_period(ctx, period.start, period.end, "the contribution")
    st = ctx.state
    st.put(
        st.contributions,
        ctx.statement.id,
        Contribution(ctx.statement.id, subject.id, tuple(ctx.body.skills), str(ctx.body.part)),
    )


def contribution_withdrawn(ctx: Ctx) -> None:
    ctx.require_self("withdraw a contribution")
    c = own_contribution(ctx, ctx.body.contribution)
    ctx.state.put(ctx.state.contributions, c.id, dataclasses.replace(c, withdrawn=True))


def endorsement_given(ctx: Ctx) -> None:
    st, body = ctx.state, ctx.body
    ctx.require_grade(body.grade)
    subject = ctx.subject_person()
    c = own_contribution(ctx, body.contribution)
    if ctx.me.id == subject.id:
        raise ctx.fail("self_endorsement", f"{subject.id} cannot endorse their own work")
    if body.role == "manager" and not st.is_manager(ctx.me, subject.department):
        raise ctx.fail(
            "manager_role_required",
            f"{ctx.me.id} holds no manager role for {subject.department}, "
            f"the department of {subject.id}",
        )
    check_evidence(ctx, subject, c)
    pair = (ctx.me.id, c.id)
    if pair in st.active_endorsements:
        raise ctx.fail("duplicate_endorsement", f"{ctx.me.id} already endorsed contribution {c.id}")
    e = Endorsement(ctx.statement.id, ctx.me.id, subject.id, c.id, body.grade, body.role.value)
    st.put(st.endorsements, e.id, e)
    st.put(st.active_endorsements, pair, e.id)


def endorsement_revoked(ctx: Ctx) -> None:
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


def ambition_stated(ctx: Ctx) -> None:
    ctx.require_self("state an ambition")


def visibility_changed(ctx: Ctx) -> None:
    owner = ctx.require_self("change visibility")
    body, st = ctx.body, ctx.state
    st.put(st.visibility, (owner.id, body.part.value), body.visibility.value)
