"""Trusted origins over HTTP, for the admin page: the same as ``trackrecord trust`` (issue 16).

Which other ledgers' operator keys this ledger trusts for imported records, and how much
ratings from each count here (its weight, docs/reputation.md), is this ledger's own
setting, not a statement: nobody signs it, it is kept in the store beside the log with a
MAC (:class:`ledger.imports.ImportRegistry`). Organisation admins (and the operator) see
and change it on the admin page, as the operator does with ``trackrecord trust``; anyone
else is refused (403 ``not_admin``). It is the whole ledger's setting: on a ledger shared
by several organisations, each one's admins change it for all (docs/onboarding.md §4).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from ledger.checkpoint import parse_verifier_key
from ledger.errors import NotFound
from ledger.onboarding import admin_scope

from ..context import AppContext
from ..deps import Ctx, CurrentSession
from ..errors import ApiError, problem_responses
from ..onboarding_views import TrustedOriginOut, trusted_origins

__all__ = ["router"]

router = APIRouter(tags=["trust"], responses=problem_responses(401, 403))


class TrustIn(BaseModel):
    """Trust another ledger's operator key (``name+hash+base64``, as ``trackrecord trust``)."""

    verifier_key: str = Field(min_length=1, max_length=600)
    #: how much ratings imported from its origin count here, 0 to 1 (default 0.5)
    weight: float | None = Field(default=None, ge=0.0, le=1.0)


def _require_admin(ctx: AppContext, person: str) -> None:
    scope = admin_scope(ctx.state(), person)
    if scope is not None and not scope:
        raise ApiError(403, "not_admin", f"{person} is not an organisation admin")


@router.get("/trusted-origins")
def list_trusted_origins(session: CurrentSession, ctx: Ctx) -> list[TrustedOriginOut]:
    """The trusted origins, sorted by name, with their weights (admins only)."""
    _require_admin(ctx, session.person)
    return trusted_origins(ctx)


@router.post("/trusted-origins", status_code=201, responses=problem_responses(401, 403, 422))
def trust_origin(body: TrustIn, session: CurrentSession, ctx: Ctx) -> TrustedOriginOut:
    """Trust an operator key for its origin, with a weight (admins only)."""
    _require_admin(ctx, session.person)
    registry = ctx.ledger.imports
    key = parse_verifier_key(body.verifier_key.strip())  # 422 bad_verifier_key first
    if body.weight is not None:
        registry.set_weight(key.name, body.weight)
    registry.trust(str(key))
    return next(t for t in trusted_origins(ctx) if t.verifier_key == str(key))


@router.delete(
    "/trusted-origins/{origin:path}", status_code=204, responses=problem_responses(401, 403, 404)
)
def untrust_origin(
    origin: Annotated[str, Path(min_length=1, max_length=300)], session: CurrentSession, ctx: Ctx
) -> Response:
    """Stop trusting an origin, every key of it (admins only)."""
    _require_admin(ctx, session.person)
    if ctx.ledger.imports.untrust(origin) == 0:
        raise NotFound(f"{origin!r} is not a trusted origin")
    return Response(status_code=204)
