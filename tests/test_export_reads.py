"""Export and checkpoint issuing read the heads tree's leaves with range reads, and give the
same bytes as the replay of the log (issue 13, item 2), on SQLite and on PostgreSQL.

``index_leaves`` over the stored rule state read every stream's head with a query of its
own (``{**state.heads}`` asks for the keys, then each value): 1,164 round trips for one
export at 10^4 entries. It now reads them with ``items()`` (a range read per thousand
rows). These tests pin down that the leaves, the checkpoint's heads root and every
person's bundle are the same as those of the independent replay (``ledger.export._scan``),
and that the leaves are read without a per-key look-up.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest

from ledger import commands, export
from ledger.bundle import dump_bundle
from ledger.checkpoint import verify_checkpoint
from ledger.export import export_bundle
from ledger.heads import INVOLVED_PREFIX, HeadsIndex, heads_root_of, index_leaves
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import Store, open_store
from ledger.transparency import TransparencyLog
from tests.support.heads_tree import replace_tree, tree_rows
from trackrecord.demo import MIN_PEOPLE, populate


@pytest.fixture
def ledger(database_url: str) -> Iterator[tuple[TransparencyLog, Any]]:
    """The demo ledger of a few people on the backend, with a checkpoint, and its keys."""
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        summary = populate(service, people=MIN_PEOPLE + 1, seed=5)
        log = TransparencyLog(service)
        assert service.state.operator is not None
        log.issue_checkpoint(summary.identities[service.state.operator])
        yield log, summary
    finally:
        store.close()


def _state_reads(store: Store) -> collections.Counter[str]:
    """Count the store's rule-state reads by kind (wrapping the instance's methods)."""
    calls: collections.Counter[str] = collections.Counter()
    for name in ("state_values", "state_scan", "state_count"):
        method = getattr(store, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kw: Any) -> Any:
            calls[_name] += 1
            return _method(*args, **kw)

        setattr(store, name, counted)
    return calls


def test_the_stored_leaves_are_the_replayed_ones_read_by_range(
    ledger: tuple[TransparencyLog, Any],
) -> None:
    log, _ = ledger
    n, note = log.store.get_checkpoint(None) or (0, "")
    replayed = index_leaves(export._scan(log, n).state)
    with log.service.reading() as state:
        calls = _state_reads(log.store)  # from here: what reading the leaves costs
        stored = index_leaves(state)
    assert stored == replayed
    assert len(stored) > 3 * (MIN_PEOPLE + 1)  # identity, record and involvement leaves
    assert calls["state_values"] == 0, calls  # no look-up per stream
    checkpoint = verify_checkpoint(note, verifiers=[log.verifier_at(n)], origin=log.origin)
    assert HeadsIndex(stored).root() == heads_root_of(checkpoint)  # the signed bytes


def test_every_bundle_is_the_one_of_the_replay(
    ledger: tuple[TransparencyLog, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """... and its Merkle nodes are read in one query (``Store.nodes_at``), not one by one."""
    log, summary = ledger
    people = sorted(summary.identities)
    one_by_one: list[tuple[int, int]] = []
    get_node = log.store.get_node
    monkeypatch.setattr(
        log.store, "get_node", lambda *key: one_by_one.append(key) or get_node(*key)
    )
    indexed = {p: dump_bundle(export_bundle(log, p)) for p in people}
    n = (log.store.get_checkpoint(None) or (0, ""))[0]
    assert set(one_by_one) <= {(0, n)}  # only the catch-up's look for a leaf past the log
    monkeypatch.undo()
    with monkeypatch.context() as patched:
        patched.setattr(export, "_from_tree", lambda *_: None)  # the stored tree's: below
        patched.setattr(export, "_from_state", lambda *_: None)
        replayed = {p: dump_bundle(export_bundle(log, p)) for p in people}
    assert indexed == replayed


def _bundles(log: TransparencyLog, people: list[str]) -> dict[str, bytes]:
    return {p: dump_bundle(export_bundle(log, p)) for p in people}


def test_an_export_reads_the_checkpoints_stored_heads_tree(
    ledger: tuple[TransparencyLog, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issuing a checkpoint stores its heads tree; an export then reads the few leaves and
    nodes its proofs need (no range of the rule state: not every stream's head), and its
    bundles are byte for byte those of the tree built again from every stream's head, and
    of the replay of the log (issue 13)."""
    log, summary = ledger
    people = sorted(summary.identities)
    used: list[bool] = []
    from_tree = export._from_tree

    def spied(*args: Any) -> Any:
        found = from_tree(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(export, "_from_tree", spied)
    calls = _state_reads(log.store)
    stored = _bundles(log, people)
    assert used == [True] * len(people)
    assert calls["state_scan"] == 0, calls
    monkeypatch.undo()
    with monkeypatch.context() as patched:
        patched.setattr(export, "_from_tree", lambda *_: None)
        rebuilt = _bundles(log, people)
        patched.setattr(export, "_from_state", lambda *_: None)
        replayed = _bundles(log, people)
    assert stored == rebuilt == replayed


def test_without_a_sound_stored_tree_an_export_builds_the_tree_again(
    ledger: tuple[TransparencyLog, Any],
) -> None:
    """A checkpoint issued by earlier code has no stored tree, and a stored tree is not
    trusted: a node, leaf or involvement list that does not prove itself against the
    signed heads root makes the export build the tree again, with the same bytes."""
    log, summary = ledger
    people = sorted(summary.identities)
    expected = _bundles(log, people)
    n = (log.store.get_checkpoint(None) or (0, ""))[0]
    rows = tree_rows(log)
    leaves, nodes = rows.leaves, rows.nodes
    assert log.store.heads_width(n) == len(leaves)
    involved = next(i for i, leaf in enumerate(leaves) if leaf[4] is not None)
    person = leaves[involved][1].removeprefix(INVOLVED_PREFIX)
    own = next(i for i, leaf in enumerate(leaves) if leaf[1] == f"identity/{person}")
    wrong_leaf = [*leaves]
    wrong_leaf[own] = (*leaves[own][:2], leaves[own][2] + 1, *leaves[own][3:])
    wrong_list = [*leaves]
    wrong_list[involved] = (*leaves[involved][:4], "[]")
    top = max(nodes, key=lambda node: node[0])
    wrong_node = [node if node != top else (*top[:2], bytes(32)) for node in nodes]
    note = log.store.get_checkpoint(n)
    assert note is not None
    trees = ([], []), (leaves, []), (wrong_leaf, nodes), (wrong_list, nodes), (leaves, wrong_node)
    for tree_leaves, tree_nodes in trees:
        replace_tree(log.store, n, tree_leaves, tree_nodes)
        assert export._from_tree(log, n, note[1], person) is None
        assert _bundles(log, people) == expected
    replace_tree(log.store, n, leaves, nodes)
    assert export._from_tree(log, n, note[1], person) is not None


def test_an_upgraded_ledgers_checkpoint_gets_its_heads_tree_stored(
    ledger: tuple[TransparencyLog, Any],
) -> None:
    """A checkpoint issued by earlier code has no stored tree: ``store_missing_heads_tree``
    (run by ``trackrecord migrate``) stores the one whose root the checkpoint signed, so
    exports read it again, with the same bytes; once the log has grown past the
    checkpoint it stores nothing (the heads now are not the checkpoint's)."""
    log, summary = ledger
    people = sorted(summary.identities)
    expected = _bundles(log, people)
    n, note = log.store.get_checkpoint(None) or (0, "")
    leaves = tree_rows(log).leaves
    replace_tree(log.store, n, [], [])  # as an earlier version left it
    person = people[0]
    assert export._from_tree(log, n, note, person) is None
    assert log.store_missing_heads_tree() == n
    assert log.store.heads_width(n) == len(leaves)
    assert export._from_tree(log, n, note, person) is not None
    assert _bundles(log, people) == expected
    assert log.store_missing_heads_tree() is None  # stored already: nothing to do

    replace_tree(log.store, n, [], [])
    claim = commands.claim_contribution(
        Signer(summary.identities[person], log.origin), person=person, title="after",
        skills=["python"], start="2026-02-01",
    )  # fmt: skip
    log.service.append(claim)
    assert log.store_missing_heads_tree() is None  # grown past the checkpoint
    assert export._from_tree(log, n, note, person) is None
    assert _bundles(log, [p for p in people if p != person]) == {
        p: b for p, b in expected.items() if p != person
    }
