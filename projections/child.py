"""The refresh step in a short-lived child process, so a service's memory and GIL stay its own.

A refresh reads every active rating into columns, scores them and writes the results
(:meth:`projections.reputation.ReputationModel.refresh`): at 10^6 entries 5.5-6.1 s of CPU
and 141 MiB more at its peak, growing with the ledger (about 60 s and 1.4 GiB at 10^7),
and its Python parts hold the GIL while the requests of the process that runs it wait.
:func:`refresh_in_child` runs the whole refresh cycle (:meth:`Projector.refresh
<projections.runner.Projector.refresh>`, read, compute and write, exactly as in process)
in a new Python process that opens its own store and engine on the same database URL,
and waits for it without holding the GIL. The child's memory is given back when it ends,
so a long-running process (``trackrecord serve``, ``trackrecord projections follow``)
stays bounded independently of the ledger's size (docs/operations.md, "Memory"). The
one-shot commands that refresh (``projections rebuild``, ``migrate``, ``projections verify``
and ``audit`` on their scratch copy) refresh in process: their memory ends with them, and
a child would not lower their peak (they wait for it).

Why a ``python -m projections.child_main`` subprocess, not :mod:`multiprocessing` ("spawn"):
a spawned child imports the parent's ``__main__`` again (the ``trackrecord`` script,
uvicorn's worker, pytest), which does work and may have side effects; a subprocess runs
only this module, with a narrow interface (what to refresh on stdin, a one-line report on
stdout, its log on stderr), and :func:`os.wait4` gives the exact CPU time and peak RSS of
that one child, where ``RUSAGE_CHILDREN`` only keeps the largest child's peak ever.

The child opens the ledger with the service key the parent read (the same key file, named
in ``TRACKRECORD_SERVICE_KEY``) and the database URL on stdin (not on its command line,
where another user of the host could read a PostgreSQL password). A child that dies
(killed by the kernel's OOM killer or by the timeout, or an exception) leaves the read
models as readers saw them: it publishes nothing, and the rows of the generation it was
writing are removed by the next refresh that publishes
(:mod:`projections.reputation.generations`). That is a
:class:`RefreshFailed`, which the projector spaces like a refresh that ran
(:meth:`~projections.runner.Projector.due_refreshes`).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ledger.store import Store
from ledger.vault import SERVICE_KEY_ENV

from .errors import ProjectionError

__all__ = [
    "CHILD_TIMEOUT",
    "REFRESH_IN",
    "ChildRefresh",
    "RefreshFailed",
    "RefreshIn",
    "child_unavailable",
    "refresh_in_child",
]

RefreshIn = Literal["child", "process"]
"""Where a refresh runs: in a short-lived ``child`` process, or in this ``process``."""
REFRESH_IN: tuple[RefreshIn, ...] = ("child", "process")

CHILD_TIMEOUT = 3600.0
"""Seconds a refresh child may run before it is killed (a refresh at 10^7 entries is
expected to take about a minute of CPU)."""

_LOG = logging.getLogger("projections")
_MODULE = "projections.child_main"  # the child's entry point
_STDERR_KEPT = 4000  # characters of a failed child's log carried in the error
_WATCH_EVERY = 0.25  # seconds between the watcher's looks at the stop event
_ROOT = Path(__file__).resolve().parent.parent  # where this code is imported from


@dataclass(frozen=True)
class ChildRefresh:
    """What one refresh child did: how long each refresh step took in it (``took``, by
    read model, as the in-process refresh measures it), and the child's own wall-clock
    ``seconds`` (start to exit), ``cpu`` seconds (user + system) and ``peak_rss`` (bytes)."""

    took: dict[str, float]
    seconds: float
    cpu: float
    peak_rss: int


class RefreshFailed(ProjectionError):
    """A refresh child ended without refreshing: killed (by the kernel's OOM killer, by the
    timeout or by an operator), exited with an error, or could not be started. The read
    models keep their last refresh; ``seconds``: how long the attempt ran."""

    code = "refresh_failed"

    def __init__(self, names: list[str], reason: str, seconds: float) -> None:
        super().__init__(
            f"the refresh of {', '.join(names)} in a child process failed after "
            f"{seconds:.1f} s: {reason}"
        )
        self.names = names
        self.reason = reason
        self.seconds = seconds


def child_unavailable(store: Store) -> str | None:
    """Why a refresh of ``store``'s read models cannot run in a child process (then it runs
    in process), or None if it can."""
    parsed = urllib.parse.urlsplit(store.url)
    if parsed.scheme == "sqlite" and parsed.path in ("", ":memory:"):
        # another process cannot see an in-memory SQLite database
        return "the database is an in-memory SQLite database"
    if store.service_key_file is None:
        return "the service key was handed to this process, not read from a file"
    if not (hasattr(os, "waitid") and hasattr(os, "wait4")):
        return "this system has no waitid/wait4"
    return None


def refresh_in_child(
    store: Store,
    names: list[str],
    *,
    at: int,
    timeout: float = CHILD_TIMEOUT,
    stop: threading.Event | None = None,
) -> ChildRefresh:
    """Run the refresh steps of the read models ``names`` as of Unix time ``at`` in a new
    child process on ``store``'s database (:func:`child_unavailable` must be None); wait
    for it, at most ``timeout`` seconds and until ``stop`` is set (the process that waits
    is stopping: the child must not outlive it, writing to a database an operator may be
    upgrading), without holding the GIL.

    Raises :class:`RefreshFailed` if the child was killed or exited with an error.
    """
    assert store.service_key_file is not None, child_unavailable(store)
    env = {**os.environ, SERVICE_KEY_ENV: str(Path(store.service_key_file).absolute())}
    if str(_ROOT) not in site.getsitepackages():  # a checkout: the child runs it too
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    spec = json.dumps({"url": store.url, "names": names, "at": at}).encode()
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                # -P: the working directory is not put first on its import path
                [sys.executable, "-P", "-m", _MODULE],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=env,
                cwd=_ROOT,
            )
        except OSError as exc:  # no memory or processes left to start one
            raise RefreshFailed(names, f"it could not be started: {exc}", 0.0) from exc
        _LOG.info("refreshing %s in child process %d", ", ".join(names), proc.pid)
        status, usage, killed = _wait(proc, spec, timeout, stop)
        seconds = time.monotonic() - started
        report, log = _read(out), _read(err)
    code = os.waitstatus_to_exitcode(status)
    for line in log.splitlines():
        _LOG.info("refresh child %d: %s", proc.pid, line)
    if code != 0:
        raise RefreshFailed(names, _reason(code, killed, timeout, log), seconds)
    try:
        took = {str(k): float(v) for k, v in json.loads(report)["took"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RefreshFailed(names, f"its report is not one: {report[-200:]!r}", seconds) from exc
    done = ChildRefresh(took, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
    _LOG.info(
        "refreshed %s in child process %d: %.1f s (%.1f s CPU), peak RSS %.0f MiB",
        ", ".join(names),
        proc.pid,
        done.seconds,
        done.cpu,
        done.peak_rss / 2**20,
    )
    return done


def _wait(
    proc: subprocess.Popen[bytes], spec: bytes, timeout: float, stop: threading.Event | None
) -> tuple[int, resource.struct_rusage, str | None]:
    """Hand ``proc`` its ``spec`` and wait for it to end, killing it after ``timeout``
    seconds or once ``stop`` is set; its wait status, resource usage and why it was killed
    (``"timeout"``, ``"stop"``; None: not by this process).

    The wait is :func:`os.waitid` with ``WNOWAIT`` (a blocking system call, which releases
    the GIL), so the child stays unreaped, and its process id cannot be reused, until the
    watcher that may kill it is off; then :func:`os.wait4` reaps it with its own usage.
    """
    lock = threading.Lock()
    ended = threading.Event()
    killed: list[str] = []

    def kill(why: str) -> None:
        with lock:
            if not ended.is_set():
                killed.append(why)
                os.kill(proc.pid, signal.SIGKILL)

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not ended.wait(min(_WATCH_EVERY, max(0.0, deadline - time.monotonic()))):
            if stop is not None and stop.is_set():
                kill("stop")
                return
            if time.monotonic() >= deadline:
                kill("timeout")
                return

    watcher = threading.Thread(target=watch, name=f"refresh-child-{proc.pid}", daemon=True)
    watcher.start()
    try:
        assert proc.stdin is not None
        try:
            proc.stdin.write(spec)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the child ended before reading: its status says why
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    except BaseException:  # interrupted while waiting: the child must not outlive it
        kill("stop")
        raise
    finally:
        with lock:
            ended.set()
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
    return status, usage, killed[0] if killed else None


def _read(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode("utf-8", "replace").strip()


def _reason(code: int, killed: str | None, timeout: float, log: str) -> str:
    if killed == "timeout":
        why = f"killed after the timeout of {timeout:.0f} s"
    elif killed == "stop":
        why = "killed: the process that started it is stopping"
    elif code < 0:
        name = signal.Signals(-code).name
        why = f"killed by {name}" + (
            " (the kernel's OOM killer sends it when memory runs out)" if name == "SIGKILL" else ""
        )
    else:
        why = f"it exited with status {code}"
    return why + (f"; its log ends: {log[-_STDERR_KEPT:]}" if log else "")
