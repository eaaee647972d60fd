"""The worked example of docs/witness.md, computed: every block of §6 is checked against it."""

from __future__ import annotations

import hashlib

from keys import Identity
from ledger.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from ledger.cosignature import cosign, cosignature_message, cosigner_key
from ledger.merkle import consistency_proof, leaf_hash, root
from ledger.witness import add_checkpoint_request

__all__ = ["TIMESTAMP", "example_blocks"]

ORIGIN = "example.org/ledger"
WITNESS = "witness.example.org/w1"
TIMESTAMP = 1700000000


def _identity(label: str) -> Identity:
    return Identity(hashlib.sha256(label.encode()).digest())


def example_blocks() -> dict[str, str]:
    """The blocks of docs/witness.md §6 by name, as the code produces them."""
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(5)]
    nodes: dict[tuple[int, int], bytes] = {(0, i): h for i, h in enumerate(leaves)}
    level, height = leaves, 0
    while len(level) > 1:
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        height += 1
        nodes.update({(height, i): h for i, h in enumerate(level)})

    def get(lvl: int, index: int) -> bytes:
        return nodes[(lvl, index)]

    log, witness = _identity("docs/witness.md log"), _identity("docs/witness.md witness")
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, root(5, get)), name=ORIGIN, signer=log)
    text = note.split("\n\n")[0] + "\n"
    line = cosign(text, name=WITNESS, signer=witness, timestamp=TIMESTAMP)
    return {
        "log-key": verifier_key(ORIGIN, log.public_key.raw) + "\n",
        "witness-key": cosigner_key(WITNESS, witness.public_key.raw) + "\n",
        "request": add_checkpoint_request(3, consistency_proof(3, 5, get), note).decode(),
        "message": cosignature_message(text, TIMESTAMP).decode(),
        "response": line,
        "cosigned": note + line,
    }
