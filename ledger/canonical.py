"""Canonical bytes (RFC 8785, JSON Canonicalization Scheme) and hashing.

We use the maintained ``rfc8785`` package rather than our own encoder: the
canonical form is what every signature and hash covers, so it must match other
JCS implementations byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import rfc8785

from .errors import MalformedInput

__all__ = [
    "DuplicateMember",
    "b64decode",
    "b64encode",
    "canonical_bytes",
    "loads_strict",
    "sha256",
    "sha256_hex",
    "unique_members",
]


_MAX_SAFE_INT = 2**53 - 1
# ``json.dumps`` with these options builds a new encoder on every call; one shared
# encoder (it keeps no state between calls) writes the same bytes in less time.
_PLAIN_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _is_plain(obj: Any) -> bool:
    """True if ``obj`` uses only the JSON subset on which the stdlib encoder is JCS.

    That subset: no floats, integers within ±(2**53 - 1), ASCII object keys, no
    lone surrogates. On it, RFC 8785 reduces to sorted keys, no whitespace,
    literal UTF-8 and the same short escapes ``json.dumps`` writes. Everything
    else goes to ``rfc8785``. ``tests/test_canonical.py`` checks the two agree.
    (An explicit stack and exact type checks: this runs for every statement.)
    """
    stack = [obj]
    while stack:
        o = stack.pop()
        t = type(o)
        if t is str:
            if not o.isascii():
                try:
                    o.encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate
                    return False
        elif t is dict:
            for k, v in o.items():
                if type(k) is not str or not k.isascii():
                    return False
                stack.append(v)
        elif t is list or t is tuple:
            stack.extend(o)
        elif t is int:
            if not -_MAX_SAFE_INT <= o <= _MAX_SAFE_INT:
                return False
        elif o is not None and t is not bool:
            return False
    return True


def canonical_bytes(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    The signed documents of this ledger contain no floats and only ASCII keys;
    for those, the C-accelerated stdlib encoder produces exactly the JCS bytes
    about six times faster than the pure-Python ``rfc8785`` package, which is
    the reference and handles every other value. Raises :class:`MalformedInput`
    for values JCS cannot represent (non-finite floats, integers beyond IEEE 754
    double precision, non-string keys, lone surrogates).
    """
    if _is_plain(obj):
        return _PLAIN_ENCODER.encode(obj).encode("utf-8")
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedInput(f"value has no canonical JSON form: {exc}") from exc


def sha256(data: bytes) -> bytes:
    """Return the SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 digest of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) with padding, as used in every JSON format here."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, length: int | None = None, what: str = "value") -> bytes:
    """Decode strict standard base64; raise :class:`MalformedInput` on anything else."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise MalformedInput(f"{what} is not valid base64") from exc
    if b64encode(data) != text:
        raise MalformedInput(f"{what} is not in canonical base64 form")
    if length is not None and len(data) != length:
        raise MalformedInput(f"{what} must be {length} bytes, got {len(data)}")
    return data


class DuplicateMember(ValueError):
    """A JSON object names a member twice.

    RFC 8259 §4 leaves such an object's meaning open and parsers differ on which
    value wins, so a signature checked on one reading could be shown with another:
    every JSON input (statements, batches, bundles, logins) is refused instead.
    """


def unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads`: an object, or :class:`DuplicateMember`.

    The standard library's parser, not orjson: orjson keeps the last of two equal
    names silently and has no hook that sees an object's members in order.
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateMember(f"an object names the member {key!r} twice")
        out[key] = value
    return out


def loads_strict(data: str | bytes) -> Any:
    """Parse JSON text refusing duplicate member names; raise :class:`DuplicateMember`,
    or :class:`ValueError` (or :class:`RecursionError`, nested too deep) if it is not JSON."""
    return json.loads(data, object_pairs_hook=unique_members)
