"""Concurrency: many clients, two service processes, one database — no fork, no duplicate,
every conflict a clear 409, never a 5xx.

Two real service processes (:class:`tests.test_crash.Service`) serve the same database,
so appends race across processes as well as across threads. At once:

* writer threads, half on each process, claim contributions on their own records
  (different streams) and endorse contributions on alice's record (one shared stream);
* pairs of clients send *the same* signed statement to both processes at the same moment:
  exactly one is accepted (201), the other refused as ``409 replayed_id``;
* pairs of clients send two different endorsements of the same contribution by the same
  person: exactly one 201, the other ``409 duplicate_endorsement``;
* clients post batches, which land whole, at consecutive log indexes.

Afterwards the service processes are stopped and :func:`tests.test_crash.check_ledger`
checks the database: every acknowledged entry at its log index with its hash, no
statement id twice, every stream a gapless chain, the audit passes, the checkpoints both
processes signed verify and extend each other, the read models (followed by both
processes at once) equal a rebuild — and the log holds exactly the setup plus what was
acknowledged: nothing was written that a client was not told about.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ledger.monitor import Monitor
from ledger.service import LedgerService
from ledger.store import open_store
from tests.test_crash import (
    Ack,
    Endpoint,
    Findings,
    Load,
    Service,
    Setup,
    Writer,
    check_ledger,
    setup_ledger,
)

__all__ = ["ConcurrencyRun", "Race", "concurrency_run"]

CONFLICT_CODES = frozenset({"replayed_id", "duplicate_endorsement", "conflict"})


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


def _race(urls: list[str], path: str, bodies: list[Any], load: Load, race: Race) -> None:
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
class ConcurrencyRun:
    """What :func:`concurrency_run` saw and found."""

    load: Load
    race: Race
    batches: list[list[int]]
    setup_entries: int
    findings: Findings
    seconds: float
    server_logs: str  # both processes' output: tracebacks of any 5xx


def concurrency_run(
    database_url: str,
    workdir: Path,
    *,
    writers: int = 6,
    per_writer: int = 30,
    races: int = 10,
    batches: int = 5,
) -> ConcurrencyRun:
    """Run the concurrent load described in the module doc against two processes."""
    began = time.monotonic()
    setup = setup_ledger(database_url, writers=writers, endorsements=writers * per_writer)
    store = open_store(database_url)
    try:
        setup_entries = LedgerService(store).catch_up()
    finally:
        store.close()
    services = [Service(database_url, setup.operator, workdir / f"s{i}") for i in range(2)]
    for s in services:
        s.workdir.mkdir(parents=True, exist_ok=True)
    load, race = Load(), Race()
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
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
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
        load, race, landed, setup_entries, findings, time.monotonic() - began, logs
    )


def _limited(setup: Setup, i: int, count: int) -> Iterator[Any]:
    statements = setup.statements(i)
    for _ in range(count):
        yield next(statements)


def _races(setup: Setup, urls: list[str], count: int, load: Load, race: Race) -> None:
    w = setup.world
    alice, racer = w["alice"], w["carol"]
    targets = setup.contributions[-count:]  # carol endorses each of them once (or tries twice)
    for k in range(count):
        same = w.claim(racer, title=f"Raced {k}").as_json()
        _race(urls, "/statements", [same, same], load, race)
        twice = [w.endorse(racer, alice, targets[k], grade=g).as_json() for g in (3, 4)]
        _race(urls, "/statements", twice, load, race)


# -- the CI-sized test ------------------------------------------------------------------------


def test_concurrent_clients_never_fork_duplicate_or_fail(database_url: str, tmp_path: Path) -> None:
    run = concurrency_run(database_url, tmp_path)
    load, findings = run.load, run.findings
    # the ledger holds exactly what was acknowledged, unforked, whatever the answers were
    assert findings.problems() == {}
    assert len({a.log_index for a in load.acked}) == len(load.acked)
    assert findings.entries == run.setup_entries + len(load.acked)
    assert findings.checkpoints > 0
    assert load.server_errors == [], run.server_logs[-4000:]
    assert load.refusals == {}, load.refusals
    for outcome in run.race.outcomes:  # each race: exactly one 201, the rest a clear 409
        statuses = sorted(s for s, _ in outcome)
        assert statuses == [201, 409], outcome
        assert {c for s, c in outcome if s == 409} <= CONFLICT_CODES - {"conflict"}, outcome
    for indexes in run.batches:  # a batch lands whole, at consecutive log indexes
        assert indexes == list(range(indexes[0], indexes[0] + len(indexes)))


class _SlowHandler(BaseHTTPRequestHandler):
    """Answers every POST after 0.3 s, noting when each arrived."""

    arrivals: ClassVar[list[float]] = []

    def do_GET(self) -> None:  # the stdlib's name
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        self.arrivals.append(time.monotonic())
        time.sleep(0.3)
        body = b'{"statement_id": "x", "log_index": 0, "entry_hash": "", "stream": "", "seq": 1}'
        self.send_response(201)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_race_helper_really_sends_at_once() -> None:
    """Without this, the races above could pass by running one request after the other."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        race = Race()
        _race([url, url], "/x", [{}, {}], Load(), race)
    finally:
        server.shutdown()
        server.server_close()
    arrivals = _SlowHandler.arrivals
    assert len(arrivals) == 2
    assert max(arrivals) - min(arrivals) < 0.2
    assert race.outcomes == [[(201, ""), (201, "")]]
