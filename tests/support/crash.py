"""The service under load and SIGKILL: processes, writers, and the checks after a crash.

:class:`Service` runs the HTTP service for a database in a process of its own, on a free
loopback port, with the operator's key (so it signs checkpoints as the log grows, every
0.3 s) and no rate limits; :class:`Writer` threads send signed statements and keep what
the service acknowledged (201). A request that dies with the server is *in doubt*: after the restart
the writer sends the very same signed statement again, and the answer is either 201 (it
had not been written) or 409 ``replayed_id`` (it had).

:func:`check_ledger` opens the database of a stopped service and checks that every
acknowledged entry is there at its log index with its hash, that no statement id appears
twice and no stream forked or has a gap, that the audit passes, that every stored
checkpoint verifies under the operator's key and extends the ones a monitor saw, and
(optionally) that the read models equal a fresh rebuild. :func:`crash_rounds` runs rounds
of load and kills. Used by ``tests/test_crash.py``, ``tests/test_concurrency.py`` and the
long runs of ``bench/reliability``.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from keys import Identity
from ledger.audit import audit
from ledger.checkpoint import NoteVerifier
from ledger.errors import LedgerError
from ledger.monitor import Monitor
from ledger.service import LedgerService
from ledger.statement import SignedStatement
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from projections import open_projector
from tests.factories import TickClock, World, standard_world
from tests.support.projections import AT, snapshot

__all__ = [
    "Ack",
    "CrashRun",
    "Endpoint",
    "Findings",
    "Load",
    "Service",
    "Setup",
    "Writer",
    "check_ledger",
    "crash_rounds",
    "setup_ledger",
    "submit",
]

REPO = Path(__file__).resolve().parents[2]
SEED_ENV = "TRACKRECORD_TEST_OPERATOR_SEED"

_SERVER = """
import os, socket, sys
from pathlib import Path
import uvicorn
from api.app import create_app
from api.config import ApiConfig, Bucket
from keys import Identity
from ledger.rollback import CheckpointMemory

url, port_file, interval, keys = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
off = Bucket(0, 0)
config = ApiConfig(
    write_limit=off,
    login_limit=off,
    challenge_limit=off,
    refusal_limit=off,
    checkpoint_interval=interval,
    checkpoint_in="process",  # a child per checkpoint would space them seconds apart
)
operator = Identity(bytes.fromhex(os.environ.pop("TRACKRECORD_TEST_OPERATOR_SEED")))
# the last checkpoint signed is remembered here across restarts (ledger.rollback)
memory = CheckpointMemory.in_keys_dir(Path(keys))
app = create_app(url, config, operator=operator, memory=memory)
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
port_file.with_suffix(".tmp").write_text(str(sock.getsockname()[1]))
port_file.with_suffix(".tmp").rename(port_file)
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])
"""


class Service:
    """The HTTP service for ``database_url`` in its own process, started and killed at will."""

    def __init__(
        self, database_url: str, operator: Identity, workdir: Path, *, interval: float = 0.3
    ) -> None:
        self.database_url = database_url
        self.operator = operator
        self.workdir = workdir
        self.interval = interval
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.starts = 0

    def start(self, timeout: float = 90.0) -> str:
        """Start the process and wait until it answers ``GET /log``; return its base URL."""
        self.starts += 1
        port_file = self.workdir / f"port-{self.starts}"
        env = dict(os.environ, **{SEED_ENV: self.operator.seed.hex()})
        log = (self.workdir / f"server-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, self.database_url, str(port_file), str(self.interval),
             str(self.workdir / "keys")],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            self._alive_until(deadline)
            time.sleep(0.02)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        with httpx.Client(base_url=url, timeout=5) as client:
            while True:
                self._alive_until(deadline)
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/log").status_code == 200:
                        break
                time.sleep(0.02)
        self.url = url
        return url

    def _alive_until(self, deadline: float) -> None:
        assert self.process is not None
        if self.process.poll() is not None or time.monotonic() > deadline:
            self.kill()
            log = (self.workdir / f"server-{self.starts}.log").read_text(errors="replace")
            raise RuntimeError(f"the service did not start:\n{log[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the process (no shutdown code runs) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)
        self.url = None


# -- clients --------------------------------------------------------------------------------


class Endpoint:
    """Where the service is now (None while it is down); writers wait on it."""

    def __init__(self) -> None:
        self._url: str | None = None
        self._changed = threading.Condition()

    def set(self, url: str | None) -> None:
        with self._changed:
            self._url = url
            self._changed.notify_all()

    def wait(self, stop: threading.Event) -> str | None:
        """The current URL, waiting while the service is down; None once ``stop`` is set."""
        with self._changed:
            while self._url is None and not stop.is_set():
                self._changed.wait(0.05)
            return None if stop.is_set() else self._url


@dataclass(frozen=True)
class Ack:
    """An append the service acknowledged (201), as the client saw it."""

    statement_id: str
    log_index: int
    entry_hash: str
    stream: str
    seq: int


@dataclass
class Load:
    """What all writers saw; filled in under ``lock``."""

    acked: list[Ack] = field(default_factory=list)
    in_doubt: int = 0  # requests cut off by a crash and sent again
    resumed_committed: list[str] = field(default_factory=list)  # 409 replayed_id after a crash
    conflicts: int = 0  # 409 "conflict": retried by the client
    refusals: dict[str, int] = field(default_factory=dict)  # other 4xx, by code
    server_errors: list[str] = field(default_factory=list)  # 5xx
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, code: str) -> None:
        with self.lock:
            self.refusals[code] = self.refusals.get(code, 0) + 1


def submit(
    client: httpx.Client, endpoint: Endpoint, stop: threading.Event, load: Load, body: Any
) -> str:
    """POST one signed statement until the service answers; return how it ended.

    Returns ``"acked"``, ``"committed before the crash"``, ``"refused <code>"`` or
    ``"stopped"``. A transport error (the server died) makes the request in doubt: it is
    sent again, unchanged, once the service is back.
    """
    in_doubt = False
    while True:
        url = endpoint.wait(stop)
        if url is None:
            return "stopped"
        try:
            response = client.post(f"{url}/statements", json=body, timeout=30)
        except httpx.TransportError:
            if not in_doubt:
                in_doubt = True
                with load.lock:
                    load.in_doubt += 1
            time.sleep(0.05)
            continue
        if response.status_code == 201:
            a = response.json()
            ack = Ack(a["statement_id"], a["log_index"], a["entry_hash"], a["stream"], a["seq"])
            with load.lock:
                load.acked.append(ack)
            return "acked"
        if response.status_code >= 500:
            with load.lock:
                load.server_errors.append(f"{response.status_code} {response.text[:200]}")
            time.sleep(0.05)
            continue
        code = response.json().get("code", "?")
        if response.status_code == 409 and code == "conflict":
            with load.lock:
                load.conflicts += 1
            continue
        if in_doubt and code == "replayed_id":
            with load.lock:
                load.resumed_committed.append(body["statement"]["id"])
            return "committed before the crash"
        load.count(f"{response.status_code} {code}")
        return f"refused {code}"


class Writer(threading.Thread):
    """Sends the statements of ``source`` one after another until ``stop`` is set."""

    def __init__(
        self,
        endpoint: Endpoint,
        source: Iterator[SignedStatement],
        stop: threading.Event,
        load: Load,
    ) -> None:
        super().__init__(daemon=True)
        self.endpoint, self.source, self.stop, self.load = endpoint, source, stop, load
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(limits=httpx.Limits(max_connections=1)) as client:
            for signed in self.source:
                if self.stop.is_set():
                    return
                submit(client, self.endpoint, self.stop, self.load, signed.as_json())
                self.sent += 1


# -- the ledger under load ----------------------------------------------------------------


@dataclass
class Setup:
    """The ledger the load writes to: the standard cast, writers, alice's contributions."""

    world: World
    writers: list[str]
    contributions: list[str]  # alice's, endorsed by the writers

    @property
    def operator(self) -> Identity:
        return self.world.operator.identity

    def statements(self, i: int) -> Iterator[SignedStatement]:
        """Writer ``i``: a claim on its own record, then an endorsement on alice's, in turn."""
        w = self.world
        me, alice = w[self.writers[i]], w["alice"]
        mine = self.contributions[i :: len(self.writers)]
        n = 0
        while True:
            yield w.claim(me, title=f"Claim {n} by {me.id}")
            if n < len(mine):
                yield w.endorse(me, alice, mine[n], grade=1 + n % 5)
            n += 1


def setup_ledger(database_url: str, *, writers: int, endorsements: int) -> Setup:
    """Write the cast, ``writers`` people, ``endorsements`` claims of alice and her requests
    that the writers review them, directly."""
    store = open_store(database_url)
    try:
        w = standard_world(LedgerService(store, clock=TickClock()), seed=f"crash-{random.random()}")
        names = [f"writer{i}" for i in range(writers)]
        w.do_all([w.register(n) for n in names])
        claims = [w.claim(w["alice"], title=f"Alice {k}") for k in range(endorsements)]
        for k in range(0, len(claims), 500):
            w.do_all(claims[k : k + 500])
        # alice asks the writer who will endorse each contribution to review it (what lets
        # them read and grade it, docs/rules.md §4.1), here while the store is open: the
        # writers' World.endorse then finds the request and appends nothing itself
        asks = [w.ask_review(w["alice"], c.statement.id, (w[names[k % writers]], "peer"))
                for k, c in enumerate(claims)]  # fmt: skip
        for k in range(0, len(asks), 500):
            w.do_all(asks[k : k + 500])
        return Setup(w, names, [c.statement.id for c in claims])
    finally:
        store.close()


# -- checking the database after a crash ----------------------------------------------------


@dataclass
class Findings:
    """What :func:`check_ledger` found; every list must be empty."""

    entries: int = 0
    acked: int = 0
    checkpoints: int = 0
    lost: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    forks: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)
    checkpoint_problems: list[str] = field(default_factory=list)
    read_models: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        names = ("lost", "moved", "duplicates", "forks", "audit", "checkpoint_problems")
        out = {n: getattr(self, n) for n in (*names, "read_models")}
        return {k: v for k, v in out.items() if v}


def check_ledger(
    database_url: str,
    acked: list[Ack],
    monitor: Monitor,
    operator: Identity,
    *,
    read_models: bool = False,
) -> Findings:
    """Open the database of a stopped service and check everything (see the module doc)."""
    found = Findings(acked=len(acked))
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        by_id: dict[str, tuple[int, str]] = {}
        heads: dict[str, tuple[int, str]] = {}
        for index, (_, stored) in enumerate(service.read_log(limit=10**9)):
            e = stored.entry
            if e.statement.id in by_id:
                found.duplicates.append(e.statement.id)
            by_id[e.statement.id] = (index, e.hash)
            seq, prev = heads.get(e.stream, (0, "0" * 64))
            if (e.seq, e.prev) != (seq + 1, prev):
                found.forks.append(f"{e.stream}#{e.seq} at {index} after #{seq}")
            heads[e.stream] = (e.seq, e.hash)
        found.entries = len(by_id)
        for ack in acked:
            where = by_id.get(ack.statement_id)
            if where is None:
                found.lost.append(f"{ack.stream}#{ack.seq} ({ack.statement_id})")
            elif where != (ack.log_index, ack.entry_hash):
                found.moved.append(f"{ack.statement_id}: acked {ack.log_index}, found {where[0]}")
        report = audit(store)
        if not report.ok:
            found.audit.append(str(report.as_json()["failure"]))
        found.checkpoints = _check_checkpoints(service, monitor, operator, found)
        if read_models:
            found.read_models = _check_read_models(store)
    finally:
        store.close()
    return found


def _check_checkpoints(
    service: LedgerService, monitor: Monitor, operator: Identity, found: Findings
) -> int:
    """Every stored checkpoint verifies, matches the log and extends what the monitor saw."""
    log = TransparencyLog(service)
    sizes = log.checkpoint_sizes()
    if not sizes:
        return 0
    verifier = NoteVerifier.for_key(log.origin, operator.public_key.raw)
    for size in sizes:
        try:
            signed = log.checkpoint(size)
            if signed.checkpoint.root_hash != log.root(size):
                found.checkpoint_problems.append(f"checkpoint {size}: root differs from the log")
            seen = monitor.last(log.origin)
            old = 0 if seen is None else seen[0].size
            if size >= old:
                proof = log.consistency_proof(old, size) if seen is not None else []
                monitor.observe(signed.note, proof, verifier)
        except LedgerError as exc:
            found.checkpoint_problems.append(f"checkpoint {size}: {exc.code}: {exc.message}")
    return len(sizes)


def _check_read_models(store: Any) -> list[str]:
    """Resume the read models as a restart does, then compare them with a rebuild."""
    projector = open_projector(store)
    try:
        projector.catch_up()
        projector.refresh(at=AT)
        live = snapshot(projector.engine)
        projector.rebuild()
        projector.refresh(at=AT)
        rebuilt = snapshot(projector.engine)
    finally:
        projector.engine.dispose()
    return [f"{t}: resumed {len(live[t])} rows, rebuilt {len(rebuilt[t])}" for t in live
            if live[t] != rebuilt[t]]  # fmt: skip


# -- the rounds -------------------------------------------------------------------------------


@dataclass
class CrashRun:
    """The outcome of :func:`crash_rounds`."""

    load: Load
    rounds: list[Findings]
    sent: int
    seconds: float


def crash_rounds(
    database_url: str,
    workdir: Path,
    *,
    kills: int,
    writers: int = 4,
    run_time: tuple[float, float] = (0.3, 1.2),
    seed: int = 0,
    on_round: Callable[[int, Findings], None] | None = None,
) -> CrashRun:
    """Run ``kills`` rounds of load and SIGKILL on the service of ``database_url``."""
    began = time.monotonic()
    rng = random.Random(seed)
    setup = setup_ledger(database_url, writers=writers, endorsements=writers * 400)
    service = Service(database_url, setup.operator, workdir)
    monitor = Monitor(workdir / "monitor.json")
    endpoint, stop, load = Endpoint(), threading.Event(), Load()
    threads = [Writer(endpoint, setup.statements(i), stop, load) for i in range(writers)]
    rounds: list[Findings] = []
    try:
        endpoint.set(service.start())
        for t in threads:
            t.start()
        for r in range(kills):
            time.sleep(rng.uniform(*run_time))
            service.kill()
            endpoint.set(None)
            with load.lock:
                acked = list(load.acked)
            last = r == kills - 1
            findings = check_ledger(database_url, acked, monitor, setup.operator, read_models=last)
            rounds.append(findings)
            if on_round is not None:
                on_round(r, findings)
            if not last:
                endpoint.set(service.start())
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        service.kill()
    return CrashRun(load, rounds, sum(t.sent for t in threads), time.monotonic() - began)
