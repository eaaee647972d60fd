"""Service processes started together on one fresh PostgreSQL ledger all come up (issue 13).

Before, two ``trackrecord serve`` processes started at the same moment both created the
read models' tables, and one died at startup in most tries (``UniqueViolation`` on
``projection_tracking``: ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent
``CREATE``). Table creation now holds an advisory lock
(:data:`ledger.store.base.SCHEMA_LOCK`). These tests start real processes of the installed
console script, several rounds on fresh databases, and open stores from threads at once.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ledger.store import Store, open_store
from projections import open_projector
from tests import pgcluster
from tests.support.api_server import UNLIMITED, Live, login, make_cast

pytestmark = pytest.mark.postgres

ROUNDS = 3
PROCESSES = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, port: int, log: Path, *options: str) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).parent / "trackrecord"
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(script), "--db", url, "serve", "--port", str(port), *options],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ), start_new_session=True,
        )  # fmt: skip


def _wait_up(process: subprocess.Popen[bytes], port: int, log: Path, deadline: float) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        while True:
            if process.poll() is not None:
                pytest.fail(f"a service died at startup:\n{log.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"a service did not come up:\n{log.read_text(errors='replace')}")
            try:
                if client.get("/log").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)


def test_services_started_together_on_a_fresh_ledger_all_come_up(
    postgres_server_url: str, tmp_path: Path
) -> None:
    for round_ in range(ROUNDS):
        with pgcluster.fresh_database(postgres_server_url) as url:
            open_store(url).close()  # the ledger, as `trackrecord init` leaves it: no read models
            ports = [_free_port() for _ in range(PROCESSES)]
            logs = [tmp_path / f"serve-{round_}-{i}.log" for i in range(PROCESSES)]
            processes = [_serve(url, p, log) for p, log in zip(ports, logs, strict=True)]
            try:
                deadline = time.monotonic() + 90
                for process, port, log in zip(processes, ports, logs, strict=True):
                    _wait_up(process, port, log, deadline)
            finally:
                for process in processes:
                    if process.poll() is None:
                        os.killpg(process.pid, signal.SIGTERM)
                for process in processes:
                    process.wait(30)


def _at_once(count: int, work: Callable[[], None]) -> list[BaseException]:
    """Run ``work`` on ``count`` threads released together; return what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def one() -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_stores_opened_at_once_on_an_empty_database_all_open(postgres_server_url: str) -> None:
    """The ledger's own tables: several processes (here threads) creating them together."""
    for _ in range(ROUNDS):
        with pgcluster.fresh_database(postgres_server_url) as url:
            assert _at_once(4, lambda: open_store(url).close()) == []


def test_read_models_set_up_at_once_on_a_fresh_ledger_all_set_up(
    postgres_server_url: str,
) -> None:
    """The read models' tables, as each service process creates them when it starts: the
    threads are released together, so their ``CREATE TABLE`` statements really collide."""
    for _ in range(ROUNDS):
        with pgcluster.fresh_database(postgres_server_url) as url:
            store = open_store(url)
            try:
                assert _at_once(4, functools.partial(_set_up_read_models, store)) == []
            finally:
                store.close()


def _set_up_read_models(store: Store) -> None:
    open_projector(store).engine.dispose()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_workers_runs_them_over_one_database(
    postgres_server_url: str, tmp_path: Path
) -> None:
    """``trackrecord serve --workers 2`` on a ledger without read models yet: both workers
    set up together, and a login made at any worker holds at every other one."""
    with pgcluster.fresh_database(postgres_server_url) as url:
        open_store(url).close()
        port, log = _free_port(), tmp_path / "workers.log"
        process = _serve(url, port, log, "--workers", "2")
        try:
            _wait_up(process, port, log, time.monotonic() + 90)
            deadline = time.monotonic() + 30
            while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            # uvicorn's supervisor, and under it the two workers (and nothing restarted)
            assert len(_children(process.pid)) >= 2, log.read_text(errors="replace")
            # a new connection for every request: the kernel hands them to either worker
            fresh = httpx.Limits(max_keepalive_connections=0)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", limits=fresh) as client:
                live = Live(f"http://127.0.0.1:{port}", url, client, UNLIMITED)
                alice = make_cast(live, "workers")["alice"].identity
                bearer = {"Authorization": f"Bearer {login(live, alice)}"}
                for _ in range(10):
                    assert client.get("/auth/session", headers=bearer).status_code == 200
                    assert client.get("/people/workers-alice/portfolio").status_code == 200
            assert "Traceback" not in log.read_text(errors="replace")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
