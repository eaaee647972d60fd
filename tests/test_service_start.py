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

pytestmark = pytest.mark.postgres

ROUNDS = 3
PROCESSES = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).parent / "trackrecord"
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(script), "--db", url, "serve", "--port", str(port)],
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
