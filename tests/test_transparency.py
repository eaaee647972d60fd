"""The transparency log over a real store: checkpoints, proofs, heads, operator key rotation."""

from __future__ import annotations

import pytest

from keys import Identity
from ledger import commands, merkle
from ledger.errors import MalformedInput, NotFound, RuleViolation
from ledger.heads import HeadsIndex, heads_root_of, verify_head_proof
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import open_store
from ledger.transparency import TransparencyLog

_ORIGIN = "test.trackrecord/ledger"


def _ledger(url: str) -> tuple[LedgerService, TransparencyLog, Identity, Identity]:
    service = LedgerService(open_store(url))
    op, alice = Identity(bytes([7]) * 32), Identity(bytes([8]) * 32)
    service.append(
        commands.register_identity(
            Signer(op, _ORIGIN),
            person="op",
            public_key=op.public_key.raw,
            organisation="o",
            department="o/ops",
            display_name="Operator",
        )
    )
    service.append(
        commands.register_identity(
            Signer(op, _ORIGIN),
            person="alice",
            public_key=alice.public_key.raw,
            organisation="o",
            department="o/ops",
            display_name="Alice",
        )
    )
    log = TransparencyLog(service)
    log.set_origin(_ORIGIN)
    return service, log, op, alice


def test_checkpoints_proofs_and_heads(database_url: str) -> None:
    service, log, op, alice = _ledger(database_url)
    for i in range(5):
        service.append(
            commands.claim_contribution(
                Signer(alice, _ORIGIN),
                person="alice",
                title=f"t{i}",
                skills=["x"],
                start="2026-01-01",
            )
        )
    first = log.issue_checkpoint(op)
    assert first.size == 7
    assert log.checkpoint().note == first.note
    assert log.issue_checkpoint(op).note == first.note  # same size: the stored one is kept
    leaves = [merkle.leaf_hash(e.entry.canonical) for _, e in service.read_log(after=0)]
    for i, leaf in enumerate(leaves):
        merkle.verify_inclusion(
            leaf_hash=leaf, index=i, size=7, proof=log.inclusion_proof(i, 7),
            root=first.checkpoint.root_hash,
        )  # fmt: skip
    service.append(
        commands.claim_contribution(
            Signer(alice, _ORIGIN), person="alice", title="t5", skills=["x"], start="2026-01-01"
        )
    )
    second = log.issue_checkpoint(op)
    merkle.verify_consistency(
        size1=7, size2=8, root1=first.checkpoint.root_hash, root2=second.checkpoint.root_hash,
        proof=log.consistency_proof(7, 8),
    )  # fmt: skip
    heads = HeadsIndex(log.heads_at(8))
    assert heads.root() == heads_root_of(second.checkpoint)
    head = service.state.heads["record/alice"]
    verify_head_proof(
        heads.prove("record/alice"), stream="record/alice", seq=head.seq, entry_hash=head.hash,
        root_hash=heads_root_of(second.checkpoint),
    )  # fmt: skip
    assert log.checkpoint_sizes() == [7, 8]
    with pytest.raises(MalformedInput):
        log.inclusion_proof(8, 8)
    with pytest.raises(MalformedInput):
        log.consistency_proof(3, 9)
    with pytest.raises(NotFound):
        log.checkpoint(5)


def test_only_the_operator_signs_and_old_checkpoints_survive_rotation(database_url: str) -> None:
    service, log, op, alice = _ledger(database_url)
    with pytest.raises(RuleViolation) as info:
        log.issue_checkpoint(alice)
    assert info.value.code == "not_operator"
    before = log.issue_checkpoint(op)
    new_op = Identity(bytes([9]) * 32)
    service.append(
        commands.rotate_key(Signer(op, _ORIGIN), person="op", new_public_key=new_op.public_key.raw)
    )
    with pytest.raises(RuleViolation):
        log.issue_checkpoint(op)  # the old key no longer signs checkpoints
    after = log.issue_checkpoint(new_op)
    assert log.checkpoint(before.size).note == before.note  # verified with the key of its time
    assert log.checkpoint(after.size).note == after.note
    assert log.verifier_at(before.size) != log.verifier_at(after.size)


def test_heads_commitment_binds_the_tree_size() -> None:
    """The heads line commits to the leaf count: a proof claiming another size fails,
    even where an RFC 9162 audit path alone would fit both sizes."""
    import dataclasses

    from ledger.errors import InclusionError
    from ledger.state import Head

    heads = HeadsIndex({f"record/p{i}": Head(1, f"{i:064x}") for i in range(4)})
    commitment = heads.root()
    proof = heads.prove("record/p0")
    verify_head_proof(
        proof, stream="record/p0", seq=1, entry_hash=f"{0:064x}", root_hash=commitment
    )
    # Index 0's path [leaf 1, node (1, 1)] also verifies, as plain RFC 9162, for size 3.
    merkle.verify_inclusion(
        leaf_hash=proof.leaf.leaf_hash(), index=0, size=3, proof=list(proof.leaf.proof),
        root=heads.tree_root(),
    )  # fmt: skip
    for size in (3, 5):
        with pytest.raises(InclusionError):
            verify_head_proof(
                dataclasses.replace(proof, size=size), stream="record/p0", seq=1,
                entry_hash=f"{0:064x}", root_hash=commitment,
            )  # fmt: skip


def test_audit_checks_every_stored_checkpoint(sqlite_url: str) -> None:
    """The audit recomputes root and stream heads at each checkpoint's size and checks its
    signature; a replaced checkpoint, or a log cut below a checkpoint, is reported."""
    import sqlite3

    from ledger.audit import audit
    from ledger.checkpoint import Checkpoint, sign_checkpoint
    from ledger.transparency import HEADS_LINE

    service, log, op, alice = _ledger(sqlite_url)
    first = log.issue_checkpoint(op)
    for i in range(3):
        service.append(
            commands.claim_contribution(
                Signer(alice, _ORIGIN),
                person="alice",
                title=f"t{i}",
                skills=["x"],
                start="2026-01-01",
            )
        )
    second = log.issue_checkpoint(op)
    assert audit(open_store(sqlite_url)).ok
    path = sqlite_url.removeprefix("sqlite://")

    def replace(size: int, note: str) -> None:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE checkpoints SET note=? WHERE size=?", (note, size))

    # A validly signed checkpoint of a different tree: the operator's key, the wrong root.
    wrong = Checkpoint(log.origin, first.size, bytes(32), (HEADS_LINE + "A" * 43 + "=",))
    replace(first.size, sign_checkpoint(wrong, name=log.origin, signer=op))
    report = audit(open_store(sqlite_url))
    assert report.failure is not None
    assert (report.failure.code, report.failure.log_index) == ("checkpoint_mismatch", 1)
    # Signed by another key.
    replace(first.size, sign_checkpoint(first.checkpoint, name=log.origin, signer=alice))
    report = audit(open_store(sqlite_url))
    assert report.failure is not None
    assert report.failure.code == "bad_checkpoint"
    replace(first.size, first.note)
    assert audit(open_store(sqlite_url)).ok
    # Cut the log (entries and leaves alike) below the second checkpoint.
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = (SELECT MAX(rowid) FROM stored_events)")
        db.execute("DELETE FROM merkle_nodes WHERE level = 0 AND idx = ?", (second.size - 1,))
    report = audit(open_store(sqlite_url))
    assert report.failure is not None
    assert report.failure.code == "checkpoint_beyond_log"
