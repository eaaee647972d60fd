"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (vc-di-eddsa v1.0 §3.3).

Creating a proof over an unsecured document ``D`` with proof options ``P``
(``type`` ``DataIntegrityProof``, ``cryptosuite``, ``created``,
``verificationMethod``, ``proofPurpose``, and ``D``'s ``@context`` when it has one):

    hashData   = SHA-256(JCS(P)) || SHA-256(JCS(D))      (64 bytes)
    proofValue = "z" || base58btc(Ed25519-sign(hashData))

and the secured document is ``D`` with ``proof = P + {proofValue}``. JCS is
RFC 8785 (:func:`ledger.canonical.canonical_bytes`). Verification reverses it and
fails closed: :func:`verify_proof` returns None or raises :class:`CredentialError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import nacl.exceptions
import nacl.signing

from ..canonical import canonical_bytes
from ..errors import MalformedInput, ProofError
from .did_key import DidKeyError, base58btc_decode, base58btc_encode
from .did_key import public_key_from_verification_method as _resolve

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "CredentialError",
    "hash_data",
    "sign_document",
    "verify_proof",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
_PURPOSE = "assertionMethod"


class CredentialError(ProofError):
    """A credential or its proof that does not verify; ``code`` names what is wrong."""

    def __init__(self, code: str, message: str, **evidence: Any) -> None:
        super().__init__(message, **evidence)
        self.code = code


def hash_data(proof_options: Mapping[str, Any], document: Mapping[str, Any]) -> bytes:
    """Return ``SHA-256(JCS(proof_options)) || SHA-256(JCS(document))``."""
    return (
        hashlib.sha256(canonical_bytes(dict(proof_options))).digest()
        + hashlib.sha256(canonical_bytes(dict(document))).digest()
    )


def sign_document(
    document: Mapping[str, Any],
    *,
    sign: Callable[[bytes], bytes],
    verification_method: str,
    created: str,
) -> dict[str, Any]:
    """Return ``document`` secured with an ``eddsa-jcs-2022`` proof.

    ``sign`` makes the raw 64-byte Ed25519 signature of a message (e.g.
    :meth:`keys.Identity.sign_raw`); ``created`` is an XML Schema dateTime.
    Raises :class:`CredentialError` if the document already has a proof.
    """
    if "proof" in document:
        raise CredentialError("already_signed", "the document already has a proof")
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": _PURPOSE,
    }
    if "@context" in document:
        options["@context"] = document["@context"]
    signature = sign(hash_data(options, document))
    return {**document, "proof": {**options, "proofValue": "z" + base58btc_encode(signature)}}


def _proof_of(document: Mapping[str, Any]) -> dict[str, Any]:
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise CredentialError("no_proof", "the document has no single embedded proof object")
    for name, want in (("type", PROOF_TYPE), ("cryptosuite", CRYPTOSUITE)):
        if proof.get(name) != want:
            raise CredentialError("bad_proof", f"proof {name} is not {want!r}", field=name)
    if proof.get("proofPurpose") != _PURPOSE:
        raise CredentialError("bad_proof", "proof purpose is not assertionMethod")
    if not isinstance(proof.get("verificationMethod"), str):
        raise CredentialError("bad_proof", "proof has no verificationMethod")
    if not isinstance(proof.get("created"), str):
        raise CredentialError("bad_proof", "proof has no created time")
    return proof


def _signature_of(proof: Mapping[str, Any]) -> bytes:
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise CredentialError("bad_proof", "proofValue is not a base58btc multibase string")
    try:
        signature = base58btc_decode(value[1:])
    except DidKeyError as exc:
        raise CredentialError("bad_proof", exc.message) from exc
    if len(signature) != 64 or "z" + base58btc_encode(signature) != value:
        raise CredentialError("bad_proof", "proofValue is not a canonical 64-byte signature")
    return signature


def verify_proof(document: Mapping[str, Any], *, controller: str | None = None) -> None:
    """Verify the ``eddsa-jcs-2022`` proof of ``document``; raise :class:`CredentialError`.

    The key comes from the proof's ``did:key`` verification method. With
    ``controller`` (e.g. the credential's issuer id) the method's DID must be
    it. The proof's ``@context``, when present, must equal the document's.
    """
    proof = _proof_of(document)
    signature = _signature_of(proof)
    try:
        did, public_key = _resolve(proof["verificationMethod"])
    except DidKeyError as exc:
        raise CredentialError("bad_verification_method", exc.message) from exc
    if controller is not None and did != controller:
        raise CredentialError(
            "wrong_controller",
            "the proof's key is not the issuer's",
            verification_method=proof["verificationMethod"],
            issuer=controller,
        )
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options and options["@context"] != unsecured.get("@context"):
        raise CredentialError("bad_proof", "the proof's @context is not the document's")
    try:
        message = hash_data(options, unsecured)
    except MalformedInput as exc:
        raise CredentialError("bad_format", exc.message) from exc
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError) as exc:
        raise CredentialError(
            "bad_signature",
            "the proof's signature does not verify",
            verification_method=proof["verificationMethod"],
        ) from exc
