"""Reputation refresh benchmark: what one refresh costs, and what a service start costs.

Run ``.venv/bin/python -m bench.refresh [--quick] [--people N N ...]`` from the repository
root. For each size it builds the demo ledger (``trackrecord.demo``) in a temporary SQLite
file, applies it to the read models, and prints one table:

* **full refresh**: ``ReputationModel.refresh`` (standing over the whole endorsement graph,
  then every employee × skill score), median of three runs, and its cost per active
  rating. The refresh is global, not incremental: one refresh costs O(R log R + R · rounds)
  for R active ratings (at most 40 power-iteration rounds, docs/reputation.md), on NumPy
  columns. It is bounded in how often it runs instead: :meth:`projections.Projector.refresh_due`
  lets it run only after new entries, at most once per ``refresh_every`` (30 s) across all
  service processes over the database, and no sooner than ``REFRESH_SPACING`` (10) times
  its last duration after it. Per new entry that is T_refresh / (entries per
  max(30 s, 10 · T_refresh)), never more than a tenth of one core.
* **peak memory**: what one more refresh allocates at most at once in Python and NumPy
  objects (``tracemalloc``; SQLite's page cache, 16 MiB per connection, is not counted),
  per active rating.
* **service start, snapshots current**: what a starting service spends deciding that it
  need not refresh (``refresh_due``), against the full refresh it ran before.

Goals (own), each against the smallest size measured in the same run: the refresh is
linear in the ratings (its cost and its peak memory per rating at the largest size at most
2x those at the smallest); a start with current snapshots does not grow with the ledger
(at most 2x).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from ledger.service import LedgerService
from ledger.store import open_store
from projections import open_projector
from projections.reputation import tables as rep
from trackrecord.demo import DemoPlan

AT = 1_800_000_000  # the reference time of every refresh (2027-01-15)


def _measure(people: int, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp:
        url = f"sqlite://{(Path(tmp) / 'ledger.db').resolve().as_posix()}"
        store = open_store(url)
        try:
            service = LedgerService(store)
            for batch in DemoPlan(people=people, seed=seed).run(batch_size=500):
                service.append_batch(batch)
            projector = open_projector(store)
            entries = projector.catch_up().applied
            times = []
            for k in range(3):
                started = time.perf_counter()
                projector.refresh(at=AT + k)
                times.append(time.perf_counter() - started)
            tracemalloc.start()
            projector.refresh(at=AT + 3)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            started = time.perf_counter()
            due = projector.refresh_due(every=30, at=AT + 3600)
            check = time.perf_counter() - started
            assert not due, "nothing new since the last refresh: it must not be due"
            with projector.engine.connect() as conn:
                ratings = conn.execute(select(func.count()).select_from(rep.ratings)).scalar_one()
            projector.engine.dispose()
        finally:
            store.close()
    refresh = statistics.median(times)
    return {
        "people": people,
        "entries": entries,
        "ratings": ratings,
        "refresh_s": refresh,
        "us_per_rating": refresh / max(1, ratings) * 1e6,
        "peak_mib": peak / 2**20,
        "bytes_per_rating": peak / max(1, ratings),
        "start_check_ms": check * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[600, 2400])
    parser.add_argument("--quick", action="store_true", help="150 and 600 people")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [150, 600] if args.quick else sorted(args.people)
    rows = [_measure(n, args.seed) for n in sizes]
    table = Table(title="reputation refresh (SQLite)", title_justify="left")
    for column in ("measure", "result", "reference", "goal", "verdict"):
        table.add_column(column)
    first, last = rows[0], rows[-1]
    for row in rows:
        table.add_row(
            f"full refresh, {row['people']:,} people, {row['entries']:,} entries, "
            f"{row['ratings']:,} ratings",
            f"{row['refresh_s'] * 1000:,.0f} ms ({row['us_per_rating']:.1f} µs per rating); "
            f"peak memory {row['peak_mib']:,.1f} MiB ({row['bytes_per_rating']:,.0f} B per rating)",
            "",
            "",
            "",
        )
    ratio = last["us_per_rating"] / first["us_per_rating"]
    table.add_row(
        "refresh cost per rating, largest vs smallest",
        f"{last['us_per_rating']:.1f} µs",
        f"{first['us_per_rating']:.1f} µs",
        "≤ 2x (linear)",
        f"{'met' if ratio <= 2 else 'not met'} ({ratio:.2f}x)",
    )
    grows = last["bytes_per_rating"] / first["bytes_per_rating"]
    table.add_row(
        "refresh peak memory per rating, largest vs smallest",
        f"{last['bytes_per_rating']:,.0f} B",
        f"{first['bytes_per_rating']:,.0f} B",
        "≤ 2x (linear)",
        f"{'met' if grows <= 2 else 'not met'} ({grows:.2f}x)",
    )
    flat = last["start_check_ms"] / first["start_check_ms"]
    table.add_row(
        "service start with current snapshots: refresh_due, largest vs smallest",
        f"{last['start_check_ms']:.1f} ms (the refresh it ran before: "
        f"{last['refresh_s'] * 1000:,.0f} ms)",
        f"{first['start_check_ms']:.1f} ms",
        "≤ 2x (flat)",
        f"{'met' if flat <= 2 else 'not met'} ({flat:.2f}x)",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
