"""Encrypted keystore files: one file per identity, mode 0600.

Format (JSON, UTF-8)::

    {"format": "trackrecord-keystore/v1", "key_id": "...", "public_key": "<base64>",
     "label": "...", "kdf": {"name": "argon2id", "opslimit": N, "memlimit": N,
     "salt": "<base64 16 bytes>"}, "nonce": "<base64 24 bytes>",
     "ciphertext": "<base64>"}

The 32-byte Ed25519 seed is encrypted with XSalsa20-Poly1305 (``nacl.secret.SecretBox``)
under a key derived from the passphrase with Argon2id (``nacl.pwhash.argon2id``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from .errors import BadPassphrase, KeystoreError
from .identity import Identity

__all__ = ["FORMAT", "PASSPHRASE_ENV", "load_keystore", "save_keystore"]

FORMAT = "trackrecord-keystore/v1"
PASSPHRASE_ENV = "TRACKRECORD_PASSPHRASE"
_ARGON = nacl.pwhash.argon2id


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(
        _ARGON.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            passphrase.encode("utf-8"),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )
    )


def save_keystore(
    path: Path,
    identity: Identity,
    passphrase: str,
    *,
    label: str = "",
    opslimit: int = _ARGON.OPSLIMIT_INTERACTIVE,
    memlimit: int = _ARGON.MEMLIMIT_INTERACTIVE,
    overwrite: bool = False,
) -> None:
    """Write ``identity`` encrypted under ``passphrase`` to ``path`` with mode 0600.

    Raises :class:`KeystoreError` if the file exists and ``overwrite`` is false, or
    if the passphrase is empty.
    """
    if not passphrase:
        raise KeystoreError("refusing to write a keystore with an empty passphrase")
    salt = nacl.utils.random(_ARGON.SALTBYTES)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    ciphertext = box.encrypt(identity.seed, nonce).ciphertext
    document = {
        "format": FORMAT,
        "key_id": identity.key_id,
        "public_key": base64.b64encode(identity.public_key.raw).decode(),
        "label": label,
        "kdf": {
            "name": "argon2id",
            "opslimit": opslimit,
            "memlimit": memlimit,
            "salt": base64.b64encode(salt).decode(),
        },
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise KeystoreError(f"keystore {path} already exists") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2)
        fh.write("\n")
    os.chmod(path, 0o600)


def _field(doc: dict[str, Any], name: str, path: Path) -> Any:
    if name not in doc:
        raise KeystoreError(f"keystore {path} lacks the field {name!r}")
    return doc[name]


def load_keystore(path: Path, passphrase: str) -> Identity:
    """Open the keystore at ``path``; raise :class:`BadPassphrase` or :class:`KeystoreError`."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeystoreError(f"no keystore at {path}") from exc
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"keystore {path} is not readable JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeystoreError(f"{path} is not a {FORMAT} file")
    kdf = _field(doc, "kdf", path)
    try:
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(_field(doc, "nonce", path), validate=True)
        ciphertext = base64.b64decode(_field(doc, "ciphertext", path), validate=True)
        opslimit, memlimit = int(kdf["opslimit"]), int(kdf["memlimit"])
        if not (
            _ARGON.OPSLIMIT_MIN <= opslimit <= _ARGON.OPSLIMIT_SENSITIVE
            and _ARGON.MEMLIMIT_MIN <= memlimit <= _ARGON.MEMLIMIT_SENSITIVE
        ):
            # A swapped keystore must not make us spin or allocate without bound.
            raise KeystoreError(
                f"keystore {path}: Argon2id limits outside the accepted range "
                f"(opslimit {opslimit}, memlimit {memlimit})"
            )
        key = _derive(passphrase, salt, opslimit, memlimit)
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"keystore {path} is malformed: {exc}") from exc
    try:
        seed = nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError as exc:
        raise BadPassphrase(f"the passphrase does not open {path}") from exc
    identity = Identity(seed)
    if identity.key_id != doc.get("key_id"):
        raise KeystoreError(f"keystore {path}: key id does not match the decrypted key")
    return identity
