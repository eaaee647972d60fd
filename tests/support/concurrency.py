"""Many clients against two service processes on one database, at once.

:func:`concurrency_run` starts two :class:`tests.support.crash.Service` processes on the
same database, runs writers, races (the same statement, or two endorsements of one
contribution by one person, sent to both processes at the same instant) and batches
against them (and, with ``readers``, reads portfolios and reputations from both),
stops them and checks the database with
:func:`tests.support.crash.check_ledger`. Used by ``tests/test_concurrency.py`` and the
long runs of ``bench/reliability``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ledger.monitor import Monitor
from ledger.service import LedgerService
from ledger.store import open_store
from tests.support.crash import (
    Ack,
    Endpoint,
    Findings,
    Load,
    Service,
    Setup,
    Writer,
    check_ledger,
    setup_ledger,
    submit,
)

__all__ = [
    "ConcurrencyRun",
    "Race",
    "Reads",
    "concurrency_run",
    "send_at_once",
]


@dataclass
class Race:
    """Responses of the races: (status, code) per request, grouped per race."""

    outcomes: list[list[tuple[int, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _post(client: httpx.Client, url: str, path: str, body: Any) -> httpx.Response:
    while True:
        response = client.post(f"{url}{path}", json=body, timeout=60)
        if response.status_code != 409 or response.json().get("code") != "conflict":
            return response
        time.sleep(0.01)  # the service gave up retrying: the client tries again


def send_at_once(urls: list[str], path: str, bodies: list[Any], load: Load, race: Race) -> None:
    """Send ``bodies`` (one per URL) at the same instant; record what came back."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, str]] = [(0, "")] * len(bodies)

    def one(i: int) -> None:
        with httpx.Client() as client:
            client.get(f"{urls[i]}/log")  # connect first, so the posts really collide
            barrier.wait()
            response = _post(client, urls[i], path, bodies[i])
        code = "" if response.status_code == 201 else response.json().get("code", "?")
        results[i] = (response.status_code, code)
        if response.status_code == 201:
            a = response.json()
            with load.lock:
                load.acked.append(
                    Ack(a["statement_id"], a["log_index"], a["entry_hash"], a["stream"], a["seq"])
                )
        elif response.status_code >= 500:
            with load.lock:
                load.server_errors.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with race.lock:
        race.outcomes.append(results)


def _batches(setup: Setup, url: str, count: int, load: Load, batches: list[list[int]]) -> None:
    w = setup.world
    me = w[setup.writers[0]]
    with httpx.Client() as client:
        for b in range(count):
            body = {"statements": [w.claim(me, title=f"Batch {b}.{k}").as_json() for k in range(5)]}
            response = _post(client, url, "/statements/batch", body)
            if response.status_code != 201:
                load.count(f"batch {response.status_code} {response.text[:100]}")
                continue
            accepted = response.json()
            with load.lock:
                load.acked.extend(
                    Ack(a["statement_id"], a["log_index"], a["entry_hash"], a["stream"], a["seq"])
                    for a in accepted
                )
                batches.append([a["log_index"] for a in accepted])


@dataclass
class Reads:
    """What the readers saw: ``(status, path)`` of every read, and how long they read."""

    answers: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self) -> list[tuple[int, str]]:
        """Every read that did not answer 200."""
        return [(s, p) for s, p in self.answers if s != 200]


def _read(setup: Setup, urls: list[str], k: int, stop: threading.Event, reads: Reads) -> None:
    """Read portfolios and reputations while the writers write, alternating the processes:
    alice's (her record is the shared stream the writers endorse on) and the writers' own."""
    people = ["alice", *setup.writers]
    n = 0
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            person = people[(k + n) % len(people)]
            path = f"/people/{person}/{('portfolio', 'reputation')[n % 2]}"
            status = client.get(f"{urls[(k + n) % len(urls)]}{path}").status_code
            with reads.lock:
                reads.answers.append((status, path))
            n += 1


@dataclass
class ConcurrencyRun:
    """What :func:`concurrency_run` saw and found."""

    load: Load
    race: Race
    batches: list[list[int]]
    setup_entries: int
    findings: Findings
    seconds: float
    server_logs: str  # both processes' output: tracebacks of any 5xx
    reads: Reads = field(default_factory=Reads)


def concurrency_run(
    database_url: str,
    workdir: Path,
    *,
    writers: int = 6,
    per_writer: int = 30,
    races: int = 10,
    batches: int = 5,
    readers: int = 0,
) -> ConcurrencyRun:
    """Run the concurrent load described in the module doc against two processes, with
    ``readers`` clients reading portfolios and reputations from both while it runs."""
    began = time.monotonic()
    setup = setup_ledger(database_url, writers=writers, endorsements=writers * per_writer)
    store = open_store(database_url)
    try:
        setup_entries = LedgerService(store).state.size
    finally:
        store.close()
    services = [Service(database_url, setup.operator, workdir / f"s{i}") for i in range(2)]
    for s in services:
        s.workdir.mkdir(parents=True, exist_ok=True)
    load, race, reads = Load(), Race(), Reads()
    landed: list[list[int]] = []
    stop = threading.Event()
    try:
        urls = [s.start() for s in services]
        endpoints = [Endpoint() for _ in urls]
        for endpoint, url in zip(endpoints, urls, strict=True):
            endpoint.set(url)
        threads: list[threading.Thread] = [
            Writer(endpoints[i % 2], _limited(setup, i, 2 * per_writer), stop, load)
            for i in range(writers)
        ]
        threads.append(
            threading.Thread(target=_batches, args=(setup, urls[0], batches, load, landed))
        )
        threads.append(threading.Thread(target=_races, args=(setup, urls, races, load, race)))
        readers_done = threading.Event()
        reading = [
            threading.Thread(target=_read, args=(setup, urls, k, readers_done, reads))
            for k in range(readers)
        ]
        started = time.monotonic()
        for t in [*threads, *reading]:
            t.start()
        for t in threads:
            t.join(300)
        readers_done.set()
        for t in reading:
            t.join(120)
        reads.seconds = time.monotonic() - started
    finally:
        stop.set()
        for s in services:
            s.kill()
    monitor = Monitor(workdir / "monitor.json")
    with load.lock:
        acked = list(load.acked)
    findings = check_ledger(database_url, acked, monitor, setup.operator, read_models=True)
    logs = "".join(p.read_text(errors="replace") for p in sorted(workdir.glob("s*/server-*.log")))
    return ConcurrencyRun(
        load, race, landed, setup_entries, findings, time.monotonic() - began, logs, reads
    )


def _limited(setup: Setup, i: int, count: int) -> Iterator[Any]:
    statements = setup.statements(i)
    for _ in range(count):
        yield next(statements)


def _races(setup: Setup, urls: list[str], count: int, load: Load, race: Race) -> None:
    w = setup.world
    alice, racer = w["alice"], w["carol"]
    targets = setup.contributions[-count:]  # carol endorses each of them once (or tries twice)
    asking = Endpoint()
    asking.set(urls[0])
    for k in range(count):
        same = w.claim(racer, title=f"Raced {k}").as_json()
        send_at_once(urls, "/statements", [same, same], load, race)
        # alice asks carol to review it first, through the service (World.endorse would
        # append the request itself, through setup_ledger's store, closed by now)
        ask = w.ask_review(alice, targets[k], (racer, "peer")).as_json()
        with httpx.Client() as client:
            submit(client, asking, threading.Event(), load, ask)
        twice = [w.endorse(racer, alice, targets[k], grade=g, asked=False).as_json()
                 for g in (3, 4)]  # fmt: skip
        send_at_once(urls, "/statements", twice, load, race)
