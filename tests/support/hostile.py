"""Hostile input for every parser: strategies, genuine documents to mutate, and checks.

A *parser* here is any function that turns bytes, text or decoded JSON from outside into
a value the ledger trusts. For each one, :data:`FUZZERS` holds a hypothesis strategy of
hostile input — random JSON, text with lone surrogates and NUL, random bytes,
100,000-deep nesting, hostile numbers, and single mutations of a genuine document — and a
check that runs one input: the parser must accept it (only genuine content may be
accepted) or refuse it with its typed error (:data:`TYPED`); anything else is a
:class:`Crash`, an accepted change a :class:`Forgery`. Used by
``tests/test_hostile_input.py`` and the long fuzz runs of ``bench/reliability``.
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from keys import BadSignature, KeyError_, Purpose, verify_signature
from ledger.bundle import dump_bundle, load_bundle, verify_bundle
from ledger.canonical import b64encode, canonical_bytes
from ledger.checkpoint import (
    Checkpoint,
    NoteVerifier,
    open_note,
    parse_checkpoint_body,
    parse_verifier_key,
    sign_checkpoint,
    verify_checkpoint,
)
from ledger.disclosures import Disclosure, parse_disclosures, verify_disclosures
from ledger.entry import Entry, decode_record, encode_record
from ledger.errors import LedgerError, MalformedInput, RuleViolation
from ledger.export import export_bundle
from ledger.heads import HeadProof, heads_root_of, verify_head_proof
from ledger.merkle import (
    MemoryNodes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from ledger.rules import apply_entry
from ledger.statement import SignedStatement, parse_signed_statement, parse_statement
from tests.factories import DEPT, MemoryLedger, World, identity_for, standard_world
from tests.support.bundles import build_scenario

__all__ = [
    "DEEP",
    "FUZZERS",
    "HOSTILE_INTS",
    "HOSTILE_TEXT",
    "ORIGIN",
    "TYPED",
    "Crash",
    "Forgery",
    "Fuzz",
    "Genuine",
    "HonestBundle",
    "HonestNote",
    "byte_mutation_of",
    "check_record",
    "deep_text",
    "disclosure_base",
    "dry_append",
    "genuine",
    "honest_bundle",
    "honest_note",
    "hostile_ints",
    "hostile_records",
    "hostile_text",
    "inputs",
    "json_values",
    "merkle_tree",
    "mutation_of",
    "nested",
    "nested_text",
    "outcome",
    "reserialised",
    "text_mutation_of",
]

#: the only exceptions a parser may raise on bad input
TYPED: tuple[type[Exception], ...] = (LedgerError, KeyError_)
DEEP = 100_000


class Crash(AssertionError):
    """A parser raised something other than its typed errors (or recursed out)."""


class Forgery(AssertionError):
    """A parser accepted a changed document as if it were the genuine one."""


@dataclass(frozen=True)
class Fuzz:
    """One parser under attack: hostile inputs and the check that runs one of them."""

    name: str
    strategy: Callable[[], st.SearchStrategy[Any]]
    check: Callable[[Any], None]


@functools.cache
def inputs(fuzz: Fuzz) -> st.SearchStrategy[Any]:
    """The strategy of ``fuzz``, built once (building one costs more than drawing from it)."""
    return fuzz.strategy()


def outcome(fuzz: Fuzz, value: Any) -> str:
    """Run one case: ``"accepted"`` or ``"refused"``; raise :class:`Crash` / :class:`Forgery`."""
    try:
        fuzz.check(value)
    except AssertionError:
        raise
    except TYPED:
        return "refused"
    except Exception as exc:
        raise Crash(f"{fuzz.name}: {type(exc).__name__}: {str(exc)[:200]}") from exc
    return "accepted"


# -- hostile building blocks ----------------------------------------------------------------------

# fmt: off
HOSTILE_TEXT = (
    "", "\x00", "a\x00b", "\ud800", "\udfff", "x\udc80y", "\u202e", "\ufeff", "\u200b",
    "\U0010ffff", "\n", "\r\n", "\u2014 ", "+", "é", "e\u0301", "0" * 64, "-1",
    "18446744073709551616", "1e400", "NaN", "x" * 70_000,
)
HOSTILE_INTS = (
    -1, -(2**63), 0, 1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**64 - 1, 2**64, 2**200, -(2**200),
)
# fmt: on
_ALL_CHARACTERS = st.characters(categories=("L", "M", "N", "P", "S", "Z", "C"))


def hostile_text() -> st.SearchStrategy[str]:
    """Any Unicode text, lone surrogates and controls included, and known troublemakers."""
    return st.text(_ALL_CHARACTERS, max_size=40) | st.sampled_from(HOSTILE_TEXT)


def hostile_ints() -> st.SearchStrategy[int]:
    return st.integers() | st.sampled_from(HOSTILE_INTS)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Decoded JSON as a hostile client could send it: any shape, floats, huge numbers."""
    scalars = (
        st.none()
        | st.booleans()
        | hostile_ints()
        | st.floats(allow_nan=True, allow_infinity=True)
        | hostile_text()
    )
    return st.recursive(
        scalars,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(hostile_text(), kids, max_size=4),
        max_leaves=max_leaves,
    )


def nested(depth: int, *, kind: str = "list") -> Any:
    """A value nested ``depth`` deep (lists or single-key objects), built without recursion."""
    inner: Any = [] if kind == "list" else {}
    for _ in range(depth):
        inner = [inner] if kind == "list" else {"a": inner}
    return inner


def nested_text(depth: int, *, kind: str = "list") -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "{}" + "}" * depth


def deep_text() -> st.SearchStrategy[str]:
    return st.builds(
        nested_text,
        st.sampled_from([1_000, 10_000, DEEP]),
        kind=st.sampled_from(["list", "object"]),
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every location in a JSON value, containers included (the root is ``()``)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutation_of(draw: st.DrawFn, base: Any) -> Any:
    """``base`` (decoded JSON) with one hostile change somewhere."""
    doc = copy.deepcopy(base)
    path = draw(st.sampled_from(list(_paths(doc))))
    if not path:
        return draw(json_values())
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    old = parent[last]
    how = draw(st.sampled_from(["replace", "tweak", "drop", "add"]))
    if how == "replace":
        parent[last] = draw(json_values(max_leaves=4))
    elif how == "tweak" and isinstance(old, str) and old:
        i = draw(st.integers(0, len(old) - 1))
        parent[last] = old[:i] + draw(_ALL_CHARACTERS) + old[i + 1 :]
    elif how == "tweak" and isinstance(old, int) and not isinstance(old, bool):
        parent[last] = draw(st.sampled_from([old + 1, old - 1, -old, *HOSTILE_INTS]))
    elif how == "drop":
        del parent[last]
    elif how == "add" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(old))
    elif how == "add" and isinstance(parent, dict):
        parent[draw(hostile_text())] = draw(json_values(max_leaves=3))
    else:
        parent[last] = draw(json_values(max_leaves=4))
    return doc


@st.composite
def byte_mutation_of(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with bytes flipped, inserted, deleted or cut off."""
    i = draw(st.integers(0, len(base) - 1))
    how = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
    if how == "flip":
        return base[:i] + bytes([base[i] ^ draw(st.integers(1, 255))]) + base[i + 1 :]
    if how == "insert":
        return base[:i] + draw(st.binary(min_size=1, max_size=8)) + base[i:]
    if how == "delete":
        return base[:i] + base[i + draw(st.integers(1, 8)) :]
    return base[:i]


@st.composite
def text_mutation_of(draw: st.DrawFn, base: str) -> str:
    """``base`` with characters replaced, inserted or deleted, or lines swapped."""
    i = draw(st.integers(0, len(base) - 1))
    how = draw(st.sampled_from(["replace", "insert", "delete", "swap_lines", "dup_line"]))
    if how == "replace":
        return base[:i] + draw(_ALL_CHARACTERS) + base[i + 1 :]
    if how == "insert":
        return base[:i] + draw(hostile_text()) + base[i:]
    if how == "delete":
        return base[:i] + base[i + draw(st.integers(1, 8)) :]
    lines = base.split("\n")
    j, k = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    if how == "swap_lines":
        lines[j], lines[k] = lines[k], lines[j]
    else:
        lines.insert(j, lines[k])
    return "\n".join(lines)


# -- genuine documents to mutate -----------------------------------------------------------------


@dataclass(frozen=True)
class Genuine:
    """A small valid ledger in memory and documents taken from it."""

    memory: MemoryLedger
    world: World
    pending: tuple[SignedStatement, ...]  # valid now, not yet appended
    records: tuple[tuple[Entry, bytes], ...]  # appended entries and their stored records


@functools.cache
def genuine() -> Genuine:
    memory = MemoryLedger()
    w = standard_world(memory, seed="hostile")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    c = w.do(w.claim(alice, title="Beleidsnota “Woo” — één", description="NUL\x00kept")).statement
    w.do(w.endorse(carol, alice, c.id, grade=5))
    a = w.do(w.post(bob)).statement.subject
    w.do(w.apply(alice, a))
    pending = (
        w.claim(carol),
        w.endorse(bob, alice, c.id, role="manager"),
        w.post(bob),
        w.assign(bob, a, alice),
        w.grant(carol, "manager", DEPT),
        w.ambition(w["dave"]),
        w.register("erin"),
    )
    records = tuple((e, encode_record(e, ds)) for e, ds in memory.entries)
    return Genuine(memory, w, pending, records)


def dry_append(memory: MemoryLedger, signed: SignedStatement) -> None:
    """Apply ``signed`` at the head of ``memory`` and undo it (raises if a rule refuses)."""
    memory.state.begin()
    try:
        apply_entry(memory.state, memory.entry_for(signed), log_index=memory.state.size)
    finally:
        memory.state.rollback()


def _verifies_under_any_key(statement_bytes: bytes, signature: bytes, keys: list[bytes]) -> bool:
    for public_key in keys:
        try:
            verify_signature(
                public_key=public_key,
                purpose=Purpose.STATEMENT,
                payload=statement_bytes,
                signature=signature,
            )
        except BadSignature:
            continue
        return True
    return False


# -- statements and submissions ---------------------------------------------------------------


def _statement_inputs() -> st.SearchStrategy[Any]:
    g = genuine()
    bases = [s.as_json() for s in g.pending]
    fields = ("type", "id", "subject", "author", "issued_at", "body")
    return st.one_of(
        json_values(),
        st.fixed_dictionaries({f: json_values(max_leaves=4) for f in fields}),
        st.sampled_from(bases).flatmap(lambda b: mutation_of(b["statement"])),
        st.builds(lambda d: {**bases[0]["statement"], "body": d}, st.builds(nested, st.just(DEEP))),
    )


def _check_statement(raw: Any) -> None:
    s = parse_statement(raw)
    g = genuine()
    if s.canonical in {p.statement.canonical for p in g.pending}:
        return
    named = g.memory.state.keys.get(s.author)
    for p in g.pending:  # no genuine signature carries over to a changed statement
        keys = [g.memory.state.keys[p.statement.author].public_key]
        keys += [named.public_key] if named is not None else []
        if _verifies_under_any_key(s.canonical, p.signature, keys):
            raise Forgery(f"a changed statement verifies: {s.as_json()}")


def _submission_inputs() -> st.SearchStrategy[Any]:
    g = genuine()
    bases = [s.as_json() for s in g.pending]
    return st.one_of(
        json_values(),
        st.sampled_from(bases).flatmap(mutation_of),
        st.sampled_from(bases).map(lambda b: {**b, "disclosures": nested(DEEP)}),
    )


def _check_submission(raw: Any) -> None:
    signed = parse_signed_statement(raw)
    g = genuine()
    genuine_statements = {p.statement.canonical for p in g.pending}
    try:
        dry_append(g.memory, signed)
    except RuleViolation:
        return
    if signed.statement.canonical not in genuine_statements:
        raise Forgery(f"the rules accepted a changed statement: {signed.statement.as_json()}")


# -- stored records -------------------------------------------------------------------------------


def reserialised(entry_json: Any, how: int) -> bytes:
    """Non-canonical JSON of the same value (or a value that compares equal)."""
    if how == 0:
        return json.dumps(entry_json).encode()  # ", " and ": " separators, insertion order
    if how == 1:
        return json.dumps(entry_json, sort_keys=True, separators=(", ", ":")).encode()
    if how == 2:
        return (
            json.dumps(entry_json, sort_keys=True, separators=(",", ":"))
            .replace("/", "\\/")
            .encode()
        )
    return json.dumps(
        dict(reversed(list(entry_json.items()))), separators=(",", ":"), ensure_ascii=True
    ).encode()


def hostile_records(*, deep_nesting: bool) -> st.SearchStrategy[bytes]:
    """Stored records as a database administrator could write them; ``deep_nesting`` adds
    records nested 1,000 and 100,000 deep."""
    return _record_inputs(deep_nesting)


@st.composite
def _record_inputs(draw: st.DrawFn, deep_nesting: bool) -> bytes:
    g = genuine()
    _, record = draw(st.sampled_from(g.records))
    head, _, tail = record.partition(b"\n")
    kinds = ["bytes", "mutate", "json", "reserialise", "random"]
    kind = draw(st.sampled_from([*kinds, "deep"] if deep_nesting else kinds))
    if kind == "bytes":
        return draw(byte_mutation_of(record))
    if kind == "mutate":
        changed = draw(mutation_of(json.loads(head)))
        try:
            return canonical_bytes(changed) + b"\n" + tail
        except MalformedInput:
            return json.dumps(changed).encode("utf-8", "surrogatepass") + b"\n" + tail
    if kind == "json":
        doc = draw(mutation_of(json.loads(tail)))
        return head + b"\n" + json.dumps(doc).encode("utf-8", "surrogatepass")
    if kind == "reserialise":
        return reserialised(json.loads(head), draw(st.integers(0, 3))) + b"\n" + tail
    if kind == "deep":
        deep = nested_text(draw(st.sampled_from([1_000, DEEP]))).encode()
        return draw(st.sampled_from([deep + b"\n" + tail, head + b"\n" + deep]))
    return draw(st.binary(max_size=200))


def check_record(blob: bytes) -> None:
    entry, _ = decode_record(blob)
    g = genuine()
    if entry.canonical != blob.partition(b"\n")[0]:
        raise Forgery("decode_record accepted a non-canonical entry")
    known = {e.canonical for e, _ in g.records}
    if entry.canonical in known:
        return
    originals = {(e.statement.canonical, e.signature) for e, _ in g.records}
    if (entry.statement.canonical, entry.signature) in originals:
        return  # same signed statement, other place: the chain and the Merkle log catch that
    key = g.memory.state.keys.get(entry.statement.author)
    if key is not None and _verifies_under_any_key(
        entry.statement.canonical, entry.signature, [key.public_key]
    ):
        raise Forgery(f"a changed stored statement verifies: {entry.statement.as_json()}")


# -- bundles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HonestBundle:
    text: str
    doc: dict[str, Any]
    key: NoteVerifier


_KEEP: list[tempfile.TemporaryDirectory[str]] = []


@functools.cache
def honest_bundle() -> HonestBundle:
    """Alice's bundle from the scenario ledger of :mod:`tests.support.bundles` (built once)."""
    directory = tempfile.TemporaryDirectory(prefix="hostile-bundle-")
    _KEEP.append(directory)  # removed when the interpreter exits
    url = f"sqlite://{Path(directory.name, 'a.db').resolve().as_posix()}"
    sc = build_scenario(url)
    text, key = dump_bundle(export_bundle(sc.log, "alice")), sc.key
    sc.log.store.close()
    return HonestBundle(text, json.loads(text), key)


def _only_withheld(doc: Any, honest: dict[str, Any]) -> bool:
    """True if ``doc`` is ``honest`` with at most some disclosures left out."""
    if not isinstance(doc, dict) or set(doc) != set(honest):
        return False
    entries = doc.get("entries")
    if not isinstance(entries, list) or len(entries) != len(honest["entries"]):
        return False
    restored = dict(doc, entries=[])
    for mine, theirs in zip(entries, honest["entries"], strict=True):
        if not isinstance(mine, dict) or not isinstance(mine.get("disclosures"), list):
            return False
        if any(d not in theirs["disclosures"] for d in mine["disclosures"]):
            return False
        restored["entries"].append(dict(mine, disclosures=theirs["disclosures"]))
    return bool(restored == honest)


@st.composite
def _bundle_inputs(draw: st.DrawFn) -> Any:
    h = honest_bundle()
    kind = draw(st.sampled_from(["mutate", "mutate", "bytes", "text", "json", "deep", "numbers"]))
    if kind == "mutate":
        return draw(mutation_of(h.doc))
    if kind == "bytes":
        return draw(byte_mutation_of(h.text.encode()))
    if kind == "text":
        return draw(hostile_text())
    if kind == "json":
        return draw(json_values())
    if kind == "deep":
        return draw(deep_text())
    # hostile numbers where the verifier reads numbers: log indexes and proof sizes
    doc = copy.deepcopy(h.doc)
    item = draw(st.sampled_from(doc["entries"]))
    head = draw(st.sampled_from(sorted(doc["heads"])))
    target = draw(st.sampled_from(["log_index", "size", "leaf_index"]))
    value = draw(hostile_ints())
    if target == "log_index":
        item["log_index"] = value
    elif target == "size":
        doc["heads"][head]["size"] = value
    else:
        doc["heads"][head]["leaf"]["index"] = value
    return doc


def _check_bundle(value: Any) -> None:
    h = honest_bundle()
    if not isinstance(value, str | bytes | dict):
        value = json.dumps(value)  # what a client would send
    if isinstance(value, str | bytes):
        doc: Any = load_bundle(value)
    else:
        doc = value
    for trusted in (None, [h.key]):
        verify_bundle(value, trusted=trusted)
        if not _only_withheld(doc, h.doc):
            raise Forgery("a changed bundle verified")


# -- checkpoints, notes, verifier keys ----------------------------------------------------------

ORIGIN = "trackrecord.example/hostile"


@dataclass(frozen=True)
class HonestNote:
    checkpoint: Checkpoint
    note: str
    key: NoteVerifier


@functools.cache
def honest_note() -> HonestNote:
    operator = identity_for("operator")
    checkpoint = Checkpoint(
        ORIGIN,
        21,
        bytes(range(32)),
        ("trackrecord-heads " + b64encode(bytes(range(32, 64))), "trackrecord-time 2026-03-01"),
    )
    note = sign_checkpoint(checkpoint, name=ORIGIN, signer=operator)
    return HonestNote(checkpoint, note, NoteVerifier.for_key(ORIGIN, operator.public_key.raw))


def _note_inputs() -> st.SearchStrategy[Any]:
    h = honest_note()
    return st.one_of(
        text_mutation_of(h.note),
        byte_mutation_of(h.note.encode()),
        hostile_text(),
        st.binary(max_size=200),
        st.builds(lambda body: body + "\n\u2014 x AAAAAAAAAAAA\n", text_mutation_of(h.note)),
    )


def _check_note(note: Any) -> None:
    h = honest_note()
    text, signers = open_note(note, verifiers=[h.key])
    if text != h.checkpoint.body() or signers != [ORIGIN]:
        raise Forgery(f"open_note returned another text: {text!r}")
    if verify_checkpoint(note, verifiers=[h.key], origin=ORIGIN) != h.checkpoint:
        raise Forgery("verify_checkpoint returned another checkpoint")


def _body_inputs() -> st.SearchStrategy[Any]:
    body = honest_note().checkpoint.body()
    sizes = hostile_ints().map(lambda n: body.replace("\n21\n", f"\n{n}\n"))
    return st.one_of(text_mutation_of(body), byte_mutation_of(body.encode()), hostile_text(), sizes)


def _check_body(text: Any) -> None:
    checkpoint = parse_checkpoint_body(text)
    as_text = text.decode() if isinstance(text, bytes) else text
    if checkpoint.body() != as_text:
        raise Forgery(f"a non-canonical checkpoint body was accepted: {as_text!r}")


def _verifier_key_inputs() -> st.SearchStrategy[Any]:
    key = str(honest_note().key)
    return st.one_of(text_mutation_of(key), hostile_text())


def _check_verifier_key(text: Any) -> None:
    if str(parse_verifier_key(text)) != text:
        raise Forgery(f"a non-canonical verifier key was accepted: {text!r}")


# -- disclosures and heads proofs ----------------------------------------------------------------


def disclosure_base() -> tuple[dict[str, str], list[list[str]], dict[str, int]]:
    """A genuine claim's commitments, its disclosures and each personal field's length limit."""
    claim = genuine().pending[0]
    stype = claim.statement.stype
    return (
        dict(claim.statement.body["commitments"]),
        [d.as_json() for d in claim.disclosures],
        {p.name: p.max_length for p in stype.personal},
    )


def _disclosure_inputs() -> st.SearchStrategy[Any]:
    _, base, _ = disclosure_base()
    return st.one_of(json_values(), mutation_of(base), st.builds(nested, st.just(DEEP)))


def _check_disclosures(raw: Any) -> None:
    commitments, base, limits = disclosure_base()
    parsed = parse_disclosures(raw)
    verify_disclosures(commitments, parsed, max_lengths=limits)
    genuine_ones = [Disclosure(*d) for d in base]
    if any(d not in genuine_ones for d in parsed):
        raise Forgery(f"a changed disclosure matched its commitment: {parsed}")


def _head_proof_inputs() -> st.SearchStrategy[Any]:
    heads = honest_bundle().doc["heads"]
    return st.sampled_from(sorted(heads)).flatmap(lambda s: mutation_of(heads[s]))


def _check_head_proof(raw: Any) -> None:
    h = honest_bundle()
    proof = HeadProof.from_json(raw)
    checkpoint = verify_checkpoint(h.doc["checkpoint"], verifiers=[h.key])
    leaf = proof.leaf
    verify_head_proof(
        proof,
        stream=leaf.stream,
        seq=leaf.seq,
        entry_hash=leaf.hash,
        root_hash=heads_root_of(checkpoint),
    )
    genuine_leaves = {
        (p["leaf"]["stream"], p["leaf"]["seq"], p["leaf"]["hash"]) for p in h.doc["heads"].values()
    }
    if (leaf.stream, leaf.seq, leaf.hash) not in genuine_leaves:
        raise Forgery(f"a heads proof placed a head that is not there: {leaf}")


# -- Merkle proofs with hostile indexes and sizes -------------------------------------------

_TREE_SIZE = 13


@functools.cache
def merkle_tree() -> tuple[list[bytes], MemoryNodes, list[bytes]]:
    """A tree of 13 leaves: the leaf hashes, its nodes and the root at every size 0..13."""
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(_TREE_SIZE)]
    nodes = MemoryNodes()
    nodes.append(leaves)
    roots = [root(n, nodes.get_node) for n in range(_TREE_SIZE + 1)]
    return leaves, nodes, roots


@st.composite
def _inclusion_inputs(draw: st.DrawFn) -> tuple[bytes, int, int, list[bytes], int]:
    leaves, nodes, _ = merkle_tree()
    true_size = draw(st.integers(1, _TREE_SIZE))
    true_index = draw(st.integers(0, true_size - 1))
    proof = inclusion_proof(true_index, true_size, nodes.get_node)
    index = draw(st.sampled_from([true_index, true_index + 1, true_index - 1]) | hostile_ints())
    size = draw(st.sampled_from([true_size, true_size + 1, true_size - 1]) | hostile_ints())
    leaf = draw(st.sampled_from(leaves) | st.binary(min_size=32, max_size=32))
    proof = draw(
        st.just(proof)
        | st.lists(st.binary(min_size=32, max_size=32), max_size=70)
        | st.lists(st.binary(max_size=40), max_size=8)
        | mutation_of([p.hex() for p in proof]).map(_hex_list)
    )
    return leaf, index, size, proof, true_size


def _hex_list(value: Any) -> list[bytes]:
    out = []
    for item in value if isinstance(value, list) else [value]:
        try:
            out.append(bytes.fromhex(item) if isinstance(item, str) else bytes(32))
        except ValueError:
            out.append(b"\x00" * 31)
    return out


def _check_inclusion(case: tuple[bytes, int, int, list[bytes], int]) -> None:
    leaf, index, size, proof, true_size = case
    leaves, _, roots = merkle_tree()
    verify_inclusion(leaf_hash=leaf, index=index, size=size, proof=proof, root=roots[true_size])
    if not (0 <= index < true_size and leaves[index] == leaf):
        raise Forgery(f"leaf placed at index {index} of the tree of {true_size} (claimed {size})")


@st.composite
def _consistency_inputs(draw: st.DrawFn) -> tuple[int, int, bytes, bytes, list[bytes]]:
    _, nodes, roots = merkle_tree()
    s2 = draw(st.integers(1, _TREE_SIZE))
    s1 = draw(st.integers(1, s2))
    proof = consistency_proof(s1, s2, nodes.get_node)
    size1 = draw(st.sampled_from([s1, s1 + 1, s1 - 1]) | hostile_ints())
    size2 = draw(st.sampled_from([s2, s2 + 1, s2 - 1]) | hostile_ints())
    root1 = draw(st.sampled_from(roots) | st.binary(min_size=32, max_size=32))
    root2 = draw(st.sampled_from(roots) | st.binary(min_size=32, max_size=32))
    proof = draw(
        st.just(proof)
        | st.lists(st.binary(min_size=32, max_size=32), max_size=70)
        | mutation_of([p.hex() for p in proof]).map(_hex_list)
    )
    return size1, size2, root1, root2, proof


def _check_consistency(case: tuple[int, int, bytes, bytes, list[bytes]]) -> None:
    size1, size2, root1, root2, proof = case
    _, _, roots = merkle_tree()
    verify_consistency(size1=size1, size2=size2, root1=root1, root2=root2, proof=proof)
    if (size1 == size2 and root1 == root2) or size1 == 0:
        return  # trivially consistent: a tree with itself, the empty tree with any tree
    if root1 not in roots or root2 not in roots or roots.index(root1) > roots.index(root2):
        raise Forgery(f"consistency between trees that are not prefixes ({size1}, {size2})")


#: every parser under attack, by name (the bench runs the same, longer)
FUZZERS: dict[str, Fuzz] = {
    f.name: f
    for f in (
        Fuzz("statement", _statement_inputs, _check_statement),
        Fuzz("submission", _submission_inputs, _check_submission),
        Fuzz("record", lambda: hostile_records(deep_nesting=False), check_record),
        Fuzz("bundle", _bundle_inputs, _check_bundle),
        Fuzz("checkpoint_note", _note_inputs, _check_note),
        Fuzz("checkpoint_body", _body_inputs, _check_body),
        Fuzz("verifier_key", _verifier_key_inputs, _check_verifier_key),
        Fuzz("disclosures", _disclosure_inputs, _check_disclosures),
        Fuzz("heads_proof", _head_proof_inputs, _check_head_proof),
        Fuzz("inclusion_proof", _inclusion_inputs, _check_inclusion),
        Fuzz("consistency_proof", _consistency_inputs, _check_consistency),
    )
}
