"""Keystore files and passphrases as the command-line tool handles them.

The passphrase comes from ``TRACKRECORD_PASSPHRASE`` or, on a terminal, from a
hidden prompt; without either the tool stops with exit code 4 instead of
waiting for input that never comes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import typer

from keys import Identity, KeystoreError, key_id_for, load_keystore, save_keystore
from keys.keystore import FORMAT, PASSPHRASE_ENV
from ledger.canonical import b64decode

from ..settings import Settings
from .errors import CliError, ExitCode

__all__ = [
    "file_sha256",
    "get_passphrase",
    "load_identity",
    "public_key_from",
    "read_public_key",
    "write_keystore",
]

_CHUNK = 1 << 20


def _interactive() -> bool:
    """True when a person can answer a prompt (standard input is a terminal)."""
    return sys.stdin.isatty()


def get_passphrase(settings: Settings, *, path: Path, new: bool) -> str:
    """Return the passphrase for the keystore at ``path``.

    From ``settings.passphrase`` (``TRACKRECORD_PASSPHRASE``) if set, else from
    a hidden prompt (asked twice when ``new``). Raises :class:`CliError` (exit
    code 4) when neither is available.
    """
    if settings.passphrase is not None:
        return settings.passphrase
    if not _interactive():
        raise CliError(
            "no_passphrase",
            f"a passphrase is needed for {path}: set {PASSPHRASE_ENV} "
            "or run the command in a terminal to be asked",
            exit_code=ExitCode.KEY,
        )
    verb = "Choose a passphrase" if new else "Passphrase"
    answer: str = typer.prompt(f"{verb} for {path}", hide_input=True, confirmation_prompt=new)
    return answer


def load_identity(settings: Settings, person: str, *, passphrase: str | None = None) -> Identity:
    """Open ``person``'s keystore with ``passphrase`` (else asked as :func:`get_passphrase` does).

    Raises :class:`keys.KeystoreError` if there is no readable keystore and
    :class:`keys.BadPassphrase` if the passphrase does not open it.
    """
    path = settings.keystore_path(person)
    if not path.exists():
        raise KeystoreError(f"no keystore for {person} at {path} (see: trackrecord keys create)")
    secret = (
        passphrase if passphrase is not None else get_passphrase(settings, path=path, new=False)
    )
    return load_keystore(path, secret)


def write_keystore(
    settings: Settings, identity: Identity, path: Path, *, label: str, passphrase: str | None = None
) -> None:
    """Write ``identity`` to a new keystore file at ``path`` (never overwriting one).

    Uses ``passphrase`` if given, else asks as :func:`get_passphrase` does, and
    the Argon2id limits of ``settings.kdf``.
    """
    secret = passphrase if passphrase is not None else get_passphrase(settings, path=path, new=True)
    save_keystore(
        path,
        identity,
        secret,
        label=label,
        opslimit=settings.kdf.opslimit,
        memlimit=settings.kdf.memlimit,
    )


def read_public_key(path: Path) -> bytes:
    """Return the public key recorded in a keystore file, without decrypting it.

    Raises :class:`keys.KeystoreError` if the file is missing, not a keystore,
    or its public key does not match its key id.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read the keystore {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeystoreError(f"{path} is not a {FORMAT} file")
    try:
        raw = base64.b64decode(str(doc["public_key"]), validate=True)
        key_id = key_id_for(raw)
    except (KeyError, ValueError) as exc:
        raise KeystoreError(f"keystore {path} has no valid public key: {exc}") from exc
    if key_id != doc.get("key_id"):
        raise KeystoreError(f"keystore {path}: the public key does not match the key id")
    return raw


def file_sha256(path: Path) -> str:
    """SHA-256 of the file at ``path`` in hex, read in chunks (the file stays local)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise CliError("unreadable_file", f"cannot read {path}: {exc}") from exc
    return digest.hexdigest()


def public_key_from(public_key: str | None, keystore: Path | None) -> bytes:
    """The raw public key from exactly one of ``--public-key`` and ``--keystore``."""
    if public_key is not None and keystore is None:
        return b64decode(public_key, length=32, what="--public-key")
    if keystore is not None and public_key is None:
        return read_public_key(keystore)
    raise CliError("bad_arguments", "give exactly one of --public-key B64 and --keystore FILE")
