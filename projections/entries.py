"""The accepted entries as the read models read them, in log order (:class:`EntryReader`).

Read models only ever read entries the ledger accepted; they never decide
validity. So they decode a stored record with plain JSON parsing instead of
:func:`ledger.entry.decode_record`, which re-validates every statement (typed
body, canonical bytes, disclosure format) — that costs about 55 µs per entry
on this machine against 9 µs for the JSON alone, and would make the rebuild of
10^6 entries miss its one-minute goal on its own. Checking the stored log is
the audit's job (:func:`ledger.audit.audit`). The JSON is parsed with
``orjson`` (about 2 µs per entry against 6 µs for the standard library).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hmac
import json
from dataclasses import dataclass
from typing import Any

import orjson

from keys import key_id_for
from ledger.imported_ratings import (
    ImportedEvidence,
    ImportedRating,
    NewestBundle,
    newest_bundles,
)
from ledger.imports import ImportedRecord, ImportRegistry
from ledger.store import Store

__all__ = [
    "AcceptedEntry",
    "EntryReader",
    "ImportedBundles",
    "ImportsCounted",
    "epoch_seconds",
    "json_list",
    "personal_json",
]

KEY_TYPES = frozenset({"IdentityRegistered", "KeyRotated"})


@dataclass(frozen=True, slots=True)
class AcceptedEntry:
    """One accepted entry at notification ``position`` of the ledger's log.

    ``personal`` maps every personal field the statement commits to onto its
    disclosed value, or ``None`` when the disclosure is withheld (or erased).
    """

    position: int
    stream: str
    seq: int
    recorded_at: str
    type: str
    id: str
    subject: str
    author: str
    issued_at: str
    body: dict[str, Any]
    personal: dict[str, str | None]

    @property
    def occurred_at(self) -> int:
        """When the statement was made, in Unix seconds: ``min(issued_at, recorded_at)``.

        The ledger's clock (``recorded_at``) bounds the author's clock
        (``issued_at``): a statement cannot be made to look newer than the
        moment the ledger accepted it, only older.
        """
        return min(epoch_seconds(self.issued_at), epoch_seconds(self.recorded_at))

    @property
    def new_key_id(self) -> str:
        """The key id an ``IdentityRegistered`` or ``KeyRotated`` entry gives its subject."""
        return key_id_for(base64.b64decode(self.body["public_key"]))

    def personal_json(self) -> str:
        """This entry's personal fields in their stored form (see :func:`personal_json`)."""
        return personal_json(self.personal)


def epoch_seconds(timestamp: str) -> int:
    """Whole Unix seconds of an RFC 3339 UTC timestamp ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    moment = _dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return int(moment.timestamp())


def personal_json(fields: dict[str, str | None]) -> str:
    """The stored form of personal fields: JSON with sorted keys (``null`` = withheld)."""
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()


def json_list(values: list[str]) -> str:
    """The stored form of a list of strings (skills): compact JSON."""
    return orjson.dumps(values).decode()


def _decode(position: int, head: bytes, disclosures: bytes) -> AcceptedEntry:
    entry = orjson.loads(head)
    statement = entry["statement"]
    body = statement["body"]
    disclosed = {field: value for _, field, value in orjson.loads(disclosures)}
    commitments = body.get("commitments", {})
    return AcceptedEntry(
        position=position,
        stream=entry["stream"],
        seq=entry["seq"],
        recorded_at=entry["recorded_at"],
        type=statement["type"],
        id=statement["id"],
        subject=statement["subject"],
        author=statement["author"],
        issued_at=statement["issued_at"],
        body=body,
        personal={name: disclosed.get(name) for name in commitments},
    )


_COUNTED_KIND = "reputation-refresh"  # the row MAC's kind (ledger.vault.Vault.row_mac)


@dataclass(frozen=True)
class ImportsCounted:
    """What a refresh (reputation, matching) counted besides the log: ``records`` imported records,
    the newest imported at ``latest`` (``imported_at``; "" with none), at the declared
    trust ``weights`` by origin. Imported records are only added, so the records a
    refresh counted are those imported up to ``latest`` (projections.verify rebuilds a
    refresh from them while a newer import or weight waits for the next refresh)."""

    records: int
    latest: str
    weights: dict[str, float]

    def as_json(self) -> str:
        """The stored form (``rep_refresh.inputs``, ``mt_refresh.inputs``): JSON with
        sorted keys."""
        doc = {"latest": self.latest, "records": self.records, "weights": self.weights}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ImportsCounted | None:
        """The value stored as ``text``, or None if it is not one."""
        try:
            doc = json.loads(text)
            weights = {str(k): float(v) for k, v in doc["weights"].items()}
            return cls(int(doc["records"]), str(doc["latest"]), weights)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


@dataclass(frozen=True)
class ImportedBundles:
    """The imported records a refresh cycle counts, read once
    (:meth:`EntryReader.imported_bundles`) and handed to every refresh step of the cycle
    (reputation counts their ratings, matching their evidence): each person's newest
    bundle of each origin, parsed, and what that is (:class:`ImportsCounted`, with the
    declared trust in each origin)."""

    bundles: tuple[NewestBundle, ...]
    counted: ImportsCounted

    @property
    def weights(self) -> dict[str, float]:
        """The declared trust in each trusted origin, as counted."""
        return self.counted.weights

    def ratings(self) -> list[ImportedRating]:
        """The active ratings the bundles carry, by person and origin."""
        return [r for b in self.bundles for r in b.ratings()]

    def evidence(self) -> list[ImportedEvidence]:
        """The evidence of skills the bundles carry, by person and origin."""
        return [e for b in self.bundles for e in b.evidence()]


class EntryReader:
    """Reads the store's accepted entries (``Store.read_records``) as :class:`AcceptedEntry`
    values."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def read(self, *, after: int, limit: int) -> list[AcceptedEntry]:
        """Up to ``limit`` entries with a position greater than ``after``, in log order.

        Reads :meth:`ledger.store.Store.read_records`, which opens the sealed
        disclosures with one data-key lookup per read (not cached across reads: this
        process may not see the ``PersonErased`` entry before it reads); erased or
        unreadable disclosures read as withheld.
        """
        return [
            _decode(r.position, r.head, r.disclosures)
            for r in self.store.read_records(after=after, limit=limit)
        ]

    def imported_bundles(self, *, as_of: ImportsCounted | None = None) -> ImportedBundles:
        """What a refresh counts besides the log: the store's imported records, each
        person's newest bundle of each origin read and parsed once, at the declared trust
        in each trusted origin (:mod:`ledger.imported_ratings`); read the same way by a
        rebuild (projections.verify).

        ``as_of``: what an earlier refresh counted; then the records imported up to its
        ``latest`` at its weights, when they are still all there (else what is there now).
        Raises :class:`~ledger.imports.TrustWeightTampered` for a forged weight row.
        """
        registry, records, counted = self._counted_records(as_of)
        return ImportedBundles(tuple(newest_bundles(registry, records)), counted)

    def _counted_records(
        self, as_of: ImportsCounted | None
    ) -> tuple[ImportRegistry, list[ImportedRecord], ImportsCounted]:
        """The imported records a refresh counts, and what that is: those up to
        ``as_of.latest`` at its weights when they are still all there, else all of them
        at the declared weights."""
        registry = ImportRegistry(self.store)
        records = registry.imported_records()
        if as_of is not None:
            earlier = [r for r in records if r.imported_at <= as_of.latest]
            if len(earlier) == as_of.records:
                return (
                    registry,
                    earlier,
                    ImportsCounted(as_of.records, as_of.latest, dict(as_of.weights)),
                )
        weights = registry.origin_weights()
        latest = max((r.imported_at for r in records), default="")
        return registry, records, ImportsCounted(len(records), latest, weights)

    def row_key_ready(self) -> None:
        """Create the ledger's row key if it has none yet (committed at once), so that a
        refresh can bind what it counted (:meth:`counted_mac`); call it before holding a
        write transaction on the read models (on SQLite the same database file)."""
        self.store.vault.row_mac(_COUNTED_KIND, [])

    def counted_mac(self, position: int, at: int, counted: ImportsCounted) -> str:
        """The MAC (:meth:`ledger.vault.Vault.row_mac`, under the row key) binding what
        the refresh at ``position`` as of ``at`` counted; "" while there is no row key
        (:meth:`row_key_ready` makes one)."""
        fields = [str(position), str(at), counted.as_json()]
        return self.store.vault.row_mac(_COUNTED_KIND, fields, create=False) or ""

    def counted_is_bound(self, position: int, at: int, counted: ImportsCounted, mac: str) -> bool:
        """Whether ``mac`` is :meth:`counted_mac` of that refresh (not written elsewhere)."""
        expected = self.counted_mac(position, at, counted)
        return bool(expected) and hmac.compare_digest(expected, mac)

    def imports_stamp(self) -> tuple[object, ...]:
        """What changes when the imported records or the declared trust weights do (cheap:
        no bundle is read), so a refresh can be run when they changed."""
        registry = ImportRegistry(self.store)
        return (registry.stamp(), tuple(sorted(registry.origin_weights().items())))

    def max_position(self) -> int:
        """The position of the log's last entry (0 when it is empty)."""
        return self.store.max_position()
