"""A PostgreSQL outage under a running service (issue 15, item 9c): every request is
answered — from what the service holds, or with ``503 store_unavailable`` — and never
with a 500 "this is a bug"; once the database is back, so is the service.

The test stops a private PostgreSQL cluster of its own (``pg_ctl stop -m fast``) under a
real uvicorn server, sends a request to every kind of endpoint, and starts it again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import pgcluster
from tests.factories import World
from tests.support.api_server import Live, live_server, login, make_cast

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[pgcluster.Cluster]:
    started = pgcluster.start_cluster()
    try:
        yield started
    finally:
        pgcluster.stop_cluster(started)


def _requests(live: Live, w: World, token: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One request per way an endpoint reaches the database: the store's meta table, the
    log (catching the state up), the read models, an append, a page.

    Each store call is retried by the event store library (10 attempts, each waiting up
    to ``connect_timeout`` for a connection), so an outage takes seconds to answer: the
    bounded run (CI) sends the first and the append, the slow one all of them."""
    alice = w["alice"]
    assignment = live.extra["assignment"]
    bearer = {"headers": {"Authorization": f"Bearer {token}"}}
    return [
        ("GET", "/log", {}),
        ("GET", "/entries", {}),
        ("GET", f"/people/{alice.id}/portfolio", bearer),
        ("GET", f"/assignments/{assignment}/candidates", bearer),
        ("POST", "/statements", {"json": w.claim(alice, title="In the outage").as_json()}),
        ("GET", "/manager", {"cookies": {"trackrecord_session": token}}),
    ]


@pytest.mark.parametrize(
    "which",
    [
        pytest.param(("GET /log", "POST /statements"), id="bounded"),
        pytest.param(None, id="all", marks=pytest.mark.slow),
    ],
)
def test_a_postgresql_outage_answers_503_not_500(
    cluster: pgcluster.Cluster, which: tuple[str, ...] | None
) -> None:
    with pgcluster.fresh_database(cluster.url) as database:
        # Wait at most 1 s for a connection (libpq's connect_timeout; 10 s by default).
        _outage(f"{database}?connect_timeout=1", cluster, which)


def _outage(url: str, cluster: pgcluster.Cluster, which: tuple[str, ...] | None) -> None:
    with live_server(url) as live:
        w = make_cast(live, "outage")
        w.do(w.claim(w["alice"], title="Before the outage"))
        live.extra["assignment"] = w.do(w.post(w["bob"])).statement.subject
        token = login(live, w["alice"].identity)
        requests = [
            r for r in _requests(live, w, token) if which is None or f"{r[0]} {r[1]}" in which
        ]
        pgcluster.pause_cluster(cluster)
        answers: dict[str, int] = {}
        try:
            with httpx.Client(base_url=live.url, timeout=120) as client:
                for method, path, options in requests:
                    response = client.request(method, path, **options)
                    answers[f"{method} {path}"] = response.status_code
                    if response.status_code >= 500:
                        assert response.status_code == 503, (path, response.text)
                        assert response.json()["code"] == "store_unavailable", path
                        assert response.headers["retry-after"]
        finally:
            pgcluster.resume_cluster(cluster)
        assert answers["POST /statements"] == 503, answers
        # The database back, the service reconnects (its pools back off while the server
        # is away) and appends again: a client retries after Retry-After.
        after = w.claim(w["alice"], title="After").as_json()
        deadline = time.monotonic() + 90
        while (again := live.client.post("/statements", json=after)).status_code == 503:
            assert time.monotonic() < deadline, "the service did not come back"
            time.sleep(int(again.headers["retry-after"]))
        assert again.status_code == 201, again.text
