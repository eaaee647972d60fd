"""The stream-heads index: a Merkle commitment to the last entry of every stream.

A checkpoint of size ``n`` carries (in its ``trackrecord-heads`` extension line)
the root of an RFC 9162 tree whose leaves are the heads of all streams in the
first ``n`` entries of the log, sorted by stream name (byte order of the UTF-8
names), one leaf per stream::

    leaf data = b"trackrecord:head:v1\\x00" || JCS({"hash": <entry hash hex>,
                                                   "seq": <int>, "stream": <name>})

A :class:`HeadProof` shows that a stream's head at the checkpoint is
``(seq, hash)``: the leaf's inclusion proof, plus the inclusion proofs of its
left and right neighbours, whose names sort strictly before and after it — so
no second leaf for the same stream can hide in the tree. With it an exported
record proves that none of the person's entries was left out (docs/bundle.md).
The audit recomputes the whole index, so a mis-sorted tree is caught too.

:func:`heads_root_of` reads that root back from a checkpoint; it is shared by
the log (:mod:`ledger.transparency`) and the offline bundle verifier (:mod:`ledger.bundle`),
so this module imports nothing of the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .canonical import b64decode, b64encode, canonical_bytes, sha256_hex
from .checkpoint import Checkpoint, CheckpointError
from .errors import InclusionError, MalformedInput
from .merkle import MemoryNodes, empty_root, inclusion_proof, leaf_hash, root, root_from_inclusion
from .state import Head, LedgerState

__all__ = [
    "HEADS_COMMITMENT_PREFIX",
    "HEADS_LINE",
    "HEAD_PREFIX",
    "INVOLVED_PREFIX",
    "HeadProof",
    "HeadsIndex",
    "NeighbourProof",
    "head_leaf_data",
    "heads_commitment",
    "heads_root_of",
    "index_leaves",
    "involvement",
    "involvement_digest",
    "involvement_heads",
    "verify_head_proof",
    "verify_heads_inclusion",
]

HEAD_PREFIX = b"trackrecord:head:v1\x00"
HEADS_COMMITMENT_PREFIX = b"trackrecord:heads:v1\x00"
INVOLVED_PREFIX = "involved/"
INVOLVEMENT_PREFIX = b"trackrecord:involved:v1\x00"


def involvement_digest(streams: Iterable[str]) -> str:
    """Digest of the assignment streams a person owns or is assigned to (hex).

    ``SHA-256(b"trackrecord:involved:v1\\x00" || JCS(sorted stream names))``. The
    heads tree holds it as the pseudo-stream leaf ``involved/<person>`` with ``seq``
    the number of streams, so a bundle proves it left none of them out.
    """
    return sha256_hex(INVOLVEMENT_PREFIX + canonical_bytes(sorted(set(streams))))


def involvement(state: LedgerState) -> dict[str, set[str]]:
    """The assignment streams each person owns or is assigned to in ``state``."""
    involved: dict[str, set[str]] = {}
    for a in state.assignments.values():
        for person in {a.owner, *a.assignees}:
            involved.setdefault(person, set()).add(f"assignment/{a.id}")
    return involved


def involvement_heads(
    state: LedgerState, involved: dict[str, set[str]] | None = None
) -> dict[str, Head]:
    """The ``involved/<person>`` leaves of the heads tree for ``state`` (of ``involved``,
    its :func:`involvement`, if given)."""
    involved = involvement(state) if involved is None else involved
    return {
        INVOLVED_PREFIX + person: Head(len(streams), involvement_digest(streams))
        for person, streams in involved.items()
    }


def index_leaves(
    state: LedgerState, involved: dict[str, set[str]] | None = None
) -> dict[str, Head]:
    """Every leaf of the heads tree for ``state``: stream heads and involvement leaves
    (those of ``involved``, its :func:`involvement`, if given).

    The heads are read with ``items()``: over a stored state that is one range read per
    thousand streams, where ``{**state.heads}`` (its keys, then each value) made one
    query per stream (1,164 of them for an export at 10^4 entries)."""
    return {**dict(state.heads.items()), **involvement_heads(state, involved)}


def heads_commitment(size: int, tree_root: bytes) -> bytes:
    """The value of the ``trackrecord-heads`` line: the heads tree's root bound to its size.

    ``SHA-256(b"trackrecord:heads:v1\\x00" || uint64_be(size) || tree_root)``. Binding
    the leaf count means a proof cannot claim a smaller tree to hide the leaves to
    the right of a stream's head (an RFC 9162 audit path alone can fit several sizes).
    """
    return hashlib.sha256(HEADS_COMMITMENT_PREFIX + size.to_bytes(8, "big") + tree_root).digest()


def verify_heads_inclusion(part: NeighbourProof, *, size: int, commitment: bytes) -> None:
    """Check that ``part`` is leaf ``part.index`` of the heads tree of ``size`` leaves
    committed to by ``commitment``; raise :class:`~ledger.errors.InclusionError`."""
    if not isinstance(size, int) or not 0 <= size < 2**64:
        raise InclusionError(f"heads-tree size {size!r} is not a uint64")
    tree_root = root_from_inclusion(
        leaf_hash=part.leaf_hash(), index=part.index, size=size, proof=list(part.proof)
    )
    if heads_commitment(size, tree_root) != commitment:
        raise InclusionError(
            f"the proof of heads-tree leaf {part.index} ({part.stream!r}) does not lead to "
            f"the committed heads root",
            index=part.index,
            size=size,
        )


HEADS_LINE = "trackrecord-heads "
"""The checkpoint extension line carrying the heads root: this prefix, then its base64."""


def heads_root_of(checkpoint: Checkpoint) -> bytes:
    """The stream-heads root carried by ``checkpoint``; raise :class:`CheckpointError`.

    There must be exactly one ``trackrecord-heads`` line, holding canonical
    base64 of 32 bytes.
    """
    lines = [x for x in checkpoint.extensions if x.startswith(HEADS_LINE)]
    if len(lines) != 1:
        raise CheckpointError("the checkpoint carries no (or more than one) trackrecord-heads line")
    try:
        return b64decode(lines[0][len(HEADS_LINE) :], length=32, what="heads root")
    except MalformedInput as exc:
        raise CheckpointError(f"bad trackrecord-heads line: {exc.message}") from exc


def head_leaf_data(stream: str, seq: int, entry_hash: str) -> bytes:
    """The leaf bytes of one stream head."""
    return HEAD_PREFIX + canonical_bytes({"hash": entry_hash, "seq": seq, "stream": stream})


@dataclass(frozen=True)
class NeighbourProof:
    """A neighbouring leaf of the heads tree and its inclusion proof."""

    index: int
    stream: str
    seq: int
    hash: str
    proof: tuple[bytes, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "stream": self.stream,
            "seq": self.seq,
            "hash": self.hash,
            "proof": [b64encode(p) for p in self.proof],
        }

    @classmethod
    def from_json(cls, raw: Any) -> NeighbourProof:
        if not isinstance(raw, dict) or set(raw) != {"index", "stream", "seq", "hash", "proof"}:
            raise MalformedInput("a heads-tree leaf is {index, stream, seq, hash, proof}")
        if not all(
            isinstance(raw[k], int) and not isinstance(raw[k], bool) and 0 <= raw[k] < 2**53
            for k in ("index", "seq")
        ):
            raise MalformedInput("index and seq of a heads-tree leaf are integers in [0, 2^53)")
        if not isinstance(raw["stream"], str) or not isinstance(raw["hash"], str):
            raise MalformedInput("stream and hash of a heads-tree leaf are strings")
        if not isinstance(raw["proof"], list) or not all(isinstance(p, str) for p in raw["proof"]):
            raise MalformedInput("proof of a heads-tree leaf is a list of base64 strings")
        return cls(
            raw["index"],
            raw["stream"],
            raw["seq"],
            raw["hash"],
            tuple(b64decode(p, length=32, what="proof hash") for p in raw["proof"]),
        )

    def leaf_hash(self) -> bytes:
        return leaf_hash(head_leaf_data(self.stream, self.seq, self.hash))


@dataclass(frozen=True)
class HeadProof:
    """Proof that ``leaf`` is the head of its stream in a heads tree of ``size`` leaves."""

    size: int
    leaf: NeighbourProof
    left: NeighbourProof | None
    right: NeighbourProof | None

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "leaf": self.leaf.as_json(),
            "left": None if self.left is None else self.left.as_json(),
            "right": None if self.right is None else self.right.as_json(),
        }

    @classmethod
    def from_json(cls, raw: Any) -> HeadProof:
        if not isinstance(raw, dict) or set(raw) != {"size", "leaf", "left", "right"}:
            raise MalformedInput("a head proof is {size, leaf, left, right}")
        if not isinstance(raw["size"], int) or isinstance(raw["size"], bool):
            raise MalformedInput("size of a head proof is an integer")
        return cls(
            raw["size"],
            NeighbourProof.from_json(raw["leaf"]),
            None if raw["left"] is None else NeighbourProof.from_json(raw["left"]),
            None if raw["right"] is None else NeighbourProof.from_json(raw["right"]),
        )


class HeadsIndex:
    """The heads tree of one moment of the log, built in memory from stream heads."""

    def __init__(self, heads: Mapping[str, Head]) -> None:
        self.streams = sorted(heads, key=lambda s: s.encode("utf-8"))
        self.heads = {s: heads[s] for s in self.streams}
        self._position = {s: i for i, s in enumerate(self.streams)}
        self._nodes = MemoryNodes()
        self._nodes.append(
            [
                leaf_hash(head_leaf_data(s, self.heads[s].seq, self.heads[s].hash))
                for s in self.streams
            ]
        )

    @property
    def size(self) -> int:
        return len(self.streams)

    def nodes(self) -> list[tuple[int, int, bytes]]:
        """Every node of the tree ``(level, index, hash)``, its leaves' hashes at level 0."""
        return self._nodes.nodes()

    def tree_root(self) -> bytes:
        """The RFC 9162 root of the heads tree (``SHA-256("")`` when there are no streams)."""
        return empty_root() if not self.streams else root(self.size, self._nodes.get_node)

    def root(self) -> bytes:
        """The committed heads root: :func:`heads_commitment` of the size and tree root."""
        return heads_commitment(self.size, self.tree_root())

    def _leaf(self, index: int) -> NeighbourProof:
        stream = self.streams[index]
        head = self.heads[stream]
        proof = inclusion_proof(index, self.size, self._nodes.get_node)
        return NeighbourProof(index, stream, head.seq, head.hash, tuple(proof))

    def prove(self, stream: str) -> HeadProof:
        """Return the proof of ``stream``'s head; raise ``KeyError`` if it has none."""
        i = self._position[stream]
        return HeadProof(
            self.size,
            self._leaf(i),
            self._leaf(i - 1) if i > 0 else None,
            self._leaf(i + 1) if i + 1 < self.size else None,
        )


def verify_head_proof(
    proof: HeadProof, *, stream: str, seq: int, entry_hash: str, root_hash: bytes
) -> None:
    """Check that ``(seq, entry_hash)`` is *the* head of ``stream`` under ``root_hash``.

    Raises :class:`~ledger.errors.InclusionError` if a proof fails, the leaf is
    for another stream or head, or a neighbour does not sort strictly around it.
    """
    leaf = proof.leaf
    evidence = {"stream": stream, "seq": seq, "hash": entry_hash}
    if (leaf.stream, leaf.seq, leaf.hash) != (stream, seq, entry_hash):
        raise InclusionError(
            f"the heads index says {leaf.stream}#{leaf.seq} ({leaf.hash[:16]}…), "
            f"not {stream}#{seq} ({entry_hash[:16]}…)",
            **evidence,
        )
    name = stream.encode("utf-8")
    checks = (
        (proof.left, leaf.index - 1, leaf.index > 0, True),
        (proof.right, leaf.index + 1, leaf.index + 1 < proof.size, False),
    )
    for neighbour, index, must_exist, before in checks:
        if (neighbour is not None) != must_exist:
            raise InclusionError("a heads-index neighbour is missing or superfluous", **evidence)
        if neighbour is None:
            continue
        other = neighbour.stream.encode("utf-8")
        in_order = other < name if before else other > name
        if neighbour.index != index or not in_order:
            raise InclusionError(
                f"heads-index neighbour {neighbour.stream!r} does not sort next to {stream!r}",
                **evidence,
            )
    for part in (leaf, proof.left, proof.right):
        if part is not None:
            verify_heads_inclusion(part, size=proof.size, commitment=root_hash)
