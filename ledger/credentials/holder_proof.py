"""The wallet's proof of possession of its key, in an OpenID4VCI 1.0 credential request.

A proof is a JWT (OpenID4VCI 1.0 Appendix F.1): header ``typ``
``openid4vci-proof+jwt``, ``alg`` ``ES256`` or ``EdDSA``, the holder's public key as
``jwk``; payload ``aud`` the credential issuer, ``iat``, and ``nonce`` a ``c_nonce``
from the issuer's nonce endpoint. :func:`verify_proof_jwt` checks it with
:mod:`jwcrypto` and returns the key and the nonce; the caller checks that the nonce is
one it issued and still unused, then binds the credential to the key (``cnf``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from ..errors import LedgerError
from .sd_jwt_vc import HOLDER_KEY_ALGS, holder_jwk_of

__all__ = ["PROOF_TYP", "HolderProof", "IssuanceError", "verify_proof_jwt"]

PROOF_TYP = "openid4vci-proof+jwt"


class IssuanceError(LedgerError):
    """A credential request the issuer refuses. ``code`` is the OAuth 2.0 / OpenID4VCI
    error code (``invalid_grant``, ``invalid_token``, ``invalid_proof``,
    ``invalid_nonce``, ``invalid_credential_request``, ``unknown_credential_identifier``,
    ``unsupported_grant_type``); ``status`` the HTTP status the protocol gives it."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class HolderProof:
    """A verified proof: the holder's public JWK and the ``c_nonce`` it answers."""

    jwk: dict[str, Any]
    nonce: str


def _part(text: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError) as exc:
        raise IssuanceError("invalid_proof", "the proof is not a JWT") from exc


def verify_proof_jwt(proof: str, *, audience: str, now: int, max_age: int = 300) -> HolderProof:
    """Check a proof JWT for ``audience`` (the credential issuer identifier) at ``now``
    (seconds since the epoch); return the holder key and nonce.

    Raises :class:`IssuanceError` (``invalid_proof``) for a wrong ``typ``, ``alg``,
    key, signature, audience or an ``iat`` older than ``max_age`` seconds or in the
    future, and (``invalid_nonce``) for a proof without a nonce.
    """
    parts = proof.split(".")
    if len(parts) != 3:
        raise IssuanceError("invalid_proof", "the proof is not a compact JWS")
    header, claims = _part(parts[0]), _part(parts[1])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise IssuanceError("invalid_proof", "the proof's header and payload must be objects")
    if header.get("typ") != PROOF_TYP:
        raise IssuanceError("invalid_proof", f"the proof's typ is not {PROOF_TYP}")
    alg, jwk = header.get("alg"), header.get("jwk")
    if (
        alg not in HOLDER_KEY_ALGS
        or not isinstance(jwk, dict)
        or jwk.get("kty") != HOLDER_KEY_ALGS[alg]
    ):
        raise IssuanceError("invalid_proof", "the proof needs alg ES256 or EdDSA and its jwk")
    try:
        key: JWK = holder_jwk_of(jwk)
        jws = JWS()
        jws.deserialize(proof)
        jws.verify(key, alg=alg)
    except (JWException, ValueError, TypeError, LedgerError) as exc:
        raise IssuanceError("invalid_proof", "the proof's signature does not verify") from exc
    if claims.get("aud") != audience:
        raise IssuanceError("invalid_proof", f"the proof's aud is not {audience}")
    iat = claims.get("iat")
    if not isinstance(iat, int) or not now - max_age <= iat <= now + 60:
        raise IssuanceError("invalid_proof", "the proof's iat is not recent")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise IssuanceError("invalid_nonce", "the proof has no nonce: POST the nonce endpoint")
    return HolderProof(dict(key.export_public(as_dict=True)), nonce)
