"""Domain-separated Ed25519 signing.

Every signature covers ``b"trackrecord:v1:" + purpose + b"\\x00" + payload``.
The purpose tag is part of the signed bytes, so a signature made for one purpose
(a statement, a login challenge) is never valid for another. Checkpoints are the
exception by design: they are C2SP signed notes, whose signed bytes are the note
text itself (see :mod:`ledger.checkpoint`); a note text never starts with our
prefix, because it starts with the log's origin line.
"""

from __future__ import annotations

import enum

import nacl.exceptions
import nacl.signing

from .errors import BadSignature

__all__ = ["SIGNATURE_PREFIX", "Purpose", "signing_message", "verify_signature"]

SIGNATURE_PREFIX = b"trackrecord:v1:"


class Purpose(enum.Enum):
    """What a signature is for; each value is a distinct domain-separation tag."""

    STATEMENT = "statement"
    REQUEST = "request"
    CHALLENGE = "challenge"
    LINK = "link"  # a countersignature binding a record on another ledger (ledger.link)
    REGISTRATION = "registration"  # a newcomer's request to register their key (ledger.onboarding)


def signing_message(purpose: Purpose, payload: bytes) -> bytes:
    """Return the exact bytes an Ed25519 signature for ``purpose`` covers."""
    return SIGNATURE_PREFIX + purpose.value.encode("ascii") + b"\x00" + payload


def verify_signature(
    *, public_key: bytes, purpose: Purpose, payload: bytes, signature: bytes
) -> None:
    """Verify ``signature`` over ``payload`` for ``purpose``; raise :class:`BadSignature`."""
    if len(signature) != 64:
        raise BadSignature(f"an Ed25519 signature has 64 bytes, got {len(signature)}")
    try:
        nacl.signing.VerifyKey(public_key).verify(signing_message(purpose, payload), signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as exc:
        raise BadSignature(f"signature does not verify for purpose {purpose.value!r}") from exc
