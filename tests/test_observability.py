"""Operating the service (issue 20): liveness, readiness, Prometheus metrics, request logs.

Readiness flips when PostgreSQL stops (a private cluster, paused and resumed) and when
the store is behind the last signed checkpoint (tests/test_rollback.py). The metrics
are parsed with prometheus_client's own parser and their counters follow appends and
refusals. A demo run's logs, from ``trackrecord serve`` itself, hold no name, no text
and no person id of anyone in the demo.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from keys.keystore import load_keystore
from ledger import commands
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import open_store
from ledger.store.backup import sqlite_url
from tests import pgcluster
from tests.support.api_server import UNLIMITED, Live, live_server, make_cast, operator_member
from tests.support.cli import Cli, organisation
from trackrecord.demo import DEMO_ORIGIN

TOKEN = "metrics-token-for-tests"
METRICS_ENV = "TRACKRECORD_METRICS_TOKEN"
WITH_METRICS = replace(UNLIMITED, metrics_token=TOKEN, checkpoint_interval=0.2)


def _scrape(live: Live) -> list[Sample]:
    response = live.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    return sum(found)


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[Live]:
    with live_server(
        sqlite_url(tmp_path / "ledger.db"),
        WITH_METRICS,
        operator=operator_member().identity,
        keys_dir=tmp_path / "keys",
    ) as live:
        yield live


def test_health_and_readiness_answer_without_a_session(live: Live) -> None:
    health = live.client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "alive"}
    ready = live.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"store": "ok", "schema": "ok", "signed_checkpoint": "ok", "read_models": "ok"},
    }
    assert live.client.get("/metrics").status_code == 404  # off without a token
    echoed = live.client.get("/healthz", headers={"X-Request-ID": "lb-42.a_b"})
    assert echoed.headers["x-request-id"] == "lb-42.a_b"
    replaced = live.client.get("/healthz", headers={"X-Request-ID": "no spaces <here>"})
    assert len(replaced.headers["x-request-id"]) == 32  # a new one: only plain tokens pass


def test_metrics_parse_and_move_with_appends_and_refusals(metered: Live) -> None:
    live = metered
    w = make_cast(live, "m")
    assert live.client.get("/metrics").status_code == 401
    wrong = live.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    before = _scrape(live)

    claim = w.claim(w["alice"], title="Counted")
    assert live.client.post("/statements", json=claim.as_json()).status_code == 201
    replay = live.client.post("/statements", json=claim.as_json())
    assert replay.status_code == 409
    assert live.client.get("/people/m-alice").status_code == 200
    after = _scrape(live)

    assert (
        _value(after, "trackrecord_appends_total")
        == _value(before, "trackrecord_appends_total") + 1
    )
    assert _value(after, "trackrecord_refusals_total", code="replayed_id") == (
        _value(before, "trackrecord_refusals_total", code="replayed_id") + 1
    )
    latency = "trackrecord_http_request_duration_seconds_count"
    assert _value(after, latency, route="/people/{person}", method="GET") >= 1
    assert _value(after, latency, route="/statements", method="POST") >= 2
    assert not any("m-alice" in v for s in after for v in s.labels.values())  # templates only
    assert _value(after, "trackrecord_log_size_entries") == live.size()
    assert _value(after, "trackrecord_ready") == 1
    assert any(s.name == "trackrecord_read_model_lag_positions" for s in after)

    deadline = time.monotonic() + 20
    while _value(_scrape(live), "trackrecord_checkpoint_size_entries") != live.size():
        assert time.monotonic() < deadline, "the service signed no checkpoint"
        time.sleep(0.1)
    assert 0 <= _value(_scrape(live), "trackrecord_checkpoint_age_seconds") < 60

    started = live.client.post("/audits")
    assert started.status_code == 202
    while live.client.get(f"/audits/{started.json()['id']}").json()["status"] == "running":
        time.sleep(0.05)
    assert _value(_scrape(live), "trackrecord_audits_total", verdict="passed") == 1


@pytest.mark.postgres
def test_readiness_flips_while_postgresql_is_down(tmp_path: Path) -> None:
    cluster = pgcluster.start_cluster()
    try:
        with (
            pgcluster.fresh_database(cluster.url) as url,
            live_server(url, WITH_METRICS, keys_dir=tmp_path / "keys") as live,
        ):
            make_cast(live, "pg")
            assert live.client.get("/readyz").status_code == 200
            pgcluster.pause_cluster(cluster)
            down = live.client.get("/readyz")
            assert down.status_code == 503
            problem = down.json()
            assert problem["code"] == "not_ready"
            assert problem["checks"]["store"] in {"unreachable", "timeout"}
            assert live.client.get("/healthz").status_code == 200  # alive all the same
            began = time.monotonic()
            during = _scrape(live)  # answers in time, without the gauges it cannot read
            assert time.monotonic() - began < 15
            assert _value(during, "trackrecord_ready") == 0
            assert not any(s.name == "trackrecord_log_size_entries" for s in during)
            pgcluster.resume_cluster(cluster)
            deadline = time.monotonic() + 30
            while live.client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "not ready again after PostgreSQL came back"
                time.sleep(0.2)
    finally:
        pgcluster.stop_cluster(cluster)


# -- no personal data in the logs --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serving(args: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """``trackrecord ARGS --port P`` in a process of its own, until the block ends; yields
    its base URL. Its standard output and error go to ``log``."""
    port = _free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "trackrecord", *args, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def test_two_workers_serve_the_sum_of_their_counters_in_multiprocess_mode(
    tmp_path: Path,
) -> None:
    cli = Cli(sqlite_url(tmp_path / "ledger.db"), tmp_path / "keys")
    organisation(cli)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {
        **os.environ,
        "TRACKRECORD_DATABASE_URL": cli.url,
        "TRACKRECORD_KEYS": str(cli.keys),
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        METRICS_ENV: TOKEN,
    }
    with (
        _serving(["serve"], env, tmp_path / "a.log") as a,
        _serving(["serve"], env, tmp_path / "b.log") as b,
    ):
        for base, times in ((a, 3), (b, 2)):
            for _ in range(times):
                assert httpx.get(f"{base}/people/alice").status_code == 200
        scraped = httpx.get(f"{a}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        size = httpx.get(f"{b}/log").json()["size"]
    assert scraped.status_code == 200
    samples = [s for f in text_string_to_metric_families(scraped.text) for s in f.samples]
    assert _value(samples, "trackrecord_http_requests_total", route="/people/{person}") == 5
    assert _value(samples, "trackrecord_log_size_entries") == size  # its own gauge, once


def test_serve_with_workers_sums_their_counters_from_a_fresh_directory(tmp_path: Path) -> None:
    cli = Cli(sqlite_url(tmp_path / "ledger.db"), tmp_path / "keys")
    organisation(cli)
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"left by an earlier run")  # emptied at start
    env = {
        **os.environ,
        "TRACKRECORD_DATABASE_URL": cli.url,
        "TRACKRECORD_KEYS": str(cli.keys),
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        METRICS_ENV: TOKEN,
    }
    with _serving(["serve", "--workers", "2"], env, tmp_path / "serve.log") as base:
        for _ in range(6):  # each to whichever worker accepts it
            with httpx.Client(base_url=base) as client:
                assert client.get("/people/alice").status_code == 200
        scraped = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200, scraped.text
    samples = [s for f in text_string_to_metric_families(scraped.text) for s in f.samples]
    assert _value(samples, "trackrecord_http_requests_total", route="/people/{person}") == 6
    assert not (shared / "counter_999999.db").exists()


def _tour(directory: Path) -> dict[str, str]:
    env = {}
    for line in (directory / "tour.env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value
    return env


def _personal_strings(url: str) -> set[str]:
    """Every person id and every disclosed value (names, titles, comments) of the ledger."""
    store = open_store(url)
    try:
        service = LedgerService(store)
        service.catch_up()
        found = set(service.state.people)
        for _, stored in service.read_log(limit=100_000):
            found.update(d.value for d in stored.disclosures)
    finally:
        store.close()
    return {s for s in found if len(s) >= 4}


def test_a_demo_runs_logs_hold_no_name_text_or_person_id(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {**os.environ, "TRACKRECORD_KDF": "fast"}
    subprocess.run([sys.executable, "-m", "trackrecord", "demo", "--people", "30", "--dir",
                    str(demo)], env=env, check=True, capture_output=True)  # fmt: skip
    tour = _tour(demo)
    env.update(tour)
    log = tmp_path / "serve.log"
    serve = ["--as", tour["OPERATOR"], "serve"]
    with (
        _serving(serve, {**env, METRICS_ENV: TOKEN}, log) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        _exercise(client, tour, demo)

    text = log.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("logger") == "trackrecord.requests"]
    appends = [line for line in lines if line.get("logger") == "trackrecord.appends"]
    assert len(requests) >= 40
    assert {"request_id", "route", "status", "duration_ms", "method"} <= requests[0].keys()
    assert {a["message"] for a in appends} == {"append", "refused"}
    assert any(a.get("code") == "replayed_id" for a in appends)
    personal = _personal_strings(tour["TRACKRECORD_DATABASE_URL"])
    personal.update({"Secret headline of the log test", "Confidential remark"})
    assert len(personal) > 100
    leaked = sorted(s for s in personal if s in text)
    assert leaked == [], leaked


def _exercise(client: httpx.Client, tour: dict[str, str], demo: Path) -> None:
    """Requests an operator's log would see in a day: pages, records, writes, refusals."""
    people = [tour[k] for k in ("EMPLOYEE", "MANAGER", "PEER", "CLIENT", "ADMIN")]
    for path in ("/", "/employee", "/manager", "/auditor", "/log", "/checkpoints", "/readyz"):
        client.get(path)
    client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    for person in people:
        for path in ("", "/record", "/reputation", "/portfolio", "/access", "/matches"):
            client.get(f"/people/{person}{path}")
        client.get(f"/portfolio/{person}")
        client.get(f"/people/{person}", params={"q": "Secret headline of the log test"})
    employee = tour["EMPLOYEE"]
    identity = load_keystore(demo / "keys" / f"{employee}.key", "demo")
    claim = commands.claim_contribution(
        Signer(identity, DEMO_ORIGIN),
        person=employee,
        title="Secret headline of the log test",
        description="Confidential remark",
        skills=["policy-advice"],
        start="2026-01-01",
    )
    assert client.post("/statements", json=claim.as_json()).status_code == 201
    assert client.post("/statements", json=claim.as_json()).status_code == 409
    forged = claim.as_json()
    forged["signature"] = base64.b64encode(bytes(64)).decode()
    client.post("/statements", json=forged)
    client.post("/statements", json={"statement": {"title": "Confidential remark"}})
