"""The rules of access on request (docs/privacy.md): requests, grants, refusals, revocations.

These statements live on the owner's record stream.
"""

from __future__ import annotations

import dataclasses

from ..access import active_grant, visibility_of
from ..catalogue import Part, Visibility
from ..state import AccessGrant, AccessRequest, Person
from .context import Ctx, require_live_person

__all__ = ["access_granted", "access_refused", "access_requested", "access_revoked"]


def _require_on_request(ctx: Ctx, owner: Person, part: str) -> None:
    current = visibility_of(ctx.state, owner.id, Part(part))
    if current is not Visibility.ON_REQUEST:
        raise ctx.fail(
            "not_on_request",
            f"the {part} part of {owner.id} is {current}; only an on_request part is "
            f"requested and granted",
        )


def access_requested(ctx: Ctx) -> None:
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


def _active_grant_id(ctx: Ctx, key: tuple[str, str, str]) -> str | None:
    """The grant for ``(owner, viewer, part)`` that is active on the entry's day, if any.

    An expired grant stays in ``active_grants`` (the rules have no clock but the
    log's): a new request or grant replaces it.
    """
    owner, viewer, part = key
    grant = active_grant(ctx.state, owner, viewer, Part(part), today=ctx.today)
    return None if grant is None else grant.id


def _open_request(ctx: Ctx, request_id: str, owner: Person) -> AccessRequest:
    request = ctx.state.access_requests.get(request_id)
    if request is None or request.owner != owner.id:
        raise ctx.fail("unknown_request", f"{owner.id} has no access request {request_id}")
    if request.answer is not None:
        raise ctx.fail("already_answered", f"request {request_id} was already {request.answer}")
    return request


def _answer(ctx: Ctx, request: AccessRequest, answer: str) -> None:
    st = ctx.state
    st.put(st.access_requests, request.id, dataclasses.replace(request, answer=answer))
    key = (request.owner, request.viewer, request.part)
    st.put(st.open_requests, key, None)
    del st.open_requests[key]


def access_granted(ctx: Ctx) -> None:
    st, body = ctx.state, ctx.body
    owner = ctx.require_self("grant access")
    viewer, part = body.viewer, body.part.value
    if viewer == owner.id:
        raise ctx.fail("self_grant", f"{owner.id} reads their own portfolio without a grant")
    require_live_person(ctx, viewer)
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


def access_refused(ctx: Ctx) -> None:
    owner = ctx.require_self("refuse access")
    _answer(ctx, _open_request(ctx, ctx.body.request, owner), "refused")


def access_revoked(ctx: Ctx) -> None:
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
