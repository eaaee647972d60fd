"""The wallet flows' use cases for the routers: credential offers, the issuer identifier,
and verifying a presentation made to this service's verifier (docs/wallet.md)."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from keys import Identity
from ledger.credentials import (
    CREDENTIAL_KINDS,
    IssuanceError,
    PresentationError,
    VerifiedPresentation,
    status_list_token,
    verify_inclusion_evidence,
    verify_presentation,
)

from .context import AppContext
from .errors import ApiError

__all__ = [
    "OFFER_SCHEME",
    "PRE_AUTHORIZED_GRANT",
    "CredentialOffer",
    "form_fields",
    "issuer_url",
    "make_offer",
    "operator_of",
    "status_token_at",
    "verify_presented",
]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"


def issuer_url(request: Request) -> str:
    """The credential issuer identifier: the service's own URL, as the client reached it.
    Also the audience of presentations to this service's verifier."""
    return str(request.base_url).rstrip("/")


def operator_of(ctx: AppContext) -> Identity:
    """The operator's identity, which signs credentials; 503 when the service has none."""
    if ctx.operator is None:
        raise ApiError(
            503, "no_issuer_key", "this service runs without the operator's key: it issues none"
        )
    return ctx.operator


@dataclass(frozen=True)
class CredentialOffer:
    """A credential offer (OpenID4VCI 1.0 §4.1.1) and its ``openid-credential-offer://`` link."""

    offer: dict[str, Any]
    deep_link: str
    expires_in: int


def make_offer(ctx: AppContext, issuer: str, person: str) -> CredentialOffer:
    """Offer ``person``'s credentials by a fresh pre-authorized code bound to them."""
    operator_of(ctx)
    grant = ctx.wallet.issue("code", person)
    offer = {
        "credential_issuer": issuer,
        "credential_configuration_ids": list(CREDENTIAL_KINDS),
        "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": grant.secret}},
    }
    query = urllib.parse.urlencode({"credential_offer": json.dumps(offer)})
    return CredentialOffer(offer, f"{OFFER_SCHEME}?{query}", grant.expires_in)


_LIST_URI = re.compile(r"/status-lists/(\d{1,15})$")


def status_token_at(ctx: AppContext, uri: str) -> str:
    """The Status List Token this service serves at ``uri`` (``…/status-lists/<n>``), as of
    now, signed by the operator. Raises :class:`PresentationError` (``bad_status``) for a
    URI of no status list."""
    found = _LIST_URI.search(uri)
    if found is None:
        raise PresentationError("bad_status", f"{uri} is not a status list of this ledger")
    return status_list_token(
        operator=operator_of(ctx),
        uri=uri,
        list_number=int(found[1]),
        revoked=ctx.revoked()[1],
        issued_at=int(time.time()),
    )


def verify_presented(
    ctx: AppContext, presentation: str, *, nonce: str, audience: str, inclusion: bool
) -> tuple[VerifiedPresentation, int | None]:
    """Verify a presentation made for this service's verifier (``audience``) answering a
    ``vp_nonce`` it handed out (used up here); with ``inclusion``, check the disclosed
    entries against this ledger's log. Returns the result and how many entries were
    checked (None without ``inclusion``). Raises :class:`IssuanceError`
    (``invalid_nonce``), :class:`~ledger.credentials.PresentationError`,
    :class:`~ledger.errors.InclusionError`."""
    refused = IssuanceError("invalid_nonce", "unknown, used or expired presentation nonce")
    ctx.wallet.use("vp_nonce", nonce, refusal=refused)
    verified = verify_presentation(
        presentation,
        issuer_key=ctx.log.operator_key(),
        audience=audience,
        nonce=nonce,
        now=int(time.time()),
        status_token=None if ctx.operator is None else lambda uri: status_token_at(ctx, uri),
    )
    checked = None
    if inclusion:
        checked = verify_inclusion_evidence(
            verified, root_at=ctx.log.root, inclusion_proof=ctx.log.inclusion_proof
        )
    return verified, checked


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a form-encoded request body (``application/x-www-form-urlencoded``);
    raise :class:`IssuanceError` (``invalid_request``) for any other body."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith("application/x-www-form-urlencoded"):
        raise IssuanceError("invalid_request", "the request body must be form-encoded")
    try:
        text = (await request.body()).decode("utf-8")
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError) as exc:
        raise IssuanceError("invalid_request", "the request body is not form-encoded") from exc
