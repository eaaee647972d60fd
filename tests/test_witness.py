"""The witness core (c2sp.org/tlog-witness) and Ed25519 cosignatures (c2sp.org/tlog-cosignature).

Pure: a real log (SQLite), a real state file, no HTTP. Conformance vectors come
from transparency-dev/formats (note/note_cosigv1_test.go).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from keys import Identity
from ledger.checkpoint import Checkpoint, CheckpointError, sign_checkpoint
from ledger.cosignature import (
    QuorumNotMet,
    cosign,
    cosignature_message,
    cosigner_key,
    cosigner_signer_key,
    parse_cosigner_key,
    parse_cosigner_signer_key,
    verify_cosignatures,
)
from ledger.witness import (
    BadWitnessRequest,
    InconsistentCheckpoint,
    OldSizeMismatch,
    UnknownLog,
    UntrustedCheckpoint,
    Witness,
    WitnessRecord,
    WitnessState,
    add_checkpoint_request,
    parse_add_checkpoint,
)
from tests.factories import identity_for
from tests.support.tinylog import LOG_KEY, LOG_VERIFIER, ORIGIN, Log

WITNESS_KEY = identity_for("witness")


def _witness(path: Path) -> Witness:
    return Witness(
        name="witness.test/w1",
        signer=WITNESS_KEY,
        logs={ORIGIN: [LOG_VERIFIER]},
        state=WitnessState(path),
    )


def _add(witness: Witness, log: Log, old: int, new: int) -> str:
    body = add_checkpoint_request(old, log.proof(old, new), log.note(new))
    return witness.add_checkpoint(body, now=1_700_000_000 + new)


def test_key_hash_matches_the_go_implementation() -> None:
    key = parse_cosigner_key("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    assert key.key_id == "remora.n621.de+da77ade7"
    assert str(key) == "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    with pytest.raises(Exception, match="hash does not match"):
        parse_cosigner_key("remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    with pytest.raises(Exception, match="0x04"):  # a type 0x01 note key is not a cosigner key
        parse_cosigner_key("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")


def test_cosignature_bytes() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosignature_message(text, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + text.encode()
    )
    line = cosign(text, name="w.test/1", signer=WITNESS_KEY, timestamp=1679315147)
    raw = base64.b64decode(line.removeprefix("\u2014 w.test/1 ").removesuffix("\n"))
    key = parse_cosigner_key(cosigner_key("w.test/1", WITNESS_KEY.public_key.raw))
    assert raw[:4] == key.key_hash
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    assert len(raw) == 4 + 8 + 64
    note = sign_checkpoint(
        Checkpoint("example.com/behind-the-sofa", 20852163, base64.b64decode(text.split("\n")[2])),
        name="example.com/behind-the-sofa",
        signer=LOG_KEY,
    )
    found = verify_cosignatures(note + line, witnesses=[key], quorum=1)
    assert [(c.key.name, c.timestamp) for c in found] == [("w.test/1", 1679315147)]
    with pytest.raises(QuorumNotMet):
        verify_cosignatures(note, witnesses=[key], quorum=1)
    forged = note + line.replace(line[-6:-2], "AAAA")
    with pytest.raises(CheckpointError):
        verify_cosignatures(forged, witnesses=[key], quorum=1)
    name, back = parse_cosigner_signer_key(cosigner_signer_key("w.test/1", WITNESS_KEY))
    assert (name, back.public_key.raw) == ("w.test/1", WITNESS_KEY.public_key.raw)


def test_request_syntax() -> None:
    body = add_checkpoint_request(3, [b"\x01" * 32], "o\n5\n" + "A" * 43 + "=\n\n— o x\n")
    parsed = parse_add_checkpoint(body)
    assert (parsed.old, parsed.proof) == (3, (b"\x01" * 32,))
    assert body.startswith(b"old 3\nAQEB")
    for bad in (b"old 03\n\nx", b"old 1\n", b"new 1\n\nx", b"old 1\nnot base64\n\nx"):
        with pytest.raises(BadWitnessRequest):
            parse_add_checkpoint(bad)
    with pytest.raises(BadWitnessRequest, match="more than 63"):
        parse_add_checkpoint(add_checkpoint_request(1, [b"\x00" * 32] * 64, "x"))


def test_witness_cosigns_only_consistent_growth_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "witness.json"
    honest = Log([b"a", b"b", b"c", b"d", b"e", b"f"])
    fork = Log([b"a", b"b", b"c", b"X", b"Y", b"Z"])
    witness = _witness(state)
    key = witness.key
    line = _add(witness, honest, 0, 3)
    assert verify_cosignatures(honest.note(3) + line, witnesses=[key], quorum=1)
    _add(witness, honest, 3, 5)
    # the fork of size 6 with an honest-looking proof from 5: refused, 422
    with pytest.raises(InconsistentCheckpoint) as refused:
        witness.add_checkpoint(
            add_checkpoint_request(5, honest.proof(5, 6), fork.note(6)), now=1_700_000_100
        )
    assert refused.value.details["old_checkpoint"].startswith(honest.note(5))
    assert refused.value.details["new_checkpoint"] == fork.note(6)
    # smaller than what was cosigned: old above size is 400, an old size it no longer has 409
    with pytest.raises(BadWitnessRequest):
        witness.add_checkpoint(add_checkpoint_request(5, [], honest.note(4)), now=1_700_000_150)
    with pytest.raises(OldSizeMismatch) as mismatch:
        _add(witness, honest, 3, 4)
    assert mismatch.value.latest_size == 5
    # after a restart (a new Witness on the same state file) the same refusals hold
    again = _witness(state)
    with pytest.raises(InconsistentCheckpoint):
        again.add_checkpoint(
            add_checkpoint_request(5, honest.proof(5, 6), fork.note(6)), now=1_700_000_200
        )
    with pytest.raises(OldSizeMismatch):
        _add(again, fork, 0, 6)
    with pytest.raises(InconsistentCheckpoint):  # same size, another root
        again.add_checkpoint(add_checkpoint_request(5, [], fork.note(5)), now=1_700_000_300)
    assert verify_cosignatures(
        honest.note(6) + _add(again, honest, 5, 6), witnesses=[key], quorum=1
    )


def test_unknown_log_and_untrusted_signature(tmp_path: Path) -> None:
    witness = _witness(tmp_path / "w.json")
    stranger = sign_checkpoint(
        Checkpoint("other.test/log", 1, b"\x00" * 32), name="other.test/log", signer=LOG_KEY
    )
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(add_checkpoint_request(0, [], stranger), now=1)
    impostor = sign_checkpoint(
        Checkpoint(ORIGIN, 1, b"\x00" * 32), name=ORIGIN, signer=identity_for("impostor")
    )
    with pytest.raises(UntrustedCheckpoint):
        witness.add_checkpoint(add_checkpoint_request(0, [], impostor), now=1)
    assert not (tmp_path / "w.json").exists()  # nothing remembered from refusals


def test_the_worked_example_of_docs_witness_md(tmp_path: Path) -> None:
    import re

    from ledger.checkpoint import parse_verifier_key
    from tests.support.witness_example import TIMESTAMP, example_blocks

    doc = (Path(__file__).resolve().parent.parent / "docs" / "witness.md").read_text("utf-8")
    shown = dict(re.findall(r"<!-- example: ([a-z-]+) -->\n```\n(.*?)```\n", doc, re.DOTALL))
    blocks = example_blocks()
    assert shown == blocks
    # the witness, having cosigned size 3, answers the request with exactly that line
    request = parse_add_checkpoint(blocks["request"].encode())
    log_key = parse_verifier_key(blocks["log-key"].strip())
    witness_key = parse_cosigner_key(blocks["witness-key"].strip())
    state = WitnessState(tmp_path / "w.json")
    root3 = _root_of_three(request.proof)
    old_note = "example.org/ledger\n3\n" + base64.b64encode(root3).decode() + "\n"
    state.advance("example.org/ledger", lambda _: WitnessRecord(3, root3, old_note))
    witness = Witness(
        name=witness_key.name,
        signer=_example_witness_identity(),
        logs={log_key.name: [log_key]},
        state=state,
    )
    assert witness.add_checkpoint(blocks["request"].encode(), now=TIMESTAMP) == blocks["response"]
    found = verify_cosignatures(blocks["cosigned"], witnesses=[witness_key], quorum=1)
    assert found[0].timestamp == TIMESTAMP


def _example_witness_identity() -> Identity:
    import hashlib

    return Identity(hashlib.sha256(b"docs/witness.md witness").digest())


def _root_of_three(proof: tuple[bytes, ...]) -> bytes:
    """The root of the example's first 3 entries, recomputed from its leaves."""
    import hashlib

    from ledger.merkle import leaf_hash

    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(3)]
    left = hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).digest()
    assert proof  # the request carries a proof from size 3
    return hashlib.sha256(b"\x01" + left + leaves[2]).digest()
