"""Read-model benchmark: rebuild rate, follower lag, matching and portfolio latency.

Run ``.venv/bin/python -m bench.projections [--quick] [--people N] [--db URL]`` from the
repository root. It prints one table, each figure next to its goal:

(a) rebuild of all read models (replay from position 0, then the reputation refresh):
    entries/s, and the replay and refresh times separately. Goal: 10^6 entries in
    under 60 s, i.e. at least 16,667 entries/s;
(b) incremental lag of the live follower while the last part of the demo ledger is
    appended at a steady pace (100 statements every 50 ms): time from an append's
    commit until every read model has applied it, p50 and p99 (own goal: p99 < 1 s);
(c) matching: the top 10 candidates for posted assignments (``candidates_for_assignment``)
    and the open assignments for employees (``assignments_for``), p50 and p99 over 300
    queries. Goal: p99 < 50 ms (at 10^5 people);
(d) portfolio reads for random (person, viewer) pairs, p50 and p99 (own goal: p99 < 50 ms);
(e) people search (``projections.matching.search.search_people``, what ``GET
    /people/search`` runs): two random skills, every ring up to ``beyond``, the top 10 as
    a random member finds them, checked against the ledger state, p50 and p99. Goal: p99 <
    50 ms at 10^5 people, as matching's.

A goal stated at a size ((a) at 10^6 entries, (c) at 10^5 people) is judged only on a
run of at least that size; on a smaller one its figure is shown and the goal marked
"not measured".

The ledger is the demo generator's (``trackrecord.demo``): ``--people 10000`` (the
default) makes about 1.8·10^5 entries, ``--people 5600`` about 10^5, ``--people 57300``
about 10^6 (several minutes of signing), ``--quick`` 600 people (about 10^4 entries).
``--db URL`` uses that database (SQLite or PostgreSQL): an empty one gets the demo
ledger, one that already holds entries is used as it is (its read models are rebuilt;
no lag measurement then). Without ``--db``, a fresh SQLite file in a temporary
directory is used.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from ledger.people_search import PeopleQuery, SearchRing
from ledger.service import LedgerService
from ledger.skills import SKILLS
from ledger.statement import SignedStatement
from ledger.store import open_store
from projections import Projector, create_read_model_engine, open_projector
from projections.matching import assignments_for, candidates_for_assignment
from projections.matching import tables as mt
from projections.matching.search import search_people
from projections.portfolio import portfolio
from projections.portfolio import tables as pf
from trackrecord.demo import DemoPlan

GOAL_REBUILD_ENTRIES = 1_000_000  # the rebuild goal is stated at this many entries
GOAL_REBUILD_RATE = GOAL_REBUILD_ENTRIES / 60
GOAL_MATCHING_PEOPLE = 100_000  # the matching goal is stated at this many people
GOAL_QUERY_P99_MS = 50.0
GOAL_LAG_P99_S = 1.0
TAIL = 3000  # statements held back to measure the follower's lag


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    measure: str
    value: str
    goal: str
    ok: bool | None
    # The goal is stated at a size this run did not reach: shown, not judged.
    not_measured: bool = False


def _at_size(ok: bool, size: int, stated: int) -> tuple[bool | None, bool]:
    """``(ok, not_measured)`` for a goal stated at ``stated`` (entries or people), on a
    run of ``size``: judged only at the stated size or beyond."""
    return (ok, False) if size >= stated else (None, True)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50, p99


@contextmanager
def _ledger(args: argparse.Namespace) -> Iterator[tuple[str, list[list[SignedStatement]]]]:
    """The ledger URL and the batches held back for the lag measurement."""
    if args.db:
        yield args.db, _populate(args.db, args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-projections-") as tmp:
        url = f"sqlite://{(Path(tmp) / 'ledger.db').resolve().as_posix()}"
        yield url, _populate(url, args)


def _populate(url: str, args: argparse.Namespace) -> list[list[SignedStatement]]:
    """Append the demo ledger to an empty store at ``url``, all but its last batches."""
    store = open_store(url)
    try:
        if store.max_position():
            return []  # an existing ledger: no lag measurement
        service = LedgerService(store)
        batches = list(DemoPlan(people=args.people, seed=args.seed).run(batch_size=500))
        total = sum(len(b) for b in batches)
        print(f"signing and appending the demo ledger: {args.people:,} people, {total:,} entries")
        started = time.perf_counter()
        held: list[list[SignedStatement]] = []
        kept = 0
        for batch in reversed(batches):
            if kept >= TAIL:
                break
            held.insert(0, batch)
            kept += len(batch)
        for batch in batches[: len(batches) - len(held)]:
            service.append_batch(batch)
        print(f"  appended in {time.perf_counter() - started:.1f} s")
        return held
    finally:
        store.close()


def _rebuild(projector: Projector) -> list[Row]:
    started = time.perf_counter()
    result = projector.catch_up(projector.models)
    replay = time.perf_counter() - started
    projector.refresh()
    total = time.perf_counter() - started
    rate = result.applied / total
    return [
        Row(
            f"rebuild, all read models ({result.applied:,} entries)",
            f"{rate:,.0f} entries/s ({total:.1f} s: replay {replay:.1f} s, "
            f"refresh {total - replay:.1f} s)",
            f"≥ {GOAL_REBUILD_RATE:,.0f} entries/s (10^6 in < 60 s, at 10^6 entries)",
            *_at_size(rate >= GOAL_REBUILD_RATE, result.applied, GOAL_REBUILD_ENTRIES),
        )
    ]


def _lag(url: str, projector: Projector, held: list[list[SignedStatement]]) -> list[Row]:
    if not held:
        return [Row("follower lag under steady ingest", "skipped (existing ledger)", "", None)]
    store = open_store(url)
    service = LedgerService(store)
    stop = threading.Event()
    follower = threading.Thread(
        target=projector.follow, args=(stop,), kwargs={"interval": 0.01, "refresh_every": 30.0}
    )
    follower.start()
    lags: list[float] = []
    try:
        for batch in held:
            for start in range(0, len(batch), 100):
                results = service.append_batch(batch[start : start + 100])
                committed = time.perf_counter()
                _wait_for(projector, results[-1].position, timeout=30)
                lags.append(time.perf_counter() - committed)
                time.sleep(0.05)
    finally:
        stop.set()
        follower.join()
        store.close()
    p50, p99 = _percentiles(lags)
    return [
        Row(
            f"follower lag, {sum(len(b) for b in held):,} entries at ~2,000/s",
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms",
            f"p99 < {GOAL_LAG_P99_S:.0f} s (own goal)",
            p99 < GOAL_LAG_P99_S,
        )
    ]


def _wait_for(projector: Projector, position: int, *, timeout: float) -> None:
    """Poll every read model's tracking record every 2 ms until it reaches ``position``."""
    deadline = time.perf_counter() + timeout
    views = [m.view for m in projector.models.values()]
    while not all(v.has_tracking_id("ledger", position) for v in views):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the read models did not reach position {position}")
        time.sleep(0.002)


def _time(queries: list[Callable[[], object]]) -> tuple[float, float]:
    samples = []
    for query in queries:
        started = time.perf_counter()
        query()
        samples.append((time.perf_counter() - started) * 1000)
    return _percentiles(samples)


def _queries(projector: Projector, rng: random.Random, n: int) -> list[Row]:
    engine = projector.engine
    with engine.connect() as conn:
        people = [p for (p,) in conn.execute(select(pf.people.c.person))]
        assignments = [a for (a,) in conn.execute(select(mt.assignments.c.id))]
        rows = []
        if assignments:
            picks = [rng.choice(assignments) for _ in range(n)]
            p50, p99 = _time(
                [lambda a=a: candidates_for_assignment(conn, a, limit=10) for a in picks]
            )
            rows.append(
                Row(
                    f"matching: top-10 candidates among {len(people):,} people",
                    f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                    f"p99 < {GOAL_QUERY_P99_MS:.0f} ms at 10^5 people",
                    *_at_size(p99 < GOAL_QUERY_P99_MS, len(people), GOAL_MATCHING_PEOPLE),
                )
            )
        persons = [rng.choice(people) for _ in range(n)]
        p50, p99 = _time([lambda p=p: assignments_for(conn, p, limit=10) for p in persons])
        rows.append(
            Row(
                f"matching: open assignments for an employee ({len(people):,} people, "
                f"{len(assignments):,} posted)",
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                f"p99 < {GOAL_QUERY_P99_MS:.0f} ms at 10^5 people",
                *_at_size(p99 < GOAL_QUERY_P99_MS, len(people), GOAL_MATCHING_PEOPLE),
            )
        )
        pairs = [(rng.choice(people), rng.choice([None, *people])) for _ in range(n)]
        p50, p99 = _time([lambda p=p, v=v: portfolio(conn, p, viewer=v) for p, v in pairs])
        rows.append(
            Row(
                "portfolio read (random person and viewer)",
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                f"p99 < {GOAL_QUERY_P99_MS:.0f} ms (own goal)",
                p99 < GOAL_QUERY_P99_MS,
            )
        )
    return rows


def _people_search(service: LedgerService, projector: Projector, rng: random.Random, n: int) -> Row:
    skills = [s.slug for s in SKILLS]
    with service.reading() as state, projector.engine.connect() as conn:
        people = sorted(state.people)
        picks = [
            (rng.choice(people), PeopleQuery(tuple(rng.sample(skills, 2)), 0, SearchRing.BEYOND))
            for _ in range(n)
        ]
        p50, p99 = _time(
            [lambda p=p, q=q: search_people(conn, state, q, searcher=p) for p, q in picks]
        )
    return Row(
        f"people search: top 10 by two skills up to beyond, as a member ({len(people):,} people)",
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        f"p99 < {GOAL_QUERY_P99_MS:.0f} ms at 10^5 people",
        *_at_size(p99 < GOAL_QUERY_P99_MS, len(people), GOAL_MATCHING_PEOPLE),
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.projections", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="600 people (about 10^4 entries)")
    parser.add_argument("--people", type=int, default=10_000, help="demo size (default 10,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="use this existing ledger (its read models are rebuilt)")
    parser.add_argument("--batch-size", type=int, default=25_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args(argv)
    if args.quick:
        args.people = 600
    rng = random.Random(args.seed)
    with _ledger(args) as (url, held):
        store = open_store(url)
        engine = create_read_model_engine(url)
        projector = open_projector(store, engine=engine, batch_size=args.batch_size)
        with engine.begin() as conn:
            for model in projector.models.values():
                projector._reset(conn, model)
        rows = _rebuild(projector)
        rows += _lag(url, projector, held)
        rows += _queries(projector, rng, args.queries)
        rows.append(_people_search(LedgerService(store), projector, rng, args.queries))
        engine.dispose()
        store.close()
    table = Table(title="read models (projections)", title_justify="left")
    for column in ("measure", "result", "goal", ""):
        table.add_column(column)
    for row in rows:
        verdict = "" if row.ok is None else ("[green]ok[/green]" if row.ok else "[red]missed[/red]")
        if row.not_measured:
            verdict = "[yellow]not measured[/yellow]"
        table.add_row(row.measure, row.value, row.goal, verdict)
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
