"""The service during a reputation refresh: in its own process or in a child (issue 13).

    python -m bench.refresh_service --ledger CACHE/sqlite-1000000 [--backend sqlite|postgresql]
                                    [--modes process,child] [--clients 2] [--work DIR]

On a copy of a cached ledger of ``bench.scale`` (``--ledger``: its SQLite directory; with
``--backend postgresql`` the database ``ledger_SIZE`` of ``bench.scale``'s PostgreSQL, cloned),
for each ``--modes``: make a refresh due (the stored refresh marks set one position back and
an hour earlier, as after one new entry), start ``trackrecord serve --refresh-in MODE
--refresh-every 20`` with its caches off (``--stream-cache 1 --answer-cache 0``, so every
read computes its answer), and keep ``--clients`` clients reading the records of distinct
people (one request at a time each) until 20 s after the refresh ended. Every 0.1 s it
samples the service's ``VmRSS`` and its refresh child's (from ``/proc``); the refresh's
window is told by the service's own log lines ("refreshing ...", "refreshed ...").

One table: the service's RSS before (the median of the 10 s before the refresh), its peak
during, and 20 s after; the refresh child's peak RSS and CPU time (as the service logged
them, from ``os.wait4``); the refresh's wall-clock time (from the service's "refreshing" to
its "refreshed" line) and its steps' own (as ``Projector.refresh`` timed them); the
service's CPU time during the refresh (``/proc``); and the read latency p50/p99 before and
during the refresh. Goal (issue 13, "a process's memory is
bounded independently of the ledger's size"): with the refresh in a child, the service's
RSS during the refresh grows by less than a tenth of what it grows in process.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.revision import ROOT
from bench.scale import (
    Code,
    Ledger,
    Postgres,
    _copy_sqlite,
    _process_cpu,
    _rss_kib,
    _stop,
    _wait_ready,
)

_REFRESH_EVERY = 20.0  # seconds after the start before the refresh: the "before" samples
_AFTER = 20.0  # seconds sampled after the refresh
_CACHES_OFF = ("--stream-cache", "1", "--answer-cache", "0")
_MARKS = ("rep_refresh", "mt_refresh")


@dataclass
class Run:
    """What was seen of one service: samples ``(t, service KiB, child KiB, service CPU s)``, reads
    ``(t, seconds, status)``, and the refresh's window (monotonic seconds)."""

    mode: str
    samples: list[tuple[float, int, int, float]] = field(default_factory=list)
    reads: list[tuple[float, float, int]] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None
    lines: list[str] = field(default_factory=list)


def _say(message: str) -> None:
    print(f"refresh_service {time.strftime('%H:%M:%S')} {message}", file=sys.stderr)


def _make_due(url: str) -> None:
    """Set each refresh mark one position back and an hour earlier: a refresh is due (as
    after one new entry) and not held back by the spacing."""
    statements = [f"UPDATE {t} SET position = position - 1, at = at - 3600" for t in _MARKS]
    if url.startswith("sqlite"):
        with sqlite3.connect(urllib.parse.urlsplit(url).path) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _sample(run: Run, pid: int, stop: threading.Event) -> None:
    while not stop.wait(0.1):
        try:
            mine, cpu = _rss_kib(pid), _process_cpu(pid)
        except OSError:
            return
        child = 0
        for c in _children(pid):
            with contextlib.suppress(OSError):  # ended meanwhile
                child += _rss_kib(c)
        run.samples.append((time.monotonic(), mine, child, cpu))


def _tail(run: Run, log: Path, stop: threading.Event) -> None:
    """Stamp the service's log lines as they come; mark the refresh's start and end."""
    with open(log, "rb") as lines:
        while not stop.is_set():
            line = lines.readline()
            if not line:
                time.sleep(0.02)
                continue
            try:
                message = str(json.loads(line).get("message", ""))
            except ValueError:
                message = line.decode("utf-8", "replace").strip()
            run.lines.append(message)
            # in process: "refreshing …"; in a child: "the refresh of … in child process N"
            # (ledger.child_process), the parent's line when the child is started
            started = message.startswith(("refreshing ", "the refresh of "))
            if run.started is None and started:
                run.started = time.monotonic()
            elif run.started is not None and message.startswith("refreshed "):
                run.ended = time.monotonic()


def _read(run: Run, port: int, people: list[str], stop: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for person in itertools.cycle(people):
        if stop.is_set():
            break
        began = time.monotonic()
        try:
            conn.request("GET", f"/people/{person}/record")
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        run.reads.append((began, time.monotonic() - began, status))
    conn.close()


def measure(code: Code, ledger: Ledger, mode: str, port: int, clients: int, work: Path) -> Run:
    """One service with ``--refresh-in mode`` through one due refresh, under read load."""
    _make_due(ledger.url)
    run = Run(mode)
    log = work / f"serve-{mode}.log"
    argv = code.argv("serve", "--port", str(port), "--refresh-in", mode,
                     "--refresh-every", str(_REFRESH_EVERY), *_CACHES_OFF)  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=code.env(ledger), cwd=code.pythonpath, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    stop = threading.Event()
    try:
        _wait_ready(f"http://127.0.0.1:{port}", [proc])
        _say(f"{mode}: serving (pid {proc.pid}); the refresh is due in {_REFRESH_EVERY:.0f} s")
        people = random.Random(7).sample(ledger.people, len(ledger.people))
        threads = [
            threading.Thread(target=_sample, args=(run, proc.pid, stop), daemon=True),
            threading.Thread(target=_tail, args=(run, log, stop), daemon=True),
            *(
                threading.Thread(
                    target=_read, args=(run, port, people[i::clients], stop), daemon=True
                )
                for i in range(clients)
            ),
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 1800
        while run.ended is None or time.monotonic() < run.ended + _AFTER:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{mode}: no refresh seen; the log: {run.lines[-20:]}")
            time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(60)
    finally:
        stop.set()
        _stop(proc)
    _say(f"{mode}: {[line for line in run.lines if 'refresh' in line]}")
    return run


def _ms(values: list[float], q: int) -> str:
    if len(values) < 2:
        return "-"
    return f"{1000 * statistics.quantiles(values, n=100, method='inclusive')[q - 1]:,.0f}"


def summary(run: Run) -> dict[str, Any]:
    """The figures of one run (RSS in MiB, latencies in ms)."""
    assert run.started is not None
    assert run.ended is not None
    start, end = run.started, run.ended
    before = [s[1] for s in run.samples if start - 10 <= s[0] < start]
    during = [s for s in run.samples if start <= s[0] <= end]
    after = [s[1] for s in run.samples if s[0] > end + _AFTER - 2]
    reads_before = [r[1] for r in run.reads if start - 10 <= r[0] < start and r[2]]
    reads_during = [r[1] for r in run.reads if start <= r[0] <= end and r[2]]
    failed = sum(1 for r in run.reads if not r[2] or r[2] >= 500)
    text = "\n".join(run.lines)
    child = re.search(
        r"in child process \d+: [\d.]+ s \(([\d.]+) s CPU\), peak RSS (\d+) MiB", text
    )
    step = re.search(r"refreshed [a-z, ]+ in process: ([\d.]+) s", text)
    cpu = [s[3] for s in during] or [0.0]
    return {
        "mode": run.mode,
        "before": statistics.median(before) / 1024 if before else 0.0,
        "peak": max((s[1] for s in during), default=0) / 1024,
        "after": (after[-1] if after else run.samples[-1][1]) / 1024,
        # as the service logged it (os.wait4): the 0.1 s samples miss the child's peak
        "child": float(child.group(2)) if child else 0.0,
        "child_cpu": float(child.group(1)) if child else 0.0,
        "steps": float(step.group(1)) if step else 0.0,
        "service_cpu": cpu[-1] - cpu[0],
        "seconds": end - start,
        "p50_before": _ms(reads_before, 50),
        "p99_before": _ms(reads_before, 99),
        "p50_during": _ms(reads_during, 50),
        "p99_during": _ms(reads_during, 99),
        "reads_during": len(reads_during),
        "failed": failed,
    }


def render(rows: list[dict[str, Any]], caption: str) -> str:
    out = [
        caption,
        "",
        "| refresh in | service RSS before | service peak during | service 20 s after "
        "| child's peak RSS, CPU | refresh (wall; its steps) | service CPU during it "
        "| reads before p50/p99 | reads during p50/p99 (count) | failed reads |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['mode']} | {r['before']:.0f} MiB | {r['peak']:.0f} MiB "
            f"(+{r['peak'] - r['before']:.0f}) | {r['after']:.0f} MiB | "
            + (f"{r['child']:.0f} MiB, {r['child_cpu']:.1f} s" if r["child"] else "-")
            + f" | {r['seconds']:.1f} s; {r['steps']:.1f} s | {r['service_cpu']:.1f} s"
            + f" | {r['p50_before']} / {r['p99_before']} ms | "
            f"{r['p50_during']} / {r['p99_during']} ms ({r['reads_during']}) | {r['failed']} |"
        )
    by_mode = {r["mode"]: r for r in rows}
    if {"process", "child"} <= by_mode.keys():
        grown = {m: by_mode[m]["peak"] - by_mode[m]["before"] for m in ("process", "child")}
        met = grown["child"] < grown["process"] / 10
        out += [
            "",
            f"Goal: the service's growth during the refresh in a child under a tenth of in "
            f"process: {grown['child']:+.0f} MiB against {grown['process']:+.0f} MiB, "
            f"{'met' if met else 'not met'}.",
        ]
    return "\n".join(out)


def load_average() -> list[str]:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg prints them."""
    return Path("/proc/loadavg").read_text().split()[:3]


@contextlib.contextmanager
def copied_ledger(
    cached: Path, backend: str, prefix: str, scratch: Path | None
) -> Iterator[tuple[Ledger, Path]]:
    """A fresh copy of bench.scale's cached ledger ``cached`` (its ``sqlite-SIZE``
    directory) on ``backend``, in a temporary directory under ``scratch``: the SQLite file
    copied, or a PostgreSQL clone of the kept cluster's database of that size. Yields the
    ledger and the temporary directory; removes both after."""
    with tempfile.TemporaryDirectory(prefix=prefix, dir=scratch) as tmp:
        work = Path(tmp)
        if backend == "sqlite":
            _say(f"copying {cached}")
            yield _copy_sqlite(cached, work / "ledger"), work
            return
        postgres = Postgres(cached.parent)
        try:
            size = int(cached.name.rsplit("-", 1)[1])
            yield postgres.clone(cached, postgres.cached(cached, size), work / "pg"), work
        finally:
            postgres.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ledger", type=Path, required=True, help="bench.scale's sqlite-SIZE")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--modes", default="process,child")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--port", type=int, default=18880)
    parser.add_argument("--work", type=Path, default=None, help="scratch directory for the copy")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    code = Code("this", ROOT)
    load = load_average()
    with copied_ledger(args.ledger, args.backend, "refresh-service-", args.work) as (ledger, work):
        rows = [summary(measure(code, ledger, m, args.port, args.clients, work)) for m in modes]
    end_load = load_average()
    caption = (
        f"`python -m bench.refresh_service --ledger {args.ledger} --backend {args.backend}` "
        f"({ledger.entries:,} entries; {args.clients} clients reading distinct people's "
        f"records, one request at a time each, caches off; load average {' '.join(load)} "
        f"at the start, {' '.join(end_load)} at the end)"
    )
    print(render(rows, caption))
    return 0


if __name__ == "__main__":
    sys.exit(main())
