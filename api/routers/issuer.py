"""OpenID for Verifiable Credential Issuance 1.0: the employee's record into their wallet.

The pre-authorized code flow (docs/wallet.md §3):

1. the logged-in employee asks for a credential offer (``POST /credential-offers``, or the
   form on their page): a pre-authorized code bound to them, single use, five minutes;
   the offer travels as an ``openid-credential-offer://`` deep link or its QR code;
2. the wallet reads the issuer metadata (``/.well-known/openid-credential-issuer``, the
   authorization server's at ``/.well-known/oauth-authorization-server``) and exchanges
   the code at ``POST /token`` for an access token, with the credential identifiers the
   employee's record supports (``authorization_details``);
3. it asks ``POST /nonce`` for a ``c_nonce``, signs a proof JWT with its key, and asks
   ``POST /credential`` for each credential, bound to that key (``cnf``).

Credentials are ``dc+sd-jwt`` SD-JWT VCs (:mod:`ledger.credentials.sd_jwt_vc`), issued
from the employee's bundle at the latest checkpoint, verified with the operator's key,
which signs them: the service must run with the operator's key. Type metadata is at
``/vct/<kind>/v1``, the issuer's key at ``/.well-known/jwt-vc-issuer``. Refusals are
problem documents that also carry the OAuth ``error`` and ``error_description``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from ledger.credentials import (
    CREDENTIAL_KINDS,
    HOLDER_KEY_ALGS,
    ISSUER_ALG,
    SD_JWT_VC_TYP,
    STATUS_LIST_BITS,
    TOKEN_TTL,
    IssuanceError,
    VerifiedRecord,
    credential_identifiers,
    issue_sd_jwt_vc,
    issuer_jwk,
    type_metadata,
    vct_of,
    verified_record,
    verify_proof_jwt,
)
from ledger.errors import NotPermitted

from ..context import AppContext
from ..deps import Ctx, CurrentSession
from ..errors import ApiError, problem_responses
from ..wallet_flow import (
    PRE_AUTHORIZED_GRANT,
    form_fields,
    issuer_url,
    make_offer,
    operator_of,
    status_token_at,
)

__all__ = ["router"]

router = APIRouter(tags=["wallet"], responses=problem_responses(400, 401, 403, 404, 422, 503))

_MAX_PROOFS = 10
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"
#: how long an SD-JWT VC stays valid (seconds); the ledger's record may change later
CREDENTIAL_LIFETIME = 365 * 24 * 3600
_NAMES = {
    "contribution": "Endorsed contribution",
    "endorsement": "Endorsement",
    "assignment": "Completed assignment",
    "summary": "Track record",
}


def _no_store(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _record(ctx: AppContext, person: str) -> VerifiedRecord:
    """The person's record at a checkpoint of the whole log, verified with the operator's key."""
    operator = operator_of(ctx)
    if person in ctx.state().erased:
        raise NotPermitted("erased", f"{person} was erased: no credentials are issued about them")
    if ctx.checkpointer is not None:  # a checkpoint holding all of theirs (shared, if due)
        ctx.checkpointer.ensure_covers(ctx.log.size_covering(person))
    latest = ctx.store.get_checkpoint()
    size = 0 if latest is None else latest[0]
    return ctx.wallet_records.get(
        person,
        size,
        lambda: verified_record(ctx.ledger.export(person, by=person, size=size), operator=operator),
    )


@router.post("/credential-offers", status_code=201)
def create_offer(request: Request, ctx: Ctx, session: CurrentSession) -> JSONResponse:
    """A credential offer of one's own record for one's wallet: a pre-authorized code bound
    to the session's person, single use, five minutes; as an object and a deep link."""
    offer = make_offer(ctx, issuer_url(request), session.person)
    return JSONResponse(
        {
            "credential_offer": offer.offer,
            "deep_link": offer.deep_link,
            "expires_in": offer.expires_in,
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/.well-known/openid-credential-issuer")
def issuer_metadata(request: Request) -> dict[str, Any]:
    """The credential issuer metadata (OpenID4VCI 1.0 §12.2)."""
    base = issuer_url(request)
    proofs = {"jwt": {"proof_signing_alg_values_supported": sorted(HOLDER_KEY_ALGS)}}
    return {
        "credential_issuer": base,
        "credential_endpoint": f"{base}/credential",
        "nonce_endpoint": f"{base}/nonce",
        "display": [{"name": "trackrecord", "locale": "en-US"}],
        "credential_configurations_supported": {
            kind: {
                "format": SD_JWT_VC_TYP,
                "vct": vct_of(kind),
                "scope": kind,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": [ISSUER_ALG],
                "proof_types_supported": proofs,
                "credential_metadata": {"display": [{"name": _NAMES[kind], "locale": "en-US"}]},
            }
            for kind in CREDENTIAL_KINDS
        },
    }


@router.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata(request: Request) -> dict[str, Any]:
    """The authorization server metadata (RFC 8414): the token endpoint of the code flow."""
    base = issuer_url(request)
    return {
        "issuer": base,
        "token_endpoint": f"{base}/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
    }


@router.get("/.well-known/jwt-vc-issuer")
def jwt_vc_issuer_metadata(request: Request, ctx: Ctx) -> dict[str, Any]:
    """The SD-JWT VC issuer metadata: the key that signs credentials (the operator's)."""
    return {
        "issuer": issuer_url(request),
        "jwks": {"keys": [issuer_jwk(ctx.log.operator_key())]},
    }


@router.get(
    "/status-lists/{number}",
    response_class=Response,
    responses={200: {"content": {STATUS_LIST_MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def token_status_list(
    request: Request, ctx: Ctx, number: Annotated[int, Path(ge=0, le=2**53 // STATUS_LIST_BITS)]
) -> Response:
    """The IETF Token Status List ``number`` of the SD-JWT VCs, signed by the operator."""
    if number * STATUS_LIST_BITS >= max(ctx.state().size, 1):
        raise ApiError(404, "not_found", f"status list {number} holds no entry yet")
    token = status_token_at(ctx, f"{issuer_url(request)}/status-lists/{number}")
    return Response(
        token,
        media_type=STATUS_LIST_MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={TOKEN_TTL}"},
    )


@router.get("/vct/{kind}/v1")
def vct_type_metadata(kind: str) -> JSONResponse:
    """The SD-JWT VC type metadata of a credential type (its ``vct`` URL's path)."""
    if kind not in CREDENTIAL_KINDS:
        raise ApiError(404, "not_found", f"no credential type {kind!r}")
    return JSONResponse(type_metadata(kind), headers={"Cache-Control": "public, max-age=86400"})


_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type", "pre-authorized_code"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": [PRE_AUTHORIZED_GRANT]},
                        "pre-authorized_code": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post("/token", openapi_extra=_TOKEN_FORM)
def token(ctx: Ctx, form: Annotated[dict[str, str], Depends(form_fields)]) -> JSONResponse:
    """Exchange a pre-authorized code for an access token (OpenID4VCI 1.0 §6)."""
    if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        raise IssuanceError("unsupported_grant_type", "only the pre-authorized code grant")
    refused = IssuanceError("invalid_grant", "unknown, used or expired pre-authorized code")
    person = ctx.wallet.use("code", form.get("pre-authorized_code", ""), refusal=refused)
    identifiers = credential_identifiers(_record(ctx, person))
    grant = ctx.wallet.issue("token", person)
    return _no_store(
        {
            "access_token": grant.secret,
            "token_type": "Bearer",
            "expires_in": grant.expires_in,
            "authorization_details": [
                {
                    "type": "openid_credential",
                    "credential_configuration_id": kind,
                    "credential_identifiers": ids,
                }
                for kind, ids in identifiers.items()
                if ids
            ],
        }
    )


@router.post("/nonce")
def nonce(ctx: Ctx) -> JSONResponse:
    """A fresh ``c_nonce`` for the wallet's proof of possession (OpenID4VCI 1.0 §7)."""
    return _no_store({"c_nonce": ctx.wallet.issue("c_nonce").secret})


def _access(request: Request, ctx: AppContext) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    refused = IssuanceError("invalid_token", "a live access token is needed", status=401)
    if scheme.lower() != "bearer" or not value.strip():
        raise refused
    return ctx.wallet.holder("token", value.strip(), refusal=refused)


def _identifier(body: dict[str, Any], supported: dict[str, list[str]]) -> str:
    identifier, configuration = (
        body.get("credential_identifier"),
        body.get("credential_configuration_id"),
    )
    if isinstance(identifier, str):
        if not any(identifier in ids for ids in supported.values()):
            raise IssuanceError(
                "unknown_credential_identifier", f"no credential {identifier!r} for this token"
            )
        return identifier
    if isinstance(configuration, str):
        ids = supported.get(configuration, [])
        if len(ids) == 1:
            return ids[0]
        raise IssuanceError(
            "invalid_credential_request",
            f"{configuration!r} has {len(ids)} credentials: name one (credential_identifier)",
        )
    raise IssuanceError("invalid_credential_request", "name a credential_identifier")


@router.post("/credential")
def credential(
    request: Request,
    ctx: Ctx,
    body: Annotated[dict[str, Any], Body(description="an OpenID4VCI 1.0 credential request")],
) -> JSONResponse:
    """Issue a credential of the token's person, bound to the key of each proof JWT."""
    person = _access(request, ctx)
    record = _record(ctx, person)
    identifier = _identifier(body, credential_identifiers(record))
    proofs = body.get("proofs")
    jwts = proofs.get("jwt") if isinstance(proofs, dict) else None
    if not isinstance(jwts, list) or not jwts or len(jwts) > _MAX_PROOFS:
        raise IssuanceError("invalid_proof", f"proofs.jwt: 1 to {_MAX_PROOFS} proof JWTs")
    now, aud = int(time.time()), issuer_url(request)
    if not all(isinstance(jwt, str) for jwt in jwts):
        raise IssuanceError("invalid_proof", "a proof JWT is a string")
    verified = [verify_proof_jwt(jwt, audience=aud, now=now) for jwt in jwts]
    nonces = {p.nonce for p in verified}
    if len(nonces) != 1:
        raise IssuanceError("invalid_proof", "the proofs of one request answer one c_nonce")
    refused = IssuanceError("invalid_nonce", "unknown, used or expired c_nonce")
    ctx.wallet.use("c_nonce", nonces.pop(), refusal=refused)
    keys = [p.jwk for p in verified]
    operator = operator_of(ctx)
    issued = [
        issue_sd_jwt_vc(
            record,
            identifier,
            operator=operator,
            issuer=aud,
            holder_key=key,
            issued_at=now,
            valid_for=CREDENTIAL_LIFETIME,
        ).issuance
        for key in keys
    ]
    return _no_store({"credentials": [{"credential": c} for c in issued]})
