"""Verifying an SD-JWT VC presentation with key binding, as a relying party (a new employer).

:func:`verify_presentation` checks, failing closed on the first fault (RFC 9901 §7,
SD-JWT VC §3):

1. the form ``<issuer-signed JWT>~<disclosure>~…~<KB-JWT>``, with a KB-JWT;
2. the issuer-signed JWT: ``typ`` ``dc+sd-jwt``, ``alg`` ``EdDSA``, signed by *this
   ledger's* operator key (``untrusted_issuer`` otherwise), a known ``vct``, not
   expired (``exp``) nor issued in the future (``iat``);
3. every disclosure is referenced by a digest in the issuer-signed JWT or in another
   referenced disclosure, and none twice (``bad_disclosure``: a tampered or foreign
   disclosure);
4. the KB-JWT: ``typ`` ``kb+jwt``, signed by the key in ``cnf.jwk``, ``aud`` and
   ``nonce`` as the verifier expects, ``iat`` within ``max_age`` seconds, and
   ``sd_hash`` the digest of the presentation before it.

The issuer-signed JWT's signature and the disclosures' unpacking are done by the
OpenWallet Foundation's reference implementation (``sd_jwt.verifier.SDJWTVerifier``).
That verifier ignores disclosures no digest refers to, checks no ``exp``/``iat``,
accepts only ``ES256`` key-binding JWTs and reports every fault as a bare
``ValueError``; steps 2-4 are therefore done here, with :mod:`jwcrypto`, so each
fault gets its own code. :func:`verify_inclusion_evidence` then optionally checks the
disclosed ledger evidence against the log (RFC 9162 inclusion proofs).

Errors: :class:`PresentationError` (a :class:`~ledger.errors.ProofError`), with a code.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from sd_jwt.verifier import SDJWTVerifier

from ..merkle import verify_inclusion
from .sd_jwt_vc import (
    CREDENTIAL_KINDS,
    HOLDER_KEY_ALGS,
    ISSUER_ALG,
    SD_JWT_VC_TYP,
    PresentationError,
    issuer_jwk,
    vct_of,
)
from .token_status import verify_token_status

__all__ = [
    "KB_JWT_TYP",
    "KeyBoundSdJwt",
    "PresentationError",
    "VerifiedPresentation",
    "verify_inclusion_evidence",
    "verify_presentation",
    "verify_sd_jwt",
]

KB_JWT_TYP = "kb+jwt"
_KINDS = {vct_of(kind): kind for kind in CREDENTIAL_KINDS}


@dataclass(frozen=True)
class VerifiedPresentation:
    """What a verified presentation establishes: the credential kind, its issuer, the
    holder's key, and the claims as disclosed (undisclosed ones are absent)."""

    kind: str
    vct: str
    issuer: str
    issued_at: int
    expires_at: int
    holder_key: dict[str, Any]
    claims: dict[str, Any]
    disclosed: int
    #: ``valid`` (its status list says so), ``unchecked`` (no status list was fetched) or
    #: ``none`` (the credential has no status: a summary)
    status: str = "none"

    @property
    def checkpoint(self) -> dict[str, Any]:
        """The checkpoint (origin, size, root) the credential's record was verified against."""
        return dict(self.claims["checkpoint"])

    def evidence(self) -> list[dict[str, Any]]:
        """The ledger entries the holder disclosed (statement, log index, hashes)."""
        return [dict(e) for e in self.claims.get("evidence", ())]

    def as_json(self) -> dict[str, Any]:
        """The result as a JSON object."""
        return {
            "kind": self.kind,
            "vct": self.vct,
            "issuer": self.issuer,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "disclosed": self.disclosed,
            "status": self.status,
            "claims": self.claims,
        }


def _b64json(part: str, what: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError) as exc:
        raise PresentationError("bad_format", f"the {what} is not base64url JSON") from exc


def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode("ascii")).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _digests_in(value: Any) -> Iterator[str]:
    """Every digest a JSON value refers to: ``_sd`` members and ``{"...": d}`` elements."""
    if isinstance(value, dict):
        for d in value.get("_sd", ()):
            if isinstance(d, str):
                yield d
        if set(value) == {"..."} and isinstance(value["..."], str):
            yield value["..."]
        for k, v in value.items():
            if k != "_sd":
                yield from _digests_in(v)
    elif isinstance(value, list):
        for item in value:
            yield from _digests_in(item)


def _check_every_disclosure_referenced(payload: Mapping[str, Any], disclosures: list[str]) -> None:
    by_digest: dict[str, Any] = {}
    for d in disclosures:
        decoded = _b64json(d, "disclosure")
        if not isinstance(decoded, list) or len(decoded) not in (2, 3):
            raise PresentationError("bad_disclosure", "a disclosure is not a 2- or 3-element array")
        if _digest(d) in by_digest:
            raise PresentationError("bad_disclosure", "a disclosure is presented twice")
        by_digest[_digest(d)] = decoded[-1]
    referenced = set(_digests_in(dict(payload)))
    found: set[str] = set()
    while True:
        reached = (referenced & by_digest.keys()) - found
        if not reached:
            break
        found |= reached
        for d in reached:
            referenced.update(_digests_in(by_digest[d]))
    stray = sorted(by_digest.keys() - found)
    if stray:
        raise PresentationError(
            "bad_disclosure",
            "a disclosure is not referenced by the issuer-signed JWT: tampered or foreign",
            digest=stray[0],
        )


def _header(jwt: str) -> dict[str, Any]:
    parts = jwt.split(".")
    if len(parts) != 3:
        raise PresentationError("bad_format", "the issuer-signed JWT is not a compact JWS")
    header = _b64json(parts[0], "issuer-signed JWT header")
    if not isinstance(header, dict):
        raise PresentationError("bad_format", "the issuer-signed JWT header is not an object")
    return header


def _issuer_signed(
    jwt: str, disclosures: list[str], key: JWK, *, untrusted: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the issuer's signature and unpack the disclosures; return (payload, claims).
    ``untrusted``: the code of a signature that does not verify."""
    try:
        verifier = SDJWTVerifier("~".join([jwt, *disclosures, ""]), lambda _iss, _hdr: key)
        claims = verifier.get_verified_payload()
    except JWException as exc:
        raise PresentationError(
            untrusted, "the issuer's signature does not verify with the expected issuer key"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise PresentationError("bad_disclosure", f"the disclosures do not unpack: {exc}") from exc
    payload = _b64json(jwt.split(".")[1], "issuer-signed JWT payload")
    if not isinstance(payload, dict):
        raise PresentationError("bad_format", "the issuer-signed JWT payload is not an object")
    return payload, claims


def _check_times(payload: Mapping[str, Any], now: int, skew: int) -> None:
    iat, exp = payload.get("iat"), payload.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int):
        raise PresentationError("bad_format", "the credential has no integer iat and exp")
    if iat > now + skew:
        raise PresentationError("expired_credential", "the credential is issued in the future")
    if exp <= now - skew:
        raise PresentationError("expired_credential", "the credential has expired", exp=exp)


def _check_key_binding(
    kb_jwt: str,
    *,
    holder: Mapping[str, Any],
    signed_part: str,
    audience: str,
    nonce: str,
    now: int,
    max_age: int,
    skew: int,
) -> None:
    parts = kb_jwt.split(".")
    if len(parts) != 3:
        raise PresentationError("bad_key_binding", "the KB-JWT is not a compact JWS")
    header = _b64json(parts[0], "KB-JWT header")
    alg = header.get("alg") if isinstance(header, dict) else None
    if not isinstance(header, dict) or header.get("typ") != KB_JWT_TYP:
        raise PresentationError("bad_key_binding", f"the KB-JWT's typ is not {KB_JWT_TYP}")
    if alg not in HOLDER_KEY_ALGS or holder.get("kty") != HOLDER_KEY_ALGS[alg]:
        raise PresentationError("bad_key_binding", f"the KB-JWT's alg {alg!r} does not fit cnf")
    try:
        jws = JWS()
        jws.deserialize(kb_jwt)
        jws.verify(JWK(**holder), alg=alg)
    except (JWException, ValueError, TypeError) as exc:
        raise PresentationError(
            "bad_key_binding", "the KB-JWT is not signed by the holder's key (cnf)"
        ) from exc
    claims = _b64json(parts[1], "KB-JWT payload")
    if not isinstance(claims, dict):
        raise PresentationError("bad_key_binding", "the KB-JWT payload is not an object")
    if claims.get("aud") != audience:
        raise PresentationError(
            "wrong_audience", "the presentation is for another verifier", aud=claims.get("aud")
        )
    if claims.get("nonce") != nonce:
        raise PresentationError("wrong_nonce", "the presentation answers another nonce")
    iat = claims.get("iat")
    if not isinstance(iat, int) or not now - max_age <= iat <= now + skew:
        raise PresentationError(
            "stale_presentation",
            f"the presentation was not made within the last {max_age} seconds",
            iat=iat,
            now=now,
        )
    if claims.get("sd_hash") != _digest(signed_part):
        raise PresentationError("bad_sd_hash", "sd_hash is not the digest of the presentation")


@dataclass(frozen=True)
class KeyBoundSdJwt:
    """A verified SD-JWT+KB: the issuer-signed payload, the processed claims (disclosed
    ones unpacked) and the holder's key from ``cnf.jwk``."""

    payload: dict[str, Any]
    claims: dict[str, Any]
    holder_key: dict[str, Any]
    disclosures: int


def verify_sd_jwt(
    presentation: str,
    *,
    issuer_key: JWK,
    typ: str,
    audience: str,
    nonce: str,
    now: int,
    max_age: int = 300,
    skew: int = 60,
    untrusted: str = "bad_signature",
) -> KeyBoundSdJwt:
    """Verify any SD-JWT+KB (RFC 9901 §7.1, §7.3) whose issuer key is ``issuer_key`` and
    header ``typ`` is ``typ``: the steps 1 and 3-4 of :func:`verify_presentation`, and
    ``iat``/``exp`` of the issuer-signed JWT. Raises :class:`PresentationError`."""
    text = presentation.strip()
    if text.count("~") < 1 or not text.isascii():
        raise PresentationError("bad_format", "not an SD-JWT presentation (<jwt>~…~<kb-jwt>)")
    jwt, *disclosures, kb_jwt = text.split("~")
    if not kb_jwt:
        raise PresentationError("no_key_binding", "the presentation has no key-binding JWT")
    if any(not d for d in disclosures):
        raise PresentationError("bad_format", "the presentation has an empty disclosure")
    if _header(jwt).get("typ") != typ:
        raise PresentationError("bad_format", f"the issuer-signed JWT's typ is not {typ}")
    payload, claims = _issuer_signed(jwt, disclosures, issuer_key, untrusted=untrusted)
    _check_times(payload, now, skew)
    _check_every_disclosure_referenced(payload, disclosures)
    cnf = payload.get("cnf")
    holder = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(holder, dict):
        raise PresentationError("no_key_binding", "the credential binds no holder key (cnf.jwk)")
    _check_key_binding(
        kb_jwt,
        holder=holder,
        signed_part=text[: -len(kb_jwt)],
        audience=audience,
        nonce=nonce,
        now=now,
        max_age=max_age,
        skew=skew,
    )
    return KeyBoundSdJwt(payload, claims, dict(holder), len(disclosures))


def verify_presentation(
    presentation: str,
    *,
    issuer_key: bytes,
    audience: str,
    nonce: str,
    now: int,
    max_age: int = 300,
    skew: int = 60,
    status_token: Callable[[str], str] | None = None,
) -> VerifiedPresentation:
    """Verify an SD-JWT VC presentation with key binding; return what it establishes.

    ``issuer_key``: this ledger's operator Ed25519 public key (32 bytes); ``audience``
    and ``nonce``: what the verifier asked the holder to sign; ``now``: seconds since
    the epoch; ``max_age``: how old the KB-JWT may be; ``skew``: tolerated clock skew;
    ``status_token``: the Status List Token at a URI (fetched, or made by this ledger),
    to check the credential's ``status`` (:func:`~.token_status.verify_token_status`).
    Raises :class:`PresentationError` with a code on the first fault.
    """
    jwt = presentation.strip().split("~", 1)[0]
    header, ours = _header(jwt), issuer_jwk(issuer_key)
    if header.get("alg") != ISSUER_ALG or header.get("kid", ours["kid"]) != ours["kid"]:
        raise PresentationError(
            "untrusted_issuer",
            "the credential is not signed with this ledger's issuer key",
            kid=header.get("kid"),
            expected_kid=ours["kid"],
        )
    verified = verify_sd_jwt(
        presentation,
        issuer_key=JWK(kty="OKP", crv="Ed25519", x=ours["x"]),
        typ=SD_JWT_VC_TYP,
        audience=audience,
        nonce=nonce,
        now=now,
        max_age=max_age,
        skew=skew,
        untrusted="bad_signature" if "kid" in header else "untrusted_issuer",
    )
    payload, claims = verified.payload, dict(verified.claims)
    vct = payload.get("vct")
    if vct not in _KINDS:
        raise PresentationError("unknown_vct", f"{vct!r} is not a credential type of trackrecord")
    if not isinstance(claims.get("checkpoint"), dict):
        raise PresentationError("bad_format", "the credential names no checkpoint")
    for reserved in ("_sd_alg", "cnf"):
        claims.pop(reserved, None)
    status = _checked_status(claims.get("status"), status_token, issuer_key, now)
    return VerifiedPresentation(
        kind=_KINDS[vct],
        vct=vct,
        issuer=str(payload.get("iss")),
        issued_at=payload["iat"],
        expires_at=payload["exp"],
        holder_key=verified.holder_key,
        claims=claims,
        disclosed=verified.disclosures,
        status=status,
    )


def _checked_status(
    status: Any, status_token: Callable[[str], str] | None, issuer_key: bytes, now: int
) -> str:
    if status is None:
        return "none"
    if not isinstance(status, dict):
        raise PresentationError("bad_status", "the status claim is not an object")
    if status_token is None:
        return "unchecked"
    ref = status.get("status_list")
    uri = ref.get("uri") if isinstance(ref, dict) else None
    if not isinstance(uri, str):
        raise PresentationError("bad_status", "the status claim has no status_list uri")
    verify_token_status(status, token=status_token(uri), issuer_key=issuer_key, now=now)
    return "valid"


def verify_inclusion_evidence(
    presented: VerifiedPresentation,
    *,
    root_at: Callable[[int], bytes],
    inclusion_proof: Callable[[int, int], Sequence[bytes]],
) -> int:
    """Check each disclosed ledger entry against the log; return how many were checked.

    ``root_at(size)``: the log's root at a size (from a signed checkpoint the verifier
    trusts); ``inclusion_proof(index, size)``: the RFC 9162 proof. The credential's
    checkpoint root must be the log's root at its size, and each disclosed entry's
    leaf hash must be at its log index in that tree. Raises :class:`PresentationError`
    (``checkpoint_mismatch``) or :class:`~ledger.errors.InclusionError`.
    """
    cp = presented.checkpoint
    size, root = cp.get("size"), cp.get("root")
    if not isinstance(size, int) or not isinstance(root, str):
        raise PresentationError("bad_format", "the checkpoint has no integer size and hex root")
    if root_at(size).hex() != root:
        raise PresentationError(
            "checkpoint_mismatch",
            "the credential's checkpoint root is not this log's root at that size",
            size=size,
            root=root,
        )
    checked = 0
    for e in presented.evidence():
        index, leaf = e.get("log_index"), e.get("leaf_hash")
        if not isinstance(index, int) or not isinstance(leaf, str):
            raise PresentationError("bad_format", "an evidence entry has no log index or leaf")
        verify_inclusion(
            leaf_hash=bytes.fromhex(leaf),
            index=index,
            size=size,
            proof=list(inclusion_proof(index, size)),
            root=bytes.fromhex(root),
        )
        checked += 1
    return checked
