"""The row form of the rule state: each table entry of a :class:`~ledger.state.LedgerState`
as one ``(table, key, value)`` row of text, for the store's ``rule_state`` table.

Pure functions, no I/O. ``key`` is the entry's key as text (a tuple key is the
JSON array of its parts); ``value`` is compact JSON, fields in declaration order,
bytes in base64, sets as sorted arrays. The encoding is deterministic, so the
audit compares a stored row with the row of its own re-derivation byte for byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import orjson

from .canonical import b64decode, b64encode
from .state import (
    AccessGrant,
    AccessRequest,
    Assignment,
    Contribution,
    Departure,
    Endorsement,
    Head,
    KeyRecord,
    LedgerState,
    Link,
    Person,
    ReviewRequest,
    TransferConsent,
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
    "links": True,
    "review_requests": False,
    "reviewers": True,
    "coworkers": True,
    "completed_for": True,
    "consents": False,
    "departures": False,
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


# Each record type's fields in declaration order, and how a JSON value becomes the
# field's type again (None: as loaded). Written from the dataclasses' own fields, so a
# field added to a record is stored without a change here.
_RECORDS: dict[str, type] = {
    "heads": Head,
    "people": Person,
    "keys": KeyRecord,
    "contributions": Contribution,
    "endorsements": Endorsement,
    "assignments": Assignment,
    "access_requests": AccessRequest,
    "access_grants": AccessGrant,
    "links": Link,
    "review_requests": ReviewRequest,
    "consents": TransferConsent,
    "departures": Departure,
}


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return b64encode(value)
    if isinstance(value, frozenset):
        return sorted(_to_json(v) for v in value)
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(hint: str) -> Callable[[Any], Any] | None:
    if hint == "bytes":
        return lambda v: b64decode(v, length=32, what="public_key")
    if hint.startswith("frozenset[tuple"):
        return lambda v: frozenset(tuple(x) for x in v)
    if hint.startswith("frozenset"):
        return frozenset
    if hint.startswith("tuple"):
        return tuple
    return None


_FIELDS: dict[type, list[str]] = {
    cls: [f.name for f in dataclasses.fields(cls)] for cls in _RECORDS.values()
}
_DECODERS: dict[str, list[Callable[[Any], Any] | None]] = {
    table: [_from_json(str(f.type)) for f in dataclasses.fields(cls)]
    for table, cls in _RECORDS.items()
}


def encode_value(value: Any) -> str:
    """A table value (a state record, or a plain str/int/None) as compact JSON text."""
    names = _FIELDS.get(type(value))
    if names is None:
        return orjson.dumps(value).decode()
    return orjson.dumps([_to_json(getattr(value, name)) for name in names]).decode()


def decode_value(table: str, text: str) -> Any:
    """The value of ``table`` that :func:`encode_value` wrote as ``text``."""
    loaded = orjson.loads(text)
    cls = _RECORDS.get(table)
    if cls is None:
        return loaded
    fields = [v if f is None else f(v) for f, v in zip(_DECODERS[table], loaded, strict=True)]
    return cls(*fields)


def state_rows(state: LedgerState) -> Iterator[tuple[str, str, str]]:
    """Every entry of ``state``'s tables as a ``(table, key, value)`` row, in table order."""
    for table in STATE_TABLES:
        for key, value in getattr(state, table).items():
            yield table, encode_key(table, key), encode_value(value)
