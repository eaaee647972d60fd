"""Disclosures: personal fields committed by salted digests (as in SD-JWT).

A disclosure is the JSON array ``[salt, field, value]`` where ``salt`` is 16
random bytes as 32 lowercase hex digits, ``field`` the personal field's name and
``value`` its string value. Its digest is::

    SHA-256(b"trackrecord:disclosure:v1\\x00" || JCS([salt, field, value]))

as 64 lowercase hex digits. The signed statement body carries only the digests
(``body.commitments[field]``); the disclosures travel and are stored beside the
statement. The salt hides low-entropy values (a grade comment "good") from
anyone who sees only the digest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .canonical import canonical_bytes, sha256_hex
from .errors import MalformedInput

__all__ = [
    "DISCLOSURE_PREFIX",
    "Disclosure",
    "disclose",
    "parse_disclosures",
    "verify_disclosures",
]

DISCLOSURE_PREFIX = b"trackrecord:disclosure:v1\x00"
_SALT_RE = re.compile(r"[0-9a-f]{32}")  # 16 bytes as lowercase hex


@dataclass(frozen=True)
class Disclosure:
    """One disclosed personal field."""

    salt: str
    field: str
    value: str

    def as_json(self) -> list[str]:
        return [self.salt, self.field, self.value]

    @property
    def digest(self) -> str:
        """The salted digest that the signed statement commits to."""
        return sha256_hex(DISCLOSURE_PREFIX + canonical_bytes(self.as_json()))


def disclose(fields: Mapping[str, str], *, salt_source: Any = None) -> list[Disclosure]:
    """Return fresh disclosures for ``fields``, with random salts.

    ``salt_source`` is a callable ``n -> bytes`` (default ``os.urandom``), so the
    demo generator can be deterministic.
    """
    rand = salt_source or os.urandom
    return [Disclosure(bytes(rand(16)).hex(), name, value) for name, value in fields.items()]


def parse_disclosures(raw: Any) -> list[Disclosure]:
    """Parse a JSON list of ``[salt, field, value]`` arrays; raise :class:`MalformedInput`."""
    if not isinstance(raw, list):
        raise MalformedInput("disclosures must be a JSON array", field="disclosures")
    out: list[Disclosure] = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not all(isinstance(x, str) for x in item)
        ):
            raise MalformedInput(
                f"disclosure {i} must be an array [salt, field, value] of strings",
                field=f"disclosures[{i}]",
            )
        salt, name, value = item
        if _SALT_RE.fullmatch(salt) is None:
            raise MalformedInput(
                f"disclosure {i}: salt must be 32 lowercase hex digits", field=f"disclosures[{i}]"
            )
        out.append(Disclosure(salt, name, value))
    return out


def verify_disclosures(
    commitments: Mapping[str, str],
    disclosures: Iterable[Disclosure],
    *,
    max_lengths: Mapping[str, int],
) -> None:
    """Check each disclosure against its commitment; raise :class:`MalformedInput`.

    Withheld fields (a commitment without a disclosure) are allowed: that is how
    content is withheld or erased while every signature still verifies. A
    disclosure for an uncommitted field, a duplicate, an over-long value or one
    whose digest differs from its commitment is refused (``bad_disclosure``).
    """
    seen: set[str] = set()
    for d in disclosures:
        if d.field in seen:
            raise MalformedInput(
                f"field {d.field!r} is disclosed twice", code="bad_disclosure", field=d.field
            )
        seen.add(d.field)
        expected = commitments.get(d.field)
        if expected is None:
            raise MalformedInput(
                f"disclosure for {d.field!r}, which the statement does not commit to",
                code="bad_disclosure",
                field=d.field,
            )
        limit = max_lengths.get(d.field)
        if limit is not None and len(d.value) > limit:
            raise MalformedInput(
                f"{d.field!r} is {len(d.value)} characters long; at most {limit} allowed",
                code="too_long",
                field=d.field,
            )
        if d.digest != expected:
            raise MalformedInput(
                f"disclosure of {d.field!r} does not match its commitment",
                code="bad_disclosure",
                field=d.field,
            )
