"""The row form of the rule state: each table entry of a :class:`~ledger.state.LedgerState`
as one ``(table, key, value)`` row of text, for the store's ``rule_state`` table.

Pure functions, no I/O. ``key`` is the entry's key as text (a tuple key is the
JSON array of its parts); ``value`` is compact JSON, fields in declaration order,
bytes in base64, sets as sorted arrays. The encoding is deterministic, so the
audit compares a stored row with the row of its own re-derivation byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

import orjson

from .canonical import b64decode, b64encode
from .state import (
    AccessGrant,
    AccessRequest,
    Assignment,
    Contribution,
    Endorsement,
    Head,
    KeyRecord,
    LedgerState,
    Person,
)

__all__ = [
    "STATE_TABLES",
    "decode_key",
    "decode_value",
    "encode_key",
    "encode_value",
    "state_rows",
]

# Table name -> whether its keys are tuples. The names are the LedgerState attributes.
STATE_TABLES: dict[str, bool] = {
    "meta": False,
    "heads": False,
    "people": False,
    "keys": False,
    "statement_ids": False,
    "contributions": False,
    "endorsements": False,
    "active_endorsements": True,
    "assignments": False,
    "erased": False,
    "visibility": True,
    "access_requests": False,
    "access_grants": False,
    "open_requests": True,
    "active_grants": True,
}


def encode_key(table: str, key: Hashable) -> str:
    """``key`` of ``table`` as text."""
    if STATE_TABLES[table]:
        assert isinstance(key, tuple)
        return orjson.dumps(list(key)).decode()
    return str(key)


def decode_key(table: str, text: str) -> Hashable:
    """The key :func:`encode_key` wrote as ``text``."""
    if STATE_TABLES[table]:
        return tuple(orjson.loads(text))
    return text


def _roles(roles: frozenset[tuple[str, str]]) -> list[list[str]]:
    return [list(r) for r in sorted(roles)]


_Fields = Callable[[Any], list[Any]]
_Build = Callable[[list[Any]], Any]

_ENCODERS: dict[type, _Fields] = {
    Head: lambda h: [h.seq, h.hash],
    Person: lambda p: [
        p.id,
        p.organisation,
        p.department,
        p.current_key,
        p.next_key_digest,
        _roles(p.roles),
        p.registered_at,
    ],
    KeyRecord: lambda k: [
        k.key_id,
        k.person,
        b64encode(k.public_key),
        k.valid_from,
        k.retired_at,
        k.revoked,
    ],
    Contribution: lambda c: [c.id, c.owner, list(c.skills), c.withdrawn],
    Endorsement: lambda e: [
        e.id,
        e.endorser,
        e.subject,
        e.contribution,
        e.grade,
        e.role,
        e.revoked,
    ],
    Assignment: lambda a: [
        a.id,
        a.owner,
        a.organisation,
        a.department,
        list(a.skills),
        a.status,
        sorted(a.applicants),
        sorted(a.assignees),
        sorted(a.completed),
    ],
    AccessRequest: lambda r: [r.id, r.owner, r.viewer, r.part, r.answer],
    AccessGrant: lambda g: [g.id, g.owner, g.viewer, g.part, g.until, g.revoked],
}

_DECODERS: dict[str, _Build] = {
    "heads": lambda v: Head(*v),
    "people": lambda v: Person(
        v[0], v[1], v[2], v[3], v[4], frozenset((r[0], r[1]) for r in v[5]), v[6]
    ),
    "keys": lambda v: KeyRecord(v[0], v[1], b64decode(v[2], length=32, what="public_key"), *v[3:]),
    "contributions": lambda v: Contribution(v[0], v[1], tuple(v[2]), v[3]),
    "endorsements": lambda v: Endorsement(*v),
    "assignments": lambda v: Assignment(
        v[0],
        v[1],
        v[2],
        v[3],
        tuple(v[4]),
        v[5],
        frozenset(v[6]),
        frozenset(v[7]),
        frozenset(v[8]),
    ),
    "access_requests": lambda v: AccessRequest(*v),
    "access_grants": lambda v: AccessGrant(*v),
}


def encode_value(value: Any) -> str:
    """A table value (a state record, or a plain str/int/None) as compact JSON text."""
    encoder = _ENCODERS.get(type(value))
    return orjson.dumps(value if encoder is None else encoder(value)).decode()


def decode_value(table: str, text: str) -> Any:
    """The value of ``table`` that :func:`encode_value` wrote as ``text``."""
    loaded = orjson.loads(text)
    decoder = _DECODERS.get(table)
    return loaded if decoder is None else decoder(loaded)


def state_rows(state: LedgerState) -> Iterator[tuple[str, str, str]]:
    """Every entry of ``state``'s tables as a ``(table, key, value)`` row, in table order."""
    for table in STATE_TABLES:
        for key, value in getattr(state, table).items():
            yield table, encode_key(table, key), encode_value(value)
