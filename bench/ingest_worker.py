"""The measurements of ``bench.ingest``, for this checkout or for another revision.

``bench.ingest`` imports these functions to measure this checkout in its own process.
To measure another revision (``--reference-rev``) it runs this file as a script, with
``python -P`` (the script's directory, bench/, is not put on the path) and that
revision's tree as ``PYTHONPATH`` (:func:`bench.revision.checkout`): every ``ledger``,
``keys`` and ``trackrecord`` import below is then the old code's, and the old code
generates and signs its own demo statements in its own format (same generator, seed and
size), since an old revision may not read what this one writes. So this file imports
nothing from ``bench`` and only names the ledger has kept since before the rule state
moved into the store (issue 13): ``ledger.store.open_store``,
``ledger.service.LedgerService`` (``append``, ``append_batch``, ``MAX_BATCH``),
``ledger.audit.audit`` and ``trackrecord.demo.generate``.

As a script it speaks JSON lines: it builds and signs its workload, answers
``{"ready": true, "setup": N, "timed": N, "source": "…", "ledger": "path"}``, then
answers each request on stdin, one line each, until stdin closes:

- ``{"op": "ingest", "url": U, "batch": B, "count": C}`` → ``{"rate": statements/s}``
- ``{"op": "audit", "url": U, "workers": W}`` → ``{"rate": entries/s}``

A request that fails is answered ``{"error": "…"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import ledger
from ledger.audit import audit
from ledger.catalogue import StreamKind
from ledger.service import MAX_BATCH, LedgerService
from ledger.statement import SignedStatement
from ledger.store import Store, open_store

__all__ = [
    "AuditFailed",
    "Workload",
    "audit_rate",
    "build_workload",
    "chunks",
    "ingest_rate",
    "prepared",
    "serve",
    "split_workload",
]


@dataclass(frozen=True)
class Workload:
    """Statements signed in advance: ``setup`` is appended untimed, ``timed`` is measured."""

    setup: list[SignedStatement]
    timed: list[SignedStatement]
    source: str


def split_workload(
    statements: Iterable[SignedStatement], count: int
) -> tuple[list[SignedStatement], list[SignedStatement]]:
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
        setup, timed = split_workload((s for batch in batches for s in batch), count)
        if len(timed) == count:
            return Workload(setup, timed, f"trackrecord.demo (people={people}, seed={seed})")
        people *= 2


def chunks(items: Sequence[SignedStatement], size: int) -> Iterator[Sequence[SignedStatement]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def prepared(url: str, workload: Workload) -> tuple[Store, LedgerService]:
    """A store at ``url`` and its service, with the workload's setup appended."""
    store = open_store(url)
    service = LedgerService(store)
    for chunk in chunks(workload.setup, MAX_BATCH):
        service.append_batch(chunk)
    return store, service


def ingest_rate(url: str, workload: Workload, batch: int, count: int) -> float:
    """Append ``count`` timed statements in batches of ``batch``; return statements/s."""
    store, service = prepared(url, workload)
    timed = workload.timed[:count]
    try:
        started = time.perf_counter()
        if batch == 1:
            for signed in timed:
                service.append(signed)
        else:
            for chunk in chunks(timed, batch):
                service.append_batch(chunk)
        return len(timed) / (time.perf_counter() - started)
    finally:
        store.close()


class AuditFailed(RuntimeError):
    """The audit of a store the benchmark wrote did not pass."""


def audit_rate(url: str, workers: int) -> float:
    """Audit the store at ``url`` with ``workers`` signature threads; return entries/s."""
    store = open_store(url)
    try:
        report = audit(store, workers=workers)
    finally:
        store.close()
    if not report.ok:
        raise AuditFailed(f"the audit failed: {report.as_json()}")
    return float(report.entries / report.seconds)


def tune_gc() -> None:
    """The garbage-collector thresholds the trackrecord command sets, in either version.

    It moved from ``trackrecord.bootstrap`` to ``ledger.app`` after the rule state moved
    into the store; a measurement without it would halve batched ingest.
    """
    try:
        from ledger.app import tune_gc as tune
    except ImportError:
        from trackrecord.bootstrap import tune_gc as tune  # type: ignore[no-redef]
    tune()


def serve(workload: Workload, requests: TextIO, answers: TextIO) -> None:
    """Answer measurement requests, one JSON line each (see the module's docstring)."""
    for line in requests:
        request: dict[str, Any] = json.loads(line)
        try:
            if request["op"] == "ingest":
                rate = ingest_rate(request["url"], workload, request["batch"], request["count"])
            elif request["op"] == "audit":
                rate = audit_rate(request["url"], request["workers"])
            else:
                raise ValueError(f"unknown request {request['op']!r}")
            answer: dict[str, Any] = {"rate": rate}
        except Exception as exc:  # reported to the parent, which says so in its output
            answer = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bench.ingest's measurements, as a worker")
    parser.add_argument("--count", type=int, required=True, help="timed statements")
    parser.add_argument("--seed", type=int, required=True, help="seed of the demo ledger")
    args = parser.parse_args(argv)
    # The answers go to the original stdout; anything the code under test prints goes
    # to stderr, where it cannot be mistaken for an answer.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    tune_gc()
    workload = build_workload(args.count, args.seed)
    ready = {"ready": True, "setup": len(workload.setup), "timed": len(workload.timed)}
    ready |= {"source": workload.source, "ledger": os.path.dirname(ledger.__file__ or "")}
    answers.write(json.dumps(ready) + "\n")
    answers.flush()
    serve(workload, sys.stdin, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
