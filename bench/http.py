"""HTTP load on loopback: reads and writes per second and latency, next to the in-process rate.

Run ``.venv/bin/python -m bench.http [--quick] [--json PATH]`` from the repository root.
Needs ``wrk`` (Debian package ``wrk``): the load generator is C, so it takes little of
the CPU the service needs on a 2-core machine.

What it does, on one SQLite ledger (in a temporary directory):

1. builds a ledger: an operator, ``--people`` people in four departments with a
   manager each, three contributions per person with a manager endorsement, every
   portfolio part public, and one open assignment per two people;
2. signs, before any timer starts, the statements the write runs will send: single
   claims, and batches of :data:`BATCH` claims;
3. measures the in-process rate of each operation by calling the endpoint's own
   function (``api.routers``) on an :class:`api.context.AppContext` built as the
   service builds it: the same lookups, visibility checks, models and JSON encoding,
   without HTTP, from as many threads as the HTTP run has connections. Each read is
   computed, not served from the answer cache (which keeps nothing here), as every
   server read below is;
4. starts the service (``trackrecord.cli.serve.serve``, one uvicorn process as
   deployed, its JSON request log going to a file; rate limits off) and runs ``wrk``
   (2 threads) against each endpoint for ``--seconds``: record, portfolio, matching
   (reads, ``--connections`` at once, default 8) while a writer thread appends
   :data:`WRITES_PER_S` claims per second through ``POST /statements``; then single and
   batch statement submissions (writes, 4 and 2 connections; every request a different
   signed statement).

**Reads are uncached.** The service answers a read from its answer cache until the log
grows. Every wrk thread cycles through its own shuffled share of the paths (one per
person, or per assignment for matching), so a path comes back only after all the others;
the writer appends in between. A read row is judged only if at least two writes fell
between two requests of the same path (``paths / (req/s) >= 2 / writes per s``);
otherwise its goal is "not measured".

**Every request must succeed.** A non-2xx answer or a socket error (wrk), or a refused
write of the background writer, fails the row's goal.

It prints one table: requests/s, p50 and p99 latency from wrk, errors, the in-process
rate, their ratio, and the goals (reads: >= 1,000 req/s with p99 < 50 ms; single writes:
>= 50 % of the in-process single-append rate).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keys import Identity
from ledger import commands
from ledger.catalogue import Ring
from ledger.service import LedgerService
from ledger.statement import SignedStatement, Signer
from ledger.store import open_store

__all__ = ["BATCH", "READ_LUA", "Row", "judge_read", "main", "parse_wrk", "wrk"]

BATCH = 50
WRITES_PER_S = 20  # the background writer's pace during the read runs
WRITE_CONNECTIONS, BATCH_CONNECTIONS = 4, 2  # of the single and batch write runs
ORIGIN = "bench.trackrecord.example/http"  # the bench ledger, named by every statement
DEPARTMENTS = ["minbzk/dgo", "minbzk/cio", "minbzk/dso", "minbzk/hr"]
SKILLS = ["python", "sql", "policy-advice", "procurement", "ux", "data-analysis", "legal"]
READ_GOAL_RPS, READ_GOAL_P99_MS, WRITE_GOAL_RATIO = 1000.0, 50.0, 0.5

# Each wrk thread takes its own share of the lines of BENCH_FILE (every BENCH_THREADS-th).
_SHARE_LUA = """
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local lines = {}
local n = 0
function init(args)
  local k, every = 0, tonumber(os.getenv("BENCH_THREADS"))
  for line in io.lines(os.getenv("BENCH_FILE")) do
    if k % every == tid then lines[#lines + 1] = line end
    k = k + 1
  end
end
"""
# Reads cycle through the thread's paths.
READ_LUA = (
    _SHARE_LUA
    + """
request = function()
  n = n + 1
  return wrk.format("GET", lines[(n % #lines) + 1])
end
"""
)
# Writes send each body once; past the last one they repeat it, and the ledger refuses
# the replay (409), which fails the row.
_WRITE_LUA = (
    _SHARE_LUA
    + """
request = function()
  n = n + 1
  return wrk.format("POST", os.getenv("BENCH_PATH"),
                    {["Content-Type"] = "application/json"}, lines[math.min(n, #lines)])
end
"""
)


@dataclass
class Row:
    """One measured operation."""

    operation: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    in_process_per_s: float
    goal: str
    met: bool | None
    note: str = ""  # why a goal was not judged, or what failed it


@dataclass
class World:
    """The bench ledger's people and their keys."""

    operator: Identity
    people: dict[str, Identity]
    managers: dict[str, str]  # department -> manager
    assignments: list[str]


def _seed(tag: str) -> Identity:
    import hashlib

    return Identity(hashlib.sha256(f"bench-http:{tag}".encode()).digest())


def build(service: LedgerService, people: int) -> World:
    """Append the bench ledger (see the module docstring) to an empty ``service``."""
    op = _seed("operator")
    batch: list[SignedStatement] = [
        commands.register_identity(
            Signer(op, ORIGIN),
            person="operator",
            public_key=op.public_key.raw,
            organisation="minbzk",
            department="minbzk/cio",
            display_name="Operator",
        )
    ]
    keys: dict[str, Identity] = {}
    managers: dict[str, str] = {}
    for n in range(people):
        pid, dept = f"p{n:05d}", DEPARTMENTS[n % len(DEPARTMENTS)]
        keys[pid] = _seed(pid)
        batch.append(
            commands.register_identity(
                Signer(op, ORIGIN),
                person=pid,
                public_key=keys[pid].public_key.raw,
                organisation="minbzk",
                department=dept,
                display_name=f"Person {n}",
            )
        )
        if dept not in managers:
            managers[dept] = pid
            batch.append(
                commands.grant_role(Signer(op, ORIGIN), person=pid, role="manager", scope=dept)
            )
    _append_all(service, batch)
    batch = []
    for n, (pid, key) in enumerate(keys.items()):
        batch += [
            commands.change_visibility(Signer(key, ORIGIN), person=pid, part=p, visibility="public")
            for p in ("dossier", "analytical", "ambitions", "free")
        ]
        for k in range(3):
            skills = [SKILLS[(n + k) % len(SKILLS)], SKILLS[(n + 2 * k + 1) % len(SKILLS)]]
            claim = commands.claim_contribution(
                Signer(key, ORIGIN),
                person=pid,
                title=f"Work {k} of {pid}",
                skills=sorted(set(skills)),
                start="2026-01-01",
            )
            batch.append(claim)
            manager = managers[DEPARTMENTS[n % len(DEPARTMENTS)]]
            if manager != pid:
                batch.append(
                    commands.endorse(
                        Signer(keys[manager], ORIGIN),
                        person=pid,
                        contribution=claim.statement.id,
                        grade=3 + (n + k) % 3,
                        role="manager",
                        comment="Good work.",
                    )
                )
    assignments = []
    departments = list(managers.items())
    for n in range(max(1, people // 2)):  # many distinct matching paths
        dept, manager = departments[n % len(departments)]
        aid = str(uuid.UUID(int=n + 1, version=4))
        assignments.append(aid)
        skills = sorted({SKILLS[n % len(SKILLS)], SKILLS[(n + 3) % len(SKILLS)]})
        batch.append(
            commands.post_assignment(
                Signer(keys[manager], ORIGIN),
                assignment=aid,
                organisation="minbzk",
                department=dept,
                title=f"Assignment {n}",
                skills=skills,
                hours_per_week=8,
                ring=Ring.GOVERNMENT.value,
            )
        )
    _append_all(service, batch)
    return World(op, keys, managers, assignments)


def _append_all(service: LedgerService, batch: list[SignedStatement]) -> None:
    for start in range(0, len(batch), 500):
        service.append_batch(batch[start : start + 500])


def presign(world: World, count: int, *, tag: str) -> list[SignedStatement]:
    """``count`` fresh valid claims, spread over the people."""
    people = list(world.people.items())
    return [
        commands.claim_contribution(
            Signer(people[n % len(people)][1], ORIGIN),
            person=people[n % len(people)][0],
            title=f"{tag} {n}",
            skills=["python"],
            start="2026-02-01",
        )
        for n in range(count)
    ]


def rate(fn: Callable[[int], object], count: int, callers: int = 1) -> float:
    """Calls per second of ``fn(i)`` for i in range(count), from ``callers`` threads at
    once (as many as the HTTP run has connections: the service's throughput depends on
    how many requests it has in hand)."""
    started = time.perf_counter()
    if callers == 1:
        for i in range(count):
            fn(i)
    else:
        with ThreadPoolExecutor(callers) as pool:
            for _ in pool.map(fn, range(count)):
                pass
    return count / (time.perf_counter() - started)


def in_process(url: str, world: World, quick: bool, connections: int) -> dict[str, float]:
    """The in-process rate of each operation: the endpoint's own function, on an
    application context built as the service builds it, without HTTP (warm), called
    from as many threads as the HTTP run has connections."""
    from fastapi import Response as FastApiResponse
    from starlette.requests import Request

    from api.cache import ResponseCache
    from api.config import ApiConfig, Bucket
    from api.context import AppContext
    from api.deps import Pagination
    from api.models import BatchSubmission, Submission
    from api.routers.assignments import get_candidates
    from api.routers.people import get_record
    from api.routers.portfolio import get_portfolio
    from api.routers.statements import submit_batch, submit_statement
    from api.visibility import Viewer
    from trackrecord.settings import Settings

    off = Bucket(0, 0)
    config = ApiConfig(write_limit=off, login_limit=off, challenge_limit=off, refusal_limit=off)
    settings = Settings(database_url=url, keys_dir=Path(tempfile.mkdtemp(prefix="bench-http-")))
    ctx = AppContext(settings.open_ledger(), config, None)  # as api.app's lifespan does
    ctx.service.catch_up()
    ctx.read_models.start()
    request = Request({"type": "http", "client": ("127.0.0.1", 0), "headers": []})
    people = list(world.people)
    n = 300 if quick else 1000
    page = Pagination(50, None)  # the endpoint's default page

    def anonymous() -> Viewer:
        return Viewer(ctx.today())  # what api.deps gives a request without a session

    def body_of(fn: Callable[[int], FastApiResponse]) -> Callable[[int], object]:
        return lambda i: fn(i).body

    def record(i: int) -> FastApiResponse:
        return get_record(people[i % len(people)], ctx, anonymous(), page)

    def folio(i: int) -> FastApiResponse:
        return get_portfolio(people[i % len(people)], ctx, anonymous())

    def matching(i: int) -> FastApiResponse:
        return get_candidates(world.assignments[i % len(world.assignments)], ctx, anonymous(), 10)

    singles = [json.dumps(s.as_json()) for s in presign(world, n // 2, tag="in-process single")]
    batches = [
        json.dumps({"statements": [s.as_json() for s in chunk]})
        for chunk in _chunks(presign(world, BATCH * (n // 50), tag="in-process batch"), BATCH)
    ]

    def single(i: int) -> object:
        submission = Submission.model_validate_json(singles[i])
        return submit_statement(submission, request, ctx, FastApiResponse()).model_dump_json()

    def batch(i: int) -> object:
        submission = BatchSubmission.model_validate_json(batches[i])
        return [a.model_dump_json() for a in submit_batch(submission, request, ctx)]

    for i in range(len(people)):  # warm, as the server is after its warm-up pass
        record(i), folio(i)
    for i in range(len(world.assignments)):
        matching(i)
    # Each server read follows a write, so it computes its answer: here the answer
    # cache keeps nothing (it still encodes each answer, as on a miss).
    ctx.answers = ResponseCache(0)
    try:
        return {
            "record": rate(body_of(record), n, connections),
            "portfolio": rate(body_of(folio), n, connections),
            "matching": rate(body_of(matching), n, connections),
            "single write": rate(single, len(singles), WRITE_CONNECTIONS),
            "batch write": BATCH * rate(batch, len(batches), BATCH_CONNECTIONS),
        }
    finally:
        ctx.close()


def _chunks(items: list[SignedStatement], size: int) -> list[list[SignedStatement]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Writer(threading.Thread):
    """Appends presigned claims through ``POST /statements`` at a steady pace until
    stopped; counts what was accepted and what was not."""

    def __init__(self, base: str, bodies: list[str], per_second: float) -> None:
        super().__init__(daemon=True)
        self.base, self.bodies, self.interval = base, bodies, 1.0 / per_second
        self.stop = threading.Event()
        self.accepted = 0
        self.failed: list[str] = []

    def run(self) -> None:
        conn = _connect(self.base)
        due = time.monotonic()
        for body in self.bodies:
            if self.stop.is_set():
                break
            conn.request("POST", "/statements", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
            if response.status == 201:
                self.accepted += 1
            else:
                self.failed.append(f"{response.status} {answer[:120]!r}")
            due += self.interval
            self.stop.wait(max(0.0, due - time.monotonic()))
        else:
            self.failed.append("ran out of presigned statements")
        conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(url: str, port: int) -> None:
    """The service process (``--serve``) as ``trackrecord serve`` runs it (its JSON
    request log included, written to a file by the caller), with rate limits off."""
    from api.config import ApiConfig, Bucket
    from trackrecord.cli.serve import serve
    from trackrecord.settings import Settings

    off = Bucket(0, 0)
    config = ApiConfig(write_limit=off, login_limit=off, challenge_limit=off, refusal_limit=off)
    settings = Settings(database_url=url, keys_dir=Path(tempfile.gettempdir()))
    serve(settings, "127.0.0.1", port, config=config, announce=False)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    base: str, lua: str, env: dict[str, str], *, seconds: int, connections: int
) -> dict[str, Any]:
    """Run wrk with ``lua`` and return requests/s, p50, p99 (ms) and non-2xx responses."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    threads = 2
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
         script.name, base],
        env={**os.environ, **env, "BENCH_THREADS": str(threads)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    os.unlink(script.name)
    return parse_wrk(result.stdout)


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests/s, p50 and p99 (ms), failed requests (non-2xx answers and socket errors)
    and what they were, from the output of ``wrk --latency``."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored: the "+/- Stdev" column (e.g. "90.50%") must not match.
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    failed = {"non-2xx": int(non_2xx.group(1)) if non_2xx else 0}
    if sockets:
        kinds = ("connect", "read", "write", "timeout")
        failed.update(zip(kinds, (int(g) for g in sockets.groups()), strict=True))
    detail = ", ".join(f"{n} {kind}" for kind, n in failed.items() if n)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": sum(failed.values()), "detail": detail}


def _lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(people: int, seconds: int, quick: bool, connections: int) -> list[Row]:
    """Build, measure in process, serve, load; return the table's rows."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench.http needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite://{(work / 'ledger.db').as_posix()}"
        store = open_store(url)
        world = build(LedgerService(store), people)
        store.close()
        print(f"ledger built: {len(world.people)} people", file=sys.stderr)
        reference = in_process(url, world, quick, connections)
        print(f"in process: {reference}", file=sys.stderr)
        # Enough distinct statements for the write runs at up to 2,000 requests/s.
        singles = presign(world, 2000 * seconds, tag="http single")
        batches = presign(world, BATCH * 60 * seconds, tag="http batch")
        background = presign(world, 3 * (WRITES_PER_S * seconds + 50), tag="http background")
        single_file = _lines(work / "single.jsonl", [json.dumps(s.as_json()) for s in singles])
        batch_bodies = [
            json.dumps({"statements": [s.as_json() for s in chunk]})
            for chunk in _chunks(batches, BATCH)
        ]
        batch_file = _lines(work / "batch.jsonl", batch_bodies)
        shuffle = random.Random(7).sample
        people_ids = shuffle(list(world.people), len(world.people))
        read_paths = {
            "record": [f"/people/{p}/record" for p in people_ids],
            "portfolio": [f"/people/{p}/portfolio" for p in people_ids],
            "matching": [
                f"/assignments/{a}/candidates"
                for a in shuffle(world.assignments, len(world.assignments))
            ],
        }
        port = _free_port()
        server_log = (work / "server.log").open("w", encoding="utf-8")
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.http", "--serve", url, "--port", str(port)],
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base)
            rows = []
            for k, (name, paths) in enumerate(read_paths.items()):
                path_file = _lines(work / f"{name}.txt", paths)
                share = background[k::3]
                rows.append(
                    _read_row(name, base, path_file, len(paths), share, seconds, connections,
                              reference[name])
                )  # fmt: skip
            got = wrk(
                base, _WRITE_LUA, {"BENCH_FILE": single_file, "BENCH_PATH": "/statements"},
                seconds=seconds, connections=WRITE_CONNECTIONS,
            )  # fmt: skip
            ratio = got["rps"] / reference["single write"]
            rows.append(
                Row("single write", got["rps"], got["p50"], got["p99"], got["errors"],
                    reference["single write"], f">= {WRITE_GOAL_RATIO:.0%} of in-process",
                    ratio >= WRITE_GOAL_RATIO and got["errors"] == 0,
                    _failures(got["errors"], got["detail"]))
            )  # fmt: skip
            got = wrk(
                base, _WRITE_LUA, {"BENCH_FILE": batch_file, "BENCH_PATH": "/statements/batch"},
                seconds=seconds, connections=BATCH_CONNECTIONS,
            )  # fmt: skip
            rows.append(
                Row(f"batch write ({BATCH}/req, statements/s)", got["rps"] * BATCH, got["p50"],
                    got["p99"], got["errors"], reference["batch write"],
                    "every request accepted (rate for scale)",
                    got["errors"] == 0, _failures(got["errors"], got["detail"]))
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(30)
            server_log.close()
            lines = (work / "server.log").read_text(encoding="utf-8").splitlines()
            print(f"server log: {len(lines)} lines, ending with", *lines[-3:], sep="\n  ",
                  file=sys.stderr)  # fmt: skip
    return rows


def _read_row(
    name: str,
    base: str,
    path_file: str,
    paths: int,
    background: list[SignedStatement],
    seconds: int,
    connections: int,
    reference: float,
) -> Row:
    """One read run under ``wrk`` with the background writer going; judged only if the
    reads were uncached (see the module docstring)."""
    _warm(base, path_file)
    writer = Writer(base, [json.dumps(s.as_json()) for s in background], WRITES_PER_S)
    writer.start()
    try:
        got = wrk(base, READ_LUA, {"BENCH_FILE": path_file}, seconds=seconds,
                  connections=connections)  # fmt: skip
    finally:
        writer.stop.set()
        writer.join(30)
    errors = got["errors"] + len(writer.failed)
    goal = f">= {READ_GOAL_RPS:.0f} req/s, p99 < {READ_GOAL_P99_MS:.0f} ms, uncached"
    met, note = judge_read(got, paths, seconds, writer.accepted, writer.failed)
    return Row(name, got["rps"], got["p50"], got["p99"], errors, reference, goal, met, note)


def judge_read(
    got: dict[str, Any], paths: int, seconds: int, writes: int, writer_failed: list[str]
) -> tuple[bool | None, str]:
    """The verdict on a read run (``got`` from :func:`parse_wrk`) over ``paths`` distinct
    paths while ``writes`` background writes landed in ``seconds``: failed if any request
    failed, not measured (None) unless two writes fell between two reads of a path, else
    whether the goal was met; and a note saying why."""
    again = paths / got["rps"]  # seconds until a path is read again
    note = f"{writes} writes in {seconds} s; each path again after {again:.2f} s"
    if writer_failed:
        note += f"; writer: {writer_failed[0]}"
    if got["errors"] or writer_failed:
        return False, f"{_failures(got['errors'] + len(writer_failed), got['detail'])}; {note}"
    if writes == 0 or again < 2 * seconds / writes:
        return None, f"not measured: too few writes between two reads of a path; {note}"
    return got["rps"] >= READ_GOAL_RPS and got["p99"] < READ_GOAL_P99_MS, note


def _warm(base: str, path_file: str) -> None:
    """Request every path once, untimed (as the in-process reference is warmed)."""
    conn = _connect(base)
    for path in Path(path_file).read_text(encoding="utf-8").split():
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"warm-up: GET {path} answered {response.status}")
    conn.close()


def _connect(base: str) -> http.client.HTTPConnection:
    host, port = base.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def _failures(errors: int, detail: str = "") -> str:
    if not errors:
        return ""
    return f"{errors} requests failed" + (f" ({detail})" if detail else "")


def _wait(base: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/log", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the service did not start")


def _table(rows: list[Row]) -> str:
    head = f"{'operation':38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
    head += f"{'in-process/s':>13} {'ratio':>6}  goal"
    lines = [head, "-" * len(head)]
    for r in rows:
        met = " (not measured)" if r.met is None else (" ✓" if r.met else " ✗")
        lines.append(
            f"{r.operation:38} {r.requests_per_s:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
            f"{r.errors:7d} {r.in_process_per_s:13.0f} {r.requests_per_s / r.in_process_per_s:6.2f}"
            f"  {r.goal}{met}" + (f"  [{r.note}]" if r.note else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--serve``, be the service process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer people, shorter runs")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument(
        "--connections", type=int, default=8, help="concurrent connections of the read runs"
    )
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve, args.port)
        return 0
    people = args.people or (200 if args.quick else 1000)
    seconds = args.seconds or (4 if args.quick else 10)
    rows = run(people, seconds, args.quick, args.connections)
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
