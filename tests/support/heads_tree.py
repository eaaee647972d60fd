"""The rows of a checkpoint's stored heads tree (docs/store.md §6), made independently of
``TransparencyLog._store_heads_tree``, for tests that store a wrong tree or an old one; and
the bundles of a checkpoint made each way an export can make them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from keys import Identity
from ledger import export
from ledger.bundle import dump_bundle
from ledger.canonical import canonical_bytes
from ledger.errors import NotFound
from ledger.export import export_bundle
from ledger.heads import INVOLVED_PREFIX, HeadsIndex, index_leaves, involvement
from ledger.service import LedgerService
from ledger.store import Store
from ledger.store.recorder import HeadsLeafRow
from ledger.transparency import TransparencyLog
from tests.factories import World

__all__ = [
    "PATHS",
    "TreeRows",
    "export_by",
    "operator_key",
    "replace_tree",
    "stored_rows",
    "tree_rows",
    "uses_tree",
]

PATHS = ("tree", "rebuilt", "replay")


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


def stored_rows(log: TransparencyLog, size: int) -> TreeRows:
    """The heads-tree rows stored for ``size``: every leaf, and every node the tree of
    :func:`tree_rows` of that width has (those a stored tree holds)."""
    width = log.store.heads_width(size)
    leaves = log.store.heads_leaves(size, indexes=range(width)).values()
    heads = tree_rows(log)
    keys = [(level, index) for level, index, _ in heads.nodes]
    nodes = log.store.heads_nodes(size, keys)
    return TreeRows(
        sorted(leaves), sorted((level, index, h) for (level, index), h in nodes.items())
    )


def export_by(log: TransparencyLog, person: str, size: int, path: str) -> str | None:
    """``person``'s bundle at checkpoint ``size`` made the way ``path`` (of :data:`PATHS`)
    names: through the stored tree as export does, by the tree built again from the stored
    rule state (``_from_tree`` answering None), or by the replay of the log (``_from_state``
    too); None if the person is not registered at the checkpoint."""
    with pytest.MonkeyPatch.context() as patched:
        if path != "tree":
            patched.setattr(export, "_from_tree", lambda *_: None)
        if path == "replay":
            patched.setattr(export, "_from_state", lambda *_: None)
        try:
            return dump_bundle(export_bundle(log, person, size=size))
        except NotFound:
            return None


def uses_tree(log: TransparencyLog, person: str, size: int) -> bool:
    """Whether ``person``'s export at checkpoint ``size`` reads the stored heads tree."""
    found = log.store.get_checkpoint(size)
    assert found is not None
    return export._from_tree(log, size, found[1], person) is not None


def operator_key(world: World, service: LedgerService) -> Identity:
    """The operator's current identity in ``world`` (the key that signs checkpoints)."""
    state = service.state
    assert state.operator is not None
    return world.identities[state.people[state.operator].current_key or ""]
