"""Two checks on every request before an endpoint sees it: cookie writes come from the
service's own pages, and JSON bodies name each member of an object once.

**Cross-site writes** (CSRF). The pages authenticate with the session cookie, which a
browser also attaches to a request another site makes (a form posted cross-site as
``text/plain`` needs no CORS preflight); ``SameSite=Strict`` is one defence, this is the
second. A state-changing request (anything but GET, HEAD, OPTIONS) that carries the
session cookie (or the onboarding cookie, :mod:`api.onboarding`) and no
``Authorization`` header is refused with ``403 cross_site`` when the browser says it
comes from elsewhere: ``Sec-Fetch-Site`` other than
``same-origin`` or ``none`` (typed by the user), or else an ``Origin`` whose host is not
the request's ``Host``. A request with neither header (not a browser: curl, scripts)
passes, and so does everything with a bearer token, which no other site can add.

**Duplicate member names.** RFC 8259 leaves an object that names a member twice open to
interpretation, and parsers differ on which value wins: a statement whose signature
covers one reading could be stored or shown with the other. Every JSON body is parsed
once more strictly here (:func:`ledger.canonical.loads_strict`, the same parser the
offline bundle verifier uses) and refused with ``400 duplicate_member``. FastAPI parses
the body again for the endpoint (its parser cannot be replaced in one place short of a
custom route class on every router); bodies are small (:mod:`api.limits`) and parsing
is fast, so the second pass costs little.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.canonical import DuplicateMember, loads_strict

from .errors import problem
from .limits import replay_body

__all__ = ["SameOriginCookieWrites", "UniqueJsonMembers"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_SITE_FETCH = frozenset({"same-origin", "none"})


def _cross_site(headers: Headers) -> str | None:
    """Why a browser request comes from another site, or None if it does not (or is not
    a browser's)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.lower() in _SAME_SITE_FETCH:
            return None
        return f"Sec-Fetch-Site is {fetch_site!r}"
    origin = headers.get("origin")
    if origin is None:
        return None
    host = headers.get("host", "")
    if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
        return f"Origin {origin!r} is not this service ({host})"
    return None


class SameOriginCookieWrites:
    """ASGI middleware: refuse cross-site state-changing requests that a cookie
    authenticates (``cookies``: the names of the cookies that authenticate)."""

    def __init__(self, app: ASGIApp, *, cookies: tuple[str, ...]) -> None:
        self.app = app
        self.cookies = cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            headers = Headers(scope=scope)
            cookies = headers.get("cookie", "")
            sent = any(f"{name}=" in cookies for name in self.cookies)
            if sent and "authorization" not in headers:
                why = _cross_site(headers)
                if why is not None:
                    response = problem(
                        403,
                        "cross_site",
                        f"a request from another site may not use this service's session "
                        f"cookie to change anything ({why})",
                        instance=scope.get("path"),
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI would parse a body of ``content_type`` as JSON (no type: it does)."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


class UniqueJsonMembers:
    """ASGI middleware: refuse a JSON request body in which an object names a member twice.

    Runs inside :class:`api.limits.BodySizeLimit`, which hands the body on whole (at
    most its limit) in one message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if not _is_json(Headers(scope=scope).get("content-type")):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, replay_body([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        try:
            loads_strict(body)
        except DuplicateMember as exc:
            response = problem(
                400,
                "duplicate_member",
                f"the request body is not acceptable JSON: {exc}",
                instance=scope.get("path"),
            )
            await response(scope, receive, send)
            return
        except (ValueError, RecursionError):
            pass  # malformed JSON: the endpoint's own parse answers 400 malformed_json
        await self.app(scope, replay_body([body], None, receive), send)
