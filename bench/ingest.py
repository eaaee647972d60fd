"""Ingest and audit throughput, measured against the Ed25519 verify rate of this machine.

Run ``.venv/bin/python -m bench.ingest [--quick] [--profile] [--reference-rev REV]`` from
the repository root, or ``scripts/bench``. It prints one table:

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

``--reference-rev REV`` measures (b) and (c) on the code of another git revision too, in
the same run, and shows its rates, its ratios to the same verify rates and the change
beside this code's. Both codes then run in a subprocess each (bench/ingest_worker.py:
this checkout's, and REV's tree from ``git archive``), each signs its own demo workload
in its own format (same generator, seed and size: an old revision may not read what this
one writes), and the measurements alternate between them, each on a fresh database.

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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import nacl
import nacl.bindings
import nacl.signing

import ledger.audit
import ledger.service
from bench.ingest_worker import Workload, audit_rate, build_workload, chunks, ingest_rate, prepared
from bench.revision import ROOT, checkout, describe, resolve
from keys import Identity, Purpose
from keys.signing import signing_message
from ledger.app import tune_gc
from ledger.audit import audit
from ledger.service import LedgerService
from ledger.statement import parse_signed_statement
from ledger.store import Store, open_store
from ledger.store.rule_state import StoredState

__all__ = ["Config", "Measurement", "Worker", "main", "markdown", "run", "table", "worker"]

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
    # the same measurement of the revision given as --reference-rev, in the same run
    old_samples: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(self.samples)

    @property
    def ratio(self) -> float | None:
        return None if self.reference_rate is None else self.rate / self.reference_rate

    @property
    def met(self) -> bool | None:
        return _judged(self.ratio, self.goal)

    @property
    def old_rate(self) -> float | None:
        return statistics.median(self.old_samples) if self.old_samples else None

    @property
    def old_ratio(self) -> float | None:
        if self.old_rate is None or self.reference_rate is None:
            return None
        return self.old_rate / self.reference_rate

    @property
    def old_met(self) -> bool | None:
        return _judged(self.old_ratio, self.goal)

    @property
    def change(self) -> float | None:
        """This code's rate relative to the old code's: +0.25 is a quarter faster."""
        return None if self.old_rate is None else self.rate / self.old_rate - 1


def _judged(ratio: float | None, goal: float | None) -> bool | None:
    return None if goal is None or ratio is None else ratio >= goal


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


class Worker:
    """One code's ingest and audit, in a subprocess of its own (``--reference-rev``).

    The subprocess (:func:`worker`) runs bench/ingest_worker.py on a tree (this
    checkout, or another revision's from :func:`bench.revision.checkout`), which
    generates and signs the demo workload in that code's own format before answering;
    each request is measured there on a database this process made fresh.
    """

    def __init__(self, rev: str, process: subprocess.Popen[str], errors: IO[str]) -> None:
        self.rev, self._process, self._errors = rev, process, errors
        ready = self._answer("starting")
        self.setup, self.timed, self.source = ready["setup"], ready["timed"], ready["source"]
        self.ledger = Path(ready["ledger"])

    def _answer(self, what: str) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            status = self._process.wait()
            self._errors.seek(0)
            tail = "".join(self._errors.readlines()[-12:]).rstrip()
            raise WorkerFailed(f"{self.rev} exited with status {status} while {what}:\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise WorkerFailed(f"{self.rev}, {what}: {answer['error']}")
        return answer

    def _rate(self, what: str, **request: Any) -> float:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        return float(self._answer(what)["rate"])

    def ingest(self, url: str, batch: int, count: int) -> float:
        return self._rate(f"ingesting in batches of {batch}", op="ingest", url=url,
                          batch=batch, count=count)  # fmt: skip

    def audit(self, url: str, workers: int) -> float:
        return self._rate("auditing", op="audit", url=url, workers=workers)


@contextlib.contextmanager
def worker(rev: str, tree: Path, count: int, seed: int) -> Iterator[Worker]:
    """Start a worker on ``tree`` (revision ``rev``); stop it when the block ends."""
    argv = [sys.executable, "-P", str(WORKER), "--count", str(count), "--seed", str(seed)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with (
        tempfile.TemporaryFile(mode="w+", encoding="utf-8") as errors,
        subprocess.Popen(
            argv, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=errors, text=True,
        ) as process,
    ):  # fmt: skip
        try:
            started = Worker(rev, process, errors)
            if started.ledger.resolve().parent != tree.resolve():
                raise WorkerFailed(f"{rev} ran the ledger package at {started.ledger}, not its own")
            yield started
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


class WorkerFailed(RuntimeError):
    """A worker could not start, or one of its measurements failed."""


WORKER = Path(__file__).resolve().with_name("ingest_worker.py")


@dataclass
class Results:
    """What :func:`run` measured: the table rows, and the profiles when asked for."""

    rows: list[Measurement]
    notes: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    hotspots: str = ""


def run(
    cfg: Config,
    backends: Sequence[str],
    workload: Workload,
    *,
    profile: bool = False,
    workers: tuple[Worker, Worker] | None = None,
) -> Results:
    """Measure everything; with ``profile``, also break batched ingest down by step.

    Without ``workers``, ingest and audit run in this process. With ``workers`` (this
    code's and the reference's), each is measured in its worker, both in the same way,
    each on a fresh database, alternately: this code first in odd repeats, the
    reference first in even ones, so that load that changes during the run weighs on
    both alike.
    """
    cores = os.cpu_count() or 1
    _say("Ed25519 verify rates")
    items = _verify_items(workload, cfg.verify_items)
    open_one = Measurement("Ed25519 verify, 1 core: crypto_sign_open", "—", [])
    key_one = Measurement("Ed25519 verify, 1 core: VerifyKey.verify", "—", [])
    all_cores = Measurement(f"Ed25519 verify, {cores} cores (threads)", "—", [])

    def one_core_once() -> None:
        open_one.samples.append(_rate(lambda: _open_all(items), len(items)))
        key_one.samples.append(_rate(lambda: _verify_key_all(items), len(items)))

    for _ in range(cfg.repeats):
        one_core_once()
    # On all cores: the faster of the two one-core ways.
    fast_fn = _open_all if open_one.rate >= key_one.rate else _verify_key_all

    def verify_once() -> None:
        one_core_once()
        all_cores.samples.append(_threads_rate(fast_fn, items, cores))

    all_cores.samples += [_threads_rate(fast_fn, items, cores) for _ in range(cfg.repeats)]
    results = Results([open_one, key_one, all_cores])
    one_core_rows: list[Measurement] = []
    all_cores_rows: list[Measurement] = []

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
                Measurement(f"Ingest, {name}", label, [], "1-core verify", goal)
                for name, _, _, goal in modes
            ]
            audited = Measurement("Audit", label, [], f"{cores}-core verify", GOAL)
            one_core_rows += ingest
            all_cores_rows.append(audited)
            for repeat in range(cfg.repeats):
                _say(f"{label}: ingest and audit, repeat {repeat + 1} of {cfg.repeats}")
                # The verify rates once more in each repeat: the ratios then compare
                # rates measured under the same changing load of a shared machine.
                verify_once()
                for row, (_, batch, count, _) in zip(ingest, modes, strict=True):
                    if workers is None:
                        with dbs.fresh(backend) as url:
                            row.samples.append(ingest_rate(url, workload, batch, count))
                            if batch == 1000:
                                audited.samples.append(audit_rate(url, cores))
                        continue
                    this, old = workers
                    pairs = [(this, row.samples, audited.samples),
                             (old, row.old_samples, audited.old_samples)]  # fmt: skip
                    for code, ingested, audits in pairs[:: 1 - 2 * (repeat % 2)]:
                        with dbs.fresh(backend) as url:
                            ingested.append(code.ingest(url, batch, count))
                            if batch == 1000:
                                audits.append(code.audit(url, cores))
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
    one_core = max(open_one.rate, key_one.rate)
    for row in one_core_rows:
        row.reference_rate = one_core
    for row in all_cores_rows:
        row.reference_rate = all_cores.rate
    return results


# --- profiles ---------------------------------------------------------------------------

# What to time, as (module or class, attribute, step). The wrappers are installed only
# for the duration of one profile run and time the real code paths of the service and
# the audit. A name that no longer exists, or a wrapped step the run never called (the
# code moved on), stops the profile with an error: a profile of code that does not run
# would show a step as costing nothing.
_INGEST_STEPS = (
    (LedgerService, "_caught_up", "catch-up read (with the rollback check's position)"),
    (LedgerService, "_prefetch", "read-ahead of the rule-state rows (two queries)"),
    (LedgerService, "_preverify", "start signature checks on worker threads"),
    (ledger.service, "_failed_before", "wait for signature workers"),
    (ledger.service, "next_entry", "canonicalise entry (next_entry)"),
    (ledger.service, "apply_entry", "rules (apply_entry; incl. signatures not pre-verified)"),
    (ledger.service, "leaf_hash", "Merkle leaves"),
    (ledger.service, "new_nodes_for_append", "Merkle nodes"),
    (ledger.service, "encode_record", "encode records"),
    (StoredState, "changes", "encode the rule-state rows"),
    (Store, "append", "DB insert (entries, nodes, positions, rule-state rows; one transaction)"),
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
    store, service = prepared(url, workload)
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
    store, service = prepared(url, workload)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        for chunk in chunks(workload.timed, 1000):
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


_YES_NO = {None: "", True: "yes", False: "no"}


def _spread(samples: Sequence[float]) -> str:
    return f"{_fmt_rate(min(samples))}–{_fmt_rate(max(samples))}" if samples else ""


def table(
    rows: Sequence[Measurement], old: str | None = None
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The table's header and body. With ``old`` (the reference revision's name), each
    row also shows the old code's rate, its range, its ratio to the same verify rate and
    whether that met the goal, and this code's change against it."""
    header: tuple[str, ...] = ("Measurement", "Backend", "Rate /s", "Range /s", "Compared with",
                               "Ratio", "Goal", "Met")  # fmt: skip
    if old is not None:
        header += (f"reference ({old}) /s", "Range /s", "Ratio", "Met", "Change")
    body = []
    for m in rows:
        ratio = "" if m.ratio is None else f"{m.ratio:.0%}"
        ref = "" if m.reference is None else f"{m.reference} {_fmt_rate(m.reference_rate or 0)}"
        goal = "" if m.goal is None else f"≥ {m.goal:.0%}"
        row: tuple[str, ...] = (m.what, m.backend, _fmt_rate(m.rate), _spread(m.samples), ref,
                                ratio, goal, _YES_NO[m.met])  # fmt: skip
        if old is not None:
            old_rate = "" if m.old_rate is None else _fmt_rate(m.old_rate)
            old_ratio = "" if m.old_ratio is None else f"{m.old_ratio:.0%}"
            change = "" if m.change is None else f"{m.change:+.0%}"
            row += (old_rate, _spread(m.old_samples), old_ratio, _YES_NO[m.old_met], change)
        body.append(row)
    return header, body


def markdown(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """The table as Markdown, numbers right-aligned (for bench/README.md)."""
    numeric = {i for i, name in enumerate(header) if name.endswith(("/s", "Ratio", "Change"))}
    rule = ["--:" if i in numeric else "---" for i in range(len(header))]
    return "\n".join(f"| {' | '.join(r)} |" for r in (header, rule, *body))


def render(rows: Sequence[Measurement], caption: str, *, old: str | None = None,
           as_markdown: bool = False) -> None:  # fmt: skip
    """Print the table: as Markdown if asked, with rich if it is installed, else plain."""
    header, body = table(rows, old)
    if as_markdown:
        print(markdown(header, body))
        print(f"\n{caption}")
        return
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
        for r in (header, *body):
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        print(caption)
        return
    title = "trackrecord ingest and audit throughput"
    rich_table = Table(title=title, caption=caption)
    for name in header:
        numeric = name.endswith(("/s", "Ratio", "Change"))
        rich_table.add_column(name, justify="right" if numeric else "left")
    for r in body:
        rich_table.add_row(*r)
    Console(width=max(150 if old is None else 190, Console().width)).print(rich_table)


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
    parser.add_argument(
        "--reference-rev",
        metavar="REV",
        help="also measure this git revision's ingest and audit, alternately, in the same run",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - set(BACKENDS):
        parser.error(f"--backends takes a subset of {','.join(BACKENDS)}")
    cfg = QUICK if args.quick else FULL
    began, load = time.perf_counter(), os.getloadavg()[0]
    _say("signing the workload")
    workload = build_workload(cfg.statements, args.seed)
    with contextlib.ExitStack() as stack:
        workers = None
        if args.reference_rev:
            rev = args.reference_rev
            _say(f"the reference {rev}: its tree, and its own workload signed by it")
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ref-")))
            try:
                commit = resolve(rev)  # what the name meant when the run began
                tree = checkout(commit, tmp / "tree")
                old = stack.enter_context(worker(rev, tree, cfg.statements, args.seed))
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                raise SystemExit(f"bench: the reference {rev} cannot run: {exc}") from exc
            this = stack.enter_context(worker("this code", ROOT, cfg.statements, args.seed))
            workers = (this, old)
        try:
            results = run(cfg, backends, workload, profile=args.profile, workers=workers)
        except WorkerFailed as exc:
            raise SystemExit(f"bench: a measurement failed: {exc}") from exc
    rows = results.rows
    caption = (
        f"Median of {cfg.repeats} repeats. {len(workload.timed):,} timed statements "
        f"({cfg.single:,} one at a time) after {len(workload.setup)} setup statements, "
        f"from {workload.source}. {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PyNaCl {nacl.__version__}. Ratio = rate / the verify rate it is compared with; "
        f"run took {time.perf_counter() - began:.0f} s; load average before it "
        f"{load:.2f}, after it {os.getloadavg()[0]:.2f}."
    )
    caption = " ".join([caption, *(f"{note}." for note in results.notes)])
    if workers is not None:
        this, old = workers
        caption += (
            f" Reference: {old.rev} = {describe(commit)}, run from its own tree, on its own "
            f"workload signed by it ({old.timed:,} timed after {old.setup} setup statements, "
            f"{old.source}). Ingest and audit of both codes measured in a subprocess each, "
            "each measurement on a fresh database, alternately; Change = this code's rate / "
            "the reference's - 1."
        )
    render(rows, caption, old=args.reference_rev, as_markdown=args.markdown)
    if args.profile:
        _print_profile(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "config": asdict(cfg),
                    "caption": caption,
                    "steps": results.steps,
                    "reference_rev": args.reference_rev,
                    "rows": [
                        asdict(m)
                        | {"rate": m.rate, "ratio": m.ratio, "old_rate": m.old_rate}
                        | {"old_ratio": m.old_ratio, "change": m.change}
                        for m in rows
                    ],
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
