"""The command line: choose sizes and suites, run them, print one table."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .report import Tally, render

__all__ = ["FULL", "QUICK", "Sizes", "main"]

POSTGRES_URL_ENV = "TRACKRECORD_BENCH_POSTGRES_URL"
SUITES = ("crash", "concurrency", "audit", "checkpoints", "rows", "bundles", "fuzz", "attacks")
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Sizes:
    """How many cases each suite runs."""

    audit_sqlite: int
    audit_postgresql: int
    checkpoints_sqlite: int
    checkpoints_postgresql: int
    bundles: int
    fuzz: int  # per parser
    kills: int  # per backend
    writers: int  # concurrency: writer threads, statements each, races, batches
    per_writer: int
    races: int
    batches: int
    rows: int = 36  # edits beside the log, per backend (a fresh ledger each)
    lockout_rounds: int = 20  # attacks: junk floods naming a victim's key
    leak_rounds: int = 60  # attacks: random visibility settings, five reads each


FULL = Sizes(10_000, 1_000, 300, 120, 2_000, 2_000, 20, 8, 150, 40, 20)
QUICK = Sizes(500, 100, 60, 30, 300, 200, 3, 6, 30, 10, 5, 18, lockout_rounds=3, leak_rounds=10)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _postgres_server() -> Iterator[str]:
    """The server at ``TRACKRECORD_BENCH_POSTGRES_URL``, else a private cluster."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        yield url
        return
    from tests import pgcluster

    _say("starting PostgreSQL")
    cluster = pgcluster.start_cluster()
    try:
        yield cluster.url
    finally:
        pgcluster.stop_cluster(cluster)


def run(sizes: Sizes, suites: Sequence[str], backends: Sequence[str], seed: int) -> list[Tally]:
    """Run the chosen suites; return their rows in table order."""
    from tests import pgcluster
    from tests.support.tamper import Backend

    from .attacks import run_leaks, run_lockout
    from .bundles import run_bundle_tampering
    from .fuzz import fuzzers, run_fuzz
    from .rows import run_row_tampering
    from .service import run_concurrency, run_crash
    from .tamper import run_audit_tampering, run_checkpoint_tampering, run_rollback_refusal

    rows: list[Tally] = []
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-reliability-")))
        server: str | None = None
        if "postgresql" in backends and set(suites) - {"bundles", "fuzz"}:
            server = stack.enter_context(_postgres_server())
        for name in backends:
            if "crash" in suites:
                rows.append(run_crash(name, server, sizes.kills, seed=seed, say=_say))
            if "concurrency" in suites:
                rows.append(
                    run_concurrency(
                        name, server, writers=sizes.writers, per_writer=sizes.per_writer,
                        races=sizes.races, batches=sizes.batches, say=_say,
                    )
                )  # fmt: skip
        databases: dict[str, Callable[[], Backend]] = {}
        if "sqlite" in backends:
            databases["sqlite"] = lambda: Backend("sqlite", Path(tempfile.mkdtemp(dir=tmp)), None)
        if server is not None and {"audit", "checkpoints"} & set(suites):
            url = stack.enter_context(pgcluster.fresh_database(server))
            databases["postgresql"] = lambda: Backend(
                "postgresql", Path(tempfile.mkdtemp(dir=tmp)), url
            )
        for name, make in databases.items():
            if "audit" in suites:
                count = getattr(sizes, f"audit_{name}")
                rows.append(run_audit_tampering(make(), count, seed=seed, say=_say))
            if "checkpoints" in suites:
                count = getattr(sizes, f"checkpoints_{name}")
                rows.append(run_checkpoint_tampering(make(), count, seed=seed, say=_say))
                rows.append(run_rollback_refusal(make(), count // 3, seed=seed, say=_say))
        if "rows" in suites:
            for name in backends:
                rows.append(run_row_tampering(name, server, sizes.rows, seed=seed, say=_say))
        if "bundles" in suites:
            rows.append(run_bundle_tampering(sizes.bundles, seed=seed, say=_say))
        if "fuzz" in suites:
            rows.extend(run_fuzz(f, sizes.fuzz, say=_say) for f in fuzzers())
        if "attacks" in suites:
            rows.append(run_lockout(sizes.lockout_rounds, say=_say))
            for name in backends:
                url = server if name == "postgresql" else None
                rows.append(run_leaks(url, name, sizes.leak_rounds, seed=seed, say=_say))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run, print the table; exit 1 if a row misses its goal."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.reliability",
        description=sys.modules[__package__ or "bench.reliability"].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts (about a minute)")
    parser.add_argument("--suites", default=",".join(SUITES), help="comma-separated subset")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random ledgers")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    suites = [s for s in args.suites.split(",") if s]
    backends = [b for b in args.backends.split(",") if b]
    if not suites or set(suites) - set(SUITES):
        parser.error(f"--suites takes a subset of {','.join(SUITES)}")
    if not backends or set(backends) - set(BACKENDS):
        parser.error(f"--backends takes a subset of {','.join(BACKENDS)}")
    sizes = QUICK if args.quick else FULL
    began = time.perf_counter()
    rows = run(sizes, suites, backends, args.seed)
    caption = (
        f"{'Quick' if args.quick else 'Full'} run, seed {args.seed}: "
        f"{time.perf_counter() - began:,.0f} s on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}. Goal: every row 100 % and no failures (no lost "
        "acknowledged entry, no fork, no 5xx, no undetected tampering, no crash, no accepted "
        "forgery). All traffic on loopback; the PostgreSQL server itself is never killed."
    )
    render(rows, caption)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"sizes": asdict(sizes), "caption": caption,
                        "rows": [r.as_json() for r in rows]}, indent=2),
            encoding="utf-8",
        )  # fmt: skip
    return 0 if all(r.met for r in rows) else 1
