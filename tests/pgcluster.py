"""A throwaway PostgreSQL server for one test session, shared by pytest-xdist workers.

If ``TRACKRECORD_TEST_POSTGRES_URL`` is set (``postgresql://postgres@127.0.0.1:5432/postgres``),
that server is used and nothing is started.

Otherwise a private cluster is started on demand and shared like this:

* The controlling pytest process (the only one without xdist) makes an empty *state
  directory* in ``pytest_configure`` (:func:`open_shared_state`) and puts its path in
  ``TRACKRECORD_TEST_PGSTATE``. xdist spawns its workers after ``pytest_configure``, so
  they inherit that variable.
* The first test that needs PostgreSQL, in whichever worker, takes an exclusive
  ``flock`` on ``STATE/lock``, starts the cluster and writes ``STATE/cluster.json``;
  every later caller, in any worker, takes the same lock, finds the file and reuses the
  server (:func:`shared_server_url`). A failed start is recorded too, so the other
  workers fail at once with the same message instead of retrying.
* The controlling process stops the server and removes both directories in
  ``pytest_unconfigure`` (:func:`close_shared_state`), after every worker has exited:
  exactly once, also when workers crashed, and only if some test started it.

:func:`fresh_database` gives each test its own empty database on that server.

Unlike a directory keyed by ``PYTEST_XDIST_TESTRUNUID`` (which workers know but the
controller does not easily), this leaves a single, well-defined owner for the shutdown,
and sessions that select no PostgreSQL test start nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

__all__ = [
    "STATE_ENV",
    "URL_ENV",
    "Cluster",
    "ClusterError",
    "close_shared_state",
    "find_bindir",
    "fresh_database",
    "open_shared_state",
    "pause_cluster",
    "resume_cluster",
    "shared_server_url",
    "start_cluster",
    "start_kept_cluster",
    "started_cluster",
    "stop_cluster",
]

URL_ENV = "TRACKRECORD_TEST_POSTGRES_URL"
STATE_ENV = "TRACKRECORD_TEST_PGSTATE"

_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_START_TIMEOUT_S = 60
_PORT_ATTEMPTS = 5


class ClusterError(RuntimeError):
    """PostgreSQL could not be found, started or reached."""


@dataclass(frozen=True)
class Cluster:
    """A running private cluster: its directory, binaries, port and start time."""

    root: str
    bindir: str
    port: int
    as_postgres_user: bool
    start_seconds: float

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def version(self) -> str:
        return Path(self.bindir).parent.name


def find_bindir() -> Path:
    """Return the bin directory of the highest installed PostgreSQL; raise ClusterError."""
    candidates = [
        Path(p)
        for p in glob.glob(_BIN_GLOB)
        if (Path(p) / "initdb").is_file() and (Path(p) / "pg_ctl").is_file()
    ]
    if candidates:
        return max(candidates, key=lambda p: _version_key(p.parent.name))
    raise ClusterError(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found in {_BIN_GLOB}. "
        "Run scripts/test, which installs the Debian package 'postgresql', "
        f"or point {URL_ENV} at a server (postgresql://user@host:port/dbname)."
    )


def start_cluster() -> Cluster:
    """Create and start a private cluster on a free loopback port; raise ClusterError."""
    bindir = find_bindir()
    began = time.monotonic()
    as_postgres_user = os.geteuid() == 0  # initdb and postgres refuse to run as root
    root = Path(tempfile.mkdtemp(prefix="trackrecord-pg-"))
    try:
        if as_postgres_user:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
        _run(
            [
                str(bindir / "initdb"),
                *("-D", str(root / "data"), "-A", "trust", "-U", "postgres"),
                *("-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"),
            ],
            root=root,
            as_postgres_user=as_postgres_user,
        )
        port = _start_on_free_port(bindir, root, as_postgres_user)
    except BaseException:
        _discard(bindir, root, as_postgres_user)
        raise
    return Cluster(
        root=str(root),
        bindir=str(bindir),
        port=port,
        as_postgres_user=as_postgres_user,
        start_seconds=round(time.monotonic() - began, 3),
    )


def stop_cluster(cluster: Cluster, *, keep: bool = False) -> None:
    """Stop ``cluster`` and remove its directory (with ``keep``, only stop it)."""
    if keep:
        pause_cluster(cluster)
        return
    _discard(Path(cluster.bindir), Path(cluster.root), cluster.as_postgres_user)


def start_kept_cluster(root: Path) -> Cluster:
    """Start the cluster kept in ``root`` on a free loopback port, creating it there
    first if ``root`` holds none; raise ClusterError. Unlike :func:`start_cluster`'s,
    it is durable (fsync on: benchmarks measure commits as deployed) and outlives the
    process: ``stop_cluster(cluster, keep=True)`` stops it and keeps its data."""
    bindir = find_bindir()
    began = time.monotonic()
    as_postgres_user = os.geteuid() == 0
    root.mkdir(parents=True, exist_ok=True)
    if as_postgres_user:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    if not (root / "data" / "PG_VERSION").is_file():
        shutil.rmtree(root / "data", ignore_errors=True)
        _run(
            [
                str(bindir / "initdb"),
                *("-D", str(root / "data"), "-A", "trust", "-U", "postgres"),
                *("-E", "UTF8", "--no-locale", "--no-instructions"),
            ],
            root=root,
            as_postgres_user=as_postgres_user,
        )
    port = _start_on_free_port(bindir, root, as_postgres_user, durable=True)
    return Cluster(
        root=str(root),
        bindir=str(bindir),
        port=port,
        as_postgres_user=as_postgres_user,
        start_seconds=round(time.monotonic() - began, 3),
    )


def open_shared_state() -> Path:
    """Make the state directory of this session and announce it to future workers."""
    state = Path(tempfile.mkdtemp(prefix="trackrecord-pgstate-"))
    os.environ[STATE_ENV] = str(state)
    return state


def shared_server_url() -> str:
    """Return the URL of the session's server, starting it if needed; raise ClusterError."""
    configured = os.environ.get(URL_ENV)
    if configured:
        return configured
    state_path = os.environ.get(STATE_ENV)
    if not state_path:
        raise ClusterError(
            f"{STATE_ENV} is unset: pytest_configure in tests/conftest.py did not run"
        )
    state = Path(state_path)
    with _locked(state):
        cluster = _read_cluster(state)
        if cluster is not None:
            return cluster.url
        failure = state / "error.txt"
        if failure.exists():
            raise ClusterError(failure.read_text(encoding="utf-8"))
        try:
            cluster = start_cluster()
        except ClusterError as exc:
            failure.write_text(str(exc), encoding="utf-8")
            raise
        _write_cluster(state, cluster)
        return cluster.url


def started_cluster(state: Path) -> Cluster | None:
    """Return the cluster started in this session, if any (for the terminal summary)."""
    with _locked(state):
        return _read_cluster(state)


def close_shared_state(state: Path) -> None:
    """Stop the session's cluster if one was started, and remove the state directory."""
    try:
        with _locked(state):
            cluster = _read_cluster(state)
            if cluster is not None:
                stop_cluster(cluster)
    finally:
        shutil.rmtree(state, ignore_errors=True)
        if os.environ.get(STATE_ENV) == str(state):
            del os.environ[STATE_ENV]


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database ``t_<random hex>`` on the server, yield its URL, drop it."""
    name = f"t_{secrets.token_hex(8)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def pause_cluster(cluster: Cluster) -> None:
    """Stop ``cluster``'s server but keep its data (an outage; :func:`resume_cluster`)."""
    pg_ctl = str(Path(cluster.bindir) / "pg_ctl")
    _run(
        [pg_ctl, "-D", f"{cluster.root}/data", "-m", "fast", "-w", "-s", "stop"],
        root=Path(cluster.root),
        as_postgres_user=cluster.as_postgres_user,
    )


def resume_cluster(cluster: Cluster) -> None:
    """Start a paused ``cluster`` again on its own port; raise ClusterError."""
    _pg_ctl_start(Path(cluster.bindir), Path(cluster.root), cluster.port, cluster.as_postgres_user)


def _pg_ctl_start(
    bindir: Path, root: Path, port: int, as_postgres_user: bool, *, durable: bool = False
) -> None:
    # Unless durable, fsync, full_page_writes and synchronous_commit are off because these
    # tests check logic, not durability: the cluster is thrown away after the session.
    fast = ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
    options = " ".join(
        [
            f"-p {port}",
            f"-k {shlex.quote(str(root))}",
            "-c listen_addresses=127.0.0.1",
            *([] if durable else fast),
            "-c max_connections=200",
        ]
    )
    _run(
        [
            str(bindir / "pg_ctl"),
            *("-D", str(root / "data"), "-l", str(root / "log"), "-o", options),
            *("-w", "-t", str(_START_TIMEOUT_S), "-s", "start"),
        ],
        root=root,
        as_postgres_user=as_postgres_user,
    )


def _start_on_free_port(
    bindir: Path, root: Path, as_postgres_user: bool, *, durable: bool = False
) -> int:
    for _ in range(_PORT_ATTEMPTS):
        port = _free_port()
        log = root / "log"
        try:
            _pg_ctl_start(bindir, root, port, as_postgres_user, durable=durable)
        except ClusterError as exc:
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            if "could not bind" in text or "already in use" in text:
                log.unlink(missing_ok=True)
                continue  # another process took the port between our probe and the bind
            raise ClusterError(f"{exc}\n--- server log {log} ---\n{text[-4000:]}") from exc
        return port
    raise ClusterError(f"no free port for PostgreSQL after {_PORT_ATTEMPTS} attempts")


def _discard(bindir: Path, root: Path, as_postgres_user: bool) -> None:
    data = root / "data"
    if (data / "postmaster.pid").exists():
        with contextlib.suppress(ClusterError):
            _run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-s", "stop"],
                root=root,
                as_postgres_user=as_postgres_user,
            )
    shutil.rmtree(root, ignore_errors=True)


def _run(argv: list[str], *, root: Path, as_postgres_user: bool) -> None:
    if as_postgres_user:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    try:
        done = subprocess.run(
            argv,
            cwd=root,  # the postgres user may not be allowed into the caller's directory
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT_S + 30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{shlex.join(argv)} failed: {exc}") from exc
    if done.returncode != 0:
        raise ClusterError(
            f"{shlex.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    with open(state / "lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_cluster(state: Path) -> Cluster | None:
    path = state / "cluster.json"
    if not path.exists():
        return None
    return Cluster(**json.loads(path.read_text(encoding="utf-8")))


def _write_cluster(state: Path, cluster: Cluster) -> None:
    tmp = state / "cluster.json.tmp"
    tmp.write_text(json.dumps(asdict(cluster)), encoding="utf-8")
    tmp.replace(state / "cluster.json")
