"""``did:key`` identifiers for Ed25519 keys, and the base58btc multibase they are written in.

A ``did:key`` for an Ed25519 public key (W3C CCG "The did:key Method v0.7") is
``did:key:`` followed by the multibase base58btc form (prefix ``z``) of the
multicodec ``ed25519-pub`` varint ``0xed 0x01`` and the 32-byte key, so it always
starts ``did:key:z6Mk``. Its one verification method is
``did:key:<mb>#<mb>``: the controller document can be derived from the
identifier alone, with no network.
"""

from __future__ import annotations

from ..errors import LedgerError

__all__ = [
    "ED25519_PUB_MULTICODEC",
    "DidKeyError",
    "base58btc_decode",
    "base58btc_encode",
    "did_key_for",
    "public_key_from_verification_method",
    "verification_method_for",
]

ED25519_PUB_MULTICODEC = b"\xed\x01"
"""The unsigned-varint multicodec prefix of an Ed25519 public key (``ed25519-pub``, 0xed)."""

# The Bitcoin base58 alphabet (draft-msporny-base58): no 0, O, I, l. Base58 is a plain
# big-endian base conversion, except that each leading zero byte becomes one leading "1".
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


class DidKeyError(LedgerError):
    """A did:key, verification method or base58btc string that is not well formed."""

    code = "bad_did_key"


def base58btc_encode(data: bytes) -> str:
    """Return ``data`` in base58 (Bitcoin alphabet), without the multibase prefix."""
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Return the bytes of base58 ``text``; raise :class:`DidKeyError` on a bad character."""
    number = 0
    for char in text:
        if char not in _INDEX:
            raise DidKeyError(f"not a base58btc character: {char!r}")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _multibase_key(public_key: bytes) -> str:
    if len(public_key) != 32:
        raise DidKeyError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}")
    return "z" + base58btc_encode(ED25519_PUB_MULTICODEC + public_key)


def did_key_for(public_key: bytes) -> str:
    """Return the ``did:key:z6Mk…`` identifier of an Ed25519 ``public_key``."""
    return "did:key:" + _multibase_key(public_key)


def verification_method_for(public_key: bytes) -> str:
    """Return the verification method id ``did:key:<mb>#<mb>`` of ``public_key``."""
    mb = _multibase_key(public_key)
    return f"did:key:{mb}#{mb}"


def public_key_from_verification_method(method: str) -> tuple[str, bytes]:
    """Return ``(did, public_key)`` of a ``did:key:<mb>#<mb>`` verification method.

    Raises :class:`DidKeyError` unless both halves are the same base58btc
    multibase ``ed25519-pub`` key of 32 bytes, re-encoded identically.
    """
    did, sep, fragment = method.partition("#")
    if not did.startswith("did:key:z") or not sep or did[len("did:key:") :] != fragment:
        raise DidKeyError(f"not an Ed25519 did:key verification method: {method!r}")
    raw = base58btc_decode(fragment[1:])
    if not raw.startswith(ED25519_PUB_MULTICODEC) or len(raw) != 34:
        raise DidKeyError("the did:key is not a 32-byte ed25519-pub multikey")
    public_key = raw[2:]
    if _multibase_key(public_key) != fragment:
        raise DidKeyError("the did:key is not in its canonical encoding")
    return did, public_key
