"""RFC 9162 §2.1 Merkle tree hashing and proofs over a store of perfect-subtree nodes.

The log (DESIGN.md §4) is one RFC 9162 Merkle tree whose leaves are entry hashes in
the store's total order. Everything here is a pure function: the store is reached
only through a ``get_node(level, index) -> bytes`` callable, so the same code serves
SQLite, PostgreSQL and the in-memory :class:`MemoryNodes` used by tests and
benchmarks.

Node numbering
--------------
A node is named ``(level, index)``. Level 0 holds the leaf hashes; node
``(level, index)`` is the root of the *perfect* subtree over the leaves
``[index * 2**level, (index + 1) * 2**level)``. Such a node never changes once its
last leaf exists, so a store writes each node exactly once, when it becomes complete
(:func:`new_nodes_for_append`), and never rewrites anything. For 6 leaves the stored
nodes are::

    level 2:  (2,0)
    level 1:  (1,0)  (1,1)  (1,2)
    level 0:  (0,0)  (0,1)  (0,2)  (0,3)  (0,4)  (0,5)

The root of a tree of any past size ``n`` is composed from the perfect subtrees of
the binary decomposition of ``n`` (``root(6) = HASH(0x01 || (2,0) || (1,2))``), and
the hashes of the non-perfect right-edge subtrees that appear in RFC 9162 proofs are
composed the same way. Each of :func:`root`, :func:`inclusion_proof` and
:func:`consistency_proof` reads O(log n) nodes.

Why this is written by hand
---------------------------
No maintained Python library generates RFC 9162 audit paths and consistency proofs
from a persisted store of perfect-subtree nodes. The best-known package (pymerkle)
keeps leaves and recomputes subtree roots from them, with its own proof format;
sigstore-python verifies inclusion proofs only, in a private module; the other PyPI
packages that mention RFC 6962/9162 are small single-author projects. The algorithms
are short, so they are implemented here directly from the RFC and tested against a
recursive reference implementation and the transparency-dev/merkle test vectors.

Verification (:func:`verify_inclusion`, :func:`verify_consistency`) follows the
iterative algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 and fails closed: it returns
``None`` or raises :class:`~ledger.errors.InclusionError` /
:class:`~ledger.errors.ConsistencyError` carrying the evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from ledger.errors import ConsistencyError, InclusionError, IntegrityViolation, MalformedInput

__all__ = [
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_TREE_SIZE",
    "NODE_PREFIX",
    "GetNode",
    "MemoryNodes",
    "Node",
    "consistency_proof",
    "empty_root",
    "inclusion_proof",
    "leaf_hash",
    "new_nodes_for_append",
    "node_hash",
    "proof_nodes",
    "root",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_PREFIX = b"\x00"
"""Domain-separation prefix of a leaf hash: ``SHA-256(0x00 || entry)`` (RFC 9162 §2.1.1)."""

NODE_PREFIX = b"\x01"
"""Domain-separation prefix of an interior node: ``SHA-256(0x01 || left || right)``."""

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

MAX_TREE_SIZE = (1 << 64) - 1
"""Largest tree size or index accepted, as in RFC 9162's uint64 wire fields."""

Node: TypeAlias = tuple[int, int, bytes]
"""A stored node: ``(level, index, hash)``."""

GetNode: TypeAlias = Callable[[int, int], bytes]
"""Reads node ``(level, index)`` from a store; raises :class:`KeyError` when absent."""

_EMPTY_ROOT = hashlib.sha256(b"").digest()


# --- hashing -------------------------------------------------------------------------


def leaf_hash(entry_bytes: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || entry_bytes)``."""
    return hashlib.sha256(LEAF_PREFIX + entry_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def empty_root() -> bytes:
    """Return the root of the empty tree, ``SHA-256("")``."""
    return _EMPTY_ROOT


# --- building and reading the persisted tree ------------------------------------------


def new_nodes_for_append(size: int, leaf_hashes: Sequence[bytes], get_node: GetNode) -> list[Node]:
    """Return every node that becomes complete when ``leaf_hashes`` are appended.

    ``size`` is the number of leaves already in the tree. The result lists the new
    leaves (level 0) and each interior node they complete, in creation order; a store
    persists exactly these nodes. Each leaf costs one hash amortized. ``get_node`` is
    called only for left siblings that were complete before this batch (at most one
    per set bit of ``size``); nodes created within the batch are kept in memory.

    Raises :class:`~ledger.errors.MalformedInput` for a negative or too large
    ``size`` or a leaf hash that is not 32 bytes, and
    :class:`~ledger.errors.IntegrityViolation` if a needed stored node is missing or
    malformed.
    """
    _require_count(size, "size")
    if size + len(leaf_hashes) > MAX_TREE_SIZE:
        raise MalformedInput("the tree would exceed the maximum size", field="leaf_hashes")
    batch: dict[tuple[int, int], bytes] = {}
    created: list[Node] = []
    for offset, value in enumerate(leaf_hashes):
        if not _is_hash(value):
            raise MalformedInput(
                f"leaf_hashes[{offset}] is not a {HASH_SIZE}-byte hash", field="leaf_hashes"
            )
        level, index = 0, size + offset
        batch[(level, index)] = value
        created.append((level, index, value))
        while index & 1:
            left = batch.get((level, index - 1))
            if left is None:
                left = _fetch(get_node, level, index - 1)
            value = node_hash(left, value)
            level, index = level + 1, index >> 1
            batch[(level, index)] = value
            created.append((level, index, value))
    return created


def root(size: int, get_node: GetNode) -> bytes:
    """Return the root hash ``MTH(D[size])`` of the tree of the first ``size`` leaves.

    Works for any size up to the stored one, from O(log size) stored nodes.

    Raises :class:`~ledger.errors.MalformedInput` for a negative or too large ``size``
    and :class:`~ledger.errors.IntegrityViolation` if a needed node is missing or
    malformed (for example when ``size`` exceeds the stored tree).
    """
    _require_count(size, "size")
    if size == 0:
        return empty_root()
    return _range_hash(0, size, get_node)


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """Return the audit path ``PATH(index, D[size])`` of RFC 9162 §2.1.3.1.

    Hashes are ordered from the leaf's sibling up to the child of the root.

    Raises :class:`~ledger.errors.MalformedInput` unless ``0 <= index < size``, and
    :class:`~ledger.errors.IntegrityViolation` if a needed node is missing or malformed.
    """
    _require_count(size, "size")
    _require_count(index, "index")
    if index >= size:
        raise MalformedInput(f"leaf index {index} is not below tree size {size}", field="index")
    path: list[bytes] = []
    start, width, leaf = 0, size, index
    while width > 1:
        split = _split_point(width)
        if leaf < split:
            path.append(_range_hash(start + split, width - split, get_node))
            width = split
        else:
            path.append(_range_hash(start, split, get_node))
            start, width, leaf = start + split, width - split, leaf - split
    path.reverse()
    return path


def proof_nodes(size: int, indexes: Iterable[int]) -> list[tuple[int, int]]:
    """The stored nodes ``(level, index)`` that :func:`root` of ``size`` and the
    :func:`inclusion_proof` of each of ``indexes`` in it read, in reading order: which
    nodes they are depends on the positions only, never on the hashes, so a reader of
    many proofs (an export) can fetch them all in one query first."""
    wanted: list[tuple[int, int]] = []

    def note(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return bytes(HASH_SIZE)

    if size:
        root(size, note)
    for index in indexes:
        inclusion_proof(index, size, note)
    return list(dict.fromkeys(wanted))


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """Return the consistency proof ``PROOF(size1, D[size2])`` of RFC 9162 §2.1.4.1.

    The proof is empty when ``size1 == size2`` or ``size1 == 0`` (every tree is
    consistent with itself and with the empty tree).

    Raises :class:`~ledger.errors.MalformedInput` unless ``0 <= size1 <= size2``, and
    :class:`~ledger.errors.IntegrityViolation` if a needed node is missing or malformed.
    """
    _require_count(size1, "size1")
    _require_count(size2, "size2")
    if size1 > size2:
        raise MalformedInput(f"size1 {size1} is greater than size2 {size2}", field="size1")
    if size1 in (0, size2):
        return []
    proof: list[bytes] = []
    start, old, new, whole_old_tree = 0, size1, size2, True
    while old != new:
        split = _split_point(new)
        if old <= split:
            proof.append(_range_hash(start + split, new - split, get_node))
            new = split
        else:
            proof.append(_range_hash(start, split, get_node))
            start, old, new = start + split, old - split, new - split
            whole_old_tree = False
    if not whole_old_tree:
        proof.append(_range_hash(start, old, get_node))
    proof.reverse()
    return proof


class MemoryNodes:
    """A dict-backed node store for tests and synthetic trees.

    ``get_node`` raises :class:`KeyError` for an absent node, like a real store.
    """

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0

    @property
    def size(self) -> int:
        """Return the number of leaves stored."""
        return self._size

    def __len__(self) -> int:
        return len(self._nodes)

    def get_node(self, level: int, index: int) -> bytes:
        """Return node ``(level, index)``; raises :class:`KeyError` if it is absent."""
        return self._nodes[(level, index)]

    def nodes(self) -> list[Node]:
        """Return every stored node as ``(level, index, hash)``, in the order added."""
        return [(level, index, value) for (level, index), value in self._nodes.items()]

    def add(self, nodes: Iterable[Node]) -> None:
        """Store ``nodes``; storing the same node twice with the same hash is a no-op.

        Raises :class:`~ledger.errors.IntegrityViolation` if a node is already stored
        with a different hash.
        """
        for level, index, value in nodes:
            stored = self._nodes.setdefault((level, index), value)
            if stored != value:
                raise IntegrityViolation(
                    "merkle_node_conflict",
                    f"Merkle node (level {level}, index {index}) is already stored "
                    "with a different hash",
                    log_index=index << level,
                    expected=stored.hex(),
                    actual=value.hex(),
                )
            if level == 0:
                self._size = max(self._size, index + 1)

    def append(self, leaf_hashes: Sequence[bytes]) -> list[Node]:
        """Append leaves after the stored ones, store the new nodes and return them.

        Raises what :func:`new_nodes_for_append` raises.
        """
        nodes = new_nodes_for_append(self._size, leaf_hashes, self.get_node)
        self.add(nodes)
        return nodes


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------


def root_from_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the root that ``proof`` leads to from ``leaf_hash`` at ``index`` in ``size``.

    Runs RFC 9162 §2.1.3.2 up to the final comparison; the caller compares the result
    with a trusted root (or calls :func:`verify_inclusion`, which does).

    Raises :class:`~ledger.errors.InclusionError` if ``index`` or ``size`` is not a
    valid uint64, ``index >= size``, a hash is not 32 bytes, or the proof has the
    wrong number of hashes.
    """
    evidence = _Evidence(
        lambda: {"index": index, "size": size, "leaf_hash": _hex(leaf_hash), "proof": _hexes(proof)}
    )
    for name, value in (("index", index), ("size", size)):
        if not _is_count(value):
            raise InclusionError(f"{name} is not an integer in [0, 2^64)", **evidence)
    if index >= size:
        raise InclusionError(f"leaf index {index} is not below tree size {size}", **evidence)
    if not _is_hash(leaf_hash):
        raise InclusionError(f"leaf hash is not {HASH_SIZE} bytes", **evidence)
    _require_proof_hashes(proof, InclusionError, evidence)
    expected_length = _inclusion_proof_length(index, size)
    if len(proof) != expected_length:
        raise InclusionError(
            f"inclusion proof has {len(proof)} hashes, expected {expected_length}", **evidence
        )

    # RFC 9162 §2.1.3.2, steps 2-5.
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise InclusionError("inclusion proof is longer than the path to the root", **evidence)
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InclusionError("inclusion proof is shorter than the path to the root", **evidence)
    return r


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` shows ``leaf_hash`` at ``index`` in the tree ``(size, root)``.

    Returns ``None`` when the proof verifies (RFC 9162 §2.1.3.2).

    Raises :class:`~ledger.errors.InclusionError` otherwise: invalid index or size,
    ``index >= size``, a hash that is not 32 bytes, a proof of the wrong length, or a
    computed root that differs from ``root`` (evidence ``expected``/``actual`` in hex).
    """
    if not _is_hash(root):
        raise InclusionError(
            f"root is not {HASH_SIZE} bytes",
            index=index,
            size=size,
            leaf_hash=_hex(leaf_hash),
            root=_hex(root),
        )
    computed = root_from_inclusion(leaf_hash=leaf_hash, index=index, size=size, proof=proof)
    if computed != root:
        raise InclusionError(
            "inclusion proof does not lead to the expected root",
            index=index,
            size=size,
            leaf_hash=_hex(leaf_hash),
            proof=_hexes(proof),
            expected=root.hex(),
            actual=computed.hex(),
        )


def verify_consistency(
    *, size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``(size1, root1)`` is a prefix of the tree ``(size2, root2)``.

    Returns ``None`` when the proof verifies. For ``0 < size1 < size2`` this is RFC 9162
    §2.1.4.2. The RFC leaves the edge cases to the application; here
    ``size1 == size2`` verifies only with an empty proof and ``root1 == root2``, and
    ``size1 == 0`` only with an empty proof and ``root1`` equal to :func:`empty_root`.

    Raises :class:`~ledger.errors.ConsistencyError` otherwise: invalid sizes,
    ``size1 > size2``, a hash that is not 32 bytes, a proof of the wrong length, or a
    proof that does not lead to ``root1`` and ``root2``. The evidence carries both tree
    heads and the proof, plus ``expected``/``actual`` for a root mismatch.
    """
    evidence = _Evidence(
        lambda: {
            "size1": size1,
            "size2": size2,
            "root1": _hex(root1),
            "root2": _hex(root2),
            "proof": _hexes(proof),
        }
    )
    for name, value in (("size1", size1), ("size2", size2)):
        if not _is_count(value):
            raise ConsistencyError(f"{name} is not an integer in [0, 2^64)", **evidence)
    if size1 > size2:
        raise ConsistencyError(f"size1 {size1} is greater than size2 {size2}", **evidence)
    for name, head in (("root1", root1), ("root2", root2)):
        if not _is_hash(head):
            raise ConsistencyError(f"{name} is not {HASH_SIZE} bytes", **evidence)
    _require_proof_hashes(proof, ConsistencyError, evidence)

    if size1 == 0 or size1 == size2:
        if proof:
            raise ConsistencyError(
                "consistency proof must be empty when size1 is 0 or equals size2", **evidence
            )
        if size1 == 0 and root1 != empty_root():
            raise ConsistencyError(
                "root1 of an empty tree must be SHA-256 of the empty string",
                expected=empty_root().hex(),
                actual=root1.hex(),
                **evidence,
            )
        if size1 == size2 and root1 != root2:
            raise ConsistencyError("trees of the same size have different roots", **evidence)
        return

    expected_length = _consistency_proof_length(size1, size2)
    if len(proof) != expected_length:
        raise ConsistencyError(
            f"consistency proof has {len(proof)} hashes, expected {expected_length}", **evidence
        )

    # RFC 9162 §2.1.4.2, steps 1-7.
    path = list(proof)
    if not path:
        raise ConsistencyError("consistency proof is empty", **evidence)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyError("consistency proof is longer than needed", **evidence)
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ConsistencyError("consistency proof is shorter than needed", **evidence)
    if fr != root1:
        raise ConsistencyError(
            "consistency proof does not lead to root1",
            expected=root1.hex(),
            actual=fr.hex(),
            **evidence,
        )
    if sr != root2:
        raise ConsistencyError(
            "consistency proof does not lead to root2",
            expected=root2.hex(),
            actual=sr.hex(),
            **evidence,
        )


# --- internals ------------------------------------------------------------------------


def _split_point(width: int) -> int:
    """Return the largest power of two strictly below ``width`` (``width >= 2``)."""
    return 1 << ((width - 1).bit_length() - 1)


def _range_hash(start: int, width: int, get_node: GetNode) -> bytes:
    """Return ``MTH(D[start:start + width])`` for a subtree of the RFC recursion.

    Such a subtree starts at a multiple of its largest perfect part, so it is the
    right fold of the stored perfect nodes of ``width``'s binary decomposition.
    """
    peaks: list[bytes] = []
    position = start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            peaks.append(_fetch(get_node, level, position >> level))
            position += 1 << level
    result = peaks.pop()
    while peaks:
        result = node_hash(peaks.pop(), result)
    return result


def _fetch(get_node: GetNode, level: int, index: int) -> bytes:
    """Read a node, turning an absent or malformed node into IntegrityViolation."""
    try:
        value: object = get_node(level, index)
    except KeyError:
        raise IntegrityViolation(
            "merkle_node_missing",
            f"Merkle node (level {level}, index {index}) is not in the store",
            log_index=index << level,
        ) from None
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise IntegrityViolation(
            "merkle_node_malformed",
            f"Merkle node (level {level}, index {index}) is not a {HASH_SIZE}-byte hash",
            log_index=index << level,
        )
    return value


def _inclusion_proof_length(index: int, size: int) -> int:
    """Return ``len(PATH(index, D[size]))`` for ``index < size``."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_length(size1: int, size2: int) -> int:
    """Return ``len(PROOF(size1, D[size2]))`` for ``0 < size1 < size2``."""
    shift = (size1 & -size1).bit_length() - 1
    power_of_two = size1 == 1 << shift
    return _inclusion_proof_length(size1 - 1, size2) - shift + (0 if power_of_two else 1)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TREE_SIZE


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _require_count(value: object, field: str) -> None:
    if not _is_count(value):
        raise MalformedInput(f"{field} is not an integer in [0, 2^64)", field=field)


class _Evidence(Mapping[str, Any]):
    """Error evidence built only when an error is raised (hex of every proof hash is not
    free, and verification runs once per entry of a bundle)."""

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        self._make = make
        self._built: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._built is None:
            self._built = self._make()
        return self._built

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _require_proof_hashes(
    proof: Sequence[bytes],
    error: type[InclusionError] | type[ConsistencyError],
    evidence: Mapping[str, Any],
) -> None:
    if isinstance(proof, bytes | str):
        raise error("proof is not a sequence of hashes", **evidence)
    for position, value in enumerate(proof):
        if not _is_hash(value):
            raise error(f"proof[{position}] is not {HASH_SIZE} bytes", **evidence)


def _hex(value: object) -> str:
    return value.hex() if isinstance(value, bytes | bytearray) else repr(value)


def _hexes(values: Iterable[object]) -> list[str]:
    return [_hex(value) for value in values]
