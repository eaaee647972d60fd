"""Portable records: export one person's record as a self-contained bundle; verify it offline.

A bundle (format ``trackrecord-bundle/v1``, byte rules in docs/bundle.md) holds,
for one person and one signed checkpoint of size ``n``:

- every entry among the first ``n`` of the log of the person's identity and
  record streams, of every assignment stream the person owns or is assigned
  to, and of the identity stream of every author and assignee of those
  entries (repeated until nothing new is added) — each stream *whole*,
  ``seq`` 1 up to its head at the checkpoint;
- each entry's inclusion proof against the checkpoint's Merkle root, and its
  disclosures (other people's personal fields withheld; the commitments stay);
- a stream-heads proof (:mod:`ledger.heads`) for every stream, showing that its
  last entry in the bundle *is* its head at the checkpoint, and an absence
  proof for the person's record stream when they have none;
- the checkpoint note and the operator's note verifier key.

:func:`verify_bundle` checks all of it with no database and no network, then
re-checks the DESIGN.md §6 rules by folding the entries through
:func:`ledger.rules.apply_entry` (``partial=True``), and returns a
:class:`BundleReport`. It fails closed: the first thing
wrong raises a :class:`BundleError` naming it, with its evidence.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keys import key_id_for

from .canonical import b64decode, b64encode, canonical_bytes
from .checkpoint import Checkpoint, CheckpointError, NoteVerifier, parse_verifier_key
from .checkpoint import verify_checkpoint as _verify_note
from .disclosures import Disclosure, parse_disclosures, verify_disclosures
from .entry import Entry, decode_record, parse_entry
from .errors import (
    IntegrityViolation,
    MalformedInput,
    NotFound,
    ProofError,
    RuleViolation,
)
from .heads import HeadProof, HeadsIndex, NeighbourProof, verify_head_proof
from .merkle import inclusion_proof, leaf_hash, root, verify_inclusion
from .rules import apply_entry
from .state import LedgerState

if TYPE_CHECKING:  # the verifier must not pull in the store (and its drivers)
    from .log import TransparencyLog

__all__ = [
    "FORMAT",
    "AbsenceProof",
    "AssignmentSummary",
    "BundleError",
    "BundleReport",
    "ContributionSummary",
    "EndorsementSummary",
    "IncompleteBundle",
    "dump_bundle",
    "export_bundle",
    "heads_root",
    "load_bundle",
    "verify_absence",
    "verify_bundle",
]

FORMAT = "trackrecord-bundle/v1"
_TOP_FIELDS = frozenset(
    {"format", "person", "origin", "verifier_key", "checkpoint", "entries", "heads", "absent"}
)
_ITEM_FIELDS = frozenset({"log_index", "entry", "disclosures", "inclusion_proof"})
_HEADS_LINE = "trackrecord-heads "  # ledger.log.HEADS_LINE; not imported: see heads_root()


def heads_root(checkpoint: Checkpoint) -> bytes:
    """The stream-heads root of ``checkpoint``'s ``trackrecord-heads`` line.

    The same rule as :func:`ledger.log.heads_root_of`, restated here so that the
    offline verifier imports nothing of the store. Raises :class:`CheckpointError`
    unless there is exactly one such line holding canonical base64 of 32 bytes.
    """
    lines = [x for x in checkpoint.extensions if x.startswith(_HEADS_LINE)]
    if len(lines) != 1:
        raise CheckpointError("the checkpoint carries no (or more than one) trackrecord-heads line")
    try:
        return b64decode(lines[0][len(_HEADS_LINE) :], length=32, what="heads root")
    except MalformedInput as exc:
        raise CheckpointError(f"bad trackrecord-heads line: {exc.message}") from exc


class BundleError(ProofError):
    """A bundle that does not verify; ``code`` names the check, the evidence says where."""

    code = "bad_bundle"

    def __init__(self, code: str, message: str, **evidence: Any) -> None:
        super().__init__(message, **{k: v for k, v in evidence.items() if v is not None})
        self.code = code


class IncompleteBundle(BundleError):
    """A bundle that leaves out an entry or a stream it must carry (completeness)."""


# --- reading and writing the JSON ---------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_floats(text: str) -> Any:
    raise ValueError(f"non-integer number {text}")


def load_bundle(data: str | bytes) -> dict[str, Any]:
    """Parse bundle JSON strictly (UTF-8, no duplicate keys, no non-integer numbers).

    Raises :class:`BundleError` (``bad_format``) for anything else.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        doc = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_floats,
            parse_constant=_no_floats,
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError("bad_format", f"the bundle is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BundleError("bad_format", "a bundle is a JSON object")
    return doc


def dump_bundle(bundle: Mapping[str, Any]) -> str:
    """Return the bundle as JSON text (UTF-8, 1-space indent, ending in a newline)."""
    return json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"


# --- absence of a stream ---------------------------------------------------------------


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
                verify_inclusion(
                    leaf_hash=part.leaf_hash(),
                    index=part.index,
                    size=size,
                    proof=list(part.proof),
                    root=root_hash,
                )
            except ProofError as exc:
                raise BundleError(
                    "bad_absence_proof",
                    f"the absence proof of {stream!r} does not verify: {exc.message}",
                    stream=stream,
                ) from exc


# --- export ----------------------------------------------------------------------------


@dataclass
class _Scan:
    """What export learns from one pass over the first ``n`` entries of the log."""

    state: LedgerState
    indexes: dict[str, list[int]]
    authors: dict[str, set[str]]
    assignees: dict[str, set[str]]
    involved: dict[str, set[str]]  # person -> assignment streams they own or are assigned to


def _scan(log: TransparencyLog, size: int) -> _Scan:
    scan = _Scan(LedgerState(), {}, {}, {}, {})
    seen, position = 0, 0
    while seen < size:
        records = log.store.read(after=position, limit=min(2000, size - seen))
        if not records:
            raise IntegrityViolation("missing_entry", "the log is shorter than the checkpoint")
        for rec in records:
            entry, _ = decode_record(rec.blob, log_index=seen)
            key = apply_entry(scan.state, entry, log_index=seen, verify_signature=False)
            s = entry.statement
            scan.indexes.setdefault(entry.stream, []).append(seen)
            scan.authors.setdefault(entry.stream, set()).add(s.author)
            if s.stype.stream_kind == "assignment":
                people = {key.person} if s.type == "AssignmentPosted" else set()
                if s.type in ("AssignmentAssigned", "AssignmentCompleted"):
                    scan.assignees.setdefault(entry.stream, set()).add(s.body["assignee"])
                    people.add(s.body["assignee"])
                for p in people:
                    scan.involved.setdefault(p, set()).add(entry.stream)
            seen += 1
        position = records[-1].position
    return scan


def _closure(scan: _Scan, person: str) -> set[str]:
    roots = {f"identity/{person}", *scan.involved.get(person, ())}
    if f"record/{person}" in scan.indexes:
        roots.add(f"record/{person}")
    included, todo = set(roots), list(roots)
    while todo:
        stream = todo.pop()
        people = {scan.state.keys[k].person for k in scan.authors[stream]}
        people |= scan.assignees.get(stream, set())
        for p in people:
            if f"identity/{p}" not in included:
                included.add(f"identity/{p}")
                todo.append(f"identity/{p}")
    return included


_SHARED_FIELDS: dict[str, frozenset[str]] = {
    "IdentityRegistered": frozenset({"display_name"}),
    "AssignmentPosted": frozenset({"title", "description"}),
}
"""Personal fields of other people that an export discloses, by statement type."""


def _disclosed(
    person: str, author: str, entry: Entry, ds: Iterable[Disclosure]
) -> list[Disclosure]:
    """What an export of ``person``'s record discloses of ``entry`` (docs/bundle.md §8)."""
    s = entry.statement
    own = author == person or entry.stream in (f"identity/{person}", f"record/{person}")
    if own or (s.type == "AssignmentCompleted" and s.body["assignee"] == person):
        return list(ds)
    shared = _SHARED_FIELDS.get(s.type, frozenset())
    return [d for d in ds if d.field in shared]


def export_bundle(log: TransparencyLog, person: str, *, size: int | None = None) -> dict[str, Any]:
    """Return the bundle of ``person``'s record at the stored checkpoint of ``size``.

    ``size`` None takes the latest stored checkpoint. Entries after the
    checkpoint are not included. Raises :class:`NotFound` if there is no such
    checkpoint or the person is not registered at it, and
    :class:`IntegrityViolation` if the store disagrees with its own checkpoint.
    """
    found = log.store.get_checkpoint(size)
    if found is None:
        raise NotFound("no checkpoint has been issued" if size is None else f"no checkpoint {size}")
    n, note = found
    scan = _scan(log, n)
    if f"identity/{person}" not in scan.indexes:
        raise NotFound(f"no person {person!r} is registered at checkpoint {n}")
    operator = scan.state.people[scan.state.operator or ""]
    public_key = scan.state.keys[operator.current_key or ""].public_key
    verifier = NoteVerifier.for_key(log.origin, public_key)
    checkpoint = _verify_note(note, verifiers=[verifier], origin=log.origin)
    nodes: dict[tuple[int, int], bytes] = {}

    def get_node(level: int, index: int) -> bytes:
        if (level, index) not in nodes:
            nodes[(level, index)] = log.store.get_node(level, index)
        return nodes[(level, index)]

    heads = HeadsIndex(scan.state.heads)
    if root(n, get_node) != checkpoint.root_hash or heads.root() != heads_root(checkpoint):
        raise IntegrityViolation("checkpoint_mismatch", f"the store disagrees with checkpoint {n}")
    items: list[dict[str, Any]] = []
    streams = sorted(_closure(scan, person))
    for stream in streams:
        stored = log.service.read_stream(stream)[: scan.state.heads[stream].seq]
        for index, se in zip(scan.indexes[stream], stored, strict=True):
            author = scan.state.keys[se.entry.statement.author].person
            items.append(
                {
                    "log_index": index,
                    "entry": json.loads(se.entry.canonical),
                    "disclosures": [
                        d.as_json() for d in _disclosed(person, author, se.entry, se.disclosures)
                    ],
                    "inclusion_proof": [b64encode(h) for h in inclusion_proof(index, n, get_node)],
                }
            )
    items.sort(key=lambda item: int(item["log_index"]))
    record = f"record/{person}"
    return {
        "format": FORMAT,
        "person": person,
        "origin": checkpoint.origin,
        "verifier_key": str(verifier),
        "checkpoint": note,
        "entries": items,
        "heads": {s: heads.prove(s).as_json() for s in streams},
        "absent": {}
        if record in heads.heads
        else {record: AbsenceProof.build(heads, record).as_json()},
    }


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    log_index: int
    entry: Entry
    disclosures: tuple[Disclosure, ...]


def _shape(doc: dict[str, Any]) -> None:
    if set(doc) != _TOP_FIELDS:
        raise BundleError("bad_format", f"a bundle is an object with exactly {sorted(_TOP_FIELDS)}")
    if doc["format"] != FORMAT:
        raise BundleError("bad_format", f"unknown bundle format {doc['format']!r}")
    for name in ("person", "origin", "verifier_key", "checkpoint"):
        if not isinstance(doc[name], str):
            raise BundleError("bad_format", f"{name} must be a string")
    if not isinstance(doc["entries"], list) or not doc["entries"]:
        raise BundleError("bad_format", "entries must be a non-empty array")
    for name in ("heads", "absent"):
        if not isinstance(doc[name], dict):
            raise BundleError("bad_format", f"{name} must be an object")


def _choose_key(
    text: str, origin: str, trusted: Iterable[NoteVerifier] | None
) -> tuple[NoteVerifier, bool]:
    try:
        key = parse_verifier_key(text)
    except MalformedInput as exc:
        raise BundleError("bad_format", f"verifier_key: {exc.message}") from exc
    if key.name != origin:
        raise BundleError("bad_format", "the verifier key's name is not the bundle's origin")
    if trusted is None:
        return key, False
    if key not in set(trusted):
        raise BundleError(
            "untrusted_key", f"the bundle's key {key.key_id} is not trusted", origin=origin
        )
    return key, True


def _check_checkpoint(note: str, key: NoteVerifier, origin: str) -> tuple[Checkpoint, bytes]:
    try:
        checkpoint = _verify_note(note, verifiers=[key], origin=origin)
        return checkpoint, heads_root(checkpoint)
    except CheckpointError as exc:
        raise BundleError("bad_checkpoint", exc.message, **exc.details) from exc


def _item(raw: Any, position: int, checkpoint: Checkpoint, after: int) -> _Item:
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
    where |= {"stream": entry.stream, "seq": entry.seq}
    if entry.canonical != canonical:
        raise BundleError("bad_entry", "the entry is not in its canonical form", **where)
    proof = raw["inclusion_proof"]
    try:
        if not isinstance(proof, list) or not all(isinstance(h, str) for h in proof):
            raise MalformedInput("inclusion_proof is an array of base64 strings")
        hashes = [b64decode(h, length=32, what="proof hash") for h in proof]
        verify_inclusion(
            leaf_hash=leaf_hash(entry.canonical),
            index=index,
            size=checkpoint.size,
            proof=hashes,
            root=checkpoint.root_hash,
        )
    except (MalformedInput, ProofError) as exc:
        raise BundleError("bad_inclusion_proof", exc.message, **where) from exc
    try:
        disclosures = parse_disclosures(raw["disclosures"])
        verify_disclosures(
            entry.statement.body.get("commitments", {}),
            disclosures,
            max_lengths={p.name: p.max_length for p in entry.statement.stype.personal},
        )
    except MalformedInput as exc:
        raise BundleError("bad_disclosure", exc.message, **where, field=exc.field) from exc
    return _Item(index, entry, tuple(disclosures))


def _head_proof(raw: Any, stream: str) -> HeadProof:
    try:
        return HeadProof.from_json(raw)
    except MalformedInput as exc:
        raise BundleError("bad_format", f"head proof of {stream}: {exc.message}") from exc


def _check_stream(stream: str, items: list[_Item], proof: HeadProof, root_hash: bytes) -> None:
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


def _check_streams(
    doc: dict[str, Any], items: list[_Item], person: str, root_hash: bytes
) -> dict[str, list[_Item]]:
    by_stream: dict[str, list[_Item]] = {}
    for item in items:
        by_stream.setdefault(item.entry.stream, []).append(item)
    heads: dict[str, Any] = doc["heads"]
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
    if set(doc["absent"]) - {record}:
        raise BundleError("bad_format", f"absent may only prove the absence of {record}")
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


def _key_owners(by_stream: Mapping[str, list[_Item]]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for stream, items in by_stream.items():
        if stream.startswith("identity/"):
            for item in items:
                s = item.entry.statement
                if s.type in ("IdentityRegistered", "KeyRotated"):
                    try:
                        raw = b64decode(s.body["public_key"], length=32, what="public_key")
                    except MalformedInput:
                        continue  # refused by the rules later
                    owners[key_id_for(raw)] = s.subject
    return owners


def _check_closure(person: str, by_stream: Mapping[str, list[_Item]]) -> None:
    """The streams must be exactly those an export of ``person`` includes."""
    owners = _key_owners(by_stream)

    def involves(stream: str) -> bool:
        for item in by_stream[stream]:
            s = item.entry.statement
            if s.type == "AssignmentPosted" and owners.get(s.author) == person:
                return True
            assigned = s.type in ("AssignmentAssigned", "AssignmentCompleted")
            if assigned and s.body["assignee"] == person:
                return True
        return False

    roots = {f"identity/{person}", f"record/{person}"} & set(by_stream)
    roots |= {s for s in by_stream if s.startswith("assignment/") and involves(s)}
    if f"identity/{person}" not in roots:
        raise IncompleteBundle("stream_missing", f"identity/{person} is not in the bundle")
    reached, todo = set(roots), list(roots)
    while todo:
        stream = todo.pop()
        for item in by_stream[stream]:
            s = item.entry.statement
            needed = {owners.get(s.author)}
            if s.type in ("AssignmentAssigned", "AssignmentCompleted"):
                needed.add(s.body["assignee"])
            for p in needed:
                where = {"stream": stream, "seq": item.entry.seq, "log_index": item.log_index}
                if p is None or f"identity/{p}" not in by_stream:
                    raise IncompleteBundle(
                        "stream_missing",
                        f"the identity stream of {p or s.author} is needed but not included",
                        **where,
                    )
                if f"identity/{p}" not in reached:
                    reached.add(f"identity/{p}")
                    todo.append(f"identity/{p}")
    for stream in sorted(set(by_stream) - reached):
        raise BundleError(
            "superfluous_stream", f"{stream} is not part of {person}'s record", stream=stream
        )


def _fold(items: Iterable[_Item], key: NoteVerifier) -> LedgerState:
    state = LedgerState()
    for item in items:
        try:
            apply_entry(
                state, item.entry, log_index=item.log_index, verify_signature=True, partial=True
            )
        except RuleViolation as exc:
            raise BundleError(
                "rule_violation",
                exc.message,
                rule=exc.code,
                stream=item.entry.stream,
                seq=item.entry.seq,
                log_index=item.log_index,
            ) from exc
    operator = state.people.get(state.operator or "")
    current = None if operator is None else state.keys.get(operator.current_key or "")
    if current is None or current.public_key != key.public_key:
        raise BundleError(
            "not_operator_key", "the checkpoint is not signed by the operator's key at its size"
        )
    return state


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributionSummary:
    """A contribution on the person's record (title None when withheld)."""

    id: str
    title: str | None
    skills: tuple[str, ...]
    withdrawn: bool


@dataclass(frozen=True)
class EndorsementSummary:
    """An endorsement of one of the person's contributions that was not revoked."""

    id: str
    contribution: str
    endorser: str
    endorser_name: str | None
    role: str
    grade: int


@dataclass(frozen=True)
class AssignmentSummary:
    """An assignment its owner confirmed the person completed."""

    id: str
    title: str | None
    owner: str
    outcome: str
    grade: int


def _json_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in pairs}


_PARTS: dict[str, type[Any]] = {
    "contributions": ContributionSummary,
    "endorsements": EndorsementSummary,
    "assignments_completed": AssignmentSummary,
}


@dataclass(frozen=True)
class BundleReport:
    """What a verified bundle establishes about one person, as of its checkpoint."""

    person: str
    display_name: str | None
    organisation: str
    department: str
    origin: str
    checkpoint_size: int
    checkpoint_root: str
    verifier_key: str
    key_pinned: bool
    entry_count: int
    streams: tuple[str, ...]
    withheld_fields: int
    contributions: tuple[ContributionSummary, ...]
    endorsements: tuple[EndorsementSummary, ...]
    assignments_completed: tuple[AssignmentSummary, ...]
    warnings: tuple[str, ...]

    def endorsements_by_role(self) -> dict[str, dict[int, int]]:
        """Return ``{role: {grade: count}}`` over the endorsements."""
        out: dict[str, dict[int, int]] = {}
        for e in self.endorsements:
            grades = out.setdefault(e.role, {})
            grades[e.grade] = grades.get(e.grade, 0) + 1
        return out

    def endorsers(self) -> tuple[str, ...]:
        """Return the people who endorsed the person's work, sorted."""
        return tuple(sorted({e.endorser for e in self.endorsements}))

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON object (tuples become arrays)."""
        return dict(dataclasses.asdict(self, dict_factory=_json_dict))

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> BundleReport:
        """Rebuild a report written by :meth:`as_json`."""
        values = dict(raw)
        for name, part in _PARTS.items():
            values[name] = tuple(
                part(**{k: tuple(v) if isinstance(v, list) else v for k, v in x.items()})
                for x in values[name]
            )
        for name in ("streams", "warnings"):
            values[name] = tuple(values[name])
        return cls(**values)

    def summary(self) -> str:
        """Return a human-readable summary: who, what, by whom, which grades."""
        who = f"{self.person} ({self.display_name})" if self.display_name else self.person
        pinned = "pinned" if self.key_pinned else "NOT pinned: taken from the bundle itself"
        withdrawn = sum(c.withdrawn for c in self.contributions)
        plural = "" if self.withheld_fields == 1 else "s"
        lines = [
            f"{who}, {self.department}: record verified at checkpoint {self.checkpoint_size} "
            f"of {self.origin}",
            f"  operator key: {self.verifier_key} ({pinned})",
            f"  {self.entry_count} entries in {len(self.streams)} streams; "
            f"{self.withheld_fields} personal field{plural} withheld",
            f"  contributions: {len(self.contributions)} ({withdrawn} withdrawn)",
        ]
        for c in self.contributions:
            given = [
                f"{e.endorser_name or e.endorser} ({e.role}, {e.grade})"
                for e in self.endorsements
                if e.contribution == c.id
            ]
            by = f"; endorsed by {', '.join(given)}" if given else ""
            gone = " [withdrawn]" if c.withdrawn else ""
            lines.append(f"    - {c.title or '(title withheld)'}{gone} [{', '.join(c.skills)}]{by}")
        roles = "; ".join(
            f"{role}: {sum(g.values())} (grades "
            + ", ".join(str(k) for k in sorted(g, reverse=True) for _ in range(g[k]))
            + ")"
            for role, g in sorted(self.endorsements_by_role().items())
        )
        lines.append(f"  endorsements: {len(self.endorsements)}" + (f" — {roles}" if roles else ""))
        lines.append(f"  endorsers: {', '.join(self.endorsers()) or 'none'}")
        lines.append(f"  assignments completed: {len(self.assignments_completed)}")
        for a in self.assignments_completed:
            title = a.title or "(title withheld)"
            lines.append(f"    - {title}, owner {a.owner}: {a.outcome}, grade {a.grade}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


_UNPINNED = (
    "the operator key was taken from the bundle itself, not pinned: anyone can make a bundle "
    "that verifies this way; compare the key with the operator's published key"
)


def _report(
    person: str,
    checkpoint: Checkpoint,
    key: NoteVerifier,
    pinned: bool,
    items: list[_Item],
    state: LedgerState,
) -> BundleReport:
    names: dict[str, str] = {}
    disclosed: dict[str, dict[str, str]] = {}
    withheld = 0
    for item in items:
        s = item.entry.statement
        fields = {d.field: d.value for d in item.disclosures}
        disclosed[s.id] = fields
        withheld += len(s.body.get("commitments", {})) - len(fields)
        if s.type == "IdentityRegistered" and "display_name" in fields:
            names[s.subject] = fields["display_name"]
    completed = [
        i.entry.statement
        for i in items
        if i.entry.statement.type == "AssignmentCompleted"
        and i.entry.statement.body["assignee"] == person
    ]
    me = state.people[person]
    return BundleReport(
        person=person,
        display_name=names.get(person),
        organisation=me.organisation,
        department=me.department,
        origin=checkpoint.origin,
        checkpoint_size=checkpoint.size,
        checkpoint_root=checkpoint.root_hash.hex(),
        verifier_key=str(key),
        key_pinned=pinned,
        entry_count=len(items),
        streams=tuple(sorted({i.entry.stream for i in items})),
        withheld_fields=withheld,
        contributions=tuple(
            ContributionSummary(c.id, disclosed[c.id].get("title"), c.skills, c.withdrawn)
            for c in state.contributions.values()
            if c.owner == person
        ),
        endorsements=tuple(
            EndorsementSummary(
                e.id, e.contribution, e.endorser, names.get(e.endorser), e.role, e.grade
            )
            for e in state.endorsements.values()
            if e.subject == person and not e.revoked
        ),
        assignments_completed=tuple(
            AssignmentSummary(
                s.subject,
                _posted_title(items, s.subject),
                state.assignments[s.subject].owner,
                s.body["outcome"],
                s.body["grade"],
            )
            for s in completed
        ),
        warnings=() if pinned else (_UNPINNED,),
    )


def _posted_title(items: Iterable[_Item], assignment: str) -> str | None:
    for item in items:
        s = item.entry.statement
        if s.type == "AssignmentPosted" and s.subject == assignment:
            return next((d.value for d in item.disclosures if d.field == "title"), None)
    return None


def verify_bundle(
    bundle: str | bytes | Mapping[str, Any], *, trusted: Iterable[NoteVerifier] | None
) -> BundleReport:
    """Verify a bundle offline and return what it establishes; raise :class:`BundleError`.

    ``trusted`` are the note verifier keys accepted for the checkpoint; with
    None the bundle's own ``verifier_key`` is used (and the result says it was
    not pinned). Checks, in this order: format and shape, key, checkpoint
    signature and heads line, per entry (canonical form, inclusion proof,
    disclosures), per stream (seq 1..k, prev chain, last entry = head proven by
    the heads index), the set of streams (nothing missing, nothing extra), and
    the DESIGN.md §6 rules re-checked in log order, including that the
    checkpoint key is the operator's key. Needs no database and no network.
    """
    doc = load_bundle(bundle) if isinstance(bundle, str | bytes) else dict(bundle)
    _shape(doc)
    person, origin = doc["person"], doc["origin"]
    key, pinned = _choose_key(doc["verifier_key"], origin, trusted)
    checkpoint, root_of_heads = _check_checkpoint(doc["checkpoint"], key, origin)
    items: list[_Item] = []
    for position, raw in enumerate(doc["entries"]):
        after = items[-1].log_index if items else -1
        items.append(_item(raw, position, checkpoint, after))
    by_stream = _check_streams(doc, items, person, root_of_heads)
    _check_closure(person, by_stream)
    state = _fold(items, key)
    return _report(person, checkpoint, key, pinned, items, state)
