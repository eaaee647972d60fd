"""Ingest and audit throughput, measured against the Ed25519 verify rate of this machine.

Run ``.venv/bin/python -m bench.ingest [--quick] [--profile]`` from the repository root,
or ``scripts/bench``. It prints one table:

(a) the PyNaCl Ed25519 verify rate on one core (``nacl.bindings.crypto_sign_open`` and
    ``VerifyKey.verify``; the faster is the reference) and on all cores (threads:
    PyNaCl releases the GIL);
(b) signed statements appended per second on SQLite and PostgreSQL, one at a time and
    in batches of 100 and 1000, each next to the one-core verify rate (goal for
    batches: at least 75 %);
(c) audit entries per second on both backends next to the all-cores verify rate
    (goal: at least 75 %).

Every figure is the median of 3 repeats in this run. The statements are those of the
demo ledger (``trackrecord.demo.generate``), built and signed before any timer starts.
``--profile`` adds where the time of batched ingest goes, step by step, in
microseconds per entry, and the top functions of a cProfile run.

PostgreSQL: the server at ``TRACKRECORD_BENCH_POSTGRES_URL`` if set, else a private
cluster started with ``tests/pgcluster.py`` and restarted with durable settings
(``fsync``, ``synchronous_commit`` and ``full_page_writes`` on, as SQLite's default
WAL mode is durable too), one fresh database per measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import nacl
import nacl.bindings
import nacl.signing

import ledger.audit
import ledger.service
from keys import Identity, Purpose
from keys.signing import signing_message
from ledger.app import tune_gc
from ledger.audit import audit
from ledger.catalogue import StreamKind
from ledger.service import MAX_BATCH, LedgerService
from ledger.statement import SignedStatement, parse_signed_statement
from ledger.store import Store, open_store

__all__ = ["Config", "Measurement", "main", "run"]

POSTGRES_URL_ENV = "TRACKRECORD_BENCH_POSTGRES_URL"
GOAL = 0.75
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Config:
    """Sizes of one run."""

    statements: int  # timed statements per batched ingest run (also audited)
    single: int  # timed statements for one-at-a-time ingest
    verify_items: int  # signatures per verify measurement
    repeats: int = 3


FULL = Config(statements=10_000, single=1_000, verify_items=8_000)
QUICK = Config(statements=1_500, single=200, verify_items=3_000)


@dataclass
class Measurement:
    """One row of the table: a rate (median of the repeats) and its reference."""

    what: str
    backend: str
    samples: list[float]
    reference: str | None = None
    goal: float | None = None
    reference_rate: float | None = field(default=None)

    @property
    def rate(self) -> float:
        return statistics.median(self.samples)

    @property
    def ratio(self) -> float | None:
        return None if self.reference_rate is None else self.rate / self.reference_rate

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio >= self.goal


# --- workload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """Statements signed in advance: ``setup`` is appended untimed, ``timed`` is measured."""

    setup: list[SignedStatement]
    timed: list[SignedStatement]
    source: str


def _split(statements: Iterable[SignedStatement], count: int) -> tuple[list[Any], list[Any]]:
    """Leading identity-stream statements are setup; the next ``count`` are timed."""
    setup: list[SignedStatement] = []
    timed: list[SignedStatement] = []
    for s in statements:
        if not timed and s.statement.stype.stream_kind is StreamKind.IDENTITY:
            setup.append(s)
        else:
            timed.append(s)
            if len(timed) == count:
                break
    return setup, timed


def build_workload(count: int, seed: int) -> Workload:
    """Sign ``count`` statements of the demo ledger (plus their setup) before any timing.

    The statements come from ``trackrecord.demo.generate``, a realistic year of a
    Dutch public-sector ledger; the number of people grows until it yields enough.
    """
    from trackrecord import demo

    people = max(demo.MIN_PEOPLE, count // 12)
    while True:
        batches = demo.generate(people=people, seed=seed)
        setup, timed = _split((s for batch in batches for s in batch), count)
        if len(timed) == count:
            return Workload(setup, timed, f"trackrecord.demo (people={people}, seed={seed})")
        people *= 2


def _say(message: str) -> None:
    """Progress on stderr, so that stdout holds only the results."""
    print(f"bench {time.strftime('%H:%M:%S')} {message}", file=sys.stderr)


# --- (a) verify rates -------------------------------------------------------------------

_Item = tuple[bytes, bytes, bytes]  # public key, signed message, signature


def _verify_items(workload: Workload, count: int) -> list[_Item]:
    """Statement signing messages of realistic size, each signed by one of 16 keys."""
    keys = [Identity(bytes([i + 1]) * 32) for i in range(16)]
    out = []
    for i in range(count):
        payload = workload.timed[i % len(workload.timed)].statement.canonical
        ident = keys[i % len(keys)]
        message = signing_message(Purpose.STATEMENT, payload)
        out.append((ident.public_key.raw, message, ident.sign_raw(message)))
    return out


def _open_all(items: Sequence[_Item]) -> None:
    open_ = nacl.bindings.crypto_sign_open
    for pk, message, sig in items:
        open_(sig + message, pk)


def _verify_key_all(items: Sequence[_Item]) -> None:
    keys = {pk: nacl.signing.VerifyKey(pk) for pk in {item[0] for item in items}}
    for pk, message, sig in items:
        keys[pk].verify(message, sig)


def _rate(fn: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    fn()
    return count / (time.perf_counter() - started)


def _threads_rate(fn: Callable[[Sequence[_Item]], None], items: list[_Item], threads: int) -> float:
    slices = [items[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return _rate(lambda: list(pool.map(fn, slices)), len(items))


# --- databases --------------------------------------------------------------------------


def _restart_durable(cluster: Any) -> None:
    """Restart a tests/pgcluster.py cluster without its fsync=off test settings."""
    options = (
        f"-p {cluster.port} -k {shlex.quote(cluster.root)} "
        "-c listen_addresses=127.0.0.1 -c max_connections=200"
    )
    data, log = f"{cluster.root}/data", f"{cluster.root}/log"
    argv = [f"{cluster.bindir}/pg_ctl", *("-D", data, "-l", log, "-o", options), "-w", "restart"]
    if cluster.as_postgres_user:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(
        argv,
        cwd=cluster.root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: restarting PostgreSQL failed:\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def _postgres_server() -> Iterator[tuple[str, str]]:
    """Yield ``(server url, description)``: the configured server or a private cluster."""
    import psycopg

    url = os.environ.get(POSTGRES_URL_ENV)
    cluster = None
    if not url:
        try:
            from tests import pgcluster
        except ImportError as exc:
            raise SystemExit(
                f"bench: cannot import tests/pgcluster.py ({exc}); set {POSTGRES_URL_ENV} instead"
            ) from exc
        cluster = pgcluster.start_cluster()
        url = cluster.url
    try:
        if cluster is not None:
            _restart_durable(cluster)
        with psycopg.connect(url, autocommit=True) as conn:
            shown = {
                name: str((conn.execute(f"SHOW {name}").fetchone() or ["?"])[0])
                for name in ("server_version", "fsync", "synchronous_commit")
            }
        version = shown.pop("server_version").split()[0]
        settings = ", ".join(f"{name}={value}" for name, value in shown.items())
        where = "private cluster" if cluster is not None else POSTGRES_URL_ENV
        yield url, f"PostgreSQL {version} ({where}; {settings})"
    finally:
        if cluster is not None:
            pgcluster.stop_cluster(cluster)


class _Databases:
    """Fresh empty databases on each backend."""

    def __init__(self, postgres_url: str | None) -> None:
        self.postgres_url = postgres_url

    @contextlib.contextmanager
    def fresh(self, backend: str) -> Iterator[str]:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="trackrecord-bench-") as tmp:
                yield f"sqlite://{tmp}/ledger.db"
            return
        from tests import pgcluster

        if self.postgres_url is None:
            raise RuntimeError("no PostgreSQL server was started")
        with pgcluster.fresh_database(self.postgres_url) as url:
            yield url


# --- (b), (c) ingest and audit ----------------------------------------------------------


def _chunks(items: Sequence[SignedStatement], size: int) -> Iterator[Sequence[SignedStatement]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _prepared(url: str, workload: Workload) -> tuple[Store, LedgerService]:
    store = open_store(url)
    service = LedgerService(store)
    for chunk in _chunks(workload.setup, MAX_BATCH):
        service.append_batch(chunk)
    return store, service


def _ingest(url: str, workload: Workload, batch: int, count: int) -> float:
    """Append ``count`` timed statements in batches of ``batch``; return statements/s."""
    store, service = _prepared(url, workload)
    timed = workload.timed[:count]
    try:
        started = time.perf_counter()
        if batch == 1:
            for signed in timed:
                service.append(signed)
        else:
            for chunk in _chunks(timed, batch):
                service.append_batch(chunk)
        return len(timed) / (time.perf_counter() - started)
    finally:
        store.close()


def _audit_rate(url: str, workers: int) -> float:
    store = open_store(url)
    try:
        report = audit(store, workers=workers)
    finally:
        store.close()
    if not report.ok:
        raise SystemExit(f"bench: the audit failed: {report.as_json()}")
    return report.entries / report.seconds


@dataclass
class Results:
    """What :func:`run` measured: the table rows, and the profiles when asked for."""

    rows: list[Measurement]
    notes: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    hotspots: str = ""


def run(
    cfg: Config, backends: Sequence[str], workload: Workload, *, profile: bool = False
) -> Results:
    """Measure everything; with ``profile``, also break batched ingest down by step."""
    cores = os.cpu_count() or 1
    _say("Ed25519 verify rates")
    items = _verify_items(workload, cfg.verify_items)
    open_one = Measurement("Ed25519 verify, 1 core: crypto_sign_open", "—", [])
    key_one = Measurement("Ed25519 verify, 1 core: VerifyKey.verify", "—", [])
    for _ in range(cfg.repeats):
        open_one.samples.append(_rate(lambda: _open_all(items), len(items)))
        key_one.samples.append(_rate(lambda: _verify_key_all(items), len(items)))
    fastest = max((open_one, key_one), key=lambda m: m.rate)
    fast_fn = _open_all if fastest is open_one else _verify_key_all
    all_cores = Measurement(f"Ed25519 verify, {cores} cores (threads)", "—", [])
    for _ in range(cfg.repeats):
        all_cores.samples.append(_threads_rate(fast_fn, items, cores))
    results = Results([open_one, key_one, all_cores])
    one_ref, all_ref = fastest.rate, all_cores.rate

    with contextlib.ExitStack() as stack:
        pg_url = None
        if "postgresql" in backends:
            _say("starting PostgreSQL" if not os.environ.get(POSTGRES_URL_ENV) else "PostgreSQL")
            pg_url, pg_note = stack.enter_context(_postgres_server())
            results.notes.append(pg_note)
        dbs = _Databases(pg_url)
        for backend in backends:
            label = "SQLite" if backend == "sqlite" else "PostgreSQL"
            modes = [
                ("one at a time", 1, cfg.single, None),
                ("batches of 100", 100, cfg.statements, GOAL),
                ("batches of 1000", 1000, cfg.statements, GOAL),
            ]
            ingest = [
                Measurement(f"Ingest, {name}", label, [], "1-core verify", goal, one_ref)
                for name, _, _, goal in modes
            ]
            audited = Measurement("Audit", label, [], f"{cores}-core verify", GOAL, all_ref)
            for repeat in range(cfg.repeats):
                _say(f"{label}: ingest and audit, repeat {repeat + 1} of {cfg.repeats}")
                for row, (_, batch, count, _) in zip(ingest, modes, strict=True):
                    with dbs.fresh(backend) as url:
                        row.samples.append(_ingest(url, workload, batch, count))
                        if batch == 1000:
                            audited.samples.append(_audit_rate(url, cores))
            results.rows += [*ingest, audited]
            if profile:
                _say(f"{label}: profiling batched ingest and the audit")
                with dbs.fresh(backend) as url:
                    results.steps[f"ingest, {label}, batches of 1000"] = profile_ingest(
                        url, workload
                    )
                    results.steps[f"audit, {label}, one thread"] = profile_audit(url)
        if profile:
            with dbs.fresh(backends[0]) as url:
                results.hotspots = profile_hotspots(url, workload)
    return results


# --- profiles ---------------------------------------------------------------------------

# What to time, as (module or class, attribute, step). The wrappers are installed only
# for the duration of one profile run and time the real code paths of the service and
# the audit. A name that no longer exists, or a wrapped step the run never called (the
# code moved on), stops the profile with an error: a profile of code that does not run
# would show a step as costing nothing.
_INGEST_STEPS = (
    (LedgerService, "catch_up", "catch-up read"),
    (LedgerService, "_preverify", "start signature checks on worker threads"),
    (ledger.service, "_failed_before", "wait for signature workers"),
    (ledger.service, "next_entry", "canonicalise entry (next_entry)"),
    (ledger.service, "apply_entry", "rules (apply_entry; incl. signatures not pre-verified)"),
    (ledger.service, "leaf_hash", "Merkle leaves"),
    (ledger.service, "new_nodes_for_append", "Merkle nodes"),
    (ledger.service, "encode_record", "encode records"),
    (Store, "append", "DB insert (entries + nodes, one transaction)"),
)
_AUDIT_STEPS = (
    (Store, "read", "read records"),
    (ledger.audit, "decode_record_parts", "decode record (JSON, validate, canonical check)"),
    (ledger.audit, "stream_originator_id", "row check (uuid5)"),
    (ledger.audit, "apply_entry", "rules (apply_entry)"),
    (ledger.audit, "leaf_hash", "Merkle leaves"),
    (ledger.audit, "new_nodes_for_append", "Merkle nodes"),
    (Store, "nodes", "read stored Merkle nodes"),
    (ledger.audit._Auditor, "_collect", "wait for signature workers"),
)
_Steps = Sequence[tuple[Any, str, str]]


@contextlib.contextmanager
def _timed(steps: _Steps, totals: dict[str, float]) -> Iterator[None]:
    """Wrap each ``owner.attribute`` so that its calls add their wall time to ``totals``.

    Raises :class:`ProfileError` if an attribute does not exist, or if the block ends
    without a call to one of them.
    """
    missing = [f"{_name_of(owner)}.{name}" for owner, name, _ in steps if not hasattr(owner, name)]
    if missing:
        raise ProfileError(f"the profile wraps names that do not exist: {', '.join(missing)}")
    originals = []
    calls: dict[str, int] = {}
    for owner, name, step in steps:
        original = getattr(owner, name)
        totals.setdefault(step, 0.0)
        calls[step] = 0

        def wrapper(
            *args: Any, _fn: Callable[..., Any] = original, _step: str = step, **kw: Any
        ) -> Any:
            started = time.perf_counter()
            try:
                return _fn(*args, **kw)
            finally:
                totals[_step] += time.perf_counter() - started
                calls[_step] += 1

        setattr(owner, name, wrapper)
        originals.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
    never = [step for step, n in calls.items() if n == 0]
    if never:
        raise ProfileError(f"the profiled run never called: {'; '.join(never)}")


class ProfileError(RuntimeError):
    """A profile step names code that does not exist or does not run."""


def _name_of(owner: Any) -> str:
    return str(getattr(owner, "__name__", owner))


def _per_entry(totals: dict[str, float], total: float, entries: int, what: str) -> dict[str, float]:
    out = {step: seconds * 1e6 / entries for step, seconds in totals.items()}
    out[f"other ({what} itself)"] = (total - sum(totals.values())) * 1e6 / entries
    return out


def profile_ingest(url: str, workload: Workload, batch: int = 1000) -> dict[str, float]:
    """Time each step of batched ingest on the real code path; return µs per entry.

    The submissions are first parsed from JSON text, as the API will; then
    ``LedgerService.append_batch`` runs with its steps timed (see ``_INGEST_STEPS``).
    """
    texts = [json.dumps(s.as_json()) for s in workload.timed]
    store, service = _prepared(url, workload)
    totals: dict[str, float] = {"parse + validate (JSON → SignedStatement)": 0.0}
    appending = 0.0
    try:
        with _timed(_INGEST_STEPS, totals):
            for start in range(0, len(texts), batch):
                t0 = time.perf_counter()
                signed = [parse_signed_statement(json.loads(t)) for t in texts[start:][:batch]]
                t1 = time.perf_counter()
                service.append_batch(signed)
                appending += time.perf_counter() - t1
                totals["parse + validate (JSON → SignedStatement)"] += t1 - t0
    finally:
        store.close()
    parsing = totals["parse + validate (JSON → SignedStatement)"]
    return _per_entry(totals, appending + parsing, len(texts), "append_batch")


def profile_audit(url: str) -> dict[str, float]:
    """Time each step of the audit on the real code path; return µs per entry.

    Signatures are verified on worker threads while the calling thread goes on;
    only the time the calling thread waits for them is on the critical path.
    """
    totals: dict[str, float] = {}
    store = open_store(url)
    try:
        with _timed(_AUDIT_STEPS, totals):
            report = audit(store, workers=os.cpu_count() or 1)
    finally:
        store.close()
    return _per_entry(totals, report.seconds, report.entries, "the audit loop")


def profile_hotspots(url: str, workload: Workload, top: int = 15) -> str:
    """cProfile of ``append_batch`` in batches of 1000: the top functions by own time."""
    store, service = _prepared(url, workload)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        for chunk in _chunks(workload.timed, 1000):
            service.append_batch(chunk)
        profiler.disable()
    finally:
        store.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- report -----------------------------------------------------------------------------


def _fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def render(rows: Sequence[Measurement], caption: str) -> None:
    """Print the table (rich if it is installed, plain text otherwise)."""
    header = ("Measurement", "Backend", "Rate /s", "Range /s", "Reference", "Ratio", "Goal", "Met")
    body = []
    for m in rows:
        ratio = "" if m.ratio is None else f"{m.ratio:.0%}"
        ref = "" if m.reference is None else f"{m.reference} {_fmt_rate(m.reference_rate or 0)}"
        goal = "" if m.goal is None else f"≥ {m.goal:.0%}"
        met = {None: "", True: "yes", False: "no"}[m.met]
        spread = f"{_fmt_rate(min(m.samples))}–{_fmt_rate(max(m.samples))}"
        body.append((m.what, m.backend, _fmt_rate(m.rate), spread, ref, ratio, goal, met))
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
        for r in (header, *body):
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        print(caption)
        return
    table = Table(title="trackrecord ingest and audit throughput", caption=caption)
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if 2 <= i <= 5 else "left")
    for r in body:
        table.add_row(*r)
    Console(width=max(150, Console().width)).print(table)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table; return the exit status."""
    tune_gc()  # as the trackrecord command does: measure what users run
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true", help="smaller sizes (under 40 s)")
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated subset of sqlite,postgresql"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo ledger")
    parser.add_argument(
        "--profile", action="store_true", help="also break batched ingest down by step"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - set(BACKENDS):
        parser.error(f"--backends takes a subset of {','.join(BACKENDS)}")
    cfg = QUICK if args.quick else FULL
    began, load = time.perf_counter(), os.getloadavg()[0]
    _say("signing the workload")
    workload = build_workload(cfg.statements, args.seed)
    results = run(cfg, backends, workload, profile=args.profile)
    rows = results.rows
    caption = (
        f"Median of {cfg.repeats} repeats. {len(workload.timed):,} timed statements "
        f"({cfg.single:,} one at a time) after {len(workload.setup)} setup statements, "
        f"from {workload.source}. {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PyNaCl {nacl.__version__}. Ratio = rate / reference; "
        f"run took {time.perf_counter() - began:.0f} s; load average before it "
        f"{load:.2f}. " + " ".join(results.notes)
    )
    render(rows, caption)
    if args.profile:
        _print_profile(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "config": asdict(cfg),
                    "caption": caption,
                    "steps": results.steps,
                    "rows": [asdict(m) | {"rate": m.rate, "ratio": m.ratio} for m in rows],
                },
                fh,
                indent=2,
            )
    return 0


def _print_profile(results: Results) -> None:
    for what, steps in results.steps.items():
        total = sum(steps.values())  # for the audit: the calling thread's wall time
        print(f"\nWhere the time goes: {what} (µs per entry)")
        for name, micros in steps.items():
            print(f"  {name:<56} {micros:8.1f} µs  {micros / total:6.1%}")
        print(f"  {'total':<56} {total:8.1f} µs  → {1e6 / total:,.0f} entries/s")
    print("\ncProfile of LedgerService.append_batch, batches of 1000, top functions by own time:")
    print(results.hotspots)


if __name__ == "__main__":
    sys.exit(main())
