"""Transparency-log cost: RFC 9162 proofs, tree appends and offline bundle verification.

Run ``.venv/bin/python -m bench.transparency [--quick] [--profile] [--json PATH]`` from
the repository root (``scripts/bench`` runs it too). It prints one table, every figure
measured in this run:

(a) inclusion and consistency proofs at n = 10^6 and 10^7 leaves (10^5 and 10^6 with
    ``--quick``): the median time to make one (:func:`ledger.merkle.inclusion_proof`,
    :func:`~ledger.merkle.consistency_proof`) and to verify it
    (:func:`~ledger.merkle.verify_inclusion`, :func:`~ledger.merkle.verify_consistency`)
    over 1,000 random leaf indices / old sizes, with the nodes each make reads, and the
    largest proof in bytes next to the bound: ``32·⌈log2 n⌉`` for an audit path,
    ``32·(⌈log2 n⌉+1)`` for a consistency proof (which can hold one hash more). Goals:
    make < 1 ms, verify < 0.2 ms at 10^7, judged only at 10^7 (at a smaller n the
    figure is shown and its goal marked "not measured", as with ``--quick``). The leaves
    are synthetic random 32-byte leaf hashes; trees up to 10^6 leaves are held in
    :class:`ledger.merkle.MemoryNodes`, larger ones in :class:`ArrayNodes` (one flat
    ``bytes`` per level: the dict takes about 220 bytes per node, some 4 GiB at 10^7);
(b) appending to the tree with :func:`~ledger.merkle.new_nodes_for_append` in batches
    of 1,000 leaves (timed while the 10^6-leaf MemoryNodes tree is built), in leaves/s
    next to the rate of ``hashlib.sha256(64 bytes).digest()``, timed between the batches:
    an append costs one node hash per leaf amortized, so the ratio is the share of the
    time spent hashing;
(c) :func:`ledger.bundle.verify_bundle` of a 1,000-entry bundle (a ledger on a temporary
    SQLite file, one checkpoint, ``export_bundle``), from its JSON text, next to the
    bound: 1,000 × one PyNaCl Ed25519 verify, measured over the bundle's own statement
    signatures (the faster of ``crypto_sign_open`` and ``VerifyKey.verify``), the two
    timed alternately. Goal: at most 2× the bound. The ratio of their process CPU times
    is shown too, to tell a loaded machine from a slow verifier. For scale, the time to
    make an inclusion proof on that ledger's own SQLite store.

Times are medians: of 1,000 calls for proofs, of the batches for appends, of the
repeats for the bundle. ``--profile`` adds a cProfile of one ``verify_bundle``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TypeVar

import nacl
import nacl.bindings
import nacl.signing

from keys import Identity, Purpose
from keys.signing import signing_message
from ledger import commands
from ledger.bundle import dump_bundle, verify_bundle
from ledger.checkpoint import NoteVerifier
from ledger.entry import parse_entry
from ledger.export import export_bundle
from ledger.merkle import (
    HASH_SIZE,
    NODE_PREFIX,
    GetNode,
    MemoryNodes,
    consistency_proof,
    inclusion_proof,
    new_nodes_for_append,
    root,
    verify_consistency,
    verify_inclusion,
)
from ledger.service import MAX_BATCH, LedgerService
from ledger.statement import SignedStatement, Signer
from ledger.store import open_store
from ledger.transparency import TransparencyLog

__all__ = ["ArrayNodes", "Config", "Row", "main", "run"]

MAKE_GOAL_US = 1000.0
VERIFY_GOAL_US = 200.0
GOAL_SIZE = 10_000_000  # the proof goals are stated for this tree size
BUNDLE_GOAL = 2.0
_T = TypeVar("_T")

DICT_LIMIT = 1_000_000
"""Largest tree held in MemoryNodes; larger trees use ArrayNodes."""


@dataclass(frozen=True)
class Config:
    """Sizes of one run."""

    sizes: tuple[int, ...]
    samples: int = 1000  # random indices / old sizes per proof measurement
    append_batch: int = 1000
    bundle_entries: int = 1000
    other_entries: int = 1000  # entries of someone else, not in the bundle
    bundle_repeats: int = 11
    seed: int = 9162


FULL = Config(sizes=(1_000_000, 10_000_000))
QUICK = Config(sizes=(100_000, 1_000_000), bundle_repeats=5)


@dataclass
class Row:
    """One line of the table: a figure, what it is held against, and the verdict."""

    what: str
    n: int | None
    value: float
    unit: str  # "us", "ms", "B", "/s", "MiB"
    limit: str = ""
    ratio: float | None = None
    met: bool | None = None
    detail: str = ""
    # The goal is stated at a size this run did not reach: shown, not judged.
    not_measured: bool = False


def _say(message: str) -> None:
    """Progress on stderr, so that stdout holds only the results."""
    print(f"bench {time.strftime('%H:%M:%S')} {message}", file=sys.stderr)


def _rss_mib() -> float:
    """Resident set size of this process in MiB (Linux), or NaN elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


# --- synthetic trees and (b) appends ---------------------------------------------------


def synthetic_leaves(n: int, seed: int) -> bytes:
    """``n`` random 32-byte leaf hashes, concatenated; a smaller ``n`` gives a prefix.

    ``random.Random.randbytes`` of a multiple of 4 bytes consumes whole 32-bit words,
    so the leaves of a smaller tree are the first leaves of a larger one with the same
    seed, which lets the run check the two stores against each other.
    """
    rng, chunk = random.Random(seed), 4096
    return b"".join(rng.randbytes(HASH_SIZE * min(chunk, n - s)) for s in range(0, n, chunk))


class ArrayNodes:
    """The perfect-subtree nodes of a tree, one flat ``bytes`` of 32-byte hashes per level.

    Holds the same nodes as :class:`~ledger.merkle.MemoryNodes` would (``2n`` hashes
    for ``n`` leaves) in ``64n`` bytes, where the dict takes about 220 bytes per node.
    """

    def __init__(self, leaves: bytes) -> None:
        sha, levels, below, pair = hashlib.sha256, [leaves], leaves, 2 * HASH_SIZE
        while len(below) >= pair:
            end = len(below) // pair * pair
            below = b"".join(
                [sha(NODE_PREFIX + below[i : i + pair]).digest() for i in range(0, end, pair)]
            )
            levels.append(below)
        self._levels = levels

    @property
    def size(self) -> int:
        """Return the number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    @property
    def nbytes(self) -> int:
        """Return the bytes held in node hashes."""
        return sum(len(level) for level in self._levels)

    def get_node(self, level: int, index: int) -> bytes:
        """Return node ``(level, index)``; raise :class:`KeyError` if it is absent."""
        if not 0 <= level < len(self._levels) or index < 0:
            raise KeyError((level, index))
        start = index * HASH_SIZE
        value = self._levels[level][start : start + HASH_SIZE]
        if len(value) != HASH_SIZE:
            raise KeyError((level, index))
        return value


@dataclass
class Tree:
    """A built tree: how to read it, what holds it, how much memory that takes."""

    n: int
    get_node: GetNode
    store: str
    memory_mib: float
    memory_how: str
    append_rates: list[float] = field(default_factory=list)  # leaves/s per batch
    sha256_rates: list[float] = field(default_factory=list)  # hashes/s, one chunk per batch


def build_memory_nodes(leaves: bytes, batch: int, seed: int) -> Tree:
    """Append ``leaves`` to a MemoryNodes store in batches, timing new_nodes_for_append.

    Only :func:`new_nodes_for_append` is timed (its rate per batch is kept); storing the
    returned nodes in the dict (``MemoryNodes.add``) is not. After each batch, ``batch``
    SHA-256 calls are timed too, so that both rates are sampled under the same load.
    """
    rng = random.Random(seed)
    messages = [rng.randbytes(2 * HASH_SIZE) for _ in range(batch)]
    n = len(leaves) // HASH_SIZE
    gc.collect()
    before = _rss_mib()  # the leaf hash objects end up in the store: count them
    hashes = [leaves[i : i + HASH_SIZE] for i in range(0, len(leaves), HASH_SIZE)]
    store, rates, sha_rates = MemoryNodes(), [], []
    clock = time.perf_counter
    for start in range(0, n, batch):
        chunk = hashes[start : start + batch]
        t0 = clock()
        nodes = new_nodes_for_append(store.size, chunk, store.get_node)
        rates.append(len(chunk) / (clock() - t0))
        store.add(nodes)
        sha_rates.append(_sha256_rate(messages))
    del hashes, chunk, nodes
    gc.collect()
    grown = _rss_mib() - before
    how = f"RSS growth; {len(store):,} nodes"
    return Tree(n, store.get_node, "MemoryNodes", grown, how, rates, sha_rates)


def _sha256_rate(messages: Sequence[bytes]) -> float:
    """Calls of ``hashlib.sha256(m).digest()`` per second over ``messages``, once each."""
    sha, clock = hashlib.sha256, time.perf_counter
    t0 = clock()
    for m in messages:
        sha(m).digest()
    return len(messages) / (clock() - t0)


def build_array_nodes(leaves: bytes) -> Tree:
    """Hash the levels of an :class:`ArrayNodes` tree over ``leaves``."""
    store = ArrayNodes(leaves)
    how = f"hash bytes; {store.nbytes // HASH_SIZE:,} nodes"
    return Tree(store.size, store.get_node, "ArrayNodes", store.nbytes / 2**20, how)


# --- (a) proofs --------------------------------------------------------------------------


def _timed_calls(calls: Sequence[Callable[[], _T]]) -> tuple[list[float], list[_T]]:
    """Run each call once; return the time of each in µs and what each returned."""
    clock = time.perf_counter_ns
    times, results = [], []
    for call in calls:
        t0 = clock()
        result = call()
        times.append((clock() - t0) / 1000)
        results.append(result)
    return times, results


def _fmt_n(n: int) -> str:
    exponent = round(math.log10(n))
    return f"10^{exponent}" if 10**exponent == n else f"{n:,}"


def _time_rows(
    what: str, n: int, make: list[float], verify: list[float], reads: list[int]
) -> list[Row]:
    rows = []
    for verb, times, goal in (("make", make, MAKE_GOAL_US), ("verify", verify, VERIFY_GOAL_US)):
        median = statistics.median(times)
        at_size = n >= GOAL_SIZE
        goal_text = f"< {goal / 1000:g} ms" + ("" if at_size else " at 10^7")
        spread = f"p10–p90 {_quantile(times, 0.1):.1f}–{_quantile(times, 0.9):.1f} µs"
        if verb == "make":
            spread += f"; {statistics.median(reads):.0f} node reads"
        met = median < goal if at_size else None
        rows.append(
            Row(f"{what} proof {verb}", n, median, "us", goal_text, None, met, spread, not at_size)
        )
    return rows


def _node_reads(make: Callable[[GetNode], object], get: GetNode) -> int:
    """How many nodes ``make(get_node)`` reads."""
    count = 0

    def counting(level: int, index: int) -> bytes:
        nonlocal count
        count += 1
        return get(level, index)

    make(counting)
    return count


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _size_row(what: str, n: int, lengths: list[int], bound_hashes: int, bound_text: str) -> Row:
    sizes = [HASH_SIZE * k for k in lengths]
    bound = HASH_SIZE * bound_hashes
    biggest = max(sizes)
    return Row(
        f"{what} proof size, largest",
        n,
        biggest,
        "B",
        f"≤ {bound_text} = {bound} B",
        biggest / bound,
        biggest <= bound,
        f"median {statistics.median(sizes):.0f} B",
    )


def measure_proofs(tree: Tree, cfg: Config) -> list[Row]:
    """Time making and verifying inclusion and consistency proofs at random positions."""
    n, get = tree.n, tree.get_node
    rng = random.Random(cfg.seed + n)
    top = root(n, get)
    log2 = math.ceil(math.log2(n))

    indices = [rng.randrange(n) for _ in range(cfg.samples)]
    make, paths = _timed_calls([partial(inclusion_proof, i, n, get) for i in indices])
    verify, _ = _timed_calls(
        [
            partial(verify_inclusion, leaf_hash=get(0, i), index=i, size=n, proof=p, root=top)
            for i, p in zip(indices, paths, strict=True)
        ]
    )
    reads = [_node_reads(partial(inclusion_proof, i, n), get) for i in indices]
    rows = _time_rows("Inclusion", n, make, verify, reads)
    rows.append(_size_row("Inclusion", n, [len(p) for p in paths], log2, "32·⌈log2 n⌉"))

    olds = [rng.randrange(1, n) for _ in range(cfg.samples)]
    make, proofs = _timed_calls([partial(consistency_proof, m, n, get) for m in olds])
    verify, _ = _timed_calls(
        [
            partial(verify_consistency, size1=m, size2=n, root1=root(m, get), root2=top, proof=p)
            for m, p in zip(olds, proofs, strict=True)
        ]
    )
    reads = [_node_reads(partial(consistency_proof, m, n), get) for m in olds]
    rows += _time_rows("Consistency", n, make, verify, reads)
    rows.append(_size_row("Consistency", n, [len(p) for p in proofs], log2 + 1, "32·(⌈log2 n⌉+1)"))
    return rows


# --- (c) a bundle --------------------------------------------------------------------------

ORIGIN = "bench.trackrecord.example/transparency"


@dataclass
class BundleCase:
    """An exported bundle and what verifying it needs."""

    text: str
    entries: int
    ledger_size: int
    verifier: NoteVerifier
    signatures: list[tuple[bytes, bytes, bytes]]  # public key, signed message, signature
    sqlite_proof_us: list[float]  # inclusion proofs made on the ledger's own SQLite store
    sqlite_reads: list[int]


def _people() -> dict[str, Identity]:
    names = ("operator", "alice", "bob", "carol", "dave", "eve")
    return {name: Identity(bytes([i + 1]) * 32) for i, name in enumerate(names)}


def _statements(people: dict[str, Identity], entries: int, others: int) -> list[SignedStatement]:
    """Statements giving ``alice`` a bundle of exactly ``entries`` entries.

    Identity streams of the operator, alice and three endorsers (6 entries: five
    registrations and bob's manager role), then alice's contributions and, in
    record/alice, endorsements of them by bob (manager), carol and dave (peers).
    ``others`` contributions of eve's are in the log but not in the bundle.
    """
    op = people["operator"]
    out = [
        commands.register_identity(
            Signer(op, ORIGIN),
            person=name,
            public_key=ident.public_key.raw,
            organisation="minbzk",
            department="minbzk/cio" if name == "operator" else "minbzk/dgo",
            display_name=name.capitalize(),
        )
        for name, ident in people.items()
    ]
    out.append(
        commands.grant_role(Signer(op, ORIGIN), person="bob", role="manager", scope="minbzk/dgo")
    )
    record = entries - 6
    claims = [
        commands.claim_contribution(
            Signer(people["alice"], ORIGIN),
            person="alice",
            title=f"Contribution {i}",
            skills=["policy-advice", "python"],
            start="2026-01-01",
        )
        for i in range((record + 1) // 2)
    ]
    out += claims
    endorsers = [("bob", "manager"), ("carol", "peer"), ("dave", "peer")]
    for k in range(record - len(claims)):
        name, role = endorsers[k % 3]
        out.append(
            commands.endorse(
                Signer(people[name], ORIGIN),
                person="alice",
                contribution=claims[k // 3].statement.id,
                grade=1 + k % 5,
                role=role,
                comment=f"Endorsement {k}",
            )
        )
    out += [
        commands.claim_contribution(
            Signer(people["eve"], ORIGIN),
            person="eve",
            title=f"Other {i}",
            skills=["law"],
            start="2026-01-01",
        )
        for i in range(others)
    ]
    return out


def build_bundle(cfg: Config, tmp: str) -> BundleCase:
    """Build a ledger on SQLite in ``tmp``, issue a checkpoint and export alice's record."""
    people = _people()
    statements = _statements(people, cfg.bundle_entries, cfg.other_entries)
    store = open_store(f"sqlite://{tmp}/ledger.db")
    try:
        service = LedgerService(store)
        # identities first (their own batch), then the record in batches of at most MAX_BATCH
        service.append_batch(statements[:7])
        for start in range(7, len(statements), MAX_BATCH):
            service.append_batch(statements[start : start + MAX_BATCH])
        log = TransparencyLog(service)
        log.set_origin(ORIGIN)
        checkpoint = log.issue_checkpoint(people["operator"])
        bundle = export_bundle(log, "alice")
        n = checkpoint.size
        rng = random.Random(cfg.seed)
        indices = [rng.randrange(n) for _ in range(200)]
        sqlite_proof, _ = _timed_calls(
            [partial(inclusion_proof, i, n, store.get_node) for i in indices]
        )
        reads = [_node_reads(partial(inclusion_proof, i, n), store.get_node) for i in indices]
        verifier = log.verifier()
    finally:
        store.close()
    if len(bundle["entries"]) != cfg.bundle_entries:
        raise SystemExit(
            f"bench: the bundle has {len(bundle['entries'])} entries, expected {cfg.bundle_entries}"
        )
    keys = {ident.key_id: ident.public_key.raw for ident in people.values()}
    signatures = []
    for item in bundle["entries"]:
        entry = parse_entry(item["entry"])
        message = signing_message(Purpose.STATEMENT, entry.statement.canonical)
        signatures.append((keys[entry.statement.author], message, entry.signature))
    text = dump_bundle(bundle)
    return BundleCase(text, len(signatures), n, verifier, signatures, sqlite_proof, reads)


def _clocked(fn: Callable[[], object]) -> tuple[float, float]:
    """Run ``fn`` once; return its wall-clock and process CPU time in seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _ed25519_calls(
    signatures: Sequence[tuple[bytes, bytes, bytes]],
) -> dict[str, Callable[[], None]]:
    """PyNaCl's two ways to verify all ``signatures`` once, by name."""
    open_ = nacl.bindings.crypto_sign_open
    verify_keys = {pk: nacl.signing.VerifyKey(pk) for pk, _, _ in signatures}

    def by_open() -> None:
        for pk, message, sig in signatures:
            open_(sig + message, pk)

    def by_key() -> None:
        for pk, message, sig in signatures:
            verify_keys[pk].verify(message, sig)

    return {"crypto_sign_open": by_open, "VerifyKey.verify": by_key}


def measure_bundle(case: BundleCase, repeats: int) -> tuple[list[Row], list[str]]:
    """Time verify_bundle and the Ed25519 bound, alternating, ``repeats`` times each.

    The bound is the faster of PyNaCl's two verify calls over the bundle's own
    signatures (median wall time); process CPU times are kept beside the wall times
    so that a loaded machine can be told apart from a slow verifier.
    """
    trusted = [case.verifier]
    calls = _ed25519_calls(case.signatures)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in (*calls, "bundle")}
    report = verify_bundle(case.text, trusted=trusted)  # warm-up (imports, caches)
    for _ in range(repeats):
        for name, call in calls.items():
            samples[name].append(_clocked(call))
        samples["bundle"].append(_clocked(lambda: verify_bundle(case.text, trusted=trusted)))

    def median(name: str, clock: int) -> float:
        return statistics.median(t[clock] for t in samples[name]) * 1000

    how = min(calls, key=lambda name: median(name, 0))
    bound, took = median(how, 0), median("bundle", 0)
    cpu_ratio = median("bundle", 1) / median(how, 1)
    walls = [t[0] * 1000 for t in samples["bundle"]]
    rows = [
        Row(
            f"Ed25519 verify × {case.entries:,} (the bound)",
            None,
            bound,
            "ms",
            detail=f"{bound * 1000 / case.entries:.1f} µs each, {how}",
        ),
        Row(
            f"verify_bundle, {case.entries:,} entries",
            None,
            took,
            "ms",
            f"≤ {BUNDLE_GOAL:g} × bound = {BUNDLE_GOAL * bound:.1f} ms",
            took / bound,
            took <= BUNDLE_GOAL * bound,
            f"{len(case.text) / 1024:,.0f} KiB JSON; range {min(walls):.0f}–{max(walls):.0f} ms;"
            f" CPU-time ratio {cpu_ratio:.2f}×",
        ),
        Row(
            "Inclusion proof make, SQLite store",
            case.ledger_size,
            statistics.median(case.sqlite_proof_us),
            "us",
            detail=f"{statistics.median(case.sqlite_reads):.0f} node reads; for scale",
        ),
    ]
    notes = [
        f"The bundle: {report.entry_count:,} entries in {len(report.streams)} streams "
        f"(alice's record with {len(report.contributions)} contributions and "
        f"{len(report.endorsements)} endorsements, and the identity streams it needs) from a "
        f"ledger of {case.ledger_size:,} entries on a temporary SQLite file, verified from "
        "its JSON text with the operator key pinned."
    ]
    return rows, notes


def profile_bundle(case: BundleCase, top: int = 25) -> str:
    """cProfile of one verify_bundle: the top functions by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    verify_bundle(case.text, trusted=[case.verifier])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    """What :func:`run` measured."""

    rows: list[Row]
    notes: list[str]
    profile: str = ""


def run(cfg: Config, *, profile: bool = False) -> Results:
    """Measure everything in one process; return the rows of the table."""
    rows: list[Row] = []
    notes: list[str] = []
    trees: list[Tree] = []
    for n in cfg.sizes:
        _say(f"n = {_fmt_n(n)}: leaves")
        leaves = synthetic_leaves(n, cfg.seed)
        _say(f"n = {_fmt_n(n)}: building the tree")
        t0 = time.perf_counter()
        tree = (
            build_memory_nodes(leaves, cfg.append_batch, cfg.seed)
            if n <= DICT_LIMIT
            else build_array_nodes(leaves)
        )
        del leaves
        _say(f"n = {_fmt_n(n)}: built in {time.perf_counter() - t0:.1f} s; timing proofs")
        for smaller in trees:  # the same leaves: the larger tree must contain the smaller
            if root(smaller.n, tree.get_node) != root(smaller.n, smaller.get_node):
                raise SystemExit(f"bench: {tree.store} and {smaller.store} disagree")
        trees.append(tree)
        rows += measure_proofs(tree, cfg)
        rows.append(
            Row(f"Node store: {tree.store}", n, tree.memory_mib, "MiB", detail=tree.memory_how)
        )

    appended = max((t for t in trees if t.append_rates), key=lambda t: t.n)
    sha = statistics.median(appended.sha256_rates)
    append = statistics.median(appended.append_rates)
    rows.append(
        Row(
            "SHA-256 of 64 bytes",
            None,
            sha,
            "/s",
            detail="hashlib, one call per hash, between the batches",
        )
    )
    rows.append(
        Row(
            "Append, leaves/s (new_nodes_for_append)",
            appended.n,
            append,
            "/s",
            "SHA-256 rate (1 node hash per leaf)",
            append / sha,
            detail=f"batches of {cfg.append_batch:,}, into MemoryNodes",
        )
    )

    _say("building a ledger and exporting a bundle")
    with tempfile.TemporaryDirectory(prefix="trackrecord-bench-") as tmp:
        case = build_bundle(cfg, tmp)
    _say("timing verify_bundle and Ed25519")
    bundle_rows, bundle_notes = measure_bundle(case, cfg.bundle_repeats)
    rows += bundle_rows
    notes += bundle_notes
    results = Results(rows, notes)
    if profile:
        _say("profiling verify_bundle")
        results.profile = profile_bundle(case)
    return results


# --- report ----------------------------------------------------------------------------------


def _fmt_value(row: Row) -> str:
    if row.unit == "us":
        return f"{row.value:,.1f} µs"
    if row.unit == "ms":
        return f"{row.value:,.1f} ms"
    if row.unit == "B":
        return f"{row.value:,.0f} B"
    if row.unit == "MiB":
        return f"{row.value:,.0f} MiB"
    return f"{row.value:,.0f} /s"


def render(rows: Sequence[Row], caption: str) -> None:
    """Print the table (rich if it is installed, plain text otherwise)."""
    header = ("Measurement", "n", "Figure", "Limit / reference", "Ratio", "Met", "Spread")
    body: list[tuple[str, ...]] = []
    for row in rows:
        ratio = ""
        if row.ratio is not None:
            ratio = f"{row.ratio:.0%}" if row.unit == "/s" else f"{row.ratio:.2f}×"
        met = "not measured" if row.not_measured else {None: "", True: "yes", False: "NO"}[row.met]
        n = "" if row.n is None else _fmt_n(row.n)
        body.append((row.what, n, _fmt_value(row), row.limit, ratio, met, row.detail))
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
        for line in (header, *body):
            print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
        print(caption)
        return
    table = Table(title="trackrecord transparency log: proofs, appends, bundle verify")
    table.caption = caption
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if i in (1, 2, 4) else "left")
    for line in body:
        table.add_row(*line)
    Console(width=max(160, Console().width)).print(table)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.transparency", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true", help="n = 10^5 and 10^6 (under 60 s)")
    parser.add_argument("--profile", action="store_true", help="also cProfile verify_bundle")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    began, load = time.perf_counter(), os.getloadavg()[0]
    results = run(cfg, profile=args.profile)
    caption = (
        f"Medians: proofs over {cfg.samples:,} random indices / old sizes, appends over "
        f"batches of {cfg.append_batch:,}, the bundle over {cfg.bundle_repeats} repeats "
        f"(alternating with the Ed25519 bound). Proof goals are stated for n = 10^7 and "
        f"judged only there (smaller n: not measured). "
        f"Consistency proofs can be one hash longer than audit paths, hence their bound. "
        + " ".join(results.notes)
        + f" {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PyNaCl {nacl.__version__}; run took {time.perf_counter() - began:.0f} s, "
        f"load average before it {load:.2f}."
    )
    render(results.rows, caption)
    if results.profile:
        print("\ncProfile of one verify_bundle, by cumulative time, then by own time:")
        print(results.profile)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "config": asdict(cfg),
                    "caption": caption,
                    "rows": [asdict(r) for r in results.rows],
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
