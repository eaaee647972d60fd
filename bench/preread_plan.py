"""How PostgreSQL plans the rule-state read of an append's read-ahead, on a given ledger.

``python -m bench.preread_plan POSTGRES_URL [--pairs 8 8000] [--force-index]``

It runs the statement of ``LedgerPostgresRecorder.select_state`` (``SELECT_STATE`` in
:mod:`ledger.store.postgres`, arrays sent in binary as the store sends them) with
``pairs`` (table, key) pairs, half of them rows the ledger holds (picked at random) and
half absent (a batch's read-ahead asks for both), and prints its time as the client sees
it (the second of two runs) and its ``EXPLAIN (ANALYZE, BUFFERS)``. ``--force-index``
turns sequential scans and hash joins off for the session, to compare the index plan where
the planner chose another. It only reads.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from psycopg.sql import SQL, Identifier

from ledger.store.postgres import SELECT_STATE

_TABLE = "ledger_rule_state"


def explain(url: str, pairs: int, force_index: bool = False) -> tuple[float, list[str]]:
    """The client-side milliseconds of the read of ``pairs`` pairs and its plan's lines."""
    import psycopg

    statement = SQL(SELECT_STATE).format(schema=Identifier("public"), table=Identifier(_TABLE))
    with psycopg.connect(url, autocommit=True) as conn:
        held = conn.execute(
            SQL("SELECT tbl, key FROM {} ORDER BY random() LIMIT %s").format(Identifier(_TABLE)),
            (pairs // 2,),
        ).fetchall()
        tables = [str(r[0]) for r in held] * 2
        keys = [str(r[1]) for r in held] + [f"{r[1]}-absent" for r in held]
        if force_index:
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET enable_hashjoin = off")
        ms = 0.0
        for _ in range(2):
            began = time.perf_counter()
            conn.execute(statement, (tables, keys)).fetchall()
            ms = (time.perf_counter() - began) * 1000
        plan = conn.execute(
            SQL("EXPLAIN (ANALYZE, BUFFERS) ") + statement, (tables, keys)
        ).fetchall()
    return ms, [str(r[0]) for r in plan]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a ledger's PostgreSQL database: postgresql://...")
    parser.add_argument("--pairs", type=int, nargs="+", default=[8, 8000])
    parser.add_argument("--force-index", action="store_true")
    args = parser.parse_args(argv)
    for pairs in args.pairs:
        ms, plan = explain(args.url, pairs, args.force_index)
        print(f"{pairs} pairs: {ms:.1f} ms")
        for line in plan:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
