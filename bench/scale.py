"""Scale: what one operation costs as the ledger grows (issue 13). One command, one table.

    python -m bench.scale [--quick] [--sizes 10000,100000] [--backends sqlite,postgresql]

For each size a ledger is built once with ``trackrecord demo`` (a realistic, signed,
auditable ledger; about 18 entries per person) and kept in ``--cache`` (default
``.bench-cache/``); PostgreSQL gets a copy of it, entry for entry, in a fresh
database (``_copy_postgres``). Every figure is measured on a copy, as a user would
see it, in separate processes:

(a) one CLI append (``trackrecord ambition``), process start to exit, median of 3;
(b) ``trackrecord serve``: process start to the first answer of ``GET /healthz``;
(c) the service's RSS after start, and after ``--reads`` record reads of distinct people;
(f) exporting one person's bundle (``trackrecord export``), process start to exit;
(g) ``trackrecord audit``: entries/s and its peak RSS; again with ``trackrecord audit
--spill-at N`` (the bench's ``--spill-at``, default 5,000: past N entries the audit's
re-derived state is kept in a temporary file).

The reference is the code just before the rule state moved into the store
(``--reference-rev``, default ``89d08cb^``), run in the same process setup on a copy
of the same ledger, for (a), (b) and (c); ``--reference-label`` names it in the caption.
A cached ledger written by an earlier version is upgraded once by this code first
(``trackrecord migrate``, row (0)). Rows (d) (uncached reads under load) and (e)
(signed HTTP writes) of the issue's table are not measured here: they say so. Sizes
not run say "not measured"; nothing is extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEOPLE_PER_ENTRY = 1 / 21.9  # the demo writes about 21.9 entries per person (546: 11,934)
PASSPHRASE = "demo"  # the demo's keystores
CACHE_ENV = "TRACKRECORD_BENCH_CACHE"


@dataclass
class Row:
    """One figure. For times, ``value`` is CPU seconds and ``wall`` the wall-clock ones."""

    figure: str
    size: int
    backend: str
    value: float | None  # None: not measured
    unit: str
    reference: float | None = None
    wall: float | None = None
    reference_wall: float | None = None
    goal: str = ""
    met: str = ""


def _say(message: str) -> None:
    print(f"scale {time.strftime('%H:%M:%S')} {message}", file=sys.stderr)


@dataclass(frozen=True)
class Code:
    """Which trackrecord runs: this checkout, or an archive of another revision."""

    name: str
    pythonpath: Path

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-c", "from trackrecord.cli import main; main()", *args]

    def env(self, ledger: Ledger) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.pythonpath),
            "TRACKRECORD_DATABASE_URL": ledger.url,
            "TRACKRECORD_KEYS": str(ledger.keys),
            "TRACKRECORD_PASSPHRASE": PASSPHRASE,
            "TRACKRECORD_SERVICE_KEY": str(ledger.service_key),
        }

    def run(self, ledger: Ledger, *args: str) -> tuple[Timing, str]:
        """Run the CLI; its wall time and CPU time (user + system), and its output."""
        cpu0 = _children_cpu()
        began = time.perf_counter()
        done = subprocess.run(
            self.argv(*args),
            env=self.env(ledger),
            cwd=self.pythonpath,  # python -c puts the working directory first on sys.path
            capture_output=True,
            text=True,
            check=False,
        )
        timing = Timing(time.perf_counter() - began, _children_cpu() - cpu0)
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(args)} failed: {done.stderr[-2000:]}")
        return timing, done.stdout


@dataclass(frozen=True)
class Timing:
    """Wall-clock and CPU seconds of a process: on a shared, loaded machine the CPU time
    is the figure that says what the work costs."""

    wall: float
    cpu: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Ledger:
    url: str
    keys: Path
    service_key: Path
    employee: str
    people: list[str]
    entries: int


def _build_sqlite(cache: Path, size: int) -> Path:
    """The demo ledger of about ``size`` entries, built once into ``cache/sqlite-SIZE``.

    The bulk path: the demo generator's statements (:class:`trackrecord.demo.DemoPlan`,
    signed by everyone's keys, every rule kept), appended by
    :meth:`ledger.service.LedgerService.append_batch` in batches of
    :data:`~ledger.service.MAX_BATCH` (one transaction each, every statement checked by
    the rules); what ``trackrecord demo`` does, without its audit, checkpoint and export
    at the end (the bench audits the ledger itself, figure (g)). It is built in
    ``sqlite-SIZE.partial`` and renamed when complete: a build cut short is started
    again, never reused."""
    directory = cache / f"sqlite-{size}"
    if (directory / "tour.env").is_file():
        return directory
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    people = max(5, round(size * PEOPLE_PER_ENTRY))
    _say(f"building a demo ledger of {people} people (about {size} entries) in {partial}")
    began = time.perf_counter()
    build_demo_ledger(partial, people)
    partial.rename(directory)
    _say(f"built {directory} in {time.perf_counter() - began:.0f} s")
    return directory


def build_demo_ledger(directory: Path, people: int, *, seed: int = 7) -> None:
    """Write the demo ledger of ``people`` into ``directory`` as ``trackrecord demo
    --dir`` lays it out (``trackrecord.db``, its service key, ``keys/`` with the
    featured people's keystores, passphrase ``demo``, and ``tour.env``)."""
    from ledger.service import MAX_BATCH
    from trackrecord.cli.keyfiles import write_keystore
    from trackrecord.demo import populate
    from trackrecord.settings import KdfLimits, Settings

    directory.mkdir(parents=True)
    settings = Settings(
        database_url=f"sqlite://{directory / 'trackrecord.db'}",
        keys_dir=directory / "keys",
        passphrase=PASSPHRASE,
        kdf=KdfLimits.named("fast"),
    )
    began, last = time.perf_counter(), [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 30 or done == total:
            last[0] = now
            rate = done / max(now - began, 1e-9)
            _say(f"{directory.name}: {done:,} of {total:,} entries ({rate:,.0f}/s)")

    with settings.open_ledger(create=True) as ledger:
        summary = populate(ledger.service, people=people, batch_size=MAX_BATCH, progress=progress)
    settings.keys_dir.mkdir()
    roles: dict[str, list[str]] = {}
    for role, person in summary.featured.items():
        roles.setdefault(person, []).append(role)
    for person, theirs in roles.items():
        label = f"{person} (demo {', '.join(theirs)})"
        identity = summary.identities[person]
        path = settings.keystore_path(person)
        write_keystore(settings, identity, path, label=label, passphrase=PASSPHRASE)
    tour = [f"export {role.upper()}={person}" for role, person in sorted(summary.featured.items())]
    (directory / "tour.env").write_text("\n".join(tour) + "\n", encoding="utf-8")


def _tour(directory: Path) -> dict[str, str]:
    out = {}
    for line in (directory / "tour.env").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            out[name] = value
    return out


def _copy_sqlite(directory: Path, into: Path) -> Ledger:
    into.mkdir(parents=True)
    shutil.copy(directory / "trackrecord.db", into / "trackrecord.db")
    shutil.copy(directory / "trackrecord.db.service-key", into / "service.key")
    shutil.copytree(directory / "keys", into / "keys")
    return _ledger(f"sqlite://{into / 'trackrecord.db'}", into, directory)


def _ledger(url: str, into: Path, directory: Path) -> Ledger:
    import sqlite3

    tour = _tour(directory)
    with sqlite3.connect(directory / "trackrecord.db") as conn:
        entries = int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
        people = [
            str(r[0])
            for r in conn.execute(
                "SELECT key FROM rule_state WHERE tbl='people' AND key NOT IN "
                "(SELECT key FROM rule_state WHERE tbl='erased') ORDER BY at LIMIT 20000"
            )
        ]
    return Ledger(url, into / "keys", into / "service.key", tour["EMPLOYEE"], people, entries)


def _copy_postgres(directory: Path, server_url: str, into: Path, name: str) -> Ledger:
    """The SQLite ledger copied entry for entry into a fresh PostgreSQL database: the
    stored entries (their disclosures sealed again under the same people's data keys),
    the Merkle nodes computed again, the ledger's name and its signed checkpoints (the
    same log has the same notes); then the rule state and the
    entries' positions built from the log, as ``trackrecord migrate`` does. (Appending
    the statements anew through the service would refuse the version 1 statements an
    older demo ledger holds: a new submission must name its ledger.)"""
    import psycopg

    from ledger.merkle import leaf_hash, new_nodes_for_append
    from ledger.service import MAX_BATCH, ORIGIN_KEY, LedgerService
    from ledger.store import open_store

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    into.mkdir(parents=True)
    shutil.copytree(directory / "keys", into / "keys")
    shutil.copy(directory / "trackrecord.db.service-key", into / "service.key")
    key = (into / "service.key").read_bytes()
    source = open_store(f"sqlite://{directory / 'trackrecord.db'}", service_key=key)
    target = open_store(url, service_key=key)
    try:
        origin = source.get_meta(ORIGIN_KEY)
        if origin is not None:
            target.set_meta(ORIGIN_KEY, origin)
        after, size = 0, 0
        streams: dict[uuid.UUID, str] = {}
        while True:
            chunk = source.read(after=after, limit=MAX_BATCH)
            if not chunk:
                break
            rows = []
            for rec in chunk:
                stream = streams.get(rec.originator_id)
                if stream is None:
                    stream = json.loads(rec.head)["stream"]
                    streams[rec.originator_id] = stream
                rows.append((stream, rec.version, rec.blob, rec.sealed_for))
            nodes = new_nodes_for_append(
                size, [leaf_hash(rec.head) for rec in chunk], target.get_node
            )
            target.append(rows, nodes)
            size += len(chunk)
            after = chunk[-1].position
        LedgerService(target).catch_up()
        for checkpoint_size in source.checkpoint_sizes():  # the same log: the same notes
            found = source.get_checkpoint(checkpoint_size)
            if found is not None:
                target.put_checkpoint(*found)
    finally:
        source.close()
        target.close()
    return _ledger(url, into, directory)


# -- the figures ---------------------------------------------------------------------------


def cli_append(code: Code, ledger: Ledger, runs: int = 3) -> Timing:
    times = [
        code.run(ledger, "--as", ledger.employee, "ambition", "--goal", f"Scale run {i}")[0]
        for i in range(runs)
    ]
    return Timing(statistics.median(t.wall for t in times), statistics.median(t.cpu for t in times))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextmanager
def _serving(
    code: Code, ledger: Ledger, port: int
) -> Iterator[tuple[Timing, subprocess.Popen[bytes]]]:
    began = time.perf_counter()
    proc = subprocess.Popen(
        code.argv("serve", "--port", str(port)),
        env=code.env(ledger),
        cwd=code.pythonpath,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{code.name}: serve exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.02)
        yield Timing(time.perf_counter() - began, _process_cpu(proc.pid)), proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def service(code: Code, ledger: Ledger, port: int, reads: int) -> tuple[Timing, float, float]:
    """(time to the first answer, RSS MiB after start, RSS MiB after ``reads`` reads)."""
    with _serving(code, ledger, port) as (ready, proc):
        after_start = _rss_kib(proc.pid) / 1024
        people = ledger.people
        for i in range(reads):
            person = people[i % len(people)]
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/people/{person}/record", timeout=30
                ) as r:
                    r.read()
            except urllib.error.HTTPError:
                pass  # a 404/403 is an answer too: the work was done
        return ready, after_start, _rss_kib(proc.pid) / 1024


def export_bundle(code: Code, ledger: Ledger, into: Path) -> Timing:
    return code.run(ledger, "export", ledger.employee, "-o", str(into / "bundle.json"))[0]


def audit_figures(code: Code, ledger: Ledger, *options: str) -> tuple[float, float]:
    """(entries/s, peak RSS MiB) of ``trackrecord audit --json [options]``."""
    argv = ["/usr/bin/time", "-f", "%M", *code.argv("audit", "--json", *options)]
    done = subprocess.run(
        argv, env=code.env(ledger), cwd=code.pythonpath, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"audit failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    report = json.loads(done.stdout)
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return float(report["entries_per_second"]), peak_kib / 1024


# -- the run ---------------------------------------------------------------------------------


def _reference_code(rev: str, into: Path) -> Code:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return Code(f"reference {rev}", into)


def _maker(
    backend: str, directory: Path, server_url: str | None, size: int
) -> Callable[[Path], Ledger]:
    """(work dir) -> a fresh copy of the cached ledger of ``size`` on ``backend``."""
    if backend == "sqlite":
        return lambda into: _copy_sqlite(directory, into)
    assert server_url is not None
    return lambda into: _copy_postgres(directory, server_url, into, f"scale_{size}_{into.name}")


def measure(
    size: int,
    backend: str,
    make: Callable[[Path], Ledger],
    here: Code,
    ref: Code | None,
    args: argparse.Namespace,
    work: Path,
) -> list[Row]:
    rows: list[Row] = []
    mine: Ledger = make(work / "mine")
    theirs: Ledger | None = make(work / "ref") if ref is not None else None
    # The cached ledger may have been written by an earlier version: this code upgrades
    # it once (what an operator does with 'trackrecord migrate'), untimed by the rest.
    _say(f"{backend} {size}: trackrecord migrate (once)")
    migrated, _ = here.run(mine, "migrate")
    rows.append(_timed("(0) trackrecord migrate, once", mine.entries, backend, migrated, None))
    _say(f"{backend} {size}: {mine.entries} entries; (a) CLI append")
    a = cli_append(here, mine)
    a_ref = cli_append(ref, theirs) if ref is not None and theirs is not None else None
    rows.append(_timed("(a) CLI append, start to exit", mine.entries, backend, a, a_ref))
    _say(f"{backend} {size}: (b)(c) service start, RSS, {args.reads} reads")
    ready, rss0, rss1 = service(here, mine, args.port, args.reads)
    ref_b = service(ref, theirs, args.port + 1, args.reads) if ref and theirs else None
    rows.append(_timed("(b) service start to first answer", mine.entries, backend, ready,
                       ref_b[0] if ref_b else None))  # fmt: skip
    rows.append(Row("(c) service RSS after start", mine.entries, backend, rss0, "MiB",
                    ref_b[1] if ref_b else None))  # fmt: skip
    rows.append(Row(f"(c) service RSS after {args.reads} reads", mine.entries, backend, rss1,
                    "MiB", ref_b[2] if ref_b else None))  # fmt: skip
    rows.append(Row("(d) uncached record/portfolio reads p50/p99", mine.entries, backend, None, ""))
    rows.append(Row("(e) signed HTTP write p50/p99", mine.entries, backend, None, ""))
    _say(f"{backend} {size}: (f) export, (g) audit")
    rows.append(_timed("(f) export one bundle, start to exit", mine.entries, backend,
                       export_bundle(here, mine, work), None))  # fmt: skip
    rate, peak = audit_figures(here, mine)
    rows.append(Row("(g) audit entries/s", mine.entries, backend, rate, "/s"))
    rows.append(Row("(g) audit peak RSS", mine.entries, backend, peak, "MiB"))
    spilling = f"(g) audit --spill-at {args.spill_at}"
    rate, peak = audit_figures(here, mine, "--spill-at", str(args.spill_at))
    rows.append(Row(f"{spilling} entries/s", mine.entries, backend, rate, "/s"))
    rows.append(Row(f"{spilling} peak RSS", mine.entries, backend, peak, "MiB"))
    return rows


def _timed(figure: str, size: int, backend: str, mine: Timing, ref: Timing | None) -> Row:
    return Row(
        figure, size, backend, mine.cpu, "s",
        None if ref is None else ref.cpu, mine.wall, None if ref is None else ref.wall,
    )  # fmt: skip


_GOALS_AT_MILLION = {
    "(a) CLI append, start to exit": ("< 1 s at 10^6", 1.0),
    "(b) service start to first answer": ("< 3 s at 10^6", 3.0),
    "(c) service RSS after start": ("< 300 MiB at 10^6", 300.0),
    "(g) audit peak RSS": ("< 1 GiB at 10^6", 1024.0),
}


def judge(rows: list[Row], sizes: Sequence[int]) -> None:
    """Goals: at 10^6 the absolute ones; from the smallest to the largest size measured,
    (a)-(f) grow at most 2x (the issue asks it from 10^4 to 10^6)."""
    for row in rows:
        if row.value is None:
            row.met = "not measured"
            continue
        absolute = _GOALS_AT_MILLION.get(row.figure)
        same = [r for r in rows if r.figure == row.figure and r.backend == row.backend
                and r.value is not None]  # fmt: skip
        smallest = min(same, key=lambda r: r.size)
        growth = row.value / smallest.value if smallest.value else 0.0
        parts = []
        if row.figure[:3] in ("(a)", "(b)", "(c)", "(f)") and row is not smallest:
            parts.append(
                f"{growth:.2f}x of {smallest.size}: " + ("met" if growth <= 2 else "not met")
            )
        if absolute is not None:
            row.goal = absolute[0]
            if row.size >= 900_000:
                parts.append("met" if row.value < absolute[1] else "not met")
            else:
                parts.append("10^6 not measured")
        row.met = "; ".join(parts) or "-"
        if not row.goal:
            row.goal = (
                "≤ 2x from 10^4 to 10^6" if row.figure[:3] in ("(a)", "(b)", "(c)", "(f)") else "-"
            )


def render(rows: list[Row], caption: str) -> str:
    def fmt(v: float | None, unit: str) -> str:
        if v is None:
            return "not measured"
        return f"{v:,.0f} {unit}" if unit == "/s" else f"{v:.3g} {unit}"

    def with_wall(v: float | None, wall: float | None, unit: str) -> str:
        shown = fmt(v, unit)
        return shown if wall is None or v is None else f"{shown} CPU ({wall:.3g} s wall)"

    lines = [
        caption,
        "",
        "| figure | entries | backend | this code | reference (same run) | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = "-" if r.reference is None else with_wall(r.reference, r.reference_wall, r.unit)
        mine = with_wall(r.value, r.wall, r.unit)
        lines.append(
            f"| {r.figure} | {r.size:,} | {r.backend} | {mine} | {ref} | {r.goal} | {r.met} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^3 and 10^4 entries, SQLite")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get(CACHE_ENV) or ROOT / ".bench-cache"),
        help=f"where the ledgers are built once and kept (default: ${CACHE_ENV} or .bench-cache)",
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="build the cached ledgers of --sizes (and --backends) and measure nothing",
    )
    parser.add_argument("--reference-rev", default="89d08cb^")
    parser.add_argument(
        "--reference-label",
        default="the code before the rule state moved into the store",
        help="what the reference revision is, for the caption",
    )
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--reads", type=int, default=10_000)
    parser.add_argument(
        "--spill-at",
        type=int,
        default=5_000,
        help="(g) is measured again with 'trackrecord audit --spill-at' this many entries",
    )
    parser.add_argument("--port", type=int, default=18730)
    args = parser.parse_args(argv)
    sizes = [1000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.quick:
        args.reads = min(args.reads, 1000)
    backends = args.backends.split(",")
    here = Code("this code", ROOT)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="trackrecord-scale-") as tmp:
        work = Path(tmp)
        skip = args.no_reference or args.build_only
        ref = None if skip else _reference_code(args.reference_rev, work / "code")
        server, server_url = None, None
        if "postgresql" in backends:
            from bench.ingest import _postgres_server

            server = _postgres_server()
            server_url, _ = server.__enter__()
        try:
            for size in sizes:
                directory = _build_sqlite(args.cache, size)
                if args.build_only:
                    continue
                for backend in backends:
                    at = work / f"{backend}-{size}"
                    rows += measure(size, backend, _maker(backend, directory, server_url, size),
                                    here, ref, args, at)  # fmt: skip
                    # what is measured so far, on standard error: a run cut short keeps it
                    judge(rows, sizes)
                    print(render(rows, "so far"), file=sys.stderr, flush=True)
        finally:
            if server is not None:
                server.__exit__(None, None, None)
    judge(rows, sizes)
    caption = (
        f"bench/scale.py on {os.cpu_count()} cores; reference: {args.reference_rev} "
        f"({args.reference_label}); (0) is the one-off upgrade of the cached ledger by this "
        f"code, run before the rest; (c) after {args.reads} reads of "
        f"distinct people's records; times are CPU seconds (user + system) of the process, "
        f"wall-clock in brackets: on a shared machine the wall clock measures the load; goals "
        f"are judged on CPU time. Sizes not listed were not measured (nothing is "
        f"extrapolated)."
    )
    print(render(rows, caption))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
