"""The read models' personal columns, sealed at rest under the read-model key.

The ``personal`` columns hold names, titles, comments and goals (JSON of the
disclosed fields). A copy of the database without the service key must reveal none
of it (privacy.md §8), so each value is stored as ``"TRR1:" + base64(nonce ‖ box)``,
``SecretBox`` (XSalsa20-Poly1305) of the JSON under the **read-model key**: a random
key kept in ``data_keys`` under the reserved id ``@read-models`` (no person id
contains ``@``), wrapped under the service key and rotated with the data keys.
One key serves every person: erasure in the read models does not rely on it, it
purges the person's fields (:mod:`projections.erasure`).

:class:`SealedText` is the columns' type: it seals on the way in and opens on the
way out, with the key bound to the engine by :func:`bind_read_model_key` (the
projector's :func:`~projections.registry.open_projector` does that). An engine
without the key refuses to read or write such a column (:class:`ReadModelKeyMissing`).
A value without the prefix (written before sealing existed) reads as it is:
``trackrecord projections rebuild`` seals it.
"""

from __future__ import annotations

import base64
from typing import Any

import nacl.exceptions
import nacl.secret
from sqlalchemy import Dialect, Engine, Text
from sqlalchemy.types import TypeDecorator

from ledger.store import Store

from .errors import ProjectionError

__all__ = [
    "READ_MODEL_KEY_HOLDER",
    "ReadModelKeyMissing",
    "SealedText",
    "bind_read_model_key",
    "read_model_key",
]

READ_MODEL_KEY_HOLDER = "@read-models"
PREFIX = "TRR1:"
_BOX = "_trackrecord_read_model_box"  # the dialect attribute holding the SecretBox


class ReadModelKeyMissing(ProjectionError):
    """A sealed read-model column was read or written through an engine without the key."""

    code = "read_model_key_missing"


def read_model_key(store: Store) -> bytes:
    """The read-model key of ``store``'s ledger, created (and committed) on first use."""
    return store.vault.data_key(READ_MODEL_KEY_HOLDER)


def bind_read_model_key(engine: Engine, key: bytes) -> None:
    """Let ``engine`` seal and open the :class:`SealedText` columns with ``key``."""
    setattr(engine.dialect, _BOX, nacl.secret.SecretBox(key))


def _box(dialect: Dialect) -> nacl.secret.SecretBox:
    box = getattr(dialect, _BOX, None)
    if not isinstance(box, nacl.secret.SecretBox):
        raise ReadModelKeyMissing(
            "the read models' personal columns are sealed: open the engine through "
            "projections.open_projector (or bind_read_model_key), which needs the service key"
        )
    return box


def seal_text(dialect: Dialect, value: str) -> str:
    """``value`` sealed for a :class:`SealedText` column (unchanged if it already is)."""
    if value.startswith(PREFIX):
        return value
    sealed = _box(dialect).encrypt(value.encode("utf-8"))
    return PREFIX + base64.b64encode(bytes(sealed)).decode("ascii")


def open_text(dialect: Dialect, value: str) -> str:
    """The plaintext of a stored :class:`SealedText` value; raise :class:`ProjectionError`
    if it does not open (changed in the database or sealed under another key)."""
    if not value.startswith(PREFIX):
        return value
    try:
        plain = _box(dialect).decrypt(base64.b64decode(value[len(PREFIX) :], validate=True))
    except (ValueError, nacl.exceptions.CryptoError) as exc:
        raise ProjectionError(f"a sealed read-model value does not open: {exc}") from exc
    return plain.decode("utf-8")


class SealedText(TypeDecorator[str]):
    """A text column stored sealed under the read-model key (see the module docstring)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else seal_text(dialect, str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else open_text(dialect, str(value))
