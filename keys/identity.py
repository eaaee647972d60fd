"""Ed25519 key pairs and key ids.

Key id derivation (also in docs/entry.md): the key id of an Ed25519 public key
``pk`` (32 raw bytes) is ``"ed25519:" + hex(SHA-256(b"trackrecord:key-id:v1\\x00" || pk))[:32]``,
i.e. the first 16 bytes of the prefixed digest, as 32 lowercase hex digits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.signing

from .signing import Purpose, signing_message, verify_signature

__all__ = ["KEY_ID_PREFIX", "Identity", "PublicKey", "key_id_for"]

KEY_ID_PREFIX = "ed25519:"
_KEY_ID_DOMAIN = b"trackrecord:key-id:v1\x00"


def key_id_for(public_key: bytes) -> str:
    """Return the key id of a raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
    return KEY_ID_PREFIX + hashlib.sha256(_KEY_ID_DOMAIN + public_key).hexdigest()[:32]


@dataclass(frozen=True)
class PublicKey:
    """A raw Ed25519 public key with its key id."""

    raw: bytes

    @property
    def key_id(self) -> str:
        return key_id_for(self.raw)

    def verify(self, *, purpose: Purpose, payload: bytes, signature: bytes) -> None:
        """Verify a domain-separated signature; raise :class:`keys.BadSignature`."""
        verify_signature(public_key=self.raw, purpose=purpose, payload=payload, signature=signature)


class Identity:
    """An Ed25519 signing key held by its owner. Never leaves the owner's machine."""

    __slots__ = ("_signing_key",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed has 32 bytes")
        self._signing_key = nacl.signing.SigningKey(seed)

    @classmethod
    def generate(cls) -> Identity:
        """Return a new identity from the operating system's random source."""
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def seed(self) -> bytes:
        return bytes(self._signing_key)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(bytes(self._signing_key.verify_key))

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, purpose: Purpose, payload: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature over ``payload`` for ``purpose``."""
        return self._signing_key.sign(signing_message(purpose, payload)).signature

    def sign_raw(self, message: bytes) -> bytes:
        """Sign ``message`` as is, for formats with their own framing (C2SP signed notes)."""
        return self._signing_key.sign(message).signature

    def __repr__(self) -> str:
        return f"Identity(key_id={self.key_id!r})"
