"""``Annotated`` dependencies of the endpoints: the context, the viewer, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from ledger.catalogue import SLUG_RE

from .context import AppContext
from .cookie import COOKIE_NAME
from .errors import ApiError
from .sessions import Session, unauthenticated
from .visibility import Viewer

__all__ = [
    "COOKIE_NAME",
    "Ctx",
    "CurrentSession",
    "OptionalViewer",
    "Pagination",
    "Paging",
    "PersonId",
    "bearer_token",
    "client_address",
    "viewer_of",
]

PersonId = Annotated[str, Path(pattern=SLUG_RE, description="a person id (slug)")]
MAX_LIMIT = 500


async def get_context(request: Request) -> AppContext:
    """The application's :class:`AppContext` (set by the lifespan).

    This and the other dependencies that never block are ``async``: FastAPI runs a
    plain ``def`` dependency on the thread pool, a hop per dependency per request."""
    ctx: AppContext = request.app.state.context
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]


def client_address(request: Request) -> str:
    """The address the request came from (behind a trusted proxy: the one it names)."""
    return request.client.host if request.client else "unknown"


def bearer_token(request: Request) -> str | None:
    """The session token of the request: ``Authorization: Bearer``, else the cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("use 'Authorization: Bearer <token>'")
        return token.strip()
    return request.cookies.get(COOKIE_NAME) or None


async def _optional_viewer(request: Request, ctx: Ctx) -> Viewer:
    token = bearer_token(request)
    if token is None:
        return Viewer(ctx.today())
    # A session look-up catches the ledger state up (a store read): off the event loop.
    session = await run_in_threadpool(lambda: ctx.sessions.get(token, ctx.state()))
    return Viewer(ctx.today(), session.person)


def _required_session(request: Request, ctx: Ctx) -> Session:
    token = bearer_token(request)
    if token is None:
        raise unauthenticated("this needs a session: POST /auth/challenge, then /auth/session")
    return ctx.sessions.get(token, ctx.state())


OptionalViewer = Annotated[Viewer, Depends(_optional_viewer)]
CurrentSession = Annotated[Session, Depends(_required_session)]


@dataclass(frozen=True)
class Pagination:
    """``limit`` items from ``cursor`` on (an opaque string from the previous page)."""

    limit: int
    cursor: str | None

    def offset(self) -> int:
        """The cursor as a non-negative integer (0 without a cursor)."""
        if self.cursor is None:
            return 0
        # isascii: str.isdigit() is also true for "³" and other digits int() refuses.
        if not (self.cursor.isascii() and self.cursor.isdigit()) or len(self.cursor) > 18:
            raise ApiError(400, "bad_cursor", "cursor is not one this service handed out")
        return int(self.cursor)


async def _pagination(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=100, description="next_cursor of the previous page")
    ] = None,
) -> Pagination:
    return Pagination(limit, cursor)


Paging = Annotated[Pagination, Depends(_pagination)]


def viewer_of(request: Request, ctx: AppContext) -> str | None:
    """The person whose session cookie (or token) the request carries; None if none is live."""
    try:
        token = bearer_token(request)
        return None if token is None else ctx.sessions.get(token, ctx.state()).person
    except ApiError:
        return None
