"""IETF Token Status List (draft-ietf-oauth-status-list) for the SD-JWT VC credentials.

The index and the bits are the credential-status work's (:mod:`.status`): a credential
rests on one signed entry, and that entry's log index is its status index, list
``n = log index // STATUS_LIST_BITS`` at position ``idx = log index % STATUS_LIST_BITS``
(:class:`~.status.StatusPosition`); the bit is set when a later statement took the entry
back (:func:`~.status.revoked_log_indexes`: a withdrawn contribution, a revoked
endorsement, an endorsement of a withdrawn contribution). Only the layout differs from
the W3C Bitstring Status List (the draft, §4):

- ``bits`` 1; index ``i`` is bit ``i % 8`` counted from the *least* significant bit of
  byte ``i // 8``;
- ``lst``: base64url (no padding) of the byte array compressed with ZLIB (RFC 1950);
- the Status List Token is a JWT, header ``typ`` ``statuslist+jwt``, payload ``sub`` (the
  list's URI), ``iat``, ``exp``, ``ttl`` and ``status_list`` {``bits``, ``lst``}, signed
  by the operator's key (``EdDSA``, the credentials' issuer key).

A credential names its status as ``"status": {"status_list": {"idx": …, "uri": …}}``:
the contribution credential the claim's entry, the endorsement credential the
endorsement's, the assignment credential the completion's (never taken back). The
summary at a checkpoint has none: it is a statement about that checkpoint.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from keys import Identity

from .sd_jwt_vc import ISSUER_ALG, PresentationError, issuer_jwk, signing_jwk
from .status import STATUS_LIST_BITS, list_positions

__all__ = [
    "STATUS_LIST_TOKEN_TYP",
    "TOKEN_TTL",
    "decode_lst",
    "encode_lst",
    "status_list_token",
    "token_status_bytes",
    "verify_token_status",
]

STATUS_LIST_TOKEN_TYP = "statuslist+jwt"
#: how long a Status List Token is valid (seconds)
TOKEN_VALIDITY = 24 * 3600
#: how long a verifier may cache one (seconds): its ``ttl``
TOKEN_TTL = 300
#: the largest byte array a verifier inflates (a ZLIB bomb is refused)
MAX_LIST_BYTES = 16 * 1024 * 1024


def token_status_bytes(positions: Iterable[int], *, bits: int = STATUS_LIST_BITS) -> bytes:
    """The byte array of ``bits`` statuses of one bit with ``positions`` set, index ``i`` at
    bit ``i % 8`` from the least significant bit of byte ``i // 8``. Raises ValueError
    for a position outside it."""
    out = bytearray(bits // 8)
    for i in positions:
        if not 0 <= i < bits:
            raise ValueError(f"position {i} is outside a list of {bits} statuses")
        out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def encode_lst(raw: bytes) -> str:
    """``lst``: base64url without padding of ZLIB(``raw``) at the best compression."""
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")


def decode_lst(lst: str, *, limit: int = MAX_LIST_BYTES) -> bytes:
    """The byte array of an ``lst``; raise :class:`PresentationError` (``bad_status``) for
    one that is not base64url ZLIB or inflates past ``limit`` bytes."""
    try:
        packed = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
        inflate = zlib.decompressobj()
        raw = inflate.decompress(packed, limit)
    except (ValueError, zlib.error) as exc:
        raise PresentationError("bad_status", "the status list is not base64url ZLIB") from exc
    if inflate.unconsumed_tail or not inflate.eof:
        raise PresentationError("bad_status", f"the status list inflates past {limit} bytes")
    return raw


def status_list_token(
    *, operator: Identity, uri: str, list_number: int, revoked: Iterable[int], issued_at: int
) -> str:
    """The Status List Token of list ``list_number`` (served at ``uri``), with the bits of
    the ``revoked`` log indexes, signed by ``operator``."""
    lst = encode_lst(token_status_bytes(list_positions(revoked, list_number)))
    payload = {
        "sub": uri,
        "iat": issued_at,
        "exp": issued_at + TOKEN_VALIDITY,
        "ttl": TOKEN_TTL,
        "status_list": {"bits": 1, "lst": lst},
    }
    header = {
        "alg": ISSUER_ALG,
        "typ": STATUS_LIST_TOKEN_TYP,
        "kid": issuer_jwk(operator.public_key.raw)["kid"],
    }
    jws = JWS(json.dumps(payload))
    jws.add_signature(signing_jwk(operator), alg=ISSUER_ALG, protected=json.dumps(header))
    return str(jws.serialize(compact=True))


def verify_token_status(
    status: Mapping[str, Any], *, token: str, issuer_key: bytes, now: int
) -> None:
    """Check a credential's ``status`` claim against the Status List Token fetched from its
    ``uri``: signed by ``issuer_key`` (this ledger's), ``typ``, ``sub`` the same URI, not
    expired, one bit per status. Returns None if the status is 0 (valid).

    Raises :class:`PresentationError`: ``revoked`` (evidence ``uri``, ``idx``) when the bit
    is set, ``bad_status`` for a claim or token that does not check.
    """
    ref = status.get("status_list")
    idx, uri = (ref.get("idx"), ref.get("uri")) if isinstance(ref, Mapping) else (None, None)
    if not isinstance(idx, int) or idx < 0 or not isinstance(uri, str):
        raise PresentationError("bad_status", "the status claim has no status_list idx and uri")
    key = JWK(kty="OKP", crv="Ed25519", x=issuer_jwk(issuer_key)["x"])
    try:
        jws = JWS()
        jws.deserialize(token)
        jws.verify(key, alg=ISSUER_ALG)
        header, claims = jws.jose_header, json.loads(jws.payload)
    except (JWException, ValueError, TypeError) as exc:
        raise PresentationError(
            "bad_status", "the status list token is not signed by this ledger's key"
        ) from exc
    if header.get("typ") != STATUS_LIST_TOKEN_TYP or claims.get("sub") != uri:
        raise PresentationError("bad_status", f"not the status list token of {uri}")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        raise PresentationError("bad_status", "the status list token has expired")
    listed = claims.get("status_list")
    if not isinstance(listed, dict) or listed.get("bits") != 1:
        raise PresentationError("bad_status", "the status list has not one bit per status")
    raw = decode_lst(str(listed.get("lst", "")))
    if idx >= len(raw) * 8:
        raise PresentationError("bad_status", f"index {idx} is outside the status list")
    if (raw[idx // 8] >> (idx % 8)) & 1:
        raise PresentationError("revoked", "the credential was revoked", uri=uri, idx=idx)
