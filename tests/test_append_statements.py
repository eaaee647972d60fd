"""An append sends a fixed number of SQL statements and transactions, on both backends,
however many statements a batch holds (issue 13; bench/README.md, "What moving the rule
state into the store did to ingest and audit").

Counted at the driver (tests.support.store_calls.sql_counted) over the demo ledger's
statements, the bench.ingest workload: every append reads what its statements' rules
consult in one query for the log's progress and the state's size (Store.progress) and two
rounds of read-ahead (LedgerService._prefetch), then writes its entries, Merkle nodes,
positions and rule-state rows in one transaction; besides, only the Merkle nodes the tree
needs and are not kept in memory (at most its height). Before this was pinned, one append
on PostgreSQL sent 15 statements in 11 transactions, and about 44 rule look-ups per 1,000
statements missed the read-ahead, each a query of its own.
"""

from __future__ import annotations

import collections
import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

from ledger.service import LedgerService
from ledger.statement import SignedStatement
from ledger.store import Store, open_store
from tests.support.store_calls import sql_counted
from trackrecord import demo

# Per append, besides Merkle node reads: (transactions, statements) on each backend.
# PostgreSQL: Store.progress, the read-ahead, and the write (LOCK + NOTIFY, then one
# statement inserting nodes, entries, positions and rule-state rows). SQLite: the same
# three transactions; the progress is two statements and the write one per table.
ONE_APPEND = {"sqlite": (3, 8), "postgresql": (3, 4)}
# Per batch (the demo's statements, 400 a batch): the progress, two rounds of read-ahead,
# at most one rule look-up the read-ahead did not foresee (the demo's batches have none),
# and the write; besides, the Merkle node reads and at most two transactions that commit
# before the entries (new data keys, ledger.vault; an erasure's scrub, ledger.erasure).
BATCH_STATE_READS = 2 + 1
BATCH_TRANSACTIONS = 1 + BATCH_STATE_READS + 1 + 2
BATCH_SIZE = 400


def _workload() -> tuple[list[SignedStatement], list[SignedStatement]]:
    """The demo ledger's leading identity statements (setup) and the rest."""
    statements = [s for batch in demo.generate(people=40, seed=7) for s in batch]
    first = next(
        i for i, s in enumerate(statements) if not s.statement.stream.startswith("identity/")
    )
    return statements[:first], statements[first:]


@contextlib.contextmanager
def counted_calls(store: Store) -> Iterator[collections.Counter[str]]:
    """Count the store's reads of the rule state (``progress`` and ``state_values``)."""
    calls: collections.Counter[str] = collections.Counter()

    def counting(name: str) -> Callable[..., Any]:
        method = getattr(store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return method(*args, **kwargs)

        return call

    names = ("progress", "state_values", "state_scan", "state_count")
    for name in names:
        setattr(store, name, counting(name))
    try:
        yield calls
    finally:
        for name in names:
            delattr(store, name)


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def test_an_append_and_a_batch_send_a_fixed_number_of_statements(database_url: str) -> None:
    backend = _backend(database_url)
    setup, rest = _workload()
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        service.append_batch(setup)
        service.append(rest[0])  # the first append of a service settles it, once
        ones: list[collections.Counter[str]] = []
        for signed in rest[1:4]:
            with sql_counted(backend) as counts:
                service.append(signed)
            ones.append(counts)
        batches: list[collections.Counter[str]] = []
        for start in range(4, len(rest), BATCH_SIZE):
            with sql_counted(backend) as counts, counted_calls(store) as calls:
                service.append_batch(rest[start : start + BATCH_SIZE])
            assert calls == {"progress": 1, "state_values": calls["state_values"]}, calls
            assert calls["state_values"] <= BATCH_STATE_READS, calls
            batches.append(counts)
        height = math.ceil(math.log2(service.state.size)) + 1
    finally:
        store.close()
    for counts in ones:
        nodes = counts["merkle node reads"]
        assert nodes <= height, counts
        assert (counts["transactions"] - nodes, counts["statements"] - nodes) == ONE_APPEND[
            backend
        ], counts
    assert len(batches) >= 2
    for counts in batches:
        nodes = counts["merkle node reads"]
        assert nodes <= height, counts
        assert counts["transactions"] - nodes <= BATCH_TRANSACTIONS, counts
        if backend == "postgresql":  # a statement is a round trip: nothing in a block but
            # the append's LOCK + NOTIFY and insert (and at most one insert of data keys)
            assert counts["in transaction blocks"] <= 3, counts
