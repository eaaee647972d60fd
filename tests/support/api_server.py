"""A real uvicorn server on a free loopback port, for the API and browser tests.

:func:`live_server` starts :func:`api.app.create_app` under uvicorn on a thread, bound to
``127.0.0.1`` on a port the kernel picked, and stops it again. The :func:`live` fixture
(registered for every test module by ``tests/conftest.py``) gives one server per test
module and storage backend; :func:`make_cast`, :func:`login` and :func:`issue_checkpoint`
put people, sessions and checkpoints on it through the API.
"""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.config import ApiConfig, Bucket
from keys import Identity, Purpose
from ledger import commands
from ledger.rollback import CheckpointMemory
from ledger.service import LedgerService
from ledger.statement import SignedStatement, Signer
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from projections import open_projector
from tests import pgcluster
from tests.factories import DEPT, ORG, OTHER_DEPT, TEST_ORIGIN, Member, World, identity_for

__all__ = [
    "UNLIMITED",
    "Backend",
    "FakeClock",
    "HttpLedger",
    "Live",
    "Refused",
    "ensure_genesis",
    "issue_checkpoint",
    "live",
    "live_server",
    "login",
    "loopback_socket",
    "make_cast",
    "operator_member",
    "refresh_reputation",
    "wait_for_checkpoint",
]

#: rate limits high enough for tests that are not about rate limits
UNLIMITED = ApiConfig(
    write_limit=Bucket(0, 0),
    login_limit=Bucket(0, 0),
    challenge_limit=Bucket(0, 0),
    refusal_limit=Bucket(0, 0),
    default_origin=TEST_ORIGIN,  # the name the tests' statements are signed for
    # a refresh child costs a Python start (about 1 s of CPU) per refresh, and each service
    # on a fresh ledger refreshes at its start: tests/test_refresh_child.py covers the child
    refresh_in="process",
    checkpoint_in="process",  # as the refresh: tests/test_checkpoint_child.py covers the child
)


class FakeClock:
    """A monotonic clock the test moves by hand (for sessions and rate limits)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Live:
    """A running server: its base URL, an HTTP client and the database behind it."""

    url: str
    database_url: str
    client: httpx.Client
    config: ApiConfig
    extra: dict[str, Any] = field(default_factory=dict)  # "app": the FastAPI application

    def problem(self, response: httpx.Response) -> dict[str, Any]:
        """The problem document of a refused request (checked to be one)."""
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        doc: dict[str, Any] = response.json()
        assert doc["status"] == response.status_code
        assert doc["type"] == "urn:trackrecord:problem:" + doc["code"]
        assert isinstance(doc["detail"], str)
        assert doc["detail"]
        return doc

    def size(self) -> int:
        """The log's current size."""
        response = self.client.get("/log")
        assert response.status_code == 200, response.text
        return int(response.json()["size"])


@contextlib.contextmanager
def live_server(
    database_url: str,
    config: ApiConfig = UNLIMITED,
    *,
    operator: Identity | None = None,
    keys_dir: Path | None = None,
    sock: socket.socket | None = None,
) -> Iterator[Live]:
    """Run the service for ``database_url`` on a free loopback port until the block ends.

    With ``operator`` (the operator's identity) the service signs checkpoints itself and
    remembers them in ``keys_dir`` (by default a temporary directory of its own). The
    service opens only an existing ledger: an empty one is created first (the tables and
    the service key, as ``trackrecord init`` does before its genesis entry), and the
    tests append the genesis through the API.
    """
    open_store(database_url).close()
    with contextlib.ExitStack() as stack:
        if keys_dir is None:
            keys_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="keys-")))
        memory = CheckpointMemory.in_keys_dir(keys_dir)
        yield from _serve(
            create_app(database_url, config, operator=operator, memory=memory),
            database_url,
            config,
            sock or loopback_socket(),
        )


def loopback_socket() -> socket.socket:
    """A socket bound to a free loopback port: a server whose URL is known before it starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _serve(
    app: FastAPI, database_url: str, config: ApiConfig, sock: socket.socket
) -> Iterator[Live]:
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the uvicorn server did not start")
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    try:
        # The shared client keeps no cookies: each request says who it is (or nobody).
        policy = http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
        no_cookies = http.cookiejar.CookieJar(policy)
        # The pages answer in Dutch unless asked otherwise (api/i18n.py); the tests read
        # their texts in English, the catalogue's source (tests/test_i18n.py reads Dutch).
        english = {"Accept-Language": "en"}
        with httpx.Client(base_url=url, timeout=30, cookies=no_cookies, headers=english) as client:
            yield Live(url, database_url, client, config, extra={"app": app})
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


class Backend:
    """Fresh databases for module-scoped servers, per storage backend."""

    @staticmethod
    @contextlib.contextmanager
    def fresh(request: pytest.FixtureRequest, tmp: Path) -> Iterator[str]:
        if request.param == "sqlite":
            yield f"sqlite://{(tmp / 'ledger.db').resolve().as_posix()}"
            return
        server_url: str = request.getfixturevalue("postgres_server_url")
        with pgcluster.fresh_database(server_url) as url:
            yield url


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One server per test module and backend, on a fresh empty ledger."""
    with (
        Backend.fresh(request, tmp_path_factory.mktemp("api")) as url,
        live_server(url) as server,
    ):
        yield server


class Refused(Exception):
    """A submission the server refused; ``problem`` is its problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem}")
        self.status = status
        self.problem = problem


class HttpLedger:
    """Appends a :class:`~tests.factories.World`'s statements through the HTTP API."""

    def __init__(self, live: Live) -> None:
        self.live = live

    @property
    def state(self) -> Any:
        raise RuntimeError("an HTTP ledger has no local state; read it through the API")

    def append(self, signed: SignedStatement) -> dict[str, Any]:
        response = self.live.client.post("/statements", json=signed.as_json())
        if response.status_code != 201:
            raise Refused(response.status_code, self.live.problem(response))
        result: dict[str, Any] = response.json()
        return result

    def append_batch(self, batch: Sequence[SignedStatement]) -> list[dict[str, Any]]:
        body = {"statements": [s.as_json() for s in batch]}
        response = self.live.client.post("/statements/batch", json=body)
        if response.status_code != 201:
            raise Refused(response.status_code, self.live.problem(response))
        result: list[dict[str, Any]] = response.json()
        return result


def operator_member() -> Member:
    """The operator of every test ledger (the same key each time)."""
    return Member("operator", identity_for("operator"), ORG, OTHER_DEPT)


def ensure_genesis(live: Live) -> Member:
    """Append the operator's genesis registration if the ledger is still empty."""
    op = operator_member()
    if live.size() == 0:
        HttpLedger(live).append(
            commands.register_identity(
                Signer(op.identity, live.config.default_origin),  # the genesis names the ledger
                person="operator",
                public_key=op.identity.public_key.raw,
                organisation=ORG,
                department=OTHER_DEPT,
                display_name="Operator",
            )
        )
    return op


def make_cast(live: Live, prefix: str) -> World:
    """A world of its own on a shared ledger: alice, bob (manager), carol of DEPT, dave of
    OTHER_DEPT, all named ``<prefix>-<name>``; registered through the API."""
    op = ensure_genesis(live)
    people = {"operator": op}
    for name, dept in (("alice", DEPT), ("bob", DEPT), ("carol", DEPT), ("dave", OTHER_DEPT)):
        pid = f"{prefix}-{name}"
        people[name] = Member(pid, identity_for(pid), ORG, dept)
    w = World(
        HttpLedger(live),
        seed=f"{prefix}-{uuid.uuid4()}",
        people=people,
        origin=live.client.get("/log").json()["origin"],
    )
    if live.client.get(f"/people/{prefix}-alice").status_code == 200:
        return w  # registered by an earlier test
    batch = [
        commands.register_identity(
            w.signer_for(op.identity),
            person=m.id,
            public_key=m.identity.public_key.raw,
            organisation=ORG,
            department=m.department,
            display_name=f"{m.id.title()} van Dijk",
            **w.opts(),
        )
        for name, m in people.items()
        if name != "operator"
    ]
    batch.append(w.grant(people["bob"], "manager", DEPT))
    w.do_all(batch)
    return w


def issue_checkpoint(live: Live) -> int:
    """Sign a checkpoint of the whole log as the operator would with the CLI; return its size."""
    store = open_store(live.database_url)
    try:
        log = TransparencyLog(LedgerService(store))
        log.set_origin(TEST_ORIGIN)
        return log.issue_checkpoint(operator_member().identity).size
    finally:
        store.close()


def wait_for_checkpoint(live: Live, *, lines: int) -> str:
    """The latest checkpoint note once it covers the whole log with ``lines`` signature
    lines (the operator's and the witnesses' cosignatures), within 20 s."""
    deadline = time.monotonic() + 20
    while True:
        answer = live.client.get("/checkpoints/latest")
        if answer.status_code == 200:
            note = answer.text
            signatures = note.split("\n\n", 1)[1].count("\u2014 ")
            if int(note.split("\n")[1]) == live.size() and signatures >= lines:
                return note
        assert time.monotonic() < deadline, f"no checkpoint with {lines} signature lines"
        time.sleep(0.05)


def refresh_reputation(live: Live) -> None:
    """Catch the read models up and refresh the reputation snapshots now, as the service
    does every ``refresh_every`` seconds while the log grows."""
    store = open_store(live.database_url)
    try:
        projector = open_projector(store)
        try:
            projector.catch_up()
            projector.refresh()
        finally:
            projector.engine.dispose()
    finally:
        store.close()


def login(live: Live, identity: Identity) -> str:
    """Open a session for ``identity`` through the API; return the bearer token."""
    ch = live.client.post("/auth/challenge").json()
    signature = identity.sign(Purpose.CHALLENGE, ch["challenge"].encode())
    response = live.client.post(
        "/auth/session",
        json={
            "key_id": identity.key_id,
            "nonce": ch["nonce"],
            "signature": base64.b64encode(signature).decode(),
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token
