"""Verifiable Credentials and Open Badges 3.0 of a verified record, with Data Integrity proofs.

- :mod:`.did_key`: base58btc and ``did:key`` for Ed25519 keys;
- :mod:`.data_integrity`: the ``eddsa-jcs-2022`` cryptosuite (sign, verify);
- :mod:`.vc`: the VC Data Model 2.0 envelope, the issuer, :func:`verify_credential`;
- :mod:`.contexts`: the trackrecord JSON-LD context (every term the credentials add);
- :mod:`.badges`: :func:`issue_credentials` from a bundle (docs/credentials.md).
"""

from __future__ import annotations

from .badges import OB_V3_CONTEXT, IssuedCredential, issue_credentials
from .contexts import (
    TRACKRECORD_CONTEXT,
    TRACKRECORD_CONTEXT_PATH,
    trackrecord_context,
    trackrecord_context_bytes,
)
from .data_integrity import CRYPTOSUITE, CredentialError, hash_data, sign_document, verify_proof
from .did_key import (
    DidKeyError,
    base58btc_decode,
    base58btc_encode,
    did_key_for,
    public_key_from_verification_method,
    verification_method_for,
)
from .vc import VC_V2_CONTEXT, CredentialIssuer, credential, credential_id, verify_credential

__all__ = [
    "CRYPTOSUITE",
    "OB_V3_CONTEXT",
    "TRACKRECORD_CONTEXT",
    "TRACKRECORD_CONTEXT_PATH",
    "VC_V2_CONTEXT",
    "CredentialError",
    "CredentialIssuer",
    "DidKeyError",
    "IssuedCredential",
    "base58btc_decode",
    "base58btc_encode",
    "credential",
    "credential_id",
    "did_key_for",
    "hash_data",
    "issue_credentials",
    "public_key_from_verification_method",
    "sign_document",
    "trackrecord_context",
    "trackrecord_context_bytes",
    "verification_method_for",
    "verify_credential",
    "verify_proof",
]
