"""Offline verification of a bundle: no database, no network, fails closed.

The checks run in the order :func:`verify_bundle` documents; the entries and
streams are checked in :mod:`.items`, the report is built in :mod:`.report`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from keys import key_id_for

from ..canonical import b64decode
from ..checkpoint import Checkpoint, CheckpointError, NoteVerifier, parse_verifier_key
from ..checkpoint import verify_checkpoint as _verify_note
from ..errors import InclusionError, MalformedInput, RuleViolation
from ..heads import (
    INVOLVED_PREFIX,
    HeadProof,
    heads_root_of,
    involvement_digest,
    verify_head_proof,
)
from ..link import countersigning_admin_key
from ..rules import apply_entry
from ..state import LedgerState
from ..statement import signatures_that_verify
from .absence import AbsenceProof, verify_absence
from .document import BundleError, IncompleteBundle, check_shape, load_bundle
from .items import Item, check_item, check_streams
from .report import BundleReport, build_report

__all__ = ["verify_bundle"]


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
        return checkpoint, heads_root_of(checkpoint)
    except CheckpointError as exc:
        raise BundleError("bad_checkpoint", exc.message, **exc.details) from exc


def _registered_keys(items: Iterable[Item]) -> dict[str, tuple[bytes, str]]:
    """Every key the bundle registers or rotates in: key id -> (public key, person)."""
    keys: dict[str, tuple[bytes, str]] = {}
    for item in items:
        s = item.entry.statement
        if s.type in ("IdentityRegistered", "KeyRotated"):
            try:
                raw = b64decode(s.body["public_key"], length=32, what="public_key")
            except MalformedInput:
                continue  # refused by the rules later
            keys[key_id_for(raw)] = (raw, s.subject)
    return keys


def _key_owners(by_stream: Mapping[str, list[Item]]) -> dict[str, str]:
    every = (item for items in by_stream.values() for item in items)
    return {key_id: person for key_id, (_, person) in _registered_keys(every).items()}


def _involved_streams(
    person: str, by_stream: Mapping[str, list[Item]], owners: Mapping[str, str]
) -> set[str]:
    """The bundle's assignment streams that ``person`` owns or is assigned to."""

    def involves(stream: str) -> bool:
        for item in by_stream[stream]:
            s = item.entry.statement
            if s.type == "AssignmentPosted" and owners.get(s.author) == person:
                return True
            assigned = s.type in ("AssignmentAssigned", "AssignmentCompleted")
            if assigned and s.body["assignee"] == person:
                return True
        return False

    return {s for s in by_stream if s.startswith("assignment/") and involves(s)}


def _check_involvement(
    doc: Mapping[str, Any], person: str, streams: set[str], root_of_heads: bytes
) -> None:
    """The assignment streams must be exactly those the checkpoint's heads index commits
    to for ``person`` (its ``involved/<person>`` leaf), or none if it proves no leaf."""
    name = INVOLVED_PREFIX + person
    try:
        if name in doc["heads"]:
            proof = HeadProof.from_json(doc["heads"][name])
            verify_head_proof(
                proof,
                stream=name,
                seq=len(streams),
                entry_hash=involvement_digest(streams),
                root_hash=root_of_heads,
            )
        elif name in doc["absent"]:
            if streams:
                raise IncompleteBundle(
                    "stream_missing", f"{person} has assignments but {name} is proven absent"
                )
            verify_absence(AbsenceProof.from_json(doc["absent"][name]), stream=name,
                           root_hash=root_of_heads)  # fmt: skip
        else:
            raise IncompleteBundle(
                "head_proof_missing", f"the bundle neither proves nor disproves {name}"
            )
    except MalformedInput as exc:
        raise BundleError("bad_format", f"{name}: {exc.message}") from exc
    except InclusionError as exc:
        raise IncompleteBundle(
            "stream_missing",
            f"the bundle's {len(streams)} assignment stream(s) of {person} are not the ones "
            f"the checkpoint commits to: {exc.message}",
        ) from exc


def _check_closure(person: str, by_stream: Mapping[str, list[Item]]) -> set[str]:
    """The streams must be exactly those an export of ``person`` includes.

    Returns the assignment streams ``person`` owns or is assigned to.
    """
    owners = _key_owners(by_stream)
    involved = _involved_streams(person, by_stream, owners)
    roots = ({f"identity/{person}", f"record/{person}"} & set(by_stream)) | involved
    if f"identity/{person}" not in roots:
        raise IncompleteBundle("stream_missing", f"identity/{person} is not in the bundle")
    reached, todo = set(roots), list(roots)
    while todo:
        stream = todo.pop()
        for item in by_stream[stream]:
            s = item.entry.statement
            needed = {owners.get(s.author)}
            admin = countersigning_admin_key(s)
            if admin is not None:  # an admin countersigned a link: their identity is needed
                needed.add(owners.get(admin))
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
    return involved


def _verify_part(jobs: list[tuple[int, bytes, Item]]) -> set[int]:
    return signatures_that_verify(
        (position, item.entry.statement, pk, item.entry.signature) for position, pk, item in jobs
    )


def _preverify(items: list[Item]) -> set[int]:
    """Verify on two threads every signature whose key the bundle registers; return the
    positions that verified. PyNaCl releases the GIL. A key id names one public key
    (it is a hash of it), so the fold need not check these again; it checks the rest
    in order, which also makes a bad signature the first error it reports."""
    keys = _registered_keys(items)
    jobs = [
        (position, keys[item.entry.statement.author][0], item)
        for position, item in enumerate(items)
        if item.entry.statement.author in keys
    ]
    if len(jobs) < 64:
        return _verify_part(jobs)
    half = (len(jobs) + 1) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        return set().union(*pool.map(_verify_part, [jobs[:half], jobs[half:]]))


def _fold(items: list[Item], key: NoteVerifier) -> LedgerState:
    # every statement in the bundle must be addressed to the ledger whose checkpoint
    # carries it (or be a version 1 statement from before statements named theirs)
    state = LedgerState(origin=key.name)
    verified = _preverify(items)
    for position, item in enumerate(items):
        try:
            apply_entry(
                state,
                item.entry,
                log_index=item.log_index,
                verify_signature=position not in verified,
                partial=True,
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
    check_shape(doc)
    person, origin = doc["person"], doc["origin"]
    key, pinned = _choose_key(doc["verifier_key"], origin, trusted)
    checkpoint, root_of_heads = _check_checkpoint(doc["checkpoint"], key, origin)
    items: list[Item] = []
    for position, raw in enumerate(doc["entries"]):
        after = items[-1].log_index if items else -1
        items.append(check_item(raw, position, checkpoint, after))
    by_stream = check_streams(doc, items, person, root_of_heads)
    _check_involvement(doc, person, _check_closure(person, by_stream), root_of_heads)
    state = _fold(items, key)
    return build_report(person, checkpoint, key, pinned, items, state)
