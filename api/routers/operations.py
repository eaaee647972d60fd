"""What the operator's load balancer and monitoring ask: liveness, readiness, metrics.

``GET /healthz`` and ``GET /readyz`` are unauthenticated, cheap and show no personal
data (api.readiness). ``GET /metrics`` serves the Prometheus text format and is off
unless a bearer token is configured (``TRACKRECORD_METRICS_TOKEN``; api.observability).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..deps import bearer_token
from ..errors import ApiError, problem, problem_responses
from ..models import Health, ReadinessOut
from ..observability import Metrics
from ..readiness import ReadinessProbe

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Health:
    """Alive: the process answers (no store access)."""
    return Health(status="alive")


@router.get("/readyz", responses=problem_responses(503))
def readyz(request: Request) -> Response:
    """Ready to serve: store reachable, not behind the last signed checkpoint, read
    models caught up (a 503 problem document with each check's outcome otherwise)."""
    probe: ReadinessProbe = request.app.state.readiness
    readiness = probe.check()
    if not readiness.ready:
        failed = sorted(name for name, outcome in readiness.checks.items() if outcome != "ok")
        return problem(
            503,
            "not_ready",
            f"not ready: {', '.join(failed)}",
            instance="/readyz",
            checks=readiness.checks,
        )
    body = ReadinessOut(status="ready", checks=readiness.checks)
    return Response(body.model_dump_json(), media_type="application/json")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        **problem_responses(401, 404),
    },
)
def metrics(request: Request) -> Response:
    """Prometheus metrics (``Authorization: Bearer <metrics token>``; off without one)."""
    token = request.app.state.context.config.metrics_token
    if token is None:
        raise ApiError(404, "not_found", "metrics are switched off on this service")
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError(
            401,
            "unauthenticated",
            "metrics need the configured bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.served), media_type=CONTENT_TYPE_LATEST)
