"""Signed checkpoints: C2SP ``tlog-checkpoint`` bodies in C2SP ``signed-note`` envelopes.

A checkpoint commits to the log's Merkle tree at one size. Its body is the note
text (c2sp.org/tlog-checkpoint)::

    <origin>\\n
    <tree size, decimal, no leading zeros>\\n
    <root hash, standard base64 of 32 bytes>\\n
    [<extension line>\\n ...]

and the operator signs it as a signed note (c2sp.org/signed-note) with Ed25519
(signature type ``0x01``), byte-compatible with ``golang.org/x/mod/sumdb/note``::

    <text>\\n
    — <key name> base64(key hash (4 bytes) || Ed25519 signature over <text>)\\n

The key hash is ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; a verifier
key is written ``<name>+<hex key hash>+base64(0x01 || public key)``. The exact
byte format, with a worked example, is in ``docs/checkpoint.md``.

Verification fails closed: :func:`open_note` and :func:`verify_checkpoint` raise
:class:`CheckpointError` unless at least one known key signed and every
signature by a known key verifies. Signatures by unknown keys are ignored, as
the spec requires (they may be witnesses' cosignatures or a rotated key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from keys.identity import Identity

from .errors import MalformedInput, ProofError

__all__ = [
    "MAX_SIGNATURES",
    "MAX_TREE_SIZE",
    "ROOT_HASH_SIZE",
    "SIGNATURE_TYPE_ED25519",
    "Checkpoint",
    "CheckpointError",
    "NoteSignature",
    "NoteVerifier",
    "note_key_hash",
    "note_signatures",
    "open_note",
    "parse_checkpoint_body",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "signer_key",
    "verifier_key",
    "verify_checkpoint",
]

SIGNATURE_TYPE_ED25519 = 0x01
"""Signature type byte of Ed25519 in c2sp.org/signed-note."""

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (the Go note package's limit; the spec
asks verifiers to accept at least 16)."""

MAX_TREE_SIZE = 2**64 - 1
"""Largest tree size (an unsigned 64-bit integer, as in the Go implementations)."""

ROOT_HASH_SIZE = 32
"""Length of an RFC 9162 (SHA-256) Merkle tree root."""

_SIG_PREFIX = "\u2014 "  # em dash, space
_SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
_KEY_HASH_SIZE = 4
_ED25519_SIGNATURE_SIZE = 64
_TREE_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)
_KEY_HASH_RE = re.compile(r"[0-9a-f]{8}", re.ASCII)
_FORBIDDEN_CHAR_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")
# Unicode White_Space (what Go's unicode.IsSpace reports), on top of str.isspace().
_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class CheckpointError(ProofError):
    """A signed note or checkpoint that is malformed or does not verify.

    ``evidence()`` carries the details: the offending ``key`` (``name+hash``), the
    ``line`` number, the ``unknown_keys`` that signed, or ``expected``/``actual``.
    """

    code = "bad_checkpoint"


# --- checkpoint body ---------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head as the body of a C2SP checkpoint.

    ``origin`` names the log, ``size`` is the number of leaves, ``root_hash`` the
    32-byte RFC 9162 root at that size, and ``extensions`` the extra body lines
    (without their newlines). Construction raises :class:`CheckpointError` for a
    value that has no valid body form.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_body_line(self.origin, what="origin")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointError("tree size must be an int", field="size")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} out of range", field="size")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != ROOT_HASH_SIZE:
            raise CheckpointError(f"root hash must be {ROOT_HASH_SIZE} bytes", field="root_hash")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("extensions must be a tuple of str", field="extensions")
        for extension in self.extensions:
            _check_body_line(extension, what="extension line")

    def body(self) -> str:
        """Return the note text: origin, size, base64 root, extensions, each + ``"\\n"``."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint_body(text: str | bytes) -> Checkpoint:
    """Parse a checkpoint note text strictly and return the :class:`Checkpoint`.

    Raises :class:`CheckpointError` for text that is not UTF-8, contains control
    characters other than newline, does not end in a newline, has fewer than
    three lines or an empty line, a size that is not canonical decimal in
    ``0..2**64-1``, or a root that is not canonical base64 of 32 bytes.
    """
    text = _as_note_str(text, what="checkpoint body")
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint body must end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint body has {len(lines)} lines, needs at least 3")
    for number, line in enumerate(lines, start=1):
        if not line:
            raise CheckpointError("checkpoint body has an empty line", line=number)
    origin, size_line, root_line, *extensions = lines
    if not _TREE_SIZE_RE.fullmatch(size_line):
        raise CheckpointError("tree size is not a canonical decimal number", line=2)
    size = int(size_line)
    if size > MAX_TREE_SIZE:
        raise CheckpointError("tree size does not fit in 64 bits", line=2)
    root_hash = _b64decode_canonical(root_line)
    if root_hash is None:
        raise CheckpointError("root hash is not canonical base64", line=3)
    if len(root_hash) != ROOT_HASH_SIZE:
        raise CheckpointError(
            f"root hash has {len(root_hash)} bytes, expected {ROOT_HASH_SIZE}", line=3
        )
    return Checkpoint(origin, size, root_hash, tuple(extensions))


# --- keys ---------------------------------------------------------------------


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte key hash ``SHA-256(name || "\\n" || 0x01 || public_key)[:4]``.

    Raises :class:`~ledger.errors.MalformedInput` for an invalid key name or a
    public key that is not 32 bytes.
    """
    _check_key_name(name)
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise MalformedInput("an Ed25519 public key has 32 bytes", field="public_key")
    data = name.encode("utf-8") + b"\n" + bytes([SIGNATURE_TYPE_ED25519]) + public_key
    return hashlib.sha256(data).digest()[:_KEY_HASH_SIZE]


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted Ed25519 note key: key ``name``, 4-byte ``key_hash``, 32-byte ``public_key``.

    Construction raises :class:`~ledger.errors.MalformedInput` unless the name is
    valid and ``key_hash`` is the hash of ``name`` and ``public_key``.
    """

    name: str
    key_hash: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if note_key_hash(self.name, self.public_key) != self.key_hash:
            raise MalformedInput("key hash does not match name and public key", field="key_hash")

    @classmethod
    def for_key(cls, name: str, public_key: bytes) -> NoteVerifier:
        """Return the verifier for ``public_key`` under ``name``, computing the key hash."""
        return cls(name, note_key_hash(name, public_key), public_key)

    @property
    def key_id(self) -> str:
        """Return ``name+hex(key_hash)``, how errors and logs name this key."""
        return f"{self.name}+{self.key_hash.hex()}"

    def __str__(self) -> str:
        """Return the verifier key string (see :func:`verifier_key`)."""
        return verifier_key(self.name, self.public_key)


def verifier_key(name: str, public_key: bytes) -> str:
    """Return the verifier key string ``name+hex8(key hash)+base64(0x01 || public_key)``."""
    key_hash = note_key_hash(name, public_key)
    return f"{name}+{key_hash.hex()}+{_b64encode(bytes([SIGNATURE_TYPE_ED25519]) + public_key)}"


def parse_verifier_key(text: str) -> NoteVerifier:
    """Parse a verifier key string and return its :class:`NoteVerifier`.

    Raises :class:`~ledger.errors.MalformedInput` for a bad name, a key hash that
    is not 8 lowercase hex digits or does not match, key data that is not
    canonical base64, or a key that is not ``0x01`` followed by 32 bytes.
    """
    name, hash_hex, public_key = _split_key(text, field="verifier_key")
    return NoteVerifier(name, bytes.fromhex(hash_hex), public_key)


def signer_key(name: str, signer: Identity) -> str:
    """Return the secret signer key ``PRIVATE+KEY+name+hex8(hash)+base64(0x01 || seed)``.

    Anyone holding this string can sign as ``signer``; keep it secret.
    """
    key_hash = note_key_hash(name, signer.public_key.raw)
    key_data = _b64encode(bytes([SIGNATURE_TYPE_ED25519]) + signer.seed)
    return f"{_SIGNER_KEY_PREFIX}{name}+{key_hash.hex()}+{key_data}"


def parse_signer_key(text: str) -> tuple[str, Identity]:
    """Parse a signer key string and return ``(key name, identity)``.

    Raises :class:`~ledger.errors.MalformedInput` (never quoting the key) for a
    malformed string or a key hash that does not match the derived public key.
    """
    if not text.startswith(_SIGNER_KEY_PREFIX):
        raise MalformedInput("signer key must start with PRIVATE+KEY+", field="signer_key")
    name, hash_hex, seed = _split_key(text[len(_SIGNER_KEY_PREFIX) :], field="signer_key")
    identity = Identity(seed)
    if note_key_hash(name, identity.public_key.raw).hex() != hash_hex:
        raise MalformedInput("signer key hash does not match its key", field="signer_key")
    return name, identity


# --- signed notes ----------------------------------------------------------------


def sign_note(text: str, *, name: str, signer: Identity) -> str:
    """Return the signed note: ``text``, a blank line, and one signature line.

    The signature line is ``"— " + name + " " + base64(key hash || signature)
    + "\\n"`` where the Ed25519 signature covers the UTF-8 bytes of ``text``
    exactly. Raises :class:`~ledger.errors.MalformedInput` for an invalid key
    name or a text that is empty, does not end in a newline, or contains control
    characters other than newline.
    """
    _check_key_name(name)
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedInput("note text must end in a newline", field="text")
    if _FORBIDDEN_CHAR_RE.search(text) or not _is_utf8_encodable(text):
        raise MalformedInput("note text has control characters or lone surrogates", field="text")
    key_hash = note_key_hash(name, signer.public_key.raw)
    signature = signer.sign_raw(text.encode("utf-8"))
    return f"{text}\n{_SIG_PREFIX}{name} {_b64encode(key_hash + signature)}\n"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key ``name``, 4-byte ``key_hash``, ``signature`` bytes."""

    name: str
    key_hash: bytes
    signature: bytes

    @property
    def key_id(self) -> str:
        """Return ``name+hex(key_hash)``."""
        return f"{self.name}+{self.key_hash.hex()}"


def note_signatures(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into ``(text, signature lines)`` without verifying any signature.

    The text is everything up to and including the newline before the last blank
    line. Raises :class:`CheckpointError` if the note is malformed or has more than
    :data:`MAX_SIGNATURES` signature lines.
    """
    note = _as_note_str(note, what="note")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise CheckpointError("signature block must end in a newline")
    raw_lines = block[:-1].split("\n")
    if len(raw_lines) > MAX_SIGNATURES:
        raise CheckpointError(
            f"note has {len(raw_lines)} signature lines, at most {MAX_SIGNATURES} allowed"
        )
    return text, [_parse_signature_line(line, number) for number, line in enumerate(raw_lines, 1)]


def open_note(note: str | bytes, *, verifiers: Iterable[NoteVerifier]) -> tuple[str, list[str]]:
    """Verify a signed note and return ``(text, names of the known keys that signed)``.

    The text is everything up to and including the newline before the last blank
    line. Signatures by keys not in ``verifiers`` (by name and key hash) are
    ignored. Raises :class:`CheckpointError` if the note is malformed, has more
    than :data:`MAX_SIGNATURES` signature lines, uses a (name, key hash) shared
    by two different verifiers, has a signature by a known key that does not
    verify, or has no signature by a known key.
    """
    text, signatures = note_signatures(note)
    known, ambiguous = _index_verifiers(verifiers)
    message = text.encode("utf-8")
    signed_by: list[str] = []
    unknown: list[str] = []
    for sig in signatures:
        key = (sig.name, sig.key_hash)
        if key in ambiguous:
            raise CheckpointError("two different verifiers share this key", key=sig.key_id)
        verifier = known.get(key)
        if verifier is None:
            unknown.append(sig.key_id)
            continue
        if not _ed25519_verifies(verifier.public_key, message, sig.signature):
            raise CheckpointError("invalid signature by a known key", key=sig.key_id)
        if sig.name not in signed_by:
            signed_by.append(sig.name)
    if not signed_by:
        raise CheckpointError("note has no signature by a known key", unknown_keys=unknown)
    return text, signed_by


def sign_checkpoint(checkpoint: Checkpoint, *, name: str, signer: Identity) -> str:
    """Return ``checkpoint``'s body signed as a note by ``signer`` under key ``name``."""
    return sign_note(checkpoint.body(), name=name, signer=signer)


def verify_checkpoint(
    note: str | bytes, *, verifiers: Iterable[NoteVerifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note and return its parsed :class:`Checkpoint`.

    If ``origin`` is given, the checkpoint must name that log. Raises
    :class:`CheckpointError` for any failure of :func:`open_note` or
    :func:`parse_checkpoint_body`, or for a different origin.
    """
    text, _ = open_note(note, verifiers=verifiers)
    checkpoint = parse_checkpoint_body(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            "checkpoint is for a different log", expected=origin, actual=checkpoint.origin
        )
    return checkpoint


# --- helpers ------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode_canonical(text: str) -> bytes | None:
    """Decode standard padded base64; None unless ``text`` is its canonical encoding."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if _b64encode(data) == text else None


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_note_str(data: str | bytes, *, what: str) -> str:
    """Return ``data`` as str if it is UTF-8 without control characters but newline."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"{what} is not valid UTF-8") from exc
    elif not isinstance(data, str) or not _is_utf8_encodable(data):
        raise CheckpointError(f"{what} is not valid UTF-8 text")
    if _FORBIDDEN_CHAR_RE.search(data):
        raise CheckpointError(f"{what} contains a control character other than newline")
    return data


def _check_body_line(value: object, *, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise CheckpointError(f"{what} must be a non-empty str")
    if "\n" in value or _FORBIDDEN_CHAR_RE.search(value) or not _is_utf8_encodable(value):
        raise CheckpointError(f"{what} contains a newline or control character")


def _is_valid_key_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and _is_utf8_encodable(name)
        and not any(ch.isspace() or ch in _WHITE_SPACE for ch in name)
    )


def _check_key_name(name: str) -> None:
    if not _is_valid_key_name(name):
        raise MalformedInput("key name must be non-empty without spaces or '+'", field="name")


def _split_key(text: str, *, field: str) -> tuple[str, str, bytes]:
    """Split ``name+hash+keydata``; return name, hash hex and the 32 key bytes."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise MalformedInput("key must have the form name+hash+keydata", field=field)
    name, hash_hex, key_b64 = parts
    if not _is_valid_key_name(name):
        raise MalformedInput("key name must be non-empty without spaces or '+'", field=field)
    if not _KEY_HASH_RE.fullmatch(hash_hex):
        raise MalformedInput("key hash must be 8 lowercase hex digits", field=field)
    key_data = _b64decode_canonical(key_b64)
    if key_data is None:
        raise MalformedInput("key data is not canonical base64", field=field)
    if len(key_data) != 33 or key_data[0] != SIGNATURE_TYPE_ED25519:
        raise MalformedInput("key data must be 0x01 followed by 32 bytes", field=field)
    return name, hash_hex, key_data[1:]


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise CheckpointError("signature line must start with an em dash and space", line=number)
    name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    if not _is_valid_key_name(name):
        raise CheckpointError("signature line has an invalid key name", line=number)
    raw = _b64decode_canonical(encoded)
    if raw is None or len(raw) <= _KEY_HASH_SIZE:
        raise CheckpointError("signature is not canonical base64 of 5+ bytes", line=number)
    return NoteSignature(name, raw[:_KEY_HASH_SIZE], raw[_KEY_HASH_SIZE:])


def _index_verifiers(
    verifiers: Iterable[NoteVerifier],
) -> tuple[dict[tuple[str, bytes], NoteVerifier], set[tuple[str, bytes]]]:
    """Index verifiers by (name, key hash); also return keys claimed by two different ones."""
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    ambiguous: set[tuple[str, bytes]] = set()
    for verifier in verifiers:
        if not isinstance(verifier, NoteVerifier):
            raise TypeError("verifiers must be NoteVerifier instances")
        key = (verifier.name, verifier.key_hash)
        if known.setdefault(key, verifier) != verifier:
            ambiguous.add(key)
    return known, ambiguous


def _ed25519_verifies(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != _ED25519_SIGNATURE_SIZE:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True
