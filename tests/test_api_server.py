"""The server harness of :mod:`tests.support.api_server` itself: a real uvicorn server
serves the OpenAPI document and its docs page."""

from __future__ import annotations

from tests.support.api_server import Live


def test_server_serves_openapi_and_docs(live: Live) -> None:
    spec = live.client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/statements" in paths
    assert "/proofs/inclusion" in paths
    assert live.client.get("/docs").status_code == 200
