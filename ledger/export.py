"""Export: one person's record at a stored checkpoint, as a self-contained bundle.

Export reads the store through the transparency log, so it lives beside it and
not in :mod:`ledger.bundle`, which verifies a bundle offline without any store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .bundle.absence import AbsenceProof
from .bundle.document import FORMAT
from .canonical import b64encode
from .checkpoint import NoteVerifier
from .checkpoint import verify_checkpoint as _verify_note
from .disclosures import Disclosure
from .entry import Entry
from .errors import IntegrityViolation, NotFound
from .heads import INVOLVED_PREFIX, HeadsIndex, heads_root_of, index_leaves
from .link import countersigning_admin_key
from .merkle import inclusion_proof, root
from .replay import replay
from .state import LedgerState
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

    heads = HeadsIndex(index_leaves(scan.state))
    if root(n, get_node) != checkpoint.root_hash or heads.root() != heads_root_of(checkpoint):
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
    record, involved = f"record/{person}", INVOLVED_PREFIX + person
    proven = [s for s in (*streams, involved) if s in heads.heads]
    return {
        "format": FORMAT,
        "person": person,
        "origin": checkpoint.origin,
        "verifier_key": str(verifier),
        "checkpoint": note,
        "entries": items,
        "heads": {s: heads.prove(s).as_json() for s in proven},
        "absent": {
            name: AbsenceProof.build(heads, name).as_json()
            for name in (record, involved)
            if name not in heads.heads
        },
    }
