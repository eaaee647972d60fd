"""Export: one person's record at a stored checkpoint, as a self-contained bundle.

Export reads the store through the transparency log, so it lives beside it and
not in :mod:`ledger.bundle`, which verifies a bundle offline without any store.

What a bundle needs is read by indexed look-ups (:func:`_from_state`): the heads tree's
leaves at the checkpoint are the stored rule state's, rewound over the entries appended
since the checkpoint (a stream's head before its first later entry is that entry's
``prev``; an involvement leaf is recounted from the assignment streams it names), and
only the streams of the person's bundle are read, with their log indexes from
``entry_positions``; the Merkle nodes of the entries' proofs are fetched in one query
(:func:`ledger.merkle.proof_nodes`). The rewound leaves are used only if they give the
heads root the checkpoint signs; otherwise (a ledger not indexed yet) the export replays
the log up to the checkpoint (:func:`_scan`), as before.

The heads proofs: the heads root the checkpoint signs is an RFC 9162 tree over every
stream's head *sorted by stream name* (docs/bundle.md), and a head proof needs its leaf's
rank and audit path in that tree, which hash ranges of other streams' leaves. Keeping the
tree's nodes in the store, updated per append as the log's are, is no way out without
changing the signed bytes: a new stream (every registration, assignment, first record
entry) is inserted at its sorted place, which shifts every later leaf one place right and
so changes every subtree hash from there on. So issuing a checkpoint, which hashes the
whole tree anyway, stores it (docs/store.md §6), and an export at that checkpoint reads
only the leaves and nodes of its proofs (:func:`_from_tree`): at 10^6 entries 0.5 s of
CPU, process start to exit, where building the tree took 3.3 s. The stored tree is not
trusted: every proof made from it is checked against the signed heads root. Without a
sound stored tree (an older checkpoint, or one issued by earlier code) the export reads
every stream's head and builds the tree (:func:`_from_rebuilt_tree`): O(streams) reads
and hashes, plus the entries appended since the checkpoint, each decoded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .bundle.absence import AbsenceProof, verify_absence
from .bundle.document import FORMAT, BundleError
from .canonical import b64encode
from .checkpoint import Checkpoint, NoteVerifier
from .checkpoint import verify_checkpoint as _verify_note
from .disclosures import Disclosure
from .entry import Entry, decode_record
from .errors import IntegrityViolation, NotFound, ProofError
from .heads import (
    INVOLVED_PREFIX,
    HeadProof,
    HeadsIndex,
    NeighbourProof,
    heads_commitment,
    heads_root_of,
    index_leaves,
    involvement_digest,
    verify_head_proof,
)
from .link import countersigning_admin_key
from .merkle import inclusion_proof, proof_nodes, root
from .replay import replay
from .service import StoredEntry
from .state import Head, LedgerState
from .transparency import TransparencyLog

__all__ = ["export_bundle"]


@dataclass
class _Scan:
    """What export learns from one pass over the first ``n`` entries of the log."""

    state: LedgerState
    indexes: dict[str, list[int]]
    authors: dict[str, set[str]]
    assignees: dict[str, set[str]]
    involved: dict[str, set[str]]  # person -> assignment streams they own or are assigned to


def _scan(log: TransparencyLog, size: int) -> _Scan:
    scan = _Scan(LedgerState(origin=log.origin), {}, {}, {}, {})
    for step in replay(log.store, scan.state, size=size):
        entry, key, seen = step.entry, step.key, step.log_index
        s = entry.statement
        scan.indexes.setdefault(entry.stream, []).append(seen)
        scan.authors.setdefault(entry.stream, set()).add(s.author)
        admin = countersigning_admin_key(s)
        if admin is not None:  # an admin's countersignature: their keys are needed too
            scan.authors[entry.stream].add(admin)
        if s.stype.stream_kind == "assignment":
            people = {key.person} if s.type == "AssignmentPosted" else set()
            if s.type in ("AssignmentAssigned", "AssignmentCompleted"):
                scan.assignees.setdefault(entry.stream, set()).add(s.body["assignee"])
                people.add(s.body["assignee"])
            for p in people:
                scan.involved.setdefault(p, set()).add(entry.stream)
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


@dataclass
class _Bundled:
    """What a bundle of one person at a checkpoint is made of."""

    leaves: dict[str, Head]  # the heads tree's leaves at the checkpoint
    verifier: NoteVerifier  # the operator key that signed it
    person_of_key: dict[str, str]  # key id -> person, for every author in ``streams``
    streams: dict[str, list[tuple[int, StoredEntry]]]  # (log index, entry), up to the head


def _from_scan(log: TransparencyLog, n: int, person: str) -> _Bundled:
    """The bundle's parts from a replay of the log up to ``n`` (:func:`_scan`)."""
    scan = _scan(log, n)
    if f"identity/{person}" not in scan.indexes:
        raise NotFound(f"no person {person!r} is registered at checkpoint {n}")
    operator = scan.state.people[scan.state.operator or ""]
    public_key = scan.state.keys[operator.current_key or ""].public_key
    streams = {}
    for stream in _closure(scan, person):
        stored = log.service.read_stream(stream)[: scan.state.heads[stream].seq]
        streams[stream] = list(zip(scan.indexes[stream], stored, strict=True))
    return _Bundled(
        index_leaves(scan.state),
        NoteVerifier.for_key(log.origin, public_key),
        {k: r.person for k, r in scan.state.keys.items()},
        streams,
    )


def _involving(person: str, entry: Entry, person_of_key: dict[str, str]) -> bool:
    """True if ``entry`` of an assignment stream makes ``person`` involved in it (its
    owner posting it, or an assignee)."""
    s = entry.statement
    if s.type == "AssignmentPosted":
        return person_of_key.get(s.author) == person
    return s.type in ("AssignmentAssigned", "AssignmentCompleted") and s.body["assignee"] == person


def _from_state(log: TransparencyLog, n: int, person: str) -> _Bundled | None:
    """The bundle's parts from the stored rule state and indexed reads (see the module's
    docstring), or None if the store's index cannot give them (then :func:`_from_scan`)."""
    store = log.store
    with log.service.reading() as state:
        size = state.size
        leaves = index_leaves(state)
        involved: dict[str, set[str]] = {}
        for a in state.assignments.values():
            for p in {a.owner, *a.assignees}:
                involved.setdefault(p, set()).add(f"assignment/{a.id}")
        person_of_key = {k: r.person for k, r in state.keys.items()}
    if n > size or n == 0:
        return None
    after = store.position_of(n - 1)
    if after is None or (n < size and store.position_of(size - 1) is None):
        return None
    later: dict[str, list[Entry]] = {}  # stream -> its entries after the checkpoint
    while True:
        records = store.read(after=after, limit=2000)
        for rec in records:
            entry = decode_record(rec.blob)[0]
            later.setdefault(entry.stream, []).append(entry)
        if len(records) < 2000:
            break
        after = records[-1].position
    if sum(map(len, later.values())) != size - n:
        return None  # appended to meanwhile: replay instead
    changed: set[str] = set()
    for stream, entries in later.items():
        first = entries[0]
        if first.seq > 1:
            leaves[stream] = Head(first.seq - 1, first.prev)
        else:
            leaves.pop(stream, None)
        if stream.startswith("assignment/"):
            changed |= {p for p, streams in involved.items() if stream in streams}
    for p in changed | {person}:
        at_n = {x for x in involved.get(p, ()) if _involved_at(log, p, x, leaves, person_of_key)}
        involved[p] = at_n
        name = INVOLVED_PREFIX + p
        if at_n:
            leaves[name] = Head(len(at_n), involvement_digest(at_n))
        else:
            leaves.pop(name, None)
    try:
        verifier = log.verifier_at(n)
    except NotFound:
        return None
    if f"identity/{person}" not in leaves:
        raise NotFound(f"no person {person!r} is registered at checkpoint {n}")
    streams = _read_closure(log, person, leaves.get, involved.get(person, set()), person_of_key)
    if streams is None:
        return None
    return _Bundled(leaves, verifier, person_of_key, streams)


def _involved_at(
    log: TransparencyLog, person: str, stream: str, leaves: dict[str, Head], keys: dict[str, str]
) -> bool:
    """True if ``person`` was involved in assignment ``stream`` at the checkpoint whose
    leaves are ``leaves`` (its entries up to its head there)."""
    head = leaves.get(stream)
    if head is None:
        return False
    entries = log.service.read_stream(stream)[: head.seq]
    return any(_involving(person, se.entry, keys) for se in entries)


def _read_closure(
    log: TransparencyLog,
    person: str,
    head_of: Callable[[str], Head | None],
    involved: set[str],
    person_of_key: dict[str, str],
) -> dict[str, list[tuple[int, StoredEntry]]] | None:
    """The streams of ``person``'s bundle (as :func:`_closure` finds them), each read up to
    its head at the checkpoint (``head_of``) with its entries' log indexes; None if an
    index or a head is missing."""
    roots = {f"identity/{person}", *involved}
    if head_of(f"record/{person}") is not None:
        roots.add(f"record/{person}")
    out: dict[str, list[tuple[int, StoredEntry]]] = {}
    todo = list(roots)
    while todo:
        stream = todo.pop()
        if stream in out:
            continue
        head = head_of(stream)
        if head is None:
            return None
        stored = log.service.read_stream(stream)[: head.seq]
        indexes = log.store.stream_log_indexes(stream)
        if any(se.entry.seq not in indexes for se in stored):
            return None
        out[stream] = [(indexes[se.entry.seq], se) for se in stored]
        people: set[str] = set()
        for se in stored:
            s = se.entry.statement
            people.add(person_of_key[s.author])
            admin = countersigning_admin_key(s)
            if admin is not None:
                people.add(person_of_key[admin])
            if s.type in ("AssignmentAssigned", "AssignmentCompleted"):
                people.add(s.body["assignee"])
        todo += [f"identity/{p}" for p in people if f"identity/{p}" not in out]
    return out


_Leaf = tuple[int, str, int, str, str | None]  # a stored leaf: index, stream, seq, hash, involved


class _PersonOfKey(dict[str, str]):
    """Key id -> person, each read from the rule state when first asked for."""

    def __init__(self, state: LedgerState) -> None:
        super().__init__()
        self._state = state

    def __missing__(self, key: str) -> str:
        self[key] = person = self._state.keys[key].person
        return person


class _StoredTree:
    """The heads tree of checkpoint ``size`` as stored when it was issued
    (:meth:`ledger.transparency.TransparencyLog.issue_checkpoint`): its leaves and nodes
    read as needed."""

    def __init__(self, log: TransparencyLog, size: int, width: int) -> None:
        self.store, self.size, self.width = log.store, size, width
        self._leaves: dict[str, _Leaf | None] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}

    def leaf(self, stream: str) -> _Leaf | None:
        if stream not in self._leaves:
            self._leaves[stream] = self.store.heads_leaves(self.size, streams=[stream]).get(stream)
        return self._leaves[stream]

    def head(self, stream: str) -> Head | None:
        leaf = self.leaf(stream)
        return None if leaf is None else Head(leaf[2], leaf[3])

    def _node(self, level: int, index: int) -> bytes:
        if (level, index) not in self._nodes:
            found = self.store.heads_nodes(self.size, [(level, index)])
            self._nodes[(level, index)] = found[(level, index)]  # KeyError if absent
        return self._nodes[(level, index)]

    def tree_root(self) -> bytes:
        self._nodes.update(self.store.heads_nodes(self.size, proof_nodes(self.width, [])))
        return root(self.width, self._node)  # its nodes read in one query, just above

    def _neighbours(self, indexes: Iterable[int]) -> dict[int, NeighbourProof]:
        """The leaves at ``indexes`` with their inclusion proofs (their nodes in one query)."""
        wanted = sorted({i for i in indexes if 0 <= i < self.width})
        self._nodes.update(self.store.heads_nodes(self.size, proof_nodes(self.width, wanted)))
        rows = self.store.heads_leaves(self.size, indexes=wanted).values()
        return {
            i: NeighbourProof(
                i, stream, seq, hash_, tuple(inclusion_proof(i, self.width, self._node))
            )
            for i, stream, seq, hash_, _ in rows
        }

    def proofs(
        self, proven: list[str], absent: list[str]
    ) -> tuple[dict[str, HeadProof], dict[str, AbsenceProof]]:
        """The head proofs of the streams ``proven`` and the absence proofs of ``absent``."""
        at: dict[str, int] = {}
        for name in absent:
            after = self.store.heads_leaf_after(self.size, name)
            at[name] = self.width if after is None else after[0]
        index_of = {}
        for s in proven:
            leaf = self.leaf(s)
            if leaf is None:
                raise KeyError(s)
            index_of[s] = leaf[0]
        wanted = [i + d for i in index_of.values() for d in (-1, 0, 1)]
        wanted += [i + d for i in at.values() for d in (-1, 0)]
        parts = self._neighbours(wanted)
        heads = {
            s: HeadProof(self.width, parts[i], parts.get(i - 1), parts.get(i + 1))
            for s, i in index_of.items()
        }
        gaps = {
            name: AbsenceProof(self.width, parts.get(i - 1), parts.get(i)) for name, i in at.items()
        }
        return heads, gaps


def _from_tree(
    log: TransparencyLog, n: int, note: str, person: str
) -> tuple[_Bundled, Checkpoint, dict[str, HeadProof], dict[str, AbsenceProof]] | None:
    """The bundle's parts and its heads proofs from checkpoint ``n``'s stored heads tree,
    reading only the leaves and nodes they need; None if no tree of ``n`` is stored or
    what is stored does not prove itself against the signed heads root (then the tree is
    built again from every stream's head: :func:`_from_state`). Raises
    :class:`NotFound` if the tree proves ``person`` not registered at ``n``. The
    contract is docs/store.md §6."""
    width = log.store.heads_width(n)
    if width == 0:
        return None
    try:
        verifier = log.verifier_at(n)
    except NotFound:
        return None
    checkpoint = _verify_note(note, verifiers=[verifier], origin=log.origin)
    commitment = heads_root_of(checkpoint)
    tree = _StoredTree(log, n, width)
    record, involved_name = f"record/{person}", INVOLVED_PREFIX + person
    try:
        if heads_commitment(width, tree.tree_root()) != commitment:
            return None
        found = log.store.heads_leaves(n, streams=[f"identity/{person}", record, involved_name])
        for name in (f"identity/{person}", record, involved_name):
            tree._leaves[name] = found.get(name)
        if f"identity/{person}" not in found:  # not registered, if the tree proves it
            _, gaps = tree.proofs([], [f"identity/{person}"])
            verify_absence(
                gaps[f"identity/{person}"], stream=f"identity/{person}", root_hash=commitment
            )
            raise NotFound(f"no person {person!r} is registered at checkpoint {n}")
        involved: set[str] = set()
        leaf = found.get(involved_name)
        if leaf is not None:
            involved = set(json.loads(leaf[4] or "[]"))
            if (leaf[2], leaf[3]) != (len(involved), involvement_digest(involved)):
                return None
        with log.service.reading() as state:
            person_of_key = _PersonOfKey(state)
            streams = _read_closure(log, person, tree.head, involved, person_of_key)
        if streams is None or not all(streams.values()):
            return None
        # what the bundle holds: each stream's entries end at its head, and the involvement
        # list gives the involved/ leaf; each head proof is checked against these, not
        # against the stored leaf it was made from (a second read of the same row)
        shown = {s: Head(len(entries), entries[-1][1].entry.hash) for s, entries in streams.items()}
        if leaf is not None:
            shown[involved_name] = Head(len(involved), involvement_digest(involved))
        proven = [s for s in (*sorted(streams), involved_name) if s in shown]
        absent = [s for s in (record, involved_name) if s not in shown]
        heads, gaps = tree.proofs(proven, absent)
        for s, proof in heads.items():
            verify_head_proof(
                proof,
                stream=s,
                seq=shown[s].seq,
                entry_hash=shown[s].hash,
                root_hash=commitment,
            )
        for s, gap in gaps.items():
            verify_absence(gap, stream=s, root_hash=commitment)
    except (KeyError, IntegrityViolation, ProofError, BundleError):
        return None  # a node or leaf is missing or does not prove: build the tree again
    return _Bundled({}, verifier, person_of_key, streams), checkpoint, heads, gaps


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
    record, involved = f"record/{person}", INVOLVED_PREFIX + person
    stored = _from_tree(log, n, note, person)
    if stored is not None:
        parts, checkpoint, head_proofs, absence_proofs = stored
        heads_root = heads_root_of(checkpoint)  # each proof was checked against it
    else:
        parts, checkpoint, heads = _from_rebuilt_tree(log, n, note, person)
        heads_root = heads.root()
        proven = [s for s in (*sorted(parts.streams), involved) if s in heads.heads]
        head_proofs = {s: heads.prove(s) for s in proven}
        absence_proofs = {
            name: AbsenceProof.build(heads, name)
            for name in (record, involved)
            if name not in heads.heads
        }
    verifier = parts.verifier
    # every node the root and the entries' inclusion proofs read, in one query (one a
    # node was a round trip each: about a thousand for a bundle of 40 entries)
    indexes = [index for stream in parts.streams.values() for index, _ in stream]
    nodes: dict[tuple[int, int], bytes] = log.store.nodes_at(proof_nodes(n, indexes))

    def get_node(level: int, index: int) -> bytes:
        if (level, index) not in nodes:
            nodes[(level, index)] = log.store.get_node(level, index)
        return nodes[(level, index)]

    if root(n, get_node) != checkpoint.root_hash or heads_root != heads_root_of(checkpoint):
        raise IntegrityViolation("checkpoint_mismatch", f"the store disagrees with checkpoint {n}")
    items: list[dict[str, Any]] = []
    streams = sorted(parts.streams)
    for stream in streams:
        for index, se in parts.streams[stream]:
            author = parts.person_of_key[se.entry.statement.author]
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
    return {
        "format": FORMAT,
        "person": person,
        "origin": checkpoint.origin,
        "verifier_key": str(verifier),
        "checkpoint": note,
        "entries": items,
        "heads": {s: proof.as_json() for s, proof in head_proofs.items()},
        "absent": {name: proof.as_json() for name, proof in absence_proofs.items()},
    }


def _from_rebuilt_tree(
    log: TransparencyLog, n: int, note: str, person: str
) -> tuple[_Bundled, Checkpoint, HeadsIndex]:
    """The bundle's parts, checkpoint and heads tree, the tree built from every stream's
    head at the checkpoint: from the stored rule state (:func:`_from_state`), or from a
    replay of the log up to it (:func:`_from_scan`)."""
    parts = _from_state(log, n, person)
    if parts is not None:
        checkpoint = _verify_note(note, verifiers=[parts.verifier], origin=log.origin)
        heads = HeadsIndex(parts.leaves)  # built once: it hashes a leaf per stream
        if heads.root() == heads_root_of(checkpoint):
            return parts, checkpoint, heads
    # the rewound leaves are not the signed ones (or there are none): replay
    parts = _from_scan(log, n, person)
    checkpoint = _verify_note(note, verifiers=[parts.verifier], origin=log.origin)
    return parts, checkpoint, HeadsIndex(parts.leaves)
