"""A tiny log of a few leaves, signed by a test key: checkpoints and proofs for witness tests."""

from __future__ import annotations

import hashlib

from ledger.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint
from ledger.merkle import consistency_proof, root
from tests.factories import identity_for

__all__ = ["LOG_KEY", "LOG_VERIFIER", "ORIGIN", "Log"]

ORIGIN = "log.test/a"
LOG_KEY = identity_for("log-operator")
LOG_VERIFIER = NoteVerifier.for_key(ORIGIN, LOG_KEY.public_key.raw)


def _tree(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """All nodes of the RFC 9162 tree over ``leaves`` (level, index) for ledger.merkle."""
    nodes: dict[tuple[int, int], bytes] = {}
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    height = 0
    while level:
        for i, h in enumerate(level):
            nodes[(height, i)] = h
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        height += 1
    return nodes


class Log:
    """A tiny log signed by LOG_KEY: checkpoints and proofs over ``leaves``."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.nodes = _tree(leaves)

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def note(self, size: int) -> str:
        cp = Checkpoint(ORIGIN, size, root(size, self.get))
        return sign_checkpoint(cp, name=ORIGIN, signer=LOG_KEY)

    def proof(self, old: int, new: int) -> list[bytes]:
        return consistency_proof(old, new, self.get) if old else []
