"""The service's caches are bounded by memory as configured (docs/operations.md, "Memory"),
and what they answer is what the store holds: a stream or answer dropped is computed again.

The stream cache counts each stream at its estimated decoded size
(:func:`api.streams.decoded_size`); the estimate is checked here against the memory the
decoded entries really hold (every object they reach, by ``sys.getsizeof``), so a change
to how entries are decoded cannot leave the bound meaning something else. The flags are
checked end to end on ``trackrecord serve``: the bound it reports in its metrics is the
one given, and the caches stay within it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from api.cache import DEFAULT_ANSWER_CACHE_BYTES, ResponseCache
from api.models import Health
from api.positions import EntryPositions
from api.streams import DEFAULT_STREAM_CACHE_BYTES, StreamCache, decoded_size
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.store.backup import sqlite_url as sqlite_url_of
from tests.factories import World, standard_world

# Cast members with records of very different sizes: none, one short claim, and up to
# forty claims with long descriptions (a stream a hundred times another's).
RECORDS = {
    "alice": (1, 40),
    "bob": (3, 2000),
    "carol": (0, 0),
    "dave": (12, 400),
    "erin": (40, 1500),
}
TOKEN = "cache-metrics-token"


def _records(w: World) -> None:
    w.do_all([w.register("erin")])
    for name, (claims, length) in RECORDS.items():
        if claims:
            w.do_all(
                [
                    w.claim(w[name], title=f"Piece {i} of {name}", description="x" * length)
                    for i in range(claims)
                ]
            )


@pytest.fixture(scope="module")
def ledger_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = sqlite_url_of(tmp_path_factory.mktemp("caches") / "ledger.db")
    store = open_store(url)
    try:
        _records(standard_world(LedgerService(store)))
    finally:
        store.close()
    return url


@pytest.fixture(scope="module")
def service(ledger_url: str) -> Iterator[LedgerService]:
    store = open_store(ledger_url)
    try:
        yield LedgerService(store)
    finally:
        store.close()


STREAMS = [f"{kind}/{name}" for name in RECORDS for kind in ("identity", "record")]


def _deep_size(root: object) -> int:
    """The bytes of every object ``root`` reaches (each counted once), classes aside."""
    seen: set[int] = set()
    stack, total = [root], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def test_the_estimate_of_a_decoded_stream_is_near_the_memory_it_holds(
    service: LedgerService,
) -> None:
    streams = StreamCache(service, EntryPositions(service.store), max_bytes=1 << 40)
    sizes = []
    for name in STREAMS:
        if name in service.state.heads:
            entries = streams.read(name, service.state)
            sizes.append((decoded_size(entries), _deep_size(entries)))
    assert max(held for _, held in sizes) > 50 * min(held for _, held in sizes)
    for estimate, held in sizes:
        assert 0.7 * held <= estimate <= 1.4 * held, (estimate, held)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    max_bytes=st.integers(min_value=0, max_value=3_000_000),
    max_streams=st.none() | st.integers(min_value=1, max_value=6),
    reads=st.lists(st.sampled_from([s for s in STREAMS if s != "record/carol"]), max_size=40),
)
def test_the_stream_cache_never_holds_more_than_its_bound_and_answers_as_the_store(
    service: LedgerService, max_bytes: int, max_streams: int | None, reads: list[str]
) -> None:
    streams = StreamCache(
        service, EntryPositions(service.store), max_bytes=max_bytes, max_streams=max_streams
    )
    for name in reads:
        entries = streams.read(name, service.state)
        assert [e for e, _ in entries] == service.read_stream(name)
        indexes = service.store.stream_log_indexes(name)
        assert [i for _, i in entries] == [indexes[e.entry.seq] for e, _ in entries]
        assert streams.bytes <= max_bytes
        assert max_streams is None or len(streams) <= max_streams
        fits = decoded_size(entries) <= max_bytes
        assert (streams.bytes >= decoded_size(entries)) == fits  # the one just read is kept


def test_a_stream_dropped_from_the_cache_is_read_again_the_same(service: LedgerService) -> None:
    state = service.state
    erin = StreamCache(service, EntryPositions(service.store)).read("record/erin", state)
    # room for erin's record and little else: every other read drops it
    streams = StreamCache(service, EntryPositions(service.store), max_bytes=decoded_size(erin))
    assert streams.read("record/erin", state) == erin
    assert len(streams) == 1
    first = streams.read("record/dave", state)
    assert len(streams) == 1  # erin's was dropped for dave's
    assert streams.read("record/erin", state) == erin
    assert streams.read("record/dave", state) == first
    off = StreamCache(service, EntryPositions(service.store), max_bytes=0)
    assert off.read("record/erin", state) == erin
    assert (len(off), off.bytes) == (0, 0)


@given(
    max_bytes=st.integers(min_value=0, max_value=20_000),
    bodies=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 8_000)), max_size=40),
)
def test_the_answer_cache_never_holds_more_than_its_bound(
    max_bytes: int, bodies: list[tuple[int, int]]
) -> None:
    answers = ResponseCache(max_bytes)
    for key, length in bodies:
        expected = Health(status="x" * length)
        got = answers.get(("q", key), length, lambda e=expected: e)  # type: ignore[misc]
        assert got == expected.model_dump_json().encode()
        assert answers.bytes <= max_bytes


def test_the_answer_cache_keeps_at_most_the_answers_counted() -> None:
    answers = ResponseCache(max_answers=3)
    for i in range(5):
        answers.get(("q", i), 1, lambda: Health(status="alive"))
    assert len(answers) == 3
    off = ResponseCache(0)
    off.get("q", 1, lambda: Health(status="alive"))
    assert len(off) == 0


def test_serve_keeps_the_defaults_of_the_service() -> None:
    """``serve``'s defaults are written as numbers (the web stack is not imported for every
    command): they must be the service's own."""
    from typer.main import get_command

    from trackrecord.cli.serve import app

    params = {p.name: p.default for p in get_command(app).params}
    assert params["stream_cache_mib"] * 1024 * 1024 == DEFAULT_STREAM_CACHE_BYTES
    assert params["answer_cache_mib"] * 1024 * 1024 == DEFAULT_ANSWER_CACHE_BYTES


def test_read_model_connections_keep_a_bounded_sqlite_page_cache(sqlite_url: str) -> None:
    """Each pooled read-model connection keeps its page cache while it waits in the pool,
    so the bound per connection, times the pool, bounds it for any ledger size."""
    from sqlalchemy import text

    from projections.db import create_read_model_engine

    engine = create_read_model_engine(sqlite_url)
    try:
        connections = [engine.connect() for _ in range(3)]
        kib = [-int(c.execute(text("PRAGMA cache_size")).scalar_one()) for c in connections]
        for conn in connections:
            conn.close()
        assert kib == [16 * 1024] * 3
        assert engine.pool.size() == 5  # type: ignore[attr-defined]
    finally:
        engine.dispose()


# -- end to end: trackrecord serve ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serve(url: str, log: Path, *options: str) -> Iterator[httpx.Client]:
    port = _free_port()
    script = Path(sys.executable).parent / "trackrecord"
    env = {**os.environ, "TRACKRECORD_METRICS_TOKEN": TOKEN}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(script), "--db", url, "serve", "--port", str(port), *options],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/healthz").status_code == 200:
                        break
                time.sleep(0.05)
            yield client
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def _caches(client: httpx.Client) -> dict[tuple[str, str], float]:
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200, scraped.text
    return {
        (s.name, s.labels["cache"]): s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
        if s.name.startswith("trackrecord_cache_")
    }


def test_serve_bounds_its_caches_by_the_memory_given(ledger_url: str, tmp_path: Path) -> None:
    def records(client: httpx.Client) -> dict[str, bytes]:
        got = {name: client.get(f"/people/{name}/record") for name in RECORDS}
        assert {r.status_code for r in got.values()} == {200}
        return {name: r.content for name, r in got.items()}

    # 0.02 MiB (20,971 bytes): room for a few streams, never for erin's record
    small = ("--stream-cache-mib", "0.02", "--answer-cache-mib", "0.02")
    with _serve(ledger_url, tmp_path / "small.log", *small) as client:
        first, again = records(client), records(client)
        caches = _caches(client)
    assert first == again
    bound = 0.02 * 1024 * 1024
    for cache in ("streams", "answers"):
        assert caches[("trackrecord_cache_limit_bytes", cache)] == int(bound)
        assert 0 < caches[("trackrecord_cache_bytes", cache)] <= bound
    with _serve(ledger_url, tmp_path / "default.log") as client:
        assert records(client) == first
        caches = _caches(client)
    assert caches[("trackrecord_cache_limit_bytes", "streams")] == DEFAULT_STREAM_CACHE_BYTES
    assert caches[("trackrecord_cache_limit_bytes", "answers")] == DEFAULT_ANSWER_CACHE_BYTES
    assert caches[("trackrecord_cache_bytes", "streams")] > bound  # every stream kept
    with _serve(
        ledger_url, tmp_path / "old.log", "--stream-cache", "1", "--answer-cache", "0"
    ) as client:
        assert records(client) == first
        caches = _caches(client)
    assert caches[("trackrecord_cache_bytes", "answers")] == 0
    assert "--stream-cache N is deprecated" in (tmp_path / "old.log").read_text()
