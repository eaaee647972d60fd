"""Errors of the keys package."""

from __future__ import annotations

__all__ = ["BadPassphrase", "BadSignature", "KeyError_", "KeystoreError"]


class KeyError_(Exception):  # noqa: N801 - trailing underscore avoids the builtin KeyError
    """Root of every error raised by :mod:`keys`."""

    code = "key_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadSignature(KeyError_):
    """A signature that does not verify for the given key, purpose and message."""

    code = "bad_signature"


class KeystoreError(KeyError_):
    """A keystore file that is missing, unreadable or malformed."""

    code = "keystore_error"


class BadPassphrase(KeystoreError):
    """The passphrase does not open the keystore."""

    code = "bad_passphrase"
