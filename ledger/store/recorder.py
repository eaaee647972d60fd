"""What :class:`~ledger.store.Store` needs of a backend's recorder, typed.

Each backend is the ``eventsourcing`` library's application recorder extended with the
ledger's own tables: :class:`~ledger.store.sqlite.LedgerSQLiteRecorder` and
:class:`~ledger.store.postgres.LedgerPostgresRecorder`. :class:`LedgerRecorder` lists
every method the store calls on them, by concern; each backend module checks that its
class has them all with these signatures (``mypy`` fails otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from ..vault import DataKeyTable
from .rule_state import StateRow

__all__ = ["IMPORTS_STAMP_KEYS", "HeadsLeafRow", "ImportRow", "LedgerRecorder"]

HeadsLeafRow = tuple[int, str, int, str, str | None]
"""A stored heads-tree leaf ``(index, stream, seq, entry hash, involved)``: ``involved`` is
the JSON list of assignment streams of an ``involved/<person>`` leaf, else None."""

ImportRow = tuple[str, str, int, str, int, str, str, str]
IMPORTS_STAMP_KEYS = ("imports_count", "imports_latest")
"""The meta rows of the imports stamp: how many bundles are imported and the latest
``imported_at``, written with each import, so that reading the stamp (every portfolio
answer does) costs two look-ups by key however many bundles a ledger imported."""
"""An imported bundle's row ``(origin, person, size, verifier_key, entry_count, imported_at,
report, bundle)``."""


class LedgerRecorder(DataKeyTable, Protocol):
    """A backend's recorder: entries and Merkle nodes, rule state, checkpoints and
    metadata, trusted keys and imports, and (from :class:`~ledger.vault.DataKeyTable`)
    the data keys."""

    # -- tables -----------------------------------------------------------------------------
    def holds_ledger(self) -> bool: ...

    def create_table(self) -> None: ...

    # -- entries (the library's events) and Merkle nodes, written together ------------------
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None: ...

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]: ...

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...

    def max_notification_id(self) -> int | None: ...

    def select_node(self, level: int, idx: int) -> bytes | None: ...

    def select_nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]: ...

    def select_nodes_at(self, keys: Sequence[tuple[int, int]]) -> list[tuple[int, int, bytes]]: ...

    def count_nodes(self, level: int) -> int: ...

    # -- entry positions (ledger.store.position_tables) -------------------------------------
    def select_position(self, log_index: int) -> int | None: ...

    def select_log_index(self, position: int) -> int | None: ...

    def select_stream_log_indexes(self, originator_id: UUID) -> list[tuple[int, int]]: ...

    def select_last_indexed(self) -> tuple[int, int] | None: ...

    def select_positions(self, start: int, stop: int) -> list[tuple[int, int]]: ...

    def index_positions(self, limit: int) -> int: ...

    # -- rule state (ledger.store.rule_state) -----------------------------------------------
    def write_state(self, rows: Sequence[StateRow], expect_size: int) -> None: ...

    def select_state(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]: ...

    def select_state_range(
        self, table: str, after: tuple[int, str], limit: int
    ) -> list[tuple[int, str, str]]: ...

    def select_state_tables(self, tables: Sequence[str]) -> list[tuple[str, str, str]]: ...

    def count_state(self, table: str) -> int: ...

    def select_progress(
        self, keys: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], str], int, int, int]: ...

    def reset_state(self, version: int) -> int | None: ...

    # -- checkpoints and metadata -----------------------------------------------------------
    def insert_latest_checkpoint(self, size: int, note: str) -> tuple[int, str]: ...

    def select_checkpoint(self, size: int | None) -> tuple[int, str] | None: ...

    def select_checkpoint_sizes(self) -> list[int]: ...

    def insert_heads_rows(
        self, size: int, leaves: Sequence[HeadsLeafRow], nodes: Sequence[tuple[int, int, bytes]]
    ) -> None: ...

    def delete_heads_rows(self, below: int, limit: int) -> int: ...

    def select_heads_leaves(
        self, size: int, streams: Sequence[str], indexes: Sequence[int]
    ) -> list[HeadsLeafRow]: ...

    def select_heads_after(self, size: int, stream: str) -> HeadsLeafRow | None: ...

    def select_heads_width(self, size: int) -> int: ...

    def select_heads_nodes(
        self, size: int, keys: Sequence[tuple[int, int]]
    ) -> list[tuple[int, int, bytes]]: ...

    def set_meta(self, key: str, value: str) -> str: ...

    # -- trusted keys and imported bundles --------------------------------------------------
    def insert_trusted_key(self, origin: str, verifier_key: str) -> None: ...

    def delete_trusted_keys(self, origin_or_key: str) -> int: ...

    def select_trusted_keys(self) -> list[tuple[str, str]]: ...

    def upsert_trust_weight(self, origin: str, weight: str, mac: str) -> None: ...

    def select_trust_weights(self) -> list[tuple[str, str, str]]: ...

    def insert_import(self, row: ImportRow) -> bool: ...

    def select_imports(
        self, person: str | None
    ) -> list[tuple[str, str, int, str, int, str, str]]: ...

    def select_imports_stamp(self) -> tuple[int, str]: ...

    def store_imports_stamp(self) -> bool: ...

    def select_import_bundle(self, origin: str, person: str, size: int) -> str | None: ...
