"""An export through the checkpoint's stored heads tree (``ledger.export._from_tree``) gives
byte for byte the bundle of the tree built again from every stream's head and of the
replay of the log, and a stored tree that is wrong in any row never changes a byte
(issue 13; the contract is docs/store.md §6).

The ledgers are random and rule-valid (``tests.factories.random_statements``: claims,
endorsements, assignments, key rotations and recoveries, registrations, transfers,
departures; sometimes an erasure at the end), appended in batches with checkpoints
issued at random sizes (one of them twice at the same size), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.bundle import load_bundle, verify_bundle
from ledger.canonical import canonical_bytes
from ledger.errors import NotFound, RuleViolation
from ledger.heads import INVOLVED_PREFIX
from ledger.merkle import proof_nodes
from ledger.service import LedgerService
from ledger.statement import SignedStatement
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests.factories import World, random_statements, standard_world
from tests.support.heads_tree import (
    PATHS,
    TreeRows,
    export_by,
    operator_key,
    replace_tree,
    tree_rows,
    uses_tree,
)


def _statements(seed: int, size: int, erase: bool) -> tuple[World, list[SignedStatement]]:
    """A random valid ledger of ``size`` statements, and an erasure of someone if ``erase``."""
    rng = random.Random(seed)
    world, statements = random_statements(rng, size, seed=f"tree{seed}")
    if erase:
        people = sorted(p for p in world.people if p != "operator")
        erasure = world.erase(world.people[rng.choice(people)])
        try:
            world.do(erasure)
        except RuleViolation:  # not erasable now (someone who left, say): none then
            return world, statements
        statements.append(erasure)
    return world, statements


@contextmanager
def _ledger(url: str) -> Iterator[TransparencyLog]:
    store = open_store(url)
    try:
        yield TransparencyLog(LedgerService(store))
    finally:
        store.close()


def _examples(request: pytest.FixtureRequest, sqlite: int, postgres: int) -> int:
    """How many examples a property runs on the backend of ``fresh_url``: PostgreSQL's
    round trips make each several times dearer, and the properties are the backend's
    (the same code reads both), so fewer there keep CI fast."""
    backend = request.node.callspec.params["fresh_url"]
    return sqlite if backend == "sqlite" else postgres


def test_the_stored_tree_gives_the_bytes_of_the_tree_built_again(
    fresh_url: Callable[[], AbstractContextManager[str]], request: pytest.FixtureRequest
) -> None:
    """At every checkpoint (of size 1 too, two issued at the same size, one after an
    erasure) every person's export reads the stored tree and equals the tree built
    again and the replay; someone registered only after it is not found, the stored tree
    proving them absent; after later appends the older checkpoints (whose tree is no
    longer stored) and the latest one (whose tree is) still give the same bytes (the same
    as before, unless an erasure since withdrew disclosures)."""

    @settings(max_examples=_examples(request, 5, 1), deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        size=st.integers(6, 30),
        cuts=st.lists(st.integers(1, 31), min_size=1, max_size=3, unique=True),
        twice=st.integers(0, 2),
        erase=st.booleans(),
    )
    @example(seed=1, size=12, cuts=[1, 7, 13], twice=1, erase=True)  # size 1; erasure last
    def run(seed: int, size: int, cuts: list[int], twice: int, erase: bool) -> None:
        with fresh_url() as url:
            _checkpoints_and_exports(url, seed, size, cuts, twice, erase)

    run()


def _checkpoints_and_exports(
    url: str, seed: int, size: int, cuts: list[int], twice: int, erase: bool
) -> None:
    world, statements = _statements(seed, size, erase)
    sizes = sorted({min(c, len(statements)) for c in cuts})
    everyone = sorted(world.people)
    bundles: dict[tuple[int, str], str | None] = {}
    with _ledger(url) as log:
        done = 0
        for n in sizes:
            log.service.append_batch(statements[done:n])
            done = n
            for _ in range(2 if n == sizes[twice % len(sizes)] else 1):
                assert log.issue_checkpoint(operator_key(world, log.service)).size == n
            assert log.store.checkpoint_sizes() == sizes[: sizes.index(n) + 1]
            registered = set(log.service.state.people)
            for person in everyone:
                made = {path: export_by(log, person, n, path) for path in PATHS}
                assert made["tree"] == made["rebuilt"] == made["replay"], (n, person)
                assert (made["tree"] is not None) == (person in registered), (n, person)
                if made["tree"] is not None:
                    assert uses_tree(log, person, n), (n, person)
                else:  # the stored tree proves the person absent: no tree built again
                    with pytest.raises(NotFound):
                        uses_tree(log, person, n)
                bundles[(n, person)] = made["tree"]
        log.service.append_batch(statements[done:])
        for n in sizes:  # only the latest checkpoint's tree is kept
            assert (log.store.heads_width(n) > 0) == (n == sizes[-1])
        erasures = [i for i, s in enumerate(statements) if s.statement.type == "PersonErased"]
        for (n, person), before in bundles.items():
            made = {path: export_by(log, person, n, path) for path in ("tree", "replay")}
            assert made["tree"] == made["replay"], (n, person)
            if all(i < n for i in erasures):  # an erasure withdraws disclosures from exports
                assert made["tree"] == before, (n, person)
        key = log.verifier_at(sizes[-1])  # the operator may have rotated since
        for person in everyone:
            text = bundles[(sizes[-1], person)]
            if text is not None:
                verify_bundle(load_bundle(text), trusted=[key])


# -- a stored tree that is wrong ---------------------------------------------------------------


TAMPERS = (
    "leaf seq",
    "leaf hash",
    "leaf stream",
    "leaf involved",
    "leaf moved to the end",
    "leaf deleted",
    "leaf added",
    "node changed",
    "node deleted",
    "node added",
    "another checkpoint's tree",
)
# these change the tree's width or root (a leaf deleted in the middle changes neither)
_EVERYONE = ("leaf moved to the end", "leaf added", "another checkpoint's tree")


def _tampered(
    tree: TreeRows, older: TreeRows, how: str, rng: random.Random
) -> tuple[TreeRows, Any]:
    """``tree`` with one row wrong as ``how`` says, and the row (leaf or node key) it hit."""
    leaves, nodes, width = list(tree.leaves), list(tree.nodes), len(tree.leaves)
    if how == "another checkpoint's tree":
        return older, None
    if how.startswith("node"):
        at = rng.randrange(len(nodes))
        level, index, value = nodes[at]
        if how == "node changed":
            nodes[at] = (level, index, bytes(b ^ 1 for b in value))
        elif how == "node deleted":
            del nodes[at]
        else:
            nodes.append((rng.choice([0, 1]), width + rng.randrange(3), bytes(range(32))))
            return TreeRows(leaves, nodes), None
        return TreeRows(leaves, nodes), (level, index)
    if how == "leaf added":
        leaves.append((width + rng.randrange(3), "~extra", 1, "ab" * 32, None))
        return TreeRows(leaves, nodes), None
    if how == "leaf involved":
        candidates = [i for i, leaf in enumerate(leaves) if leaf[4] is not None]
        at = rng.choice(candidates or [rng.randrange(width)])
        streams = json.loads(leaves[at][4] or "[]")
        wrong = streams[1:] if len(streams) > 1 else [*streams, "assignment/x"]
        leaves[at] = (*leaves[at][:4], canonical_bytes(sorted(wrong)).decode())
        return TreeRows(leaves, nodes), leaves[at][1]
    at = rng.randrange(width)
    index, stream, seq, hash_, involved = leaves[at]
    if how == "leaf seq":
        leaves[at] = (index, stream, seq + 1, hash_, involved)
    elif how == "leaf hash":
        leaves[at] = (index, stream, seq, ("0" if hash_[0] != "0" else "1") + hash_[1:], involved)
    elif how == "leaf stream":
        leaves[at] = (index, stream + "0", seq, hash_, involved)  # still sorts in place
    elif how == "leaf moved to the end":
        leaves[at] = (width, stream, seq, hash_, involved)
    else:
        del leaves[at]
    return TreeRows(leaves, nodes), stream


def test_a_wrong_stored_tree_never_changes_a_byte(
    fresh_url: Callable[[], AbstractContextManager[str]], request: pytest.FixtureRequest
) -> None:
    """Any one row of the stored tree changed, deleted or added: every person's export is
    still the genuine bundle. The export notices each wrong row its proofs read (it then
    builds the tree again): a leaf of one of the person's streams, a node of the tree's
    root, and every change of the tree's width or root (then for every person)."""

    @settings(max_examples=_examples(request, 8, 2), deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        size=st.integers(8, 24),
        how=st.sampled_from(TAMPERS),
        pick=st.integers(0, 2**32 - 1),
    )
    def run(seed: int, size: int, how: str, pick: int) -> None:
        with fresh_url() as url:
            _wrong_tree(url, seed, size, how, pick)

    run()


def _wrong_tree(url: str, seed: int, size: int, how: str, pick: int) -> None:
    world, statements = _statements(seed, size, erase=False)
    older_size = max(1, len(statements) // 2)
    with _ledger(url) as log:
        log.service.append_batch(statements[:older_size])
        older = tree_rows(log)
        log.service.append_batch(statements[older_size:])
        n = log.issue_checkpoint(operator_key(world, log.service)).size
        tree = tree_rows(log)
        people = sorted(log.service.state.people)
        genuine = {p: export_by(log, p, n, "tree") for p in people}
        assert all(uses_tree(log, p, n) for p in people)
        wrong, hit = _tampered(tree, older, how, random.Random(pick))
        replace_tree(log.store, n, wrong.leaves, wrong.nodes)
        root_nodes = set(proof_nodes(len(tree.leaves), []))
        for person in people:
            assert export_by(log, person, n, "tree") == genuine[person], (how, person)
            heads = json.loads(genuine[person] or "{}")["heads"]
            noticed = (
                how in _EVERYONE
                or (how.startswith("leaf") and how != "leaf involved" and hit in heads)
                or (how == "leaf involved" and hit.startswith(INVOLVED_PREFIX) and hit in heads)
                or (how in ("node changed", "node deleted") and hit in root_nodes)
            )
            if noticed:
                assert not uses_tree(log, person, n), (how, hit, person, len(tree.leaves))


def test_each_head_proof_is_checked_against_the_entries_the_bundle_holds(
    database_url: str,
) -> None:
    """Regression (review of ``_from_tree``): a stream's stored leaf is read twice, by name
    (which says up to which entry the stream is read) and by position (which the head
    proof is made from), and the proof was checked against the second read. A store whose
    two answers differ (a wrong row the table's constraints would refuse, say) made the
    bundle hold an entry past the checkpoint and the export fail; now the proof must show
    the head the bundle's entries end at, and the export builds the tree again."""
    with _ledger(database_url) as log:
        world = standard_world(log.service)
        alice = world["alice"]
        world.do(world.claim(alice))
        n = log.issue_checkpoint(world.operator.identity).size
        assert tree_rows(log).leaves[-1][1] == "record/alice"  # the last leaf: no right
        genuine = export_by(log, "alice", n, "tree")
        assert uses_tree(log, "alice", n)
        later = world.do(world.claim(alice))  # record/alice's head after the checkpoint
        head = log.service.state.heads["record/alice"]
        assert later.statement.stream == "record/alice"
        assert head.seq == 2
        by_name = log.store.heads_leaves

        def later_head(size: int, *, streams: Any = (), indexes: Any = ()) -> Any:
            found = by_name(size, streams=streams, indexes=indexes)
            if "record/alice" in streams:  # read by name: the head after the checkpoint
                found["record/alice"] = (*found["record/alice"][:2], head.seq, head.hash, None)
            return found

        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(log.store, "heads_leaves", later_head)
            assert not uses_tree(log, "alice", n)
            assert export_by(log, "alice", n, "tree") == genuine


def test_a_smaller_checkpoint_signed_late_is_not_published(database_url: str) -> None:
    """Two processes issuing at once: the slower one read a smaller log and signs after the
    larger checkpoint was published. Its checkpoint is not stored (a smaller one never
    follows a larger one), it answers the latest one, and its tree rows, if any, are
    deleted; the latest checkpoint keeps its tree."""
    with _ledger(database_url) as log:
        world = standard_world(log.service)
        log.issue_checkpoint(world.operator.identity)
        world.do(world.claim(world["alice"]))
        slower = log._heads_at_once()  # the slower issuer's moment
        world.do(world.claim(world["alice"]))
        n = log.issue_checkpoint(world.operator.identity).size
        assert slower[0] == n - 1
        sizes = log.store.checkpoint_sizes()
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(log, "_heads_at_once", lambda: slower)
            assert log.issue_checkpoint(world.operator.identity).size == n
        assert log.store.checkpoint_sizes() == sizes
        assert log.store.heads_width(n - 1) == 0
        assert log.store.heads_width(n) == len(tree_rows(log).leaves)
        assert uses_tree(log, "alice", n)
