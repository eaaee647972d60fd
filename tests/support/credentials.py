"""What the credential tests share: an independent proof verifier and a JSON-LD check.

:func:`independent_verify` checks an ``eddsa-jcs-2022`` proof per vc-di-eddsa
§3.3.2-3.3.6 with nothing from :mod:`ledger.credentials` (its own base58, rfc8785
for JCS, PyNaCl). :func:`expand` expands a credential with pyld from local copies
of the published contexts (tests/data/credentials/README.md; no network) and
:func:`undefined_terms` finds every member or type no context defines.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing
import rfc8785
from pyld import jsonld

from ledger.credentials import OB_V3_CONTEXT, TRACKRECORD_CONTEXT, VC_V2_CONTEXT

__all__ = ["DATA", "b58decode", "expand", "independent_verify", "load_data", "undefined_terms"]

DATA = Path(__file__).parent.parent / "data" / "credentials"


def load_data(name: str) -> Any:
    """The JSON file ``name`` of tests/data/credentials."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text: str) -> bytes:
    """base58btc (Bitcoin alphabet), leading '1's as zero bytes."""
    n = 0
    for ch in text:
        n = n * 58 + _B58.index(ch)
    lead = len(text) - len(text.lstrip("1"))
    return b"\x00" * lead + (n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b"")


def independent_verify(doc: dict[str, Any]) -> bool:
    """eddsa-jcs-2022 verification per vc-di-eddsa §3.3.2-3.3.6, with did:key resolution."""
    proof = dict(doc["proof"])
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != "eddsa-jcs-2022":
        return False
    method = proof["verificationMethod"]
    did, _, frag = method.partition("#")
    if not did.startswith("did:key:z") or did[8:] != frag:
        return False
    issuer = doc["issuer"]["id"] if isinstance(doc["issuer"], dict) else doc["issuer"]
    if issuer != did:
        return False
    multikey = b58decode(frag[1:])
    if multikey[:2] != b"\xed\x01" or len(multikey) != 34:
        return False
    signature = b58decode(proof.pop("proofValue")[1:])
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    if "@context" in proof and proof["@context"] != unsecured["@context"]:
        return False
    data = hashlib.sha256(rfc8785.dumps(proof)).digest()
    data += hashlib.sha256(rfc8785.dumps(unsecured)).digest()
    try:
        nacl.signing.VerifyKey(multikey[2:]).verify(data, signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    inner = doc["credentialSubject"].get("achievement", {}).get("endorsement", [])
    return all(independent_verify(e) for e in inner)


# Local copies of the published contexts (tests/data/credentials/README.md): no network.
_CONTEXT_FILES = {
    VC_V2_CONTEXT: "contexts/credentials-v2.jsonld",
    OB_V3_CONTEXT: "contexts/ob-context-3.0.3.json",
}
# pyld has no "safe mode" (JSON-LD 1.1 drops undefined terms silently), so each credential
# is expanded with this @vocab appended last: any member or type no context defines
# expands to an IRI under it, and is found. The W3C undefined-terms/v2 context works alike.
_UNDEFINED = "urn:test:undefined#"


def expand(doc: dict[str, Any], trackrecord: dict[str, Any]) -> list[Any]:
    """``doc`` expanded by pyld, ``trackrecord`` standing for the trackrecord context."""

    def load(url: str, options: Any = None) -> dict[str, Any]:
        # a KeyError for any other URL: nothing is fetched from the network
        document = trackrecord if url == TRACKRECORD_CONTEXT else load_data(_CONTEXT_FILES[url])
        return {"contextUrl": None, "documentUrl": url, "document": document}

    checked = dict(doc, **{"@context": [*doc["@context"], {"@vocab": _UNDEFINED}]})
    expanded: list[Any] = jsonld.expand(checked, {"documentLoader": load})
    return expanded


def undefined_terms(expanded: Any) -> set[str]:
    """The members and types of an :func:`expand`-ed document that no context defines."""
    found: set[str] = set()
    if isinstance(expanded, list):
        for item in expanded:
            found |= undefined_terms(item)
    elif isinstance(expanded, dict):
        for key, value in expanded.items():
            if key.startswith(_UNDEFINED):
                found.add(key.removeprefix(_UNDEFINED))
            if key == "@type":
                types = value if isinstance(value, list) else [value]
                found |= {t.removeprefix(_UNDEFINED) for t in types if t.startswith(_UNDEFINED)}
            found |= undefined_terms(value)
    return found
