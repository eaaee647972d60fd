"""Request body size limits, enforced before any endpoint reads the body.

A request whose ``Content-Length`` is over the limit of its path is answered with
a 413 problem document at once; a body sent without a length (chunked) is read
as it arrives and refused the moment it passes the limit. Bodies within the
limit are buffered (at most the limit) and handed on whole.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, problem

__all__ = ["BodySizeLimit", "replay_body"]


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "request_too_large",
        f"the request body is larger than this endpoint's limit of {limit} bytes",
        limit=limit,
    )


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``limit_for(path)`` bytes."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limit_for(path)
        length = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                length = value
                break
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                response = problem(
                    400, "bad_content_length", "Content-Length is not a number", instance=path
                )
                await response(scope, receive, send)
                return
            if declared > limit:
                exc = _too_large(limit)
                response = problem(413, exc.code, exc.message, instance=path, limit=limit)
                await response(scope, receive, send)
                return
        # Read the whole body first (it is small: at most the limit), refusing it the
        # moment it passes the limit, then hand it to the application in one piece.
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, replay_body([], message, receive), send)
                return
            body: bytes = message.get("body", b"")
            received += len(body)
            if received > limit:
                exc = _too_large(limit)
                response = problem(413, exc.code, exc.message, instance=path, limit=limit)
                await response(scope, receive, send)
                return
            chunks.append(body)
            more = bool(message.get("more_body", False))
        await self.app(scope, replay_body(chunks, None, receive), send)


def replay_body(chunks: list[bytes], first: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that yields the buffered body (or ``first``), then defers to ``receive``."""
    pending: list[Message] = (
        [first] if first is not None else [{"type": "http.request", "body": b"".join(chunks)}]
    )

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
