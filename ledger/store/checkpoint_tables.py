"""The signed checkpoints and the ledger's metadata in a store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .recorder import HeadsLeafRow, LedgerRecorder

__all__ = ["CheckpointTables"]


class CheckpointTables:
    """Checkpoints and metadata (a part of :class:`~ledger.store.Store`)."""

    _recorder: LedgerRecorder

    def publish_checkpoint(self, size: int, note: str) -> tuple[int, str]:
        """Store a signed checkpoint note for ``size`` unless a checkpoint of that size or a
        larger one is stored already (by another process issuing at the same time: the
        first one of a size wins, and a smaller one never follows a larger one); return the
        latest stored checkpoint ``(size, note)``: this one if it was stored."""
        return self._recorder.insert_latest_checkpoint(size, note)

    def get_checkpoint(self, size: int | None = None) -> tuple[int, str] | None:
        """Return ``(size, note)`` of the checkpoint of ``size``, or of the latest one."""
        found: tuple[int, str] | None = self._recorder.select_checkpoint(size)
        return found

    def checkpoint_sizes(self) -> list[int]:
        """The sizes of all stored checkpoints, ascending."""
        return list(self._recorder.select_checkpoint_sizes())

    # The heads tree of the latest checkpoint, stored when it is issued (which hashes the
    # whole tree anyway), so that an export reads the few leaves and nodes of its proofs
    # and not every stream's head (ledger.export). It is written in bounded chunks before
    # the checkpoint that publishes it, and the trees of smaller checkpoints are deleted
    # after (ledger.transparency). Nothing trusts it: an export checks what it reads
    # against the signed checkpoint, and the audit recomputes the tree.
    def put_heads_rows(
        self, size: int, leaves: Sequence[HeadsLeafRow], nodes: Sequence[tuple[int, int, bytes]]
    ) -> None:
        """Store rows of checkpoint ``size``'s heads tree (leaves, and nodes ``(level,
        index, hash)``) in one transaction; rows already stored are kept (two processes
        write the same tree for the same size)."""
        self._recorder.insert_heads_rows(size, leaves, nodes)

    def drop_heads_rows(self, below: int, *, limit: int) -> int:
        """Delete up to ``limit`` leaves and ``limit`` nodes of the heads trees of sizes
        below ``below`` in one transaction; return how many rows (0: none are left)."""
        return int(self._recorder.delete_heads_rows(below, limit))

    def heads_leaves(
        self, size: int, *, streams: Iterable[str] = (), indexes: Iterable[int] = ()
    ) -> dict[str, HeadsLeafRow]:
        """The stored leaves of checkpoint ``size``'s heads tree for ``streams`` and at
        ``indexes``, by stream (absent ones left out), in one query."""
        rows = self._recorder.select_heads_leaves(size, sorted(set(streams)), sorted(set(indexes)))
        return {row[1]: row for row in rows}

    def heads_leaf_after(self, size: int, stream: str) -> HeadsLeafRow | None:
        """The stored leaf of checkpoint ``size``'s heads tree that sorts first after ``stream``."""
        return self._recorder.select_heads_after(size, stream)

    def heads_width(self, size: int) -> int:
        """The number of leaves of checkpoint ``size``'s stored heads tree (0: none stored)."""
        return int(self._recorder.select_heads_width(size))

    def heads_nodes(
        self, size: int, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """The stored nodes of checkpoint ``size``'s heads tree at ``(level, index)``, in
        one query (absent ones left out)."""
        wanted = list(dict.fromkeys(keys))
        return {(lv, i): h for lv, i, h in self._recorder.select_heads_nodes(size, wanted)}

    def set_meta(self, key: str, value: str) -> str:
        """Record a ledger setting once (e.g. the log's origin); return the stored value."""
        return str(self._recorder.set_meta(key, value))

    def get_meta(self, key: str) -> str | None:
        """Return a ledger setting, or None."""
        value: str | None = self._recorder.get_meta(key)
        return value
