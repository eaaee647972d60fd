"""Absence of a stream: the two adjacent heads-tree leaves that enclose its name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import MalformedInput, ProofError
from ..heads import HeadsIndex, NeighbourProof, verify_heads_inclusion
from .document import BundleError

__all__ = ["AbsenceProof", "verify_absence"]


@dataclass(frozen=True)
class AbsenceProof:
    """Proof that no stream of a name is in a heads tree: its two adjacent leaves."""

    size: int
    left: NeighbourProof | None
    right: NeighbourProof | None

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "left": None if self.left is None else self.left.as_json(),
            "right": None if self.right is None else self.right.as_json(),
        }

    @classmethod
    def from_json(cls, raw: Any) -> AbsenceProof:
        """Parse ``{size, left, right}``; raise :class:`MalformedInput`."""
        if not isinstance(raw, dict) or set(raw) != {"size", "left", "right"}:
            raise MalformedInput("an absence proof is {size, left, right}")
        if not isinstance(raw["size"], int) or isinstance(raw["size"], bool):
            raise MalformedInput("size of an absence proof is an integer")
        return cls(
            raw["size"],
            None if raw["left"] is None else NeighbourProof.from_json(raw["left"]),
            None if raw["right"] is None else NeighbourProof.from_json(raw["right"]),
        )

    @classmethod
    def build(cls, index: HeadsIndex, stream: str) -> AbsenceProof:
        """The proof that ``stream`` is not in ``index``; raise ``ValueError`` if it is."""
        if stream in index.heads:
            raise ValueError(f"{stream} is in the heads index")
        name = stream.encode("utf-8")
        after = next((i for i, s in enumerate(index.streams) if s.encode("utf-8") > name), None)
        right_i = index.size if after is None else after
        left = index.prove(index.streams[right_i - 1]).leaf if right_i > 0 else None
        right = index.prove(index.streams[right_i]).leaf if right_i < index.size else None
        return cls(index.size, left, right)


def verify_absence(proof: AbsenceProof, *, stream: str, root_hash: bytes) -> None:
    """Check that the heads tree ``root_hash`` holds no leaf for ``stream``.

    The two leaves must be adjacent (or the first / last leaf of the tree), sort
    strictly around ``stream`` and verify. Raises :class:`BundleError`
    (``bad_absence_proof``) otherwise.
    """
    name = stream.encode("utf-8")
    left, right, size = proof.left, proof.right, proof.size
    adjacent = (
        (left is None or left.stream.encode("utf-8") < name)
        and (right is None or right.stream.encode("utf-8") > name)
        and (left is None or right is None or right.index == left.index + 1)
        and (left is not None or right is None or right.index == 0)
        and (right is not None or left is None or left.index == size - 1)
        and (left is not None or right is not None)
    )
    if not adjacent:
        raise BundleError(
            "bad_absence_proof", f"the leaves shown do not enclose {stream!r}", stream=stream
        )
    for part in (left, right):
        if part is not None:
            try:
                verify_heads_inclusion(part, size=size, commitment=root_hash)
            except ProofError as exc:
                raise BundleError(
                    "bad_absence_proof",
                    f"the absence proof of {stream!r} does not verify: {exc.message}",
                    stream=stream,
                ) from exc
