"""A step of a long-running process run in a short-lived child process, so that the step's
memory and the GIL stay the process's own (issue 13).

Two steps of a service grow with the ledger: the reputation refresh
(:mod:`projections.child`) and the hashing of a checkpoint's heads tree
(:mod:`ledger.tree_child`), each 4-6 s of CPU and 140-180 MiB more at their peak at 10^6
entries. :func:`run_child` runs such a step as ``python -m <module>`` on the same
database, waits for it without holding the GIL (its requests go on meanwhile), and gives
back its report and what it cost; the child's memory is given back when it ends.

Why a ``python -m`` subprocess, not :mod:`multiprocessing` ("spawn"): a spawned child
imports the parent's ``__main__`` again (the ``trackrecord`` script, uvicorn's worker,
pytest), which does work and may have side effects; a subprocess runs only the step's
module, with a narrow interface (what to do as JSON on stdin, a one-line JSON report on
stdout, its log on stderr), and :func:`os.wait4` gives the exact CPU time and peak RSS of
that one child, where ``RUSAGE_CHILDREN`` only keeps the largest child's peak ever.

What the child is handed: the database URL on stdin (not on its command line, where
another user of the host could read a PostgreSQL password); the path of the service key
file in ``TRACKRECORD_SERVICE_KEY`` (the path, not the key); and the environment of this
process WITHOUT its ``TRACKRECORD_*`` variables, which may carry secrets the child has no
use for (the operator keystore's passphrase that ``serve --workers`` hands its workers,
an OIDC client secret, an SMTP password). No private key is ever handed to a child: the
operator's key stays in the service, which signs what the child computed
(:meth:`ledger.transparency.TransparencyLog.issue_checkpoint`).

A child that dies (the kernel's OOM killer, the timeout, an operator, an exception) is a
:class:`ChildFailed`: what it wrote in its own transactions stays (the steps are written
so that it is harmless), what it had not committed is rolled back by the database.
"""

from __future__ import annotations

import contextlib
import ctypes
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
from typing import IO, Any, Literal

from .store import Store
from .vault import SERVICE_KEY_ENV

__all__ = [
    "RUN_IN",
    "ChildFailed",
    "ChildRun",
    "RunIn",
    "child_environment",
    "child_unavailable",
    "read_spec",
    "run_child",
]

RunIn = Literal["child", "process"]
"""Where a step runs: in a short-lived ``child`` process, or in this ``process``."""
RUN_IN: tuple[RunIn, ...] = ("child", "process")

_LOG = logging.getLogger("ledger.child_process")
_STDERR_KEPT = 4000  # characters of a failed child's log carried in the error
_WATCH_EVERY = 0.25  # seconds between the watcher's looks at the stop event
_ROOT = Path(__file__).resolve().parent.parent  # where this code is imported from
_SECRETS_PREFIX = "TRACKRECORD_"  # the variables a child is not handed (but the key path)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PARENT_GONE = 3  # a child's exit status when the process that started it is gone


@dataclass(frozen=True)
class ChildRun:
    """What one child did: its ``report`` (the JSON object it printed), its process id,
    wall-clock ``seconds`` (start to exit), ``cpu`` seconds (user + system) and
    ``peak_rss`` (bytes)."""

    report: dict[str, Any]
    pid: int
    seconds: float
    cpu: float
    peak_rss: int


class ChildFailed(Exception):
    """A child ended without doing its step: killed (by the kernel's OOM killer, by the
    timeout, by an operator, or because the process waiting for it stops), exited with an
    error, printed no report, or could not be started. ``what``: the
    step; ``reason``: why, with the end of its log; ``seconds``: how long it ran."""

    def __init__(self, what: str, reason: str, seconds: float) -> None:
        super().__init__(f"{what} in a child process failed after {seconds:.1f} s: {reason}")
        self.what = what
        self.reason = reason
        self.seconds = seconds


def child_unavailable(store: Store) -> str | None:
    """Why a step on ``store`` cannot run in a child process (then it runs in process), or
    None if it can."""
    parsed = urllib.parse.urlsplit(store.url)
    if parsed.scheme == "sqlite" and parsed.path in ("", ":memory:"):
        # another process cannot see an in-memory SQLite database
        return "the database is an in-memory SQLite database"
    if store.service_key_file is None:
        return "the service key was handed to this process, not read from a file"
    if not (hasattr(os, "waitid") and hasattr(os, "wait4")):
        return "this system has no waitid/wait4"
    return None


def child_environment(store: Store) -> dict[str, str]:
    """The environment a child on ``store`` runs in: this process's, without any
    ``TRACKRECORD_*`` variable but the service key file's path; from a checkout (not an
    installation in site-packages, which would then come before the standard library),
    this code first on ``PYTHONPATH``, so the child runs it too."""
    assert store.service_key_file is not None, child_unavailable(store)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SECRETS_PREFIX)}
    env[SERVICE_KEY_ENV] = str(Path(store.service_key_file).absolute())
    if str(_ROOT) not in site.getsitepackages():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    return env


def run_child(
    module: str,
    spec: dict[str, Any],
    *,
    store: Store,
    what: str,
    timeout: float,
    stop: threading.Event | None = None,
) -> ChildRun:
    """Run ``python -m module`` on ``store``'s database (:func:`child_unavailable` must be
    None), hand it ``spec`` (with the database URL as ``url``) as JSON on stdin, wait for
    it without holding the GIL, at most ``timeout`` seconds and until ``stop`` is set (the
    process that waits is stopping: the child must not outlive it, writing to a database
    an operator may be upgrading), and return its report (the JSON object of its stdout)
    with what it cost; its log (stderr) is logged here.

    Raises :class:`ChildFailed` (``what`` names the step) if the child could not be
    started, was killed, exited with an error or printed no JSON object.
    """
    data = json.dumps({**spec, "url": store.url, "parent": os.getpid()}).encode()
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                # -P: the working directory is not put first on its import path
                [sys.executable, "-P", "-m", module],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=child_environment(store),
                cwd=_ROOT,
            )
        except OSError as exc:  # no memory or processes left to start one
            raise ChildFailed(what, f"it could not be started: {exc}", 0.0) from exc
        _LOG.info("%s in child process %d", what, proc.pid)
        status, usage, killed = _wait(proc, data, timeout, stop)
        seconds = time.monotonic() - started
        printed, log = _read(out), _read(err)
    code = os.waitstatus_to_exitcode(status)
    for line in log.splitlines():
        _LOG.info("child %d: %s", proc.pid, line)
    if code != 0:
        raise ChildFailed(what, _reason(code, killed, timeout, log), seconds)
    try:
        report = json.loads(printed)
    except ValueError:
        report = None
    if not isinstance(report, dict):
        raise ChildFailed(what, f"its report is not one: {printed[-200:]!r}", seconds)
    return ChildRun(
        report, proc.pid, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024
    )


def read_spec() -> dict[str, Any]:
    """In a child started by :func:`run_child`: tie its life to the thread that started it
    and read what to do (the JSON object on stdin). That thread waits for the child until
    it ends, so it ends only with its process: a service killed outright (SIGKILL, the OOM
    killer) takes its child along (Linux's ``PR_SET_PDEATHSIG``; elsewhere the child
    finishes its step on its own), instead of leaving it writing to the database. Exits
    (status 3) if that process was gone before the tie was made."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    spec: dict[str, Any] = json.loads(sys.stdin.buffer.read())
    if os.getppid() != spec.get("parent"):  # reparented: nobody waits for this child
        print("the process that started this child is gone", file=sys.stderr)
        raise SystemExit(_PARENT_GONE)
    return spec


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

    watcher = threading.Thread(target=watch, name=f"child-{proc.pid}", daemon=True)
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
