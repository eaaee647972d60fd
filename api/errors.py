"""Every error becomes an RFC 9457 problem document here, and only here.

A problem document is ``application/problem+json``::

    {"type": "urn:trackrecord:problem:<code>", "title": "...", "status": 422,
     "detail": "<human message>", "code": "<rule code>", "instance": "/statements", ...}

``code`` is the ledger's rule code (``self_endorsement``, ``replayed_id`` ...) or one
of the service's own codes below; further members carry the error's evidence
(``stream``, ``seq``, ``log_index``, ``statement_id``, ``field``).

=========================================  ======  =======================================
error                                      status  code
=========================================  ======  =======================================
malformed JSON in the request body         400     ``malformed_json``
a JSON object naming a member twice        400     ``duplicate_member`` (:mod:`api.guards`)
a cross-site write with the session cookie 403     ``cross_site`` (:mod:`api.guards`)
request that fails the endpoint's schema   422     ``invalid_request``
:class:`ledger.errors.MalformedInput`      422     its code (``unknown_field``, ...)
:class:`ledger.bundle.BundleError`         422     its code (``untrusted_key``, ...)
:class:`ledger.errors.RuleViolation`       422     its code; 409 if its ``conflict``
:class:`ledger.onboarding.                 422     its code (``bad_signature``, ...); 409 for
RegistrationRefused`                               ``already_registered``, ``key_in_use``
:class:`ledger.errors.NotFound`            404     ``not_found``
:class:`ledger.errors.NotPermitted`        403     its code (``not_yours``)
:class:`ledger.errors.ConcurrencyConflict` 409     ``conflict``
:class:`keys.BadSignature` (login)         401     ``bad_signature``
missing / expired session                  401     ``unauthenticated`` / ``session_expired``
request body over the limit                413     ``request_too_large``
rate limit                                 429     ``rate_limited`` (with ``Retry-After``)
:class:`ledger.errors.StoreError`          503     ``store_error``; ``rolled_back`` for a store
                                                   behind the last signed checkpoint
not ready (``GET /readyz``)                 503     ``not_ready``
a status list of a service run without     404     ``no_operator_key``
the operator's key, which signs them               (``GET /credentials/status/{n}``)
the database unreachable or gone (outage)  503     ``store_unavailable`` (with ``Retry-After``)
witness (``POST /add-checkpoint``,         400     ``bad_witness_request``
c2sp.org/tlog-witness)                     403     ``untrusted_checkpoint``
                                           404     ``unknown_log``
                                           409     ``old_size_mismatch``: the body is the
                                                   witness's latest size and a newline,
                                                   media type ``text/x.tlog.size``
                                           422     ``inconsistent_checkpoint``
wallet issuance (:mod:`api.routers.issuer`) 400     :class:`ledger.credentials.IssuanceError`:
                                           401     its OAuth code (``invalid_grant``,
                                                   ``invalid_proof``, ...; 401
                                                   ``invalid_token``), also as ``error``
a credential or presentation that does not 422     :class:`ledger.credentials.CredentialError`
verify, a disclosed entry not in the log           (``PresentationError``: ``wrong_nonce``,
                                                   ...), :class:`ledger.errors.InclusionError`
anything else (a bug or corrupt data)      500     the error's code or ``internal_error``
=========================================  ======  =======================================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response

from keys import BadSignature, KeyError_, KeystoreError
from ledger.bundle import BundleError
from ledger.credentials import CredentialError, IssuanceError
from ledger.errors import (
    ConcurrencyConflict,
    InclusionError,
    LedgerError,
    MalformedInput,
    NotFound,
    NotPermitted,
    RuleViolation,
    StoreError,
    StoreUnavailable,
)
from ledger.onboarding import RegistrationRefused
from ledger.store.outage import as_outage, driver_errors
from ledger.witness import (
    SIZE_MEDIA_TYPE,
    BadWitnessRequest,
    InconsistentCheckpoint,
    OldSizeMismatch,
    UnknownLog,
    UntrustedCheckpoint,
)

from .i18n import N_, language, language_of
from .models import Problem
from .rendering import render
from .wording import RULES

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ApiError",
    "install_error_handlers",
    "problem",
    "problem_for",
    "problem_responses",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:trackrecord:problem:"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Refused",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_LOG = logging.getLogger("api")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting problem documents with ``statuses``."""
    return {
        status: {"model": Problem, "description": _TITLES.get(status, "Error")}
        for status in statuses
    }


class ApiError(Exception):
    """An error of the HTTP layer itself (sessions, limits, sizes), with its status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **evidence: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.evidence = evidence


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **members: Any,
) -> JSONResponse:
    """Return an ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    for key, value in members.items():
        if value is not None and key not in body:
            body[key] = value
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


#: the witness's refusals, with the statuses c2sp.org/tlog-witness gives them
_WITNESS_STATUSES: tuple[tuple[type[LedgerError], int], ...] = (
    (BadWitnessRequest, 400),
    (UntrustedCheckpoint, 403),
    (UnknownLog, 404),
    (OldSizeMismatch, 409),
    (InconsistentCheckpoint, 422),
)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, ApiError | IssuanceError):
        return exc.status
    for kind, status in _WITNESS_STATUSES:
        if isinstance(exc, kind):
            return status
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotPermitted):
        return 403
    if isinstance(exc, ConcurrencyConflict):
        return 409
    if isinstance(exc, MalformedInput | BundleError | CredentialError | InclusionError):
        return 422
    if isinstance(exc, RuleViolation | RegistrationRefused):
        return 409 if exc.conflict else 422
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, BadSignature):
        return 401
    if isinstance(exc, KeystoreError):
        return 400
    return 500


def problem_for(exc: Exception, *, instance: str | None = None) -> JSONResponse:
    """The problem document for any exception (the one mapping of errors to HTTP)."""
    if not isinstance(exc, ApiError | LedgerError):
        exc = as_outage(exc) or exc  # the database went away: 503, not a bug
    status = _status_of(exc)
    if isinstance(exc, StoreUnavailable):
        return problem(
            status, exc.code, exc.message, instance=instance, headers={"Retry-After": "5"}
        )
    if isinstance(exc, ApiError):
        return problem(
            status, exc.code, exc.message, instance=instance, headers=exc.headers, **exc.evidence
        )
    if isinstance(exc, IssuanceError):  # OpenID4VCI's clients read the OAuth members
        return problem(
            status,
            exc.code,
            exc.message,
            instance=instance,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None,
            error=exc.code,
            error_description=exc.message,
        )
    if isinstance(exc, LedgerError):
        evidence = exc.evidence()
        code = str(evidence.pop("code", exc.code))
        detail = str(evidence.pop("message", exc.message))
        if status >= 500:  # not the path, nor an integrity error's message: they name people
            said = exc.message if isinstance(exc, StoreError) else type(exc).__name__
            _LOG.error("ledger error %s: %s", code, said)
        return problem(status, code, detail, instance=instance, **evidence)
    if isinstance(exc, KeyError_):
        return problem(status, exc.code, exc.message, instance=instance)
    _LOG.error("unexpected error %s", type(exc).__name__, exc_info=exc)
    return problem(500, "internal_error", "the service failed; this is a bug", instance=instance)


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(
            400, "malformed_json", "the request body is not valid JSON", instance=request.url.path
        )
    first = errors[0] if errors else {}
    where = ".".join(str(x) for x in first.get("loc", ()))
    detail = f"{where}: {first.get('msg', 'invalid')}" if where else "the request is invalid"
    invalid = [
        {"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors
    ]
    return problem(422, "invalid_request", detail, instance=request.url.path, errors=invalid[:20])


def _noted(request: Request, response: JSONResponse) -> Response:
    """``response``, with its problem code noted on the request for the request log
    and the refusal metrics (:mod:`api.observability`); for a browser asking for a page,
    the same refusal as a page (:func:`_as_page`)."""
    body = json.loads(bytes(response.body))
    request.state.problem_code = body["code"]
    return _as_page(request, response, body) if _wants_page(request) else response


def _wants_page(request: Request) -> bool:
    """Whether a browser navigates here (and would show a problem document as raw JSON):
    a GET for a document, or one that accepts HTML. Programs get the problem document."""
    if request.method != "GET":
        return False
    dest = request.headers.get("sec-fetch-dest")
    return dest == "document" if dest else "text/html" in request.headers.get("accept", "")


def _as_page(request: Request, response: JSONResponse, body: Mapping[str, Any]) -> Response:
    """The refusal ``body`` as a page of the pages, in the user's words and language, with
    the same status and headers (issue 17: no raw JSON page reaches a browser user)."""
    code = str(body["code"])
    said = language(language_of(request))
    sentence = said.gettext(RULES[code]) if code in RULES else str(body.get("detail", ""))
    page = render(
        request,
        "error.html",
        N_("This did not work"),
        "error",
        http_status=response.status_code,
        viewer=None,
        sentence=sentence,
        code=code,
        status_code=response.status_code,
    )
    for name in ("retry-after", "www-authenticate"):
        if name in response.headers:
            page.headers[name] = response.headers[name]
    return page


def install_error_handlers(app: FastAPI, database_url: str) -> None:
    """Register the handlers that turn every exception into a problem document (those of
    the database drivers that the store at ``database_url`` uses among them)."""

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _noted(request, _validation_problem(request, exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        return _noted(
            request,
            problem(exc.status_code, code, detail, instance=request.url.path, headers=exc.headers),
        )

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OldSizeMismatch):  # the body tlog-witness prescribes, not a problem
            request.state.problem_code = exc.code
            return PlainTextResponse(
                f"{exc.latest_size}\n", status_code=409, media_type=SIZE_MEDIA_TYPE
            )
        return _noted(request, problem_for(exc, instance=request.url.path))

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ApiError, on_error)
    app.add_exception_handler(LedgerError, on_error)
    app.add_exception_handler(KeyError_, on_error)
    # The drivers' errors get handlers of their own, as the ledger's do: an outage is
    # answered 503 (problem_for) like any handled error, not through the last-resort
    # handler of Exception, which re-raises after answering and drops the connection.
    for driver_error in (*driver_errors(database_url), SQLAlchemyError):
        app.add_exception_handler(driver_error, on_error)
    app.add_exception_handler(Exception, on_error)
