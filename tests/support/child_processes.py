"""Short-lived child processes of a test or a service (:mod:`ledger.child_process`): found
by their parent and module in /proc, and held up at their first write, so a test can
stop, inspect or kill one in the middle of its step."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["await_child", "await_waiting", "children", "writes_held"]

_BOUND = 120.0  # seconds: a bound for a loaded machine, never a timing


def children(parent: int, module: bytes) -> list[int]:
    """The process ids of the children of ``parent`` that run ``python -m module``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and module in command.split(b"\0"):
            found.append(int(entry.name))
    return found


def await_child(parent: int, module: bytes) -> int:
    """The first child of ``parent`` running ``module``, once there is one."""
    deadline = time.monotonic() + _BOUND
    while not (found := children(parent, module)):
        assert time.monotonic() < deadline, f"no child running {module!r} started"
        time.sleep(0.02)
    return found[0]


@contextlib.contextmanager
def writes_held(url: str, postgres: str, *params: Any) -> Iterator[None]:
    """Hold writes up until the block ends: on SQLite the database's write lock (a child
    then waits at its first write), on PostgreSQL what the statement ``postgres`` (with
    ``params``) takes in a transaction of its own (a lock its step waits for). Readers are
    not held up."""
    if url.startswith("sqlite"):
        path = urllib.parse.urlsplit(url).path
        lite = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            lite.execute("BEGIN IMMEDIATE")
            yield
            lite.execute("ROLLBACK")
        finally:
            lite.close()
        return
    with psycopg.connect(url) as pg:
        pg.execute(postgres, params)
        try:
            yield
        finally:
            pg.rollback()


def await_waiting(url: str, child: int) -> None:
    """Wait until ``child`` waits for what :func:`writes_held` holds."""
    deadline = time.monotonic() + _BOUND
    while time.monotonic() < deadline:
        if url.startswith("sqlite"):
            # SQLite's busy handler sleeps between its tries for the write lock
            if Path(f"/proc/{child}/wchan").read_text() == "hrtimer_nanosleep":
                return
        else:
            with psycopg.connect(url, autocommit=True) as pg:
                waiting = pg.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                ).fetchone()
                if waiting is not None and waiting[0] > 0:
                    return
        time.sleep(0.02)
    raise AssertionError(f"the child {child} never waited for the held lock")
