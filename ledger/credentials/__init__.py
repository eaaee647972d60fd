"""Verifiable Credentials and Open Badges 3.0 of a verified record, with Data Integrity proofs.

- :mod:`.did_key`: base58btc and ``did:key`` for Ed25519 keys;
- :mod:`.data_integrity`: the ``eddsa-jcs-2022`` cryptosuite (sign, verify);
- :mod:`.vc`: the VC Data Model 2.0 envelope, the issuer, :func:`verify_credential`;
- :mod:`.contexts`: the trackrecord JSON-LD context (every term the credentials add);
- :mod:`.badges`: :func:`issue_credentials` from a bundle (docs/credentials.md);
- :mod:`.record`: a bundle verified with the operator's key, the source of both formats;
- :mod:`.sd_jwt_vc`: SD-JWT VC credentials for wallets, and their type metadata;
- :mod:`.holder_proof`: the wallet's OpenID4VCI proof of possession of its key;
- :mod:`.token_status`: the IETF Token Status List of the SD-JWT VCs;
- :mod:`.presentation`: :func:`verify_presentation` of an SD-JWT VC with key binding
  (docs/wallet.md).
- :mod:`.status`: credential status (W3C Bitstring Status List) from the ledger state;
- :mod:`.status_check`: :func:`verify_status` against status list credentials.
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
from .holder_proof import PROOF_TYP, HolderProof, IssuanceError, verify_proof_jwt
from .presentation import (
    KB_JWT_TYP,
    KeyBoundSdJwt,
    PresentationError,
    VerifiedPresentation,
    verify_inclusion_evidence,
    verify_presentation,
    verify_sd_jwt,
)
from .record import RecordEntry, VerifiedRecord, verified_record
from .sd_jwt_vc import (
    CREDENTIAL_KINDS,
    HOLDER_KEY_ALGS,
    ISSUER_ALG,
    SD_JWT_VC_TYP,
    TOKEN_STATUS_PATH,
    VCT_BASE,
    SdJwtVc,
    credential_identifiers,
    holder_jwk_of,
    issue_sd_jwt_vc,
    issuer_jwk,
    signing_jwk,
    status_claim,
    type_metadata,
    vct_of,
)
from .status import (
    DEFAULT_PUBLIC_URL,
    STATUS_LIST_BITS,
    STATUS_LIST_PATH,
    STATUS_PURPOSE,
    StatusPosition,
    bitstring,
    checked_public_url,
    decode_list,
    encode_list,
    list_positions,
    revoked_log_indexes,
    status_bit,
    status_entry,
    status_list_credential,
    status_list_url,
    xsd_datetime,
)
from .status_check import CredentialRevoked, status_list_urls, verify_status
from .token_status import (
    STATUS_LIST_TOKEN_TYP,
    TOKEN_TTL,
    decode_lst,
    encode_lst,
    status_list_token,
    token_status_bytes,
    verify_token_status,
)
from .vc import (
    VC_V2_CONTEXT,
    CredentialIssuer,
    credential,
    credential_id,
    each_credential,
    issuer_id,
    verify_credential,
)

__all__ = [
    "CREDENTIAL_KINDS",
    "CRYPTOSUITE",
    "DEFAULT_PUBLIC_URL",
    "HOLDER_KEY_ALGS",
    "ISSUER_ALG",
    "KB_JWT_TYP",
    "OB_V3_CONTEXT",
    "PROOF_TYP",
    "SD_JWT_VC_TYP",
    "STATUS_LIST_BITS",
    "STATUS_LIST_PATH",
    "STATUS_LIST_TOKEN_TYP",
    "STATUS_PURPOSE",
    "TOKEN_STATUS_PATH",
    "TOKEN_TTL",
    "TRACKRECORD_CONTEXT",
    "TRACKRECORD_CONTEXT_PATH",
    "VCT_BASE",
    "VC_V2_CONTEXT",
    "CredentialError",
    "CredentialIssuer",
    "CredentialRevoked",
    "DidKeyError",
    "HolderProof",
    "IssuanceError",
    "IssuedCredential",
    "KeyBoundSdJwt",
    "PresentationError",
    "RecordEntry",
    "SdJwtVc",
    "StatusPosition",
    "VerifiedPresentation",
    "VerifiedRecord",
    "base58btc_decode",
    "base58btc_encode",
    "bitstring",
    "checked_public_url",
    "credential",
    "credential_id",
    "credential_identifiers",
    "decode_list",
    "decode_lst",
    "did_key_for",
    "each_credential",
    "encode_list",
    "encode_lst",
    "hash_data",
    "holder_jwk_of",
    "issue_credentials",
    "issue_sd_jwt_vc",
    "issuer_id",
    "issuer_jwk",
    "list_positions",
    "public_key_from_verification_method",
    "revoked_log_indexes",
    "sign_document",
    "signing_jwk",
    "status_bit",
    "status_claim",
    "status_entry",
    "status_list_credential",
    "status_list_token",
    "status_list_url",
    "status_list_urls",
    "token_status_bytes",
    "trackrecord_context",
    "trackrecord_context_bytes",
    "type_metadata",
    "vct_of",
    "verification_method_for",
    "verified_record",
    "verify_credential",
    "verify_inclusion_evidence",
    "verify_presentation",
    "verify_proof",
    "verify_proof_jwt",
    "verify_sd_jwt",
    "verify_status",
    "verify_token_status",
    "xsd_datetime",
]
