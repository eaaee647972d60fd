"""The rows of a checkpoint's stored heads tree (docs/store.md §6), made independently of
``TransparencyLog._store_heads_tree``, for tests that store a wrong tree or an old one."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.canonical import canonical_bytes
from ledger.heads import INVOLVED_PREFIX, HeadsIndex, index_leaves, involvement
from ledger.store import Store
from ledger.store.recorder import HeadsLeafRow
from ledger.transparency import TransparencyLog

__all__ = ["TreeRows", "replace_tree", "tree_rows"]


@dataclass
class TreeRows:
    leaves: list[HeadsLeafRow]
    nodes: list[tuple[int, int, bytes]]


def tree_rows(log: TransparencyLog) -> TreeRows:
    """The rows issuing a checkpoint of the log as it is now stores: a leaf per stream and
    ``involved/`` leaf (with its JSON list of assignment streams), and every node."""
    with log.service.reading() as state:
        involved = involvement(state)
        heads = HeadsIndex(index_leaves(state, involved))
    lists = {INVOLVED_PREFIX + p: canonical_bytes(sorted(s)).decode() for p, s in involved.items()}
    leaves = [
        (i, s, heads.heads[s].seq, heads.heads[s].hash, lists.get(s))
        for i, s in enumerate(heads.streams)
    ]
    return TreeRows(leaves, heads.nodes())


def replace_tree(
    store: Store, size: int, leaves: list[HeadsLeafRow], nodes: list[tuple[int, int, bytes]]
) -> None:
    """Make ``leaves`` and ``nodes`` the only stored heads-tree rows, as checkpoint
    ``size``'s (empty: no tree stored, as an earlier version left a checkpoint)."""
    while store.drop_heads_rows(size + 1, limit=10_000):
        pass
    store.put_heads_rows(size, leaves, nodes)
