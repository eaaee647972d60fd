"""The signed checkpoints and the ledger's metadata in a store."""

from __future__ import annotations

from .recorder import LedgerRecorder

__all__ = ["CheckpointTables"]


class CheckpointTables:
    """Checkpoints and metadata (a part of :class:`~ledger.store.Store`)."""

    _recorder: LedgerRecorder

    def put_checkpoint(self, size: int, note: str) -> str:
        """Store a signed checkpoint note for ``size`` (first one wins); return the stored note."""
        return str(self._recorder.insert_checkpoint(size, note))

    def get_checkpoint(self, size: int | None = None) -> tuple[int, str] | None:
        """Return ``(size, note)`` of the checkpoint of ``size``, or of the latest one."""
        found: tuple[int, str] | None = self._recorder.select_checkpoint(size)
        return found

    def checkpoint_sizes(self) -> list[int]:
        """The sizes of all stored checkpoints, ascending."""
        return list(self._recorder.select_checkpoint_sizes())

    def set_meta(self, key: str, value: str) -> str:
        """Record a ledger setting once (e.g. the log's origin); return the stored value."""
        return str(self._recorder.set_meta(key, value))

    def get_meta(self, key: str) -> str | None:
        """Return a ledger setting, or None."""
        value: str | None = self._recorder.get_meta(key)
        return value
