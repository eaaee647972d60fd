"""Settings of the command-line tool: where the ledger and the keystores are, who acts.

One explicit, immutable :class:`Settings` object, built by :meth:`Settings.load`
from command-line values, then environment variables, then defaults. Nothing
is read at import time.

==============================  =========================================================
``--db URL``                    ``TRACKRECORD_DATABASE_URL``; default
                                ``sqlite:///<current directory>/trackrecord.db``
``--keys DIR``                  ``TRACKRECORD_KEYS``; default ``~/.trackrecord/keys``
``--as PERSON``                 ``TRACKRECORD_AS``; the acting identity, whose keystore
                                ``<keys>/<person>.key`` signs
(passphrase)                    ``TRACKRECORD_PASSPHRASE``; else an interactive prompt
(key derivation)                ``TRACKRECORD_KDF``: ``interactive`` (default) or ``fast``
(public URL)                    ``TRACKRECORD_PUBLIC_URL``: where the service is reached
                                from outside, e.g. ``https://ledger.example.org``; the
                                exported credentials' status lists are served there
                                (docs/credentials.md §5); default ``http://127.0.0.1:8000``
==============================  =========================================================

``TRACKRECORD_KDF=fast`` writes new keystores with Argon2id's *minimum* limits
(1 pass, 8 KiB). It exists for the test suite and the demo only: such a
keystore is cheap to brute-force, so never use it for a real key. Opening a
keystore always uses the limits recorded in the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nacl.pwhash

from keys.keystore import PASSPHRASE_ENV
from ledger.app import Ledger
from ledger.catalogue import SLUG_RE
from ledger.erasure import ErasureSubscriber
from ledger.public_url import DEFAULT_PUBLIC_URL, checked_public_url
from ledger.rollback import CheckpointMemory

__all__ = [
    "ACTING_ENV",
    "DATABASE_URL_ENV",
    "KDF_ENV",
    "KEYS_ENV",
    "PASSPHRASE_ENV",
    "PUBLIC_URL_ENV",
    "KdfLimits",
    "Settings",
    "SettingsError",
    "check_person",
]

DATABASE_URL_ENV = "TRACKRECORD_DATABASE_URL"
KEYS_ENV = "TRACKRECORD_KEYS"
ACTING_ENV = "TRACKRECORD_AS"
KDF_ENV = "TRACKRECORD_KDF"
PUBLIC_URL_ENV = "TRACKRECORD_PUBLIC_URL"
_SLUG = re.compile(SLUG_RE)
_ARGON = nacl.pwhash.argon2id


class SettingsError(ValueError):
    """A setting that is missing or malformed (an input error of the user)."""

    code = "bad_setting"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class KdfLimits:
    """Argon2id cost limits for writing new keystores."""

    name: str
    opslimit: int
    memlimit: int

    @classmethod
    def named(cls, name: str) -> KdfLimits:
        """Return the limits called ``name`` (``interactive`` or ``fast``).

        Raises :class:`SettingsError` for any other name.
        """
        if name == "interactive":
            return cls(name, _ARGON.OPSLIMIT_INTERACTIVE, _ARGON.MEMLIMIT_INTERACTIVE)
        if name == "fast":
            return cls(name, _ARGON.OPSLIMIT_MIN, _ARGON.MEMLIMIT_MIN)
        raise SettingsError(f"{KDF_ENV} is {name!r}; use 'interactive' (the default) or 'fast'")


def check_person(person: str) -> str:
    """Return ``person`` if it is a valid person id (a slug); raise :class:`SettingsError`.

    Person ids name keystore files, so this also keeps paths inside the keystore
    directory.
    """
    if not _SLUG.match(person):
        raise SettingsError(
            f"{person!r} is not a person id: use lowercase letters, digits, '.', '_' and '-'"
        )
    return person


@dataclass(frozen=True)
class Settings:
    """Everything the command-line tool needs to reach the ledger and the keys."""

    database_url: str
    keys_dir: Path
    acting: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    kdf: KdfLimits = field(default_factory=lambda: KdfLimits.named("interactive"))
    #: where the service is reached from outside (status lists of credentials)
    public_url: str = DEFAULT_PUBLIC_URL

    @classmethod
    def load(
        cls,
        *,
        database_url: str | None = None,
        keys_dir: Path | None = None,
        acting: str | None = None,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        home: Path | None = None,
    ) -> Settings:
        """Resolve the settings: explicit values win, then ``environ``, then defaults.

        ``environ``, ``cwd`` and ``home`` default to the process's own. Raises
        :class:`SettingsError` for a malformed acting person, KDF name or public URL.
        """
        env = os.environ if environ is None else environ
        here = Path.cwd() if cwd is None else cwd
        home_dir = Path.home() if home is None else home
        url = database_url or env.get(DATABASE_URL_ENV) or _default_database_url(here)
        keys = keys_dir or (Path(env[KEYS_ENV]) if env.get(KEYS_ENV) else None)
        person = acting or env.get(ACTING_ENV) or None
        return cls(
            database_url=url,
            keys_dir=(keys or home_dir / ".trackrecord" / "keys").expanduser(),
            acting=None if person is None else check_person(person),
            passphrase=env.get(PASSPHRASE_ENV),
            kdf=KdfLimits.named(env.get(KDF_ENV) or "interactive"),
            public_url=_public_url(env.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL),
        )

    def keystore_path(self, person: str) -> Path:
        """The keystore file of ``person``: ``<keys_dir>/<person>.key``."""
        return self.keys_dir / f"{check_person(person)}.key"

    def checkpoint_memory(self) -> CheckpointMemory:
        """Where the checkpoints signed here are remembered: ``<keys_dir>/signed-checkpoints.json``
        (:mod:`ledger.rollback`)."""
        return CheckpointMemory.in_keys_dir(self.keys_dir)

    def open_ledger(
        self, *, create: bool = False, on_erasure: Collection[ErasureSubscriber] = ()
    ) -> Ledger:
        """The ledger at :attr:`database_url` (:meth:`ledger.app.Ledger.open`), remembering
        its signed checkpoints in :meth:`checkpoint_memory`.

        Only with ``create`` (``init``, ``demo``) is a missing ledger created; otherwise
        it raises :class:`ledger.errors.NoLedger` and creates nothing. ``on_erasure``: the
        erasure subscribers (:mod:`ledger.erasure`).
        """
        return Ledger.open(
            self.database_url,
            create=create,
            memory=self.checkpoint_memory(),
            on_erasure=on_erasure,
        )


def _public_url(url: str) -> str:
    try:
        return checked_public_url(url)
    except ValueError as exc:
        raise SettingsError(f"{PUBLIC_URL_ENV}: {exc}") from exc


def _default_database_url(cwd: Path) -> str:
    return "sqlite://" + (cwd / "trackrecord.db").resolve().as_posix()
