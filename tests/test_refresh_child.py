"""The reputation refresh in a short-lived child process (issue 13: a service's memory is
bounded independently of the ledger's size; :mod:`projections.child`).

On both backends, with real processes: a refresh in a child stores what the same refresh
in process stores; a child killed (SIGKILL) in the middle of a refresh leaves the read
models as they were, and the next refresh succeeds; a real ``trackrecord serve`` answers
reads while its refresh child runs. (That the service's own memory does not grow by the
refresh's working set is measured in bench/README.md, "The refresh in a child process":
at test sizes the difference is below the noise of a Python process's RSS.)
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from sqlalchemy import Engine, select

from projections import REFRESH_IN, EntryReader, RefreshFailed
from projections.db import REFRESH_LOCK
from projections.matching import tables as mt
from projections.reputation import tables as rep
from projections.reputation.queries import snapshot_scores
from projections.runner import REFRESH_SPACING
from projections.verify import verify_read_models
from tests.factories import random_statements
from tests.support.child_processes import await_child, await_waiting, children, writes_held
from tests.support.projections import AT, LedgerEnv, ledger_env, snapshot
from trackrecord.cli.options import RefreshInOption

_CHILD = b"projections.child_main"


def _statements(count: int) -> list[Any]:
    return random_statements(random.Random(61), count, seed="child")[1]


def _served(engine: Engine) -> dict[str, Any]:
    """What readers are served of the refresh: its mark and every person's scores."""
    with engine.connect() as conn:
        people = sorted({p for (p,) in conn.execute(select(rep.ratings.c.subject))})
        mark = rep.refresh_state.c
        marks = conn.execute(select(mark.position, mark.at, mark.people)).all()
        return {"mark": [tuple(r) for r in marks]} | {p: snapshot_scores(conn, p) for p in people}


def _unbound(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The read models' rows without the MAC column of the refresh marks."""
    for table in (rep.refresh_state, mt.refresh_state):
        mac = list(table.c.keys()).index("inputs_mac")
        rows[table.name] = [row[:mac] + row[mac + 1 :] for row in rows[table.name]]
    return rows


def _children(parent: int) -> list[int]:
    """The refresh children of process ``parent``."""
    return children(parent, _CHILD)


def _writes_held(url: str) -> AbstractContextManager[None]:
    """Hold what a refresh waits for before it writes: on PostgreSQL the refresh lock
    (:data:`~projections.db.REFRESH_LOCK`), which it takes once its results are computed; on
    SQLite the database's write lock (the child then waits at its first write, opening
    the ledger)."""
    return writes_held(url, "SELECT pg_advisory_xact_lock(%s)", REFRESH_LOCK)


def _await_child(parent: int) -> int:
    return await_child(parent, _CHILD)


def test_the_cli_offers_the_places_a_refresh_runs_in() -> None:
    assert get_args(get_args(RefreshInOption)[0]) == REFRESH_IN


def test_a_refresh_in_a_child_stores_what_one_in_process_stores(
    fresh_url: Callable[[], AbstractContextManager[str]],
) -> None:
    statements = _statements(60)
    with (
        fresh_url() as in_process_url,
        fresh_url() as child_url,
        ledger_env(in_process_url) as here,
        ledger_env(child_url) as there,
    ):
        for env in (here, there):
            env.append(statements)
            env.projector.catch_up()
        there.projector.refresh_in = "child"
        took = there.projector.refresh(at=AT)
        assert set(took) == {"reputation", "matching"}
        assert _children(os.getpid()) == []  # reaped
        here.projector.refresh(at=AT)
        with there.engine.connect() as conn:
            assert conn.execute(select(rep.scores)).first() is not None  # scores stored
        # equal but for the MACs of what each refresh counted: each ledger has its own row
        # key (verify_read_models checks the child's MAC below)
        assert _unbound(snapshot(there.engine)) == _unbound(snapshot(here.engine))
        assert _served(there.engine) == _served(here.engine)
        verify_read_models(EntryReader(there.store), there.engine)
        assert there.projector.refresh_seconds().keys() == {"reputation", "matching"}


def test_a_child_killed_mid_refresh_leaves_the_read_models_as_they_were(
    database_url: str,
) -> None:
    statements = _statements(80)
    with ledger_env(database_url) as env:
        env.append(statements[:50])
        env.projector.catch_up()
        env.projector.refresh(at=AT)
        env.append(statements[50:])  # what the killed refresh would have counted
        env.projector.catch_up()
        before = _served(env.engine)
        env.projector.refresh_in = "child"
        failed: list[RefreshFailed] = []

        def refresh() -> None:
            try:
                env.projector.refresh(["reputation"], at=AT + 60)
            except RefreshFailed as exc:
                failed.append(exc)

        with _writes_held(database_url):
            worker = threading.Thread(target=refresh)
            worker.start()
            child = _await_child(os.getpid())
            await_waiting(database_url, child)
            os.kill(child, signal.SIGKILL)
            worker.join(60)
        assert [type(e) for e in failed] == [RefreshFailed]
        assert "killed by SIGKILL" in str(failed[0])
        assert _served(env.engine) == before
        # tried again when due, spaced from the failed attempt like a refresh that ran
        spacing = max(30.0, REFRESH_SPACING * failed[0].seconds)
        assert "reputation" not in env.projector.due_refreshes(every=30, at=AT + 60 + 29)
        later = AT + 60 + int(spacing) + 1
        assert "reputation" in env.projector.due_refreshes(every=30, at=later)
        env.projector.refresh(["reputation"], at=later)
        after = _served(env.engine)
        assert after["mark"] != before["mark"]
        assert after != before
        assert "reputation" not in env.projector.due_refreshes(every=30, at=later + 10**6)
        verify_read_models(EntryReader(env.store), env.engine)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_service_answers_reads_while_its_refresh_child_runs(
    database_url: str, tmp_path: Path
) -> None:
    statements = _statements(60)
    with ledger_env(database_url) as env:
        env.append(statements[:40])
        env.projector.catch_up()
        env.projector.refresh(at=int(time.time()) - 3600)  # an hour ago
        env.append(statements[40:])  # so a refresh is due once the service has them
        people = sorted({s.statement.subject for s in statements})[:8]
        before = _served(env.engine)
        _serve_and_read(env, database_url, people, tmp_path / "serve.log")
        after = _served(env.engine)
        assert after["mark"] != before["mark"]  # the child's refresh was stored
        verify_read_models(EntryReader(env.store), env.engine)


def _await_serving(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/healthz", timeout=30).status_code == 200:
                return
        assert server.poll() is None, "the service ended"
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)


def _serve_and_read(env: LedgerEnv, url: str, people: list[str], log: Path) -> None:
    """Serve ``url``; freeze its refresh child (SIGSTOP) as soon as it appears, read every
    person's record, portfolio and reputation meanwhile, then let the child go on."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "trackrecord", "--db", url, "serve", "--port", str(port)]
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [*command, "--refresh-every", "1"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        child = _await_child(server.pid)
        os.kill(child, signal.SIGSTOP)
        try:
            _await_serving(base, server)
            answers = [
                httpx.get(f"{base}/people/{p}/{what}", timeout=30).status_code
                for p in people
                for what in ("record", "portfolio", "reputation")
            ]
            assert _children(server.pid) == [child]  # all answered while it was refreshing
        finally:
            os.kill(child, signal.SIGCONT)
        assert all(code < 500 for code in answers), answers
        assert 200 in answers
        deadline = time.monotonic() + 120  # a bound for a loaded machine, not a timing
        while b"refreshed reputation" not in log.read_bytes():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert _children(server.pid) == []
        assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def test_refreshes_in_process_where_a_child_cannot_open_the_database(
    database_url: str,
) -> None:
    """A store opened with a key handed over in memory: the child could not read it, so the
    refresh runs in process (projections.child.child_unavailable)."""
    with ledger_env(database_url) as env:
        env.append(_statements(30))
        env.projector.catch_up()
        env.projector.refresh_in = "child"
        env.store.service_key_file = None
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        env.projector.refresh(at=AT)
        # no child ran (one reaped would count here)
        assert resource.getrusage(resource.RUSAGE_CHILDREN) == children
        verify_read_models(EntryReader(env.store), env.engine)


def test_a_child_past_its_timeout_is_killed_and_the_refresh_fails(database_url: str) -> None:
    with ledger_env(database_url) as env:
        env.append(_statements(30))
        env.projector.catch_up()
        env.projector.refresh(at=AT)
        before = _served(env.engine)
        env.projector.refresh_in = "child"
        env.projector.refresh_timeout = 0.5
        with _writes_held(database_url), pytest.raises(RefreshFailed, match="timeout of 0 s"):
            env.projector.refresh(["reputation"], at=AT + 60)
        assert _children(os.getpid()) == []
        assert _served(env.engine) == before


def test_a_child_that_fails_is_a_failed_refresh_with_its_log(
    database_url: str, tmp_path: Path
) -> None:
    """A child that cannot open the ledger (another service key than the ledger's) exits
    with an error: the refresh fails, naming it."""
    with ledger_env(database_url) as env:
        env.append(_statements(30))
        env.projector.catch_up()
        other = tmp_path / "other.key"
        other.write_bytes(os.urandom(32))
        env.projector.refresh_in = "child"
        env.store.service_key_file = other
        failed = r"(?s)exited with status 1; its log ends: .*does not belong to this ledger"
        with pytest.raises(RefreshFailed, match=failed):
            env.projector.refresh(at=AT)
        assert _served(env.engine)["mark"] == []  # never refreshed


def test_a_child_that_cannot_start_is_a_failed_refresh(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interpreter gone (a service whose installation was replaced under it): the
    refresh fails, and is tried again after the spacing, not at every round."""
    with ledger_env(sqlite_url) as env:
        env.append(_statements(30))
        env.projector.catch_up()
        env.projector.refresh_in = "child"
        monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "python"))
        with pytest.raises(RefreshFailed, match="could not be started"):
            env.projector.refresh(at=AT)
        assert env.projector.due_refreshes(every=30, at=AT + 29) == []
        assert sorted(env.projector.due_refreshes(every=30, at=AT + 30)) == [
            "matching",
            "reputation",
        ]


def test_a_child_is_stopped_with_the_process_that_waits_for_it(sqlite_url: str) -> None:
    """The service stopping (ReadModels.close sets ``refresh_stop``) kills its refresh child:
    it does not go on writing to a database an operator may be upgrading."""
    with ledger_env(sqlite_url) as env:
        env.append(_statements(30))
        env.projector.catch_up()
        env.projector.refresh_in = "child"
        failed: list[RefreshFailed] = []

        def refresh() -> None:
            try:
                env.projector.refresh(at=AT)
            except RefreshFailed as exc:
                failed.append(exc)

        with _writes_held(sqlite_url):
            worker = threading.Thread(target=refresh)
            worker.start()
            _await_child(os.getpid())
            env.projector.refresh_stop.set()
            worker.join(60)
        assert _children(os.getpid()) == []
        assert len(failed) == 1
        assert "killed: the process that started it is stopping" in str(failed[0])
        assert _served(env.engine)["mark"] == []


_PARENT = """
import sys
from ledger.store import open_store
from projections.child import refresh_in_child
store = open_store(sys.argv[1], create=False)
print("open", flush=True)
sys.stdin.readline()
refresh_in_child(store, ["reputation"], at=int(sys.argv[2]))
"""


def test_a_child_dies_with_a_parent_killed_outright(sqlite_url: str) -> None:
    """A service killed by SIGKILL (the OOM killer, say) takes its refresh child with it
    (ledger.child_process.read_spec): no orphan goes on writing to the database."""
    with ledger_env(sqlite_url) as env:
        env.append(_statements(30))
        env.projector.catch_up()
        parent = subprocess.Popen(
            [sys.executable, "-c", _PARENT, sqlite_url, str(AT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert parent.stdin is not None
        assert parent.stdout is not None
        try:
            assert parent.stdout.readline() == b"open\n"
            with _writes_held(sqlite_url):  # the child waits to open the ledger
                parent.stdin.write(b"go\n")
                parent.stdin.flush()
                child = _await_child(parent.pid)
                await_waiting(sqlite_url, child)  # past its start: it runs the refresh
                os.kill(parent.pid, signal.SIGKILL)
                parent.wait(30)
                # well within the 30 s the child would wait for the lock before failing
                deadline = time.monotonic() + 10
                while _running(child):
                    assert time.monotonic() < deadline, f"the refresh child {child} outlived it"
                    time.sleep(0.02)
        finally:
            parent.kill()
            parent.wait(30)
        assert _served(env.engine)["mark"] == []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended (its reaper may be slow to wait for it)
