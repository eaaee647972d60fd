"""The entries and the Merkle nodes of a store: written together, read in log order.

Each entry is one stored event of the ``eventsourcing`` library: the originator id is
``uuid5(STREAM_NAMESPACE, stream)``, the originator version the entry's ``seq`` and the
state the record bytes of :func:`ledger.entry.encode_record`, with its disclosures sealed
under their owner's data key (:mod:`ledger.vault`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from ..errors import ConcurrencyConflict, LedgerError, StoreError
from ..vault import Opened, Sealing, Vault
from .recorder import LedgerRecorder
from .rule_state import StateRow

__all__ = [
    "ENTRY_TOPIC",
    "STREAM_NAMESPACE",
    "EntryTables",
    "RawRecord",
    "StoredRecord",
    "stream_originator_id",
    "write_error",
]

STREAM_NAMESPACE = uuid.UUID("5f0c6e1e-6a64-4b86-9f0e-7472616b7265")
ENTRY_TOPIC = "ledger.entry:Entry"


def stream_originator_id(stream: str) -> uuid.UUID:
    """The event store's originator id of a stream."""
    return uuid.uuid5(STREAM_NAMESPACE, stream)


@dataclass(frozen=True)
class StoredRecord:
    """One stored entry as read back: notification position, row keys and record bytes.

    ``head`` is ``JCS(entry)`` as stored (the bytes before the first line feed) and
    ``disclosures`` the opened ``JCS(disclosures)``, ``[]`` unless ``sealing`` is
    ``open``; ``sealed_for`` is the person the sealed disclosures name and
    ``sealing_problem`` why they are ``corrupt``.
    """

    position: int
    originator_id: uuid.UUID
    version: int
    head: bytes
    disclosures: bytes = b"[]"
    sealing: Sealing = "none"
    sealed_for: str | None = None
    sealing_problem: str = ""

    @property
    def blob(self) -> bytes:
        """The plaintext record form ``JCS(entry) ‖ 0x0A ‖ JCS(disclosures)``."""
        return self.head + b"\n" + self.disclosures

    @classmethod
    def opened(
        cls, position: int, originator_id: Any, version: int, head: bytes, opened: Opened
    ) -> StoredRecord:
        return cls(
            position,
            originator_id if type(originator_id) is uuid.UUID else uuid.UUID(str(originator_id)),
            version,
            head,
            opened.disclosures,
            opened.sealing,
            opened.owner,
            opened.problem,
        )


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One stored entry as the read models read it (:meth:`Store.read_records`): its
    notification ``position``, ``head`` (``JCS(entry)``) and opened ``disclosures``
    (``JCS(disclosures)``, ``[]`` if withheld, erased or unreadable)."""

    position: int
    head: bytes
    disclosures: bytes


def write_error(exc: Exception) -> LedgerError:
    """The ledger's error for a failed write: a conflict with another writer, or a failure."""
    if isinstance(exc, IntegrityError):
        return ConcurrencyConflict(f"another writer appended first: {exc}")
    if "locked" in str(exc) or "lock timeout" in str(exc):
        return ConcurrencyConflict(f"the store is busy: {exc}")
    return StoreError(f"the store failed: {exc}")


class EntryTables:
    """The store's entries and Merkle nodes (a part of :class:`~ledger.store.Store`)."""

    _recorder: LedgerRecorder
    vault: Vault

    def append(
        self,
        records: Sequence[tuple[str, int, bytes, str | None]],
        nodes: Sequence[tuple[int, int, bytes]],
        rule_state: Sequence[StateRow] | None = None,
    ) -> list[int]:
        """Atomically store ``(stream, seq, record, owner)`` rows, Merkle ``nodes`` and the
        ``rule_state`` rows the entries change (:mod:`ledger.store.rule_state`; with them
        the state's position becomes the last entry's).

        ``record`` is :func:`ledger.entry.encode_record` output; its disclosures are
        stored sealed under the data key of ``owner``, the person they belong to (a
        new data key is committed before the entries); ``owner`` is None for an entry
        that commits to no personal field (:meth:`ledger.vault.Vault.seal_record`).
        Each entry's log index is the index of its Merkle leaf (the level-0 ``nodes``, one
        per entry, in the order of ``records``), recorded beside its notification
        position (:mod:`ledger.store.position_tables`).
        Returns the notification positions. Raises :class:`ConcurrencyConflict` if
        another writer took one of the stream positions or log indexes first (nothing
        is written then).
        """
        # The entries' log indexes are their Merkle leaves' indexes, in the same order.
        leaves = [idx for level, idx, _ in nodes if level == 0]
        if len(leaves) != len(records):
            raise ValueError(f"an append needs one Merkle leaf per entry, got {len(leaves)}")
        self.vault.create_data_keys(owner for _, _, _, owner in records if owner is not None)
        try:
            events = [
                StoredEvent(
                    originator_id=stream_originator_id(stream),
                    originator_version=seq,
                    topic=ENTRY_TOPIC,
                    state=self.vault.seal_record(blob, owner),
                )
                for stream, seq, blob, owner in records
            ]
            ids = self._recorder.insert_events(
                events, merkle_nodes=list(nodes), log_indexes=leaves, rule_state=rule_state
            )
        except (IntegrityError, OperationalError) as exc:
            raise write_error(exc) from exc
        return list(ids or [])

    def read(self, *, after: int = 0, limit: int = 1000) -> list[StoredRecord]:
        """Return up to ``limit`` stored entries with position > ``after``, in log order."""
        notes = self._recorder.select_notifications(
            start=after, limit=limit, topics=(ENTRY_TOPIC,), inclusive_of_start=False
        )
        opened = self.vault.open_tails([n.state for n in notes])
        return [
            StoredRecord.opened(n.id, n.originator_id, n.originator_version, head, o)
            for n, (head, o) in zip(notes, opened, strict=True)
        ]

    def read_records(self, *, after: int, limit: int) -> list[RawRecord]:
        """Up to ``limit`` stored entries with position > ``after``, in log order, as
        :class:`RawRecord` values: the read models' fast path, without the row keys and
        sealing outcome of :meth:`read`. Data keys are looked up afresh (one query, no
        cache), so an erasure made by another process shows at once; erased or unreadable
        disclosures read as ``[]``."""
        notes = self._recorder.select_notifications(
            start=after, limit=limit, topics=(ENTRY_TOPIC,), inclusive_of_start=False
        )
        opened = self.vault.open_tails([n.state for n in notes], use_cache=False)
        return [
            RawRecord(n.id, head, o.disclosures) for n, (head, o) in zip(notes, opened, strict=True)
        ]

    def read_stream(self, stream: str) -> list[StoredRecord]:
        """Return the stored entries of ``stream`` in seq order (position is 0: unknown here)."""
        events = self._recorder.select_events(stream_originator_id(stream))
        opened = self.vault.open_tails([e.state for e in events])
        return [
            StoredRecord.opened(0, e.originator_id, e.originator_version, head, o)
            for e, (head, o) in zip(events, opened, strict=True)
        ]

    def open_records(
        self, records: Sequence[bytes], *, use_cache: bool = True
    ) -> list[tuple[bytes, Opened]]:
        """Split raw stored records into ``(JCS(entry), opened disclosures)`` (for readers
        that select rows themselves, such as the read models' log). With ``use_cache``
        false, data keys are looked up afresh (one query), so an erasure made by another
        process shows at once."""
        return self.vault.open_tails(records, use_cache=use_cache)

    def max_position(self) -> int:
        """The highest notification position, 0 for an empty store."""
        return int(self._recorder.max_notification_id() or 0)

    def get_node(self, level: int, index: int) -> bytes:
        """Return the stored Merkle node ``(level, index)``; raise ``KeyError`` if absent."""
        node: bytes | None = self._recorder.select_node(level, index)
        if node is None:
            raise KeyError((level, index))
        return node

    def nodes_at(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored Merkle nodes of the ``(level, index)`` pairs asked for, in one query
        (absent ones left out): for many proofs at once (an export's)."""
        wanted = list(dict.fromkeys(keys))
        return {(level, idx): h for level, idx, h in self._recorder.select_nodes_at(wanted)}

    def nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        """Return stored nodes ``(index, hash)`` of ``level`` with start <= index < stop."""
        return list(self._recorder.select_nodes(level, start, stop))

    def count_nodes(self, level: int) -> int:
        """Number of stored nodes at ``level`` (level 0: the number of leaves)."""
        return int(self._recorder.count_nodes(level))
