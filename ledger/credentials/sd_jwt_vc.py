"""SD-JWT VC credentials (``dc+sd-jwt``) of a verified record, for the employee's wallet.

Three credential types (docs/wallet.md §1), each with its ``vct`` and type metadata
(:func:`type_metadata`):

- ``contribution``: an endorsed contribution that is not withdrawn, with the
  endorsements that were not revoked;
- ``endorsement``: one of those endorsements on its own, with its contribution;
- ``assignment``: an assignment the person completed, with the owner's grade;
- ``summary``: the track record at checkpoint N: counts, grades per role, grades
  per skill.

Every personal field is selectively disclosable (RFC 9901 disclosures); the
checkpoint (origin, size, root) that the record was verified against stays in the
clear, and each signed entry the credential rests on is a disclosable ``evidence``
element (statement id and type, log index, entry hash, RFC 9162 leaf hash).

The SD-JWT is built with the OpenWallet Foundation's reference implementation
(``sd-jwt`` on PyPI, over ``jwcrypto``). The issuer key is the ledger operator's
Ed25519 key, the one that signs the checkpoints, so ``alg`` is ``EdDSA`` (RFC 8037):
a verifier checks the credential and the checkpoint it names against one key.
The EUDI wallet profile (HAIP) asks wallets for ``ES256``; an ES256 issuer key
certified by the operator key is a follow-up (docs/wallet.md §6). A JWS signing
input (``base64url.base64url``) has no line feed, so it can never be mistaken for
a signed note of a checkpoint (text lines).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jwcrypto.common import base64url_encode as b64url_encode
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from keys import Identity

from ..bundle import EndorsementSummary
from .data_integrity import CredentialError
from .record import RecordEntry, VerifiedRecord
from .status import StatusPosition

__all__ = [
    "CREDENTIAL_KINDS",
    "HOLDER_KEY_ALGS",
    "ISSUER_ALG",
    "SD_JWT_VC_TYP",
    "TOKEN_STATUS_PATH",
    "VCT_BASE",
    "PresentationError",
    "SdJwtVc",
    "credential_identifiers",
    "holder_jwk_of",
    "issue_sd_jwt_vc",
    "issuer_jwk",
    "signing_jwk",
    "status_claim",
    "type_metadata",
    "vct_of",
]

SD_JWT_VC_TYP = "dc+sd-jwt"
#: where a trackrecord service serves Status List Token ``{list}``, under its issuer URL
TOKEN_STATUS_PATH = "/status-lists/{list}"
ISSUER_ALG = "EdDSA"
#: the holder keys a credential is bound to, by JWS ``alg`` and the JWK ``kty`` it needs:
#: ES256 (what HAIP asks of wallets) and EdDSA (RFC 8037)
HOLDER_KEY_ALGS = {"ES256": "EC", "EdDSA": "OKP"}
VCT_BASE = "https://trackrecord.dev/vct/"
CREDENTIAL_KINDS = ("contribution", "endorsement", "assignment", "summary")


class PresentationError(CredentialError):
    """A presentation that does not verify; ``code`` names what is wrong:
    ``bad_format``, ``untrusted_issuer``, ``bad_signature``, ``unknown_vct``,
    ``expired_credential``, ``bad_disclosure``, ``no_key_binding``,
    ``bad_key_binding``, ``wrong_audience``, ``wrong_nonce``, ``stale_presentation``,
    ``bad_sd_hash``, ``checkpoint_mismatch``; with a status list, ``revoked`` and
    ``bad_status``."""


def vct_of(kind: str) -> str:
    """The ``vct`` of a credential kind: ``https://trackrecord.dev/vct/<kind>/v1``."""
    return f"{VCT_BASE}{kind}/v1"


@dataclass(frozen=True)
class SdJwtVc:
    """One issued SD-JWT VC: its kind, identifier and compact form (ending in ``~``)."""

    kind: str
    identifier: str
    issuance: str


def issuer_jwk(public_key: bytes) -> dict[str, str]:
    """The public JWK (RFC 8037 ``OKP``/``Ed25519``) of an issuer key, with its RFC 7638
    thumbprint as ``kid``."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key)}
    return {**jwk, "kid": JWK(**jwk).thumbprint(), "alg": ISSUER_ALG, "use": "sig"}


def signing_jwk(operator: Identity) -> JWK:
    """The operator's Ed25519 key as a private JWK, to sign with (``jwcrypto``)."""
    return JWK(
        kty="OKP",
        crv="Ed25519",
        x=b64url_encode(operator.public_key.raw),
        d=b64url_encode(operator.seed),
    )


def holder_jwk_of(jwk: Mapping[str, Any]) -> JWK:
    """The holder's public key from a JWK (the ``cnf.jwk`` to bind); raise
    :class:`CredentialError` (``bad_holder_key``) for a private or unusable key."""
    if "d" in jwk or any(k in jwk for k in ("p", "q", "k")):
        raise CredentialError("bad_holder_key", "the holder key must be a public key")
    try:
        key = JWK.from_json(json.dumps(dict(jwk)))
    except Exception as exc:  # jwcrypto raises several kinds for a bad JWK
        raise CredentialError("bad_holder_key", f"the holder key is not a JWK: {exc}") from exc
    if key.get("kty") not in ("EC", "OKP"):
        raise CredentialError("bad_holder_key", "the holder key must be an EC or OKP key")
    return key


def credential_identifiers(record: VerifiedRecord) -> dict[str, list[str]]:
    """The credentials the record supports, by kind: ``contribution:<id>``,
    ``endorsement:<id>``, ``assignment:<id>`` and ``summary:<checkpoint size>``."""
    report = record.report
    endorsed = {e.contribution for e in report.endorsements}
    return {
        "contribution": [
            f"contribution:{c.id}"
            for c in report.contributions
            if not c.withdrawn and c.id in endorsed
        ],
        "endorsement": [
            f"endorsement:{e.id}"
            for e in report.endorsements
            if any(c.id == e.contribution and not c.withdrawn for c in report.contributions)
        ],
        "assignment": [f"assignment:{a.id}" for a in report.assignments_completed],
        "summary": [f"summary:{report.checkpoint_size}"],
    }


def _evidence(e: RecordEntry) -> SDObj:
    s = e.statement
    return SDObj(
        {
            "statement_id": s["id"],
            "statement_type": s["type"],
            "log_index": e.log_index,
            "entry_hash": e.entry_hash(),
            "leaf_hash": e.leaf_hash(),
        }
    )


def _person(record: VerifiedRecord) -> dict[Any, Any]:
    claims: dict[Any, Any] = {SDObj("person"): record.report.person}
    if record.report.display_name:
        claims[SDObj("name")] = record.report.display_name
    return claims


def _endorsed(record: VerifiedRecord, ref: str) -> dict[Any, Any]:
    """The ``contribution`` claim of an endorsed contribution not withdrawn."""
    found = [c for c in record.report.contributions if c.id == ref and not c.withdrawn]
    if not found or not any(e.contribution == ref for e in record.report.endorsements):
        raise CredentialError("unknown_credential", f"no endorsed contribution {ref}")
    c = found[0]
    contribution: dict[Any, Any] = {
        SDObj("id"): c.id,
        SDObj("kind"): record.entries[ref].statement["body"]["kind"],
        "skills": [SDObj(s) for s in c.skills],
    }
    if c.title:
        contribution[SDObj("title")] = c.title
    return contribution


def _endorsement_claim(record: VerifiedRecord, e: EndorsementSummary) -> dict[Any, Any]:
    item: dict[Any, Any] = {
        SDObj("role"): e.role,
        SDObj("grade"): e.grade,
        SDObj("endorser"): e.endorser,
    }
    if e.endorser_name:
        item[SDObj("endorser_name")] = e.endorser_name
    comment = record.entries[e.id].disclosed.get("comment")
    if comment:
        item[SDObj("comment")] = comment
    return item


def _contribution(record: VerifiedRecord, ref: str) -> dict[Any, Any]:
    contribution = _endorsed(record, ref)
    endorsements = [e for e in record.report.endorsements if e.contribution == ref]
    return {
        "contribution": contribution,
        "endorsements": [SDObj(_endorsement_claim(record, e)) for e in endorsements],
        "evidence": [_evidence(record.entries[ref])]
        + [_evidence(record.entries[e.id]) for e in endorsements],
    }


def _endorsement(record: VerifiedRecord, ref: str) -> dict[Any, Any]:
    found = [e for e in record.report.endorsements if e.id == ref]
    if not found:
        raise CredentialError("unknown_credential", f"no endorsement {ref} that stands")
    e = found[0]
    return {
        "contribution": _endorsed(record, e.contribution),
        "endorsement": _endorsement_claim(record, e),
        "evidence": [_evidence(record.entries[e.contribution]), _evidence(record.entries[e.id])],
    }


def _assignment(record: VerifiedRecord, ref: str) -> dict[Any, Any]:
    found = [a for a in record.report.assignments_completed if a.id == ref]
    if not found:
        raise CredentialError("unknown_credential", f"no completed assignment {ref}")
    a = found[0]
    done, posted = record.completion(a.id), record.posted(a.id)
    assignment: dict[Any, Any] = {
        SDObj("id"): a.id,
        SDObj("owner"): a.owner,
        SDObj("outcome"): a.outcome,
        SDObj("grade"): a.grade,
        "skills": [SDObj(s) for s in posted.statement["body"].get("skills", [])],
    }
    if a.title:
        assignment[SDObj("title")] = a.title
    note = done.disclosed.get("outcome_note")
    if note:
        assignment[SDObj("outcome_note")] = note
    return {"assignment": assignment, "evidence": [_evidence(posted), _evidence(done)]}


def _summary(record: VerifiedRecord, ref: str) -> dict[Any, Any]:
    report = record.report
    if ref != str(report.checkpoint_size):
        raise CredentialError("unknown_credential", f"no summary at checkpoint {ref}")
    live = [c for c in report.contributions if not c.withdrawn]
    skills_of = {c.id: c.skills for c in live}
    by_role: dict[str, list[int]] = {}
    by_skill: dict[str, dict[str, Any]] = {}
    for c in live:
        for skill in c.skills:
            by_skill.setdefault(skill, {"contributions": 0, "grades": []})["contributions"] += 1
    for e in report.endorsements:
        by_role.setdefault(e.role, []).append(e.grade)
        for skill in skills_of.get(e.contribution, ()):
            by_skill[skill]["grades"].append(e.grade)
    return {
        "counts": {
            SDObj("contributions"): len(live),
            SDObj("endorsements"): len(report.endorsements),
            SDObj("assignments_completed"): len(report.assignments_completed),
        },
        "grades_by_role": {SDObj(role): sorted(g) for role, g in sorted(by_role.items())},
        "skills": {
            SDObj(skill): {"contributions": v["contributions"], "grades": sorted(v["grades"])}
            for skill, v in sorted(by_skill.items())
        },
    }


def _status_entry(record: VerifiedRecord, kind: str, ref: str) -> RecordEntry | None:
    """The entry whose log index is the credential's status index (None: no status)."""
    if kind in ("contribution", "endorsement"):
        return record.entries[ref]
    if kind == "assignment":
        return record.completion(ref)
    return None


def status_claim(issuer: str, log_index: int) -> dict[str, Any]:
    """The ``status`` claim (IETF Token Status List) of a credential resting on entry
    ``log_index``, whose status lists the credential issuer ``issuer`` serves."""
    at = StatusPosition.of(log_index)
    uri = issuer + TOKEN_STATUS_PATH.format(list=at.list)
    return {"status_list": {"idx": at.index, "uri": uri}}


_BUILDERS = {
    "contribution": _contribution,
    "endorsement": _endorsement,
    "assignment": _assignment,
    "summary": _summary,
}


def issue_sd_jwt_vc(
    record: VerifiedRecord,
    identifier: str,
    *,
    operator: Identity,
    issuer: str,
    holder_key: Mapping[str, Any],
    issued_at: int,
    valid_for: int,
) -> SdJwtVc:
    """Return the SD-JWT VC ``identifier`` (one of :func:`credential_identifiers`) of the
    record, signed by ``operator`` as ``issuer`` (the credential issuer URL) and bound to
    the holder's public JWK ``holder_key`` (``cnf``); valid from ``issued_at`` (seconds
    since the epoch) for ``valid_for`` seconds.

    Raises :class:`CredentialError`: ``unknown_credential`` for an identifier the record
    does not support, ``bad_holder_key`` for an unusable holder key.
    """
    kind, _, ref = identifier.partition(":")
    build = _BUILDERS.get(kind)
    if build is None or not ref:
        raise CredentialError("unknown_credential", f"no credential {identifier!r}")
    report = record.report
    claims: dict[Any, Any] = {
        "iss": issuer,
        "iat": issued_at,
        "exp": issued_at + valid_for,
        "vct": vct_of(kind),
        **_person(record),
        **build(record, ref),
        "checkpoint": {
            "origin": report.origin,
            "size": report.checkpoint_size,
            "root": report.checkpoint_root,
        },
    }
    status = _status_entry(record, kind, ref)
    if status is not None:
        claims["status"] = status_claim(issuer, status.log_index)
    sd = SDJWTIssuer(
        claims,
        signing_jwk(operator),
        holder_key=holder_jwk_of(holder_key),
        sign_alg=ISSUER_ALG,
        add_decoy_claims=True,
        extra_header_parameters={
            "typ": SD_JWT_VC_TYP,
            "kid": issuer_jwk(operator.public_key.raw)["kid"],
        },
    )
    return SdJwtVc(kind, identifier, str(sd.sd_jwt_issuance))


_LABELS: dict[str, tuple[str, str]] = {
    "person": ("Person", "Persoon"),
    "name": ("Name", "Naam"),
    "contribution": ("Contribution", "Bijdrage"),
    "assignment": ("Assignment", "Klus"),
    "endorsements": ("Endorsements", "Aanbevelingen"),
    "endorsement": ("Endorsement", "Aanbeveling"),
    "evidence": ("Ledger entries", "Ledger-items"),
    "checkpoint": ("Checkpoint", "Checkpoint"),
    "counts": ("Counts", "Aantallen"),
    "grades_by_role": ("Grades by role", "Cijfers per rol"),
    "skills": ("Skills", "Vaardigheden"),
}
_NAMES: dict[str, tuple[str, str, str]] = {
    "contribution": (
        "Endorsed contribution",
        "Aanbevolen bijdrage",
        "A work contribution, endorsed by others, from the employee's verified ledger record.",
    ),
    "endorsement": (
        "Endorsement",
        "Aanbeveling",
        "One endorsement of the employee's contribution: role, grade, endorser, comment.",
    ),
    "assignment": (
        "Completed assignment",
        "Voltooide klus",
        "An assignment the employee completed, confirmed and graded by its owner.",
    ),
    "summary": (
        "Track record",
        "Track record",
        "The employee's track record at a signed checkpoint: counts, grades per role and skill.",
    ),
}
_ALWAYS, _NEVER = "always", "never"
#: (path, sd) of each claim: ``None`` in a path stands for every element of an array
_PERSON: tuple[tuple[tuple[str | None, ...], str], ...] = (
    (("person",), _ALWAYS),
    (("name",), _ALWAYS),
)
_EVIDENCE = ((("evidence",), _NEVER), (("evidence", None), _ALWAYS))
_CLAIMS: dict[str, tuple[tuple[tuple[str | None, ...], str], ...]] = {
    "contribution": (
        *_PERSON,
        (("contribution",), _NEVER),
        *((("contribution", m), _ALWAYS) for m in ("id", "kind", "title")),
        (("contribution", "skills", None), _ALWAYS),
        (("endorsements",), _NEVER),
        (("endorsements", None), _ALWAYS),
        *_EVIDENCE,
        (("checkpoint",), _NEVER),
    ),
    "endorsement": (
        *_PERSON,
        (("contribution",), _NEVER),
        *((("contribution", m), _ALWAYS) for m in ("id", "kind", "title")),
        (("contribution", "skills", None), _ALWAYS),
        (("endorsement",), _NEVER),
        *(
            (("endorsement", m), _ALWAYS)
            for m in ("role", "grade", "endorser", "endorser_name", "comment")
        ),
        *_EVIDENCE,
        (("checkpoint",), _NEVER),
    ),
    "assignment": (
        *_PERSON,
        (("assignment",), _NEVER),
        *(
            (("assignment", m), _ALWAYS)
            for m in ("id", "owner", "outcome", "grade", "title", "outcome_note")
        ),
        (("assignment", "skills", None), _ALWAYS),
        *_EVIDENCE,
        (("checkpoint",), _NEVER),
    ),
    "summary": (
        *_PERSON,
        (("counts",), _NEVER),
        (("grades_by_role",), _NEVER),
        (("skills",), _NEVER),
        (("checkpoint",), _NEVER),
    ),
}


def _claim(path: tuple[str | None, ...], sd: str) -> dict[str, Any]:
    claim: dict[str, Any] = {"path": list(path), "sd": sd}
    if len(path) == 1 and path[0] in _LABELS:
        en, nl = _LABELS[path[0]]
        claim["display"] = [{"locale": "en-US", "label": en}, {"locale": "nl-NL", "label": nl}]
    return claim


def type_metadata(kind: str) -> dict[str, Any]:
    """The SD-JWT VC type metadata of ``kind`` (served at its ``vct`` URL's path).

    Raises :class:`CredentialError` (``unknown_credential``) for an unknown kind.
    """
    if kind not in _NAMES:
        raise CredentialError("unknown_credential", f"no credential type {kind!r}")
    en, nl, description = _NAMES[kind]
    return {
        "vct": vct_of(kind),
        "name": en,
        "description": description,
        "display": [
            {"locale": "en-US", "name": en, "description": description},
            {"locale": "nl-NL", "name": nl},
        ],
        "claims": [_claim(path, sd) for path, sd in _CLAIMS[kind]],
    }
