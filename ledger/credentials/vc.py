"""W3C Verifiable Credentials Data Model 2.0 documents: the envelope, the issuer, verifying.

:class:`CredentialIssuer` is a key that signs credentials as the ``did:key`` of its
Ed25519 public key; :func:`credential` builds the VC 2.0 envelope (``@context``
starting with the v2 context, ``type``, ``issuer``, ``validFrom``,
``credentialSubject``, ``evidence``); :func:`verify_credential` checks the proof
of a credential and of every credential embedded in its ``endorsement`` lists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keys import Identity

from .data_integrity import CredentialError, sign_document, verify_proof
from .did_key import did_key_for, verification_method_for

__all__ = [
    "VC_V2_CONTEXT",
    "CredentialIssuer",
    "credential",
    "credential_id",
    "each_credential",
    "issuer_id",
    "verify_credential",
]

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"


@dataclass(frozen=True)
class CredentialIssuer:
    """An issuer: its ``did:key``, display name and raw Ed25519 signing function."""

    did: str
    name: str
    verification_method: str
    sign: Callable[[bytes], bytes]

    @classmethod
    def from_identity(cls, identity: Identity, name: str) -> CredentialIssuer:
        """Return the issuer whose key is ``identity``'s, named ``name``."""
        raw = identity.public_key.raw
        return cls(did_key_for(raw), name, verification_method_for(raw), identity.sign_raw)

    def profile(self) -> dict[str, Any]:
        """Return the issuer as an Open Badges ``Profile`` object (also a VC 2.0 issuer)."""
        return {"id": self.did, "type": ["Profile"], "name": self.name}

    def secure(self, document: Mapping[str, Any], *, created: str) -> dict[str, Any]:
        """Return ``document`` with this issuer's ``eddsa-jcs-2022`` proof."""
        return sign_document(
            document, sign=self.sign, verification_method=self.verification_method, created=created
        )


def credential_id(origin: str, kind: str, ref: str) -> str:
    """Return a stable ``urn:uuid`` for the credential of ``kind`` about ``ref`` in ``origin``."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"trackrecord:{origin}:{kind}:{ref}"))


def credential(
    *,
    contexts: Sequence[str],
    types: Sequence[str],
    id: str,
    name: str,
    description: str,
    issuer: CredentialIssuer,
    valid_from: str,
    subject: Mapping[str, Any],
    evidence: Sequence[Mapping[str, Any]] = (),
    **extra: Any,
) -> dict[str, Any]:
    """Return an unsigned VC 2.0 credential; ``extra`` members are added as given."""
    doc: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT, *contexts],
        "id": id,
        "type": ["VerifiableCredential", *types],
        "name": name,
        "description": description,
        "issuer": issuer.profile(),
        "validFrom": valid_from,
        "credentialSubject": dict(subject),
    }
    if evidence:
        doc["evidence"] = [dict(e) for e in evidence]
    doc.update(extra)
    return doc


def _embedded(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The credentials embedded in ``endorsement`` lists of the credential and its achievement."""
    holders = [document, document.get("credentialSubject"), document.get("issuer")]
    subject = document.get("credentialSubject")
    if isinstance(subject, Mapping):
        holders.append(subject.get("achievement"))
    for holder in holders:
        if isinstance(holder, Mapping):
            for inner in holder.get("endorsement", ()) or ():
                if not isinstance(inner, Mapping):
                    raise CredentialError("bad_format", "an endorsement is not a credential")
                yield inner


def each_credential(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """``document`` and every credential embedded in it, depth first (endorsements)."""
    yield document
    for inner in _embedded(document):
        yield from each_credential(inner)


def issuer_id(document: Mapping[str, Any]) -> str:
    """The id of a credential's ``issuer`` (a string or an object's ``id``).

    Raises :class:`CredentialError` ``bad_format`` if it has none."""
    issuer = document.get("issuer")
    found = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(found, str):
        raise CredentialError("bad_format", "the credential has no issuer id")
    return found


def verify_credential(document: Mapping[str, Any], *, issuer: str | None = None) -> None:
    """Verify a credential's proof, then every embedded endorsement's; raise on the first fault.

    The proof's key must be the credential's ``issuer`` (a ``did:key``); with
    ``issuer`` given, that must be it too. Raises :class:`CredentialError`.
    """
    if VC_V2_CONTEXT not in (document.get("@context") or [])[:1]:
        raise CredentialError("bad_format", "the first @context is not the VC 2.0 context")
    found = issuer_id(document)
    if issuer is not None and found != issuer:
        raise CredentialError("wrong_issuer", "not issued by the expected issuer", issuer=found)
    verify_proof(document, controller=found)
    for inner in _embedded(document):
        verify_credential(inner, issuer=issuer)
