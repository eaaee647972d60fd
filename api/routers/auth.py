"""Login: a challenge signed with the viewer's key, exchanged for a short-lived session."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..deps import COOKIE_NAME, Ctx, CurrentSession, bearer_token, client_address
from ..errors import problem_responses
from ..models import ChallengeOut, SessionIn, SessionOut
from ..ratelimit import charged_on_refusal
from ..sessions import Session

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["authentication"])


def _out(session: Session, ctx: Ctx, *, with_token: bool) -> SessionOut:
    remaining = max(0, int(session.expires - ctx.config.clock()))
    return SessionOut(
        token=session.token if with_token else None,
        person=session.person,
        key_id=session.key_id,
        expires_in=remaining,
    )


@router.post("/challenge", responses=problem_responses(429))
def new_challenge(request: Request, ctx: Ctx) -> ChallengeOut:
    """A fresh single-use challenge: sign ``challenge`` (UTF-8) for purpose ``challenge``."""
    ctx.challenges.take(client_address(request))
    ch = ctx.sessions.challenge()
    return ChallengeOut(nonce=ch.nonce, challenge=ch.text, expires_in=int(ctx.config.challenge_ttl))


@router.post("/session", responses=problem_responses(401, 422, 429))
def open_session(body: SessionIn, request: Request, ctx: Ctx, response: Response) -> SessionOut:
    """Exchange a signed challenge for a session (bearer token and cookie)."""
    # The key's login budget is spent only by logins its holder signed (api.ratelimit).
    ctx.logins.check(body.key_id)
    with charged_on_refusal(ctx.refusals, client_address(request)):
        session = ctx.sessions.open(
            ctx.state(), key_id=body.key_id, nonce=body.nonce, signature=body.signature
        )
    ctx.logins.charge(session.key_id)
    response.set_cookie(
        COOKIE_NAME,
        session.token,
        max_age=int(ctx.config.session_ttl),
        httponly=True,
        samesite="strict",
        secure=ctx.config.secure_cookies,
        path="/",
    )
    return _out(session, ctx, with_token=True)


@router.get("/session", responses=problem_responses(401))
def current_session(session: CurrentSession, ctx: Ctx) -> SessionOut:
    """The session this request carries (without its token)."""
    return _out(session, ctx, with_token=False)


@router.delete("/session", status_code=204, responses=problem_responses(401))
def close_session(request: Request, ctx: Ctx, response: Response) -> Response:
    """Log out: end the session and clear the cookie."""
    token = bearer_token(request)
    if token is not None:
        ctx.sessions.close(token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
