"""Entries: the ledger's record of an accepted statement in its stream.

An entry is the JSON object ``{stream, seq, prev, statement, signature,
recorded_at}``; ``seq`` counts from 1 within the stream, ``prev`` is the entry
hash of the stream's previous entry (64 zeros for seq 1), ``signature`` is the
statement signature in standard base64. ``entry_hash = SHA-256(JCS(entry))``
and the Merkle leaf is ``SHA-256(0x00 || JCS(entry))``.

A *record* is ``JCS(entry) || 0x0A || JCS(disclosures)``: what the service hands
the store and what the store's readers get back. Canonical JSON never contains a
raw line feed, so the split is unambiguous; the disclosures sit outside
everything that is hashed or signed, so they can be withheld or erased without
breaking any proof. At rest the store replaces the tail with the disclosures
sealed under their owner's data key (:mod:`ledger.vault`, docs/privacy.md §2).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any, Protocol

from .canonical import b64decode, b64encode, canonical_bytes, sha256_hex
from .disclosures import Disclosure, parse_disclosures
from .errors import IntegrityViolation, MalformedInput
from .statement import Statement, check_timestamp, parse_statement

__all__ = [
    "GENESIS_PREV",
    "Entry",
    "decode_record",
    "decode_record_parts",
    "encode_record",
    "make_entry",
    "next_entry",
    "parse_entry",
]

GENESIS_PREV = "0" * 64
ENTRY_FIELDS = frozenset({"stream", "seq", "prev", "statement", "signature", "recorded_at"})
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entry:
    """An accepted statement at position ``seq`` of ``stream``."""

    stream: str
    seq: int
    prev: str
    statement: Statement
    signature: bytes
    recorded_at: str
    canonical: bytes = field(repr=False)

    @property
    def hash(self) -> str:
        """``SHA-256(JCS(entry))`` as 64 lowercase hex digits."""
        return sha256_hex(self.canonical)

    def as_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "seq": self.seq,
            "prev": self.prev,
            "statement": self.statement.as_json(),
            "signature": b64encode(self.signature),
            "recorded_at": self.recorded_at,
        }


class StreamHead(Protocol):
    """The last entry of a stream, as far as the next one needs it (a state's ``Head``, or
    an :class:`Entry`)."""

    @property
    def seq(self) -> int: ...

    @property
    def hash(self) -> str: ...


def next_entry(
    head: StreamHead | None, statement: Statement, signature: bytes, recorded_at: str
) -> Entry:
    """The entry ``statement`` becomes after ``head``, the last entry of its stream (None
    for a new stream: ``seq`` 1 after :data:`GENESIS_PREV`)."""
    return make_entry(
        stream=statement.stream,
        seq=head.seq + 1 if head else 1,
        prev=head.hash if head else GENESIS_PREV,
        statement=statement,
        signature=signature,
        recorded_at=recorded_at,
    )


def make_entry(
    *, stream: str, seq: int, prev: str, statement: Statement, signature: bytes, recorded_at: str
) -> Entry:
    """Build an entry and its canonical bytes.

    The canonical bytes are composed around the statement's own canonical bytes
    instead of canonicalising the whole entry again: JCS sorts the six keys as
    written here, and every other value is an ASCII string or an integer, which
    ``json.dumps`` writes exactly as JCS does. ``tests/test_canonical.py``
    checks the result against ``rfc8785`` for random entries.
    """
    canonical = b"".join(
        (
            b'{"prev":',
            _json_ascii(prev),
            b',"recorded_at":',
            _json_ascii(recorded_at),
            b',"seq":',
            str(int(seq)).encode("ascii"),
            b',"signature":',
            _json_ascii(b64encode(signature)),
            b',"statement":',
            statement.canonical,
            b',"stream":',
            _json_ascii(stream),
            b"}",
        )
    )
    return Entry(stream, seq, prev, statement, signature, recorded_at, canonical)


def _json_ascii(value: str) -> bytes:
    if not value.isascii():
        raise MalformedInput(f"{value!r} must be ASCII")
    return encode_basestring_ascii(value).encode("ascii")  # what json.dumps(value) returns


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and _HEX64_RE.fullmatch(value) is not None


def parse_entry(raw: Any) -> Entry:
    """Parse an entry JSON object; raise :class:`MalformedInput`.

    Checks the field set and types and that ``stream`` is the statement's stream.
    """
    if not isinstance(raw, dict) or set(raw) != ENTRY_FIELDS:
        raise MalformedInput(f"an entry is an object with exactly {sorted(ENTRY_FIELDS)}")
    statement = parse_statement(raw["statement"])
    seq = raw["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise MalformedInput("entry seq must be a positive integer", field="seq")
    if not _is_hex64(raw["prev"]):
        raise MalformedInput("entry prev must be 64 lowercase hex digits", field="prev")
    if raw["stream"] != statement.stream:
        raise MalformedInput(
            f"entry stream {raw['stream']!r} is not the statement's stream {statement.stream!r}",
            field="stream",
        )
    if (seq == 1) != (raw["prev"] == GENESIS_PREV):
        raise MalformedInput("prev is all zeros exactly for the first entry of a stream")
    if not isinstance(raw["signature"], str):
        raise MalformedInput("entry signature must be a base64 string", field="signature")
    signature = b64decode(raw["signature"], length=64, what="signature")
    recorded_at = check_timestamp(raw["recorded_at"], "recorded_at")
    return make_entry(
        stream=raw["stream"],
        seq=seq,
        prev=raw["prev"],
        statement=statement,
        signature=signature,
        recorded_at=recorded_at,
    )


def encode_record(entry: Entry, disclosures: tuple[Disclosure, ...] | list[Disclosure]) -> bytes:
    """Return the stored record: ``JCS(entry) || b"\\n" || JCS(disclosures)``."""
    return entry.canonical + b"\n" + canonical_bytes([d.as_json() for d in disclosures])


def decode_record(blob: bytes, **where: Any) -> tuple[Entry, list[Disclosure]]:
    """Parse a stored record; raise :class:`IntegrityViolation` (code ``malformed_entry``)
    if it is not exactly the canonical form of a well-formed entry."""
    head, sep, tail = bytes(blob).partition(b"\n")
    return decode_record_parts(head, tail if sep else None, **where)


def decode_record_parts(
    head: bytes, tail: bytes | None, **where: Any
) -> tuple[Entry, list[Disclosure]]:
    """:func:`decode_record` of a record already split at its first line feed (``tail``
    None: it has none), as the store's readers hold it (``StoredRecord.head`` and
    ``.disclosures``): the audit need not join and split every record again."""
    try:
        if tail is None:
            raise MalformedInput("record has no separator between entry and disclosures")
        entry = parse_entry(json.loads(head))
        disclosures = parse_disclosures(json.loads(tail))
    except (MalformedInput, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise IntegrityViolation(
            "malformed_entry", f"stored entry is not a well-formed entry: {exc}", **where
        ) from exc
    if entry.canonical != head:
        raise IntegrityViolation(
            "non_canonical_entry",
            "stored entry bytes are not in canonical (RFC 8785) form",
            **where,
        )
    return entry, disclosures
