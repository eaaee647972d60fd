"""Witness cosignatures on checkpoints, per c2sp.org/tlog-cosignature (Ed25519 ``cosignature/v1``).

A cosignature is one more signature line on a checkpoint's signed note::

    — <witness name> base64(key hash (4 bytes) || timestamp (8 bytes, big-endian)
                             || Ed25519 signature (64 bytes))

The Ed25519 signature covers the message::

    cosignature/v1\\n
    time <timestamp, decimal>\\n
    <the checkpoint's note text, every body line including extensions>

The key hash is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` and a
witness's verifier key is ``name+hex8(key hash)+base64(0x04 || public key)``
(a vkey of signature type ``0x04``). Exact bytes with a worked example are in
``docs/witness.md``. The code is written here (some forty lines over
:mod:`ledger.checkpoint`) because no maintained Python package implements C2SP
cosignatures.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from keys.identity import Identity

from .checkpoint import (
    CheckpointError,
    NoteSignature,
    note_signatures,
    parse_checkpoint_body,
)
from .errors import MalformedInput, ProofError

__all__ = [
    "COSIGNATURE_HEADER",
    "SIGNATURE_TYPE_COSIGNATURE_V1",
    "Cosignature",
    "CosignerKey",
    "QuorumNotMet",
    "add_cosignatures",
    "cosign",
    "cosignature_message",
    "cosigner_key",
    "cosigner_signer_key",
    "parse_cosigner_key",
    "parse_cosigner_signer_key",
    "verify_cosignatures",
]

SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04
"""Signature type byte of Ed25519 ``cosignature/v1`` (c2sp.org/tlog-cosignature)."""

COSIGNATURE_HEADER = "cosignature/v1\n"
_SIG_PREFIX = "\u2014 "
_TIMESTAMP_SIZE = 8
_SIGNATURE_SIZE = 64
_MAX_TIMESTAMP = 2**63 - 1
_SIGNER_KEY_PREFIX = "PRIVATE+KEY+"


class QuorumNotMet(ProofError):
    """Fewer valid cosignatures by the given witnesses than the quorum asks for.

    The evidence names the ``quorum``, the witnesses that ``cosigned`` and the
    ``witnesses`` asked for (verifier keys).
    """

    code = "witness_quorum"


@dataclass(frozen=True)
class CosignerKey:
    """A witness's cosigning key: ``name``, 4-byte ``key_hash``, 32-byte Ed25519 ``public_key``."""

    name: str
    key_hash: bytes
    public_key: bytes

    @classmethod
    def for_key(cls, name: str, public_key: bytes) -> CosignerKey:
        """Return the key of ``public_key`` under ``name``, computing the key hash."""
        return cls(name, cosigner_key_hash(name, public_key), public_key)

    @property
    def key_id(self) -> str:
        """Return ``name+hex(key_hash)``."""
        return f"{self.name}+{self.key_hash.hex()}"

    def __str__(self) -> str:
        """Return the verifier key string (see :func:`cosigner_key`)."""
        return cosigner_key(self.name, self.public_key)


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: the witness ``key`` and the ``timestamp`` (POSIX seconds)."""

    key: CosignerKey
    timestamp: int


def cosigner_key_hash(name: str, public_key: bytes) -> bytes:
    """Return ``SHA-256(name || "\\n" || 0x04 || public_key)[:4]``."""
    _check_name(name)
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise MalformedInput("an Ed25519 public key has 32 bytes", field="public_key")
    data = name.encode("utf-8") + b"\n" + bytes([SIGNATURE_TYPE_COSIGNATURE_V1]) + public_key
    return hashlib.sha256(data).digest()[:4]


def cosigner_key(name: str, public_key: bytes) -> str:
    """Return the witness verifier key ``name+hex8(key hash)+base64(0x04 || public_key)``."""
    key_hash = cosigner_key_hash(name, public_key)
    data = bytes([SIGNATURE_TYPE_COSIGNATURE_V1]) + public_key
    return f"{name}+{key_hash.hex()}+{_b64(data)}"


def cosigner_signer_key(name: str, signer: Identity) -> str:
    """Return the secret ``PRIVATE+KEY+name+hex8(hash)+base64(0x04 || seed)``; keep it secret."""
    key_hash = cosigner_key_hash(name, signer.public_key.raw)
    data = bytes([SIGNATURE_TYPE_COSIGNATURE_V1]) + signer.seed
    return f"{_SIGNER_KEY_PREFIX}{name}+{key_hash.hex()}+{_b64(data)}"


def parse_cosigner_key(text: str) -> CosignerKey:
    """Parse a witness verifier key (type ``0x04``) and return its :class:`CosignerKey`.

    Raises :class:`~ledger.errors.MalformedInput` (``bad_witness_key``) for a
    malformed key, another signature type, or a key hash that does not match.
    """
    name, hash_hex, data = _split(text, field="witness_key")
    key = CosignerKey.for_key(name, data)
    if key.key_hash.hex() != hash_hex:
        raise MalformedInput("witness key hash does not match its key", code="bad_witness_key")
    return key


def parse_cosigner_signer_key(text: str) -> tuple[str, Identity]:
    """Parse a secret witness key and return ``(name, identity)``; never quotes the key.

    Raises :class:`~ledger.errors.MalformedInput` (``bad_witness_key``) if malformed.
    """
    if not text.startswith(_SIGNER_KEY_PREFIX):
        raise MalformedInput(
            "witness signer key must start with PRIVATE+KEY+", code="bad_witness_key"
        )
    name, hash_hex, seed = _split(text[len(_SIGNER_KEY_PREFIX) :], field="witness_signer_key")
    identity = Identity(seed)
    if cosigner_key_hash(name, identity.public_key.raw).hex() != hash_hex:
        raise MalformedInput("witness signer key hash does not match", code="bad_witness_key")
    return name, identity


def cosignature_message(text: str, timestamp: int) -> bytes:
    """Return the signed bytes ``cosignature/v1\\ntime <timestamp>\\n`` + ``text``.

    ``text`` is the checkpoint's note text (the body, without signature lines).
    Raises :class:`~ledger.checkpoint.CheckpointError` if it is not a checkpoint
    body or the timestamp is out of ``0..2**63-1``.
    """
    parse_checkpoint_body(text)
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise CheckpointError("cosignature timestamp out of range", timestamp=timestamp)
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


def cosign(text: str, *, name: str, signer: Identity, timestamp: int) -> str:
    """Return the cosignature line (with its newline) of ``signer`` on the checkpoint ``text``."""
    key_hash = cosigner_key_hash(name, signer.public_key.raw)
    signature = signer.sign_raw(cosignature_message(text, timestamp))
    raw = key_hash + timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature
    return f"{_SIG_PREFIX}{name} {_b64(raw)}\n"


def add_cosignatures(note: str, lines: str, witnesses: Iterable[CosignerKey]) -> str:
    """Return ``note`` with those cosignature ``lines`` that verify by ``witnesses`` appended.

    Lines by unknown keys are dropped (c2sp.org/tlog-witness: the client ignores
    them). Raises :class:`~ledger.checkpoint.CheckpointError` if ``lines`` are not
    signature lines or a line by a known witness does not verify.
    """
    candidate = note + lines
    found = _verified(candidate, list(witnesses))
    text, _ = note_signatures(note)
    present = set(note[len(text) + 1 :].splitlines(keepends=True))
    kept = [
        line
        for line in lines.splitlines(keepends=True)
        if line not in present
        and any(line.startswith(f"{_SIG_PREFIX}{c.key.name} ") for c in found)
    ]
    return note + "".join(kept)


def verify_cosignatures(
    note: str, *, witnesses: Iterable[CosignerKey], quorum: int
) -> list[Cosignature]:
    """Verify ``note``'s cosignatures by ``witnesses``; return them if at least ``quorum``.

    Cosignatures by other keys are ignored; each witness counts once. Raises
    :class:`~ledger.checkpoint.CheckpointError` if a line by a given witness does
    not verify, and :class:`QuorumNotMet` if fewer than ``quorum`` witnesses cosigned.
    """
    keys = list(witnesses)
    found = _verified(note, keys)
    if len(found) < quorum:
        raise QuorumNotMet(
            f"{len(found)} of the given witnesses cosigned the checkpoint, {quorum} required",
            quorum=quorum,
            cosigned=[str(c.key) for c in found],
            witnesses=[str(k) for k in keys],
        )
    return found


def _verified(note: str, keys: list[CosignerKey]) -> list[Cosignature]:
    text, signatures = note_signatures(note)
    by_id = {(k.name, k.key_hash): k for k in keys}
    found: dict[str, Cosignature] = {}
    for sig in signatures:
        key = by_id.get((sig.name, sig.key_hash))
        if key is None:
            continue
        timestamp = _check(sig, key, text)
        found.setdefault(key.key_id, Cosignature(key, timestamp))
    return list(found.values())


def _check(sig: NoteSignature, key: CosignerKey, text: str) -> int:
    raw = sig.signature
    if len(raw) != _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
        raise CheckpointError("cosignature has the wrong length", key=key.key_id)
    timestamp = int.from_bytes(raw[:_TIMESTAMP_SIZE], "big")
    message = cosignature_message(text, timestamp)
    try:
        nacl.signing.VerifyKey(key.public_key).verify(message, raw[_TIMESTAMP_SIZE:])
    except (nacl.exceptions.BadSignatureError, ValueError) as exc:
        raise CheckpointError("invalid cosignature by a known witness", key=key.key_id) from exc
    return timestamp


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise MalformedInput(
            "witness name must be non-empty without spaces or '+'", code="bad_witness_key"
        )


def _split(text: str, *, field: str) -> tuple[str, str, bytes]:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise MalformedInput(
            "witness key must have the form name+hash+keydata", code="bad_witness_key"
        )
    name, hash_hex, key_b64 = parts
    _check_name(name)
    try:
        data = base64.b64decode(key_b64, validate=True)
    except ValueError as exc:
        raise MalformedInput("witness key data is not base64", code="bad_witness_key") from exc
    if len(data) != 33 or data[0] != SIGNATURE_TYPE_COSIGNATURE_V1 or _b64(data) != key_b64:
        raise MalformedInput(
            f"witness key data must be 0x04 followed by 32 bytes ({field})", code="bad_witness_key"
        )
    return name, hash_hex, data[1:]
