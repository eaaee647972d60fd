"""Verifying a bundle's entries one by one, then stream by stream against the heads index."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..canonical import b64decode, canonical_bytes
from ..catalogue import GRADE_MAX, GRADE_MIN, EndorserRole
from ..checkpoint import Checkpoint
from ..disclosures import Disclosure, parse_disclosures
from ..entry import Entry, parse_entry
from ..errors import MalformedInput, ProofError
from ..heads import INVOLVED_PREFIX, HeadProof, verify_head_proof
from ..merkle import leaf_hash, verify_inclusion
from .absence import AbsenceProof, verify_absence
from .document import BundleError, IncompleteBundle

__all__ = ["Item", "check_item", "check_streams"]

_ITEM_FIELDS = frozenset({"log_index", "entry", "disclosures", "inclusion_proof"})


@dataclass(frozen=True)
class Item:
    """One verified entry of a bundle: its log index, entry and disclosures."""

    log_index: int
    entry: Entry
    disclosures: tuple[Disclosure, ...]


@functools.lru_cache(maxsize=8192)
def _proof_hash(text: str) -> bytes:
    """Decode one base64 proof hash; cached, since the hashes near the root recur in
    every entry's inclusion proof of a bundle."""
    return b64decode(text, length=32, what="proof hash")


#: The fields of a statement's body whose few possible values :func:`_altered_field` tries.
_FEW_VALUES: dict[str, tuple[Any, ...]] = {
    "grade": tuple(range(GRADE_MIN, GRADE_MAX + 1)),
    "role": tuple(r.value for r in EndorserRole),
}


def _altered_field(
    raw_entry: dict[str, Any], index: int, checkpoint: Checkpoint, proof: list[bytes]
) -> dict[str, Any]:
    """Name the field of an entry that was changed after it was logged, when that can be known.

    An entry whose inclusion proof fails is not the entry the checkpoint holds. If putting
    back another value of one of its few-valued fields (a grade, an endorser's role) makes
    the proof lead to the signed root, that field was altered and its logged value is known
    for certain (the Merkle root commits to it); anything else cannot be told apart from the
    bundle alone, so nothing is claimed. At most six more walks up one proof path.
    """
    body = raw_entry["statement"]["body"]
    for field, values in _FEW_VALUES.items():
        shown = body.get(field)
        if shown is None:
            continue
        for value in values:
            if value == shown:
                continue
            restored = {**raw_entry, "statement": {**raw_entry["statement"],
                        "body": {**body, field: value}}}  # fmt: skip
            try:
                verify_inclusion(
                    leaf_hash=leaf_hash(canonical_bytes(restored)),
                    index=index,
                    size=checkpoint.size,
                    proof=proof,
                    root=checkpoint.root_hash,
                )
            except ProofError:
                continue
            return {"field": field, "logged": value, "shown": shown}
    return {}


def check_item(raw: Any, position: int, checkpoint: Checkpoint, after: int) -> Item:
    """Check entry item ``position`` against ``checkpoint``; raise :class:`BundleError`."""
    where: dict[str, Any] = {"entry_index": position}
    if not isinstance(raw, dict) or set(raw) != _ITEM_FIELDS:
        raise BundleError("bad_format", f"an entry item is {sorted(_ITEM_FIELDS)}", **where)
    index = raw["log_index"]
    if not isinstance(index, int) or isinstance(index, bool) or not after < index < checkpoint.size:
        raise BundleError(
            "bad_log_index",
            f"log_index must grow strictly and stay below the checkpoint size {checkpoint.size}",
            **where,
        )
    where["log_index"] = index
    try:
        entry = parse_entry(raw["entry"])
        canonical = canonical_bytes(raw["entry"])
    except MalformedInput as exc:
        raise BundleError("bad_entry", exc.message, **where, field=exc.field) from exc
    where |= {"stream": entry.stream, "seq": entry.seq, "type": entry.statement.type}
    if entry.canonical != canonical:
        raise BundleError("bad_entry", "the entry is not in its canonical form", **where)
    proof = raw["inclusion_proof"]
    try:
        if not isinstance(proof, list) or not all(isinstance(h, str) for h in proof):
            raise MalformedInput("inclusion_proof is an array of base64 strings")
        hashes = [_proof_hash(h) for h in proof]
    except MalformedInput as exc:
        raise BundleError("bad_inclusion_proof", exc.message, **where) from exc
    try:
        verify_inclusion(
            leaf_hash=leaf_hash(entry.canonical),
            index=index,
            size=checkpoint.size,
            proof=hashes,
            root=checkpoint.root_hash,
        )
    except ProofError as exc:
        altered = _altered_field(raw["entry"], index, checkpoint, hashes)
        raise BundleError("bad_inclusion_proof", exc.message, **where, **altered) from exc
    try:
        disclosures = parse_disclosures(raw["disclosures"])
        entry.statement.check_disclosures(disclosures)
    except MalformedInput as exc:
        raise BundleError("bad_disclosure", exc.message, **where, field=exc.field) from exc
    return Item(index, entry, tuple(disclosures))


def _head_proof(raw: Any, stream: str) -> HeadProof:
    try:
        return HeadProof.from_json(raw)
    except MalformedInput as exc:
        raise BundleError("bad_format", f"head proof of {stream}: {exc.message}") from exc


def _check_stream(stream: str, items: list[Item], proof: HeadProof, root_hash: bytes) -> None:
    previous: Entry | None = None
    for item in items:
        e = item.entry
        where = {"stream": stream, "seq": e.seq, "log_index": item.log_index}
        expected = 1 if previous is None else previous.seq + 1
        if e.seq != expected:
            raise IncompleteBundle(
                "entry_missing", f"{stream}#{expected} is missing from the bundle", **where
            )
        if previous is not None and e.prev != previous.hash:
            raise BundleError(
                "chain_broken", f"{stream}#{e.seq} does not link to #{previous.seq}", **where
            )
        previous = e
    assert previous is not None
    leaf = proof.leaf
    try:
        verify_head_proof(
            proof, stream=leaf.stream, seq=leaf.seq, entry_hash=leaf.hash, root_hash=root_hash
        )
    except ProofError as exc:
        raise BundleError("bad_head_proof", exc.message, stream=stream) from exc
    last = {"stream": stream, "seq": previous.seq, "head_seq": leaf.seq}
    if leaf.stream == stream and leaf.seq > previous.seq:
        raise IncompleteBundle(
            "stream_cut", f"{stream} stops at #{previous.seq}, its head is #{leaf.seq}", **last
        )
    if (leaf.stream, leaf.seq, leaf.hash) != (stream, previous.seq, previous.hash):
        raise BundleError("bad_head_proof", f"the heads index does not confirm {stream}", **last)


def check_streams(
    doc: dict[str, Any], items: list[Item], person: str, root_hash: bytes
) -> dict[str, list[Item]]:
    """Check every stream whole and at its head, and the person's record stream; group by stream."""
    by_stream: dict[str, list[Item]] = {}
    for item in items:
        by_stream.setdefault(item.entry.stream, []).append(item)
    heads: dict[str, Any] = {
        name: proof for name, proof in doc["heads"].items() if not name.startswith(INVOLVED_PREFIX)
    }
    for stream in heads:
        if stream not in by_stream:
            raise IncompleteBundle(
                "stream_missing", f"every entry of {stream} is missing", stream=stream
            )
    sizes = set()
    for stream, stream_items in by_stream.items():
        if stream not in heads:
            raise IncompleteBundle(
                "head_proof_missing", f"{stream} has no heads proof", stream=stream
            )
        proof = _head_proof(heads[stream], stream)
        sizes.add(proof.size)
        _check_stream(stream, stream_items, proof, root_hash)
    record = f"record/{person}"
    if set(doc["absent"]) - {record, INVOLVED_PREFIX + person}:
        raise BundleError(
            "bad_format",
            f"absent may only prove the absence of {record} or {INVOLVED_PREFIX}{person}",
        )
    if record in doc["absent"]:
        if record in by_stream:
            raise BundleError("bad_format", f"{record} is both present and absent")
        try:
            absence = AbsenceProof.from_json(doc["absent"][record])
        except MalformedInput as exc:
            raise BundleError("bad_format", f"absence proof: {exc.message}") from exc
        sizes.add(absence.size)
        verify_absence(absence, stream=record, root_hash=root_hash)
    elif record not in by_stream:
        raise IncompleteBundle("stream_missing", f"{record} is neither included nor proven absent")
    if len(sizes) != 1:
        raise BundleError("bad_head_proof", "the heads proofs disagree on the heads tree's size")
    return by_stream
