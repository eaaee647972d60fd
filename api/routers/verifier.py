"""A relying party's check of an SD-JWT VC presentation of this ledger's credentials.

A new employer asks for a nonce (``POST /presentations/requests``: a single-use
``nonce`` and the ``audience``, this service's URL), the holder's wallet signs both into
the key-binding JWT of a presentation, and ``POST /presentations/verify`` checks it
(:func:`ledger.credentials.verify_presentation`): this ledger's issuer key, every
disclosure, the key binding, and with ``inclusion`` the disclosed entries against the
log. The page ``/verifier`` does the same from a form (:mod:`api.routers.wallet_pages`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..deps import Ctx
from ..errors import problem_responses
from ..wallet_flow import issuer_url, verify_presented

__all__ = ["router"]

router = APIRouter(tags=["wallet"], responses=problem_responses(400, 422))


class PresentationIn(BaseModel):
    """A presentation to verify, and the nonce the verifier handed out for it."""

    presentation: str = Field(max_length=200_000, description="<jwt>~<disclosure>~…~<kb-jwt>")
    nonce: str = Field(max_length=200)
    inclusion: bool = Field(False, description="also check the entries against the log")


@router.post("/presentations/requests", status_code=201)
def presentation_request(request: Request, ctx: Ctx) -> JSONResponse:
    """A single-use nonce and the audience a holder signs into a presentation for us."""
    grant = ctx.wallet.issue("vp_nonce")
    body = {"nonce": grant.secret, "audience": issuer_url(request), "expires_in": grant.expires_in}
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


@router.post("/presentations/verify")
def verify(request: Request, ctx: Ctx, body: PresentationIn) -> dict[str, Any]:
    """Verify a presentation of a credential of this ledger; 422 with the reason if not."""
    verified, checked = verify_presented(
        ctx,
        body.presentation,
        nonce=body.nonce,
        audience=issuer_url(request),
        inclusion=body.inclusion,
    )
    return {"ok": True, **verified.as_json(), "inclusion_checked": checked}
