"""What an operator watches: request and append logs (JSON lines), Prometheus metrics.

:class:`RequestObserver` is an ASGI middleware that gives every request an id
(``X-Request-ID``: the client's if it is a plain token, else a new one), times it
and, when it is answered, writes **one JSON line** to the ``trackrecord.requests``
logger and records it in the metrics. Submissions of statements
(``POST /statements``, ``POST /statements/batch``) write one more line to
``trackrecord.appends``: accepted (how many, from which log index) or refused (the
rule code). A line names the route *template* (``/people/{person}``), never the
path, the query, a person id, a stream name, a client address or any content, so
the logs hold nothing personal (tests/test_observability.py scans a demo run's logs
for every name and text).

:class:`Metrics` holds the Prometheus metrics of one application, served at
``GET /metrics`` in the text exposition format by the official
``prometheus-client``: requests by route, method and status, their latency by
route, appends and refusals by rule code, audit runs by verdict, cosignatures per
witness, and gauges read at scrape time (log size, latest checkpoint size and age,
read-model lag, readiness, the bytes each cache holds and its bound). With several
worker processes set ``PROMETHEUS_MULTIPROC_DIR`` (the library's multiprocess mode)
so counters and histograms are summed over the workers; docs/operations.md says how.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "APPEND_ROUTES",
    "MULTIPROC_ENV",
    "REQUEST_ID_HEADER",
    "Gauges",
    "Metrics",
    "RequestObserver",
    "json_logging",
    "prepare_multiprocess_dir",
    "problem_code_of",
]

REQUEST_ID_HEADER = "x-request-id"
APPEND_ROUTES = frozenset({"/statements", "/statements/batch"})
REQUESTS_LOG = logging.getLogger("trackrecord.requests")
APPENDS_LOG = logging.getLogger("trackrecord.appends")
# the request, append and refresh lines, and the child processes' (their logs too); the
# service's own
_SERVICE_LOGGERS = (
    "trackrecord",
    "api",
    "projections",
    "ledger.child_process",
    "ledger.tree_child",
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@contextlib.contextmanager
def json_logging(stream: Any = None) -> Iterator[None]:
    """While the block runs, send the ``trackrecord`` and ``api`` loggers to ``stream``
    (standard error) as JSON lines: ``time``, ``level``, ``logger``, ``message`` and
    each line's own fields."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    loggers = [logging.getLogger(name) for name in _SERVICE_LOGGERS]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


# -- metrics ---------------------------------------------------------------------------------
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir() -> Path | None:
    """Before worker processes start: make ``$PROMETHEUS_MULTIPROC_DIR`` and empty it of
    the metric files of earlier runs (prometheus-client would add their counts to the
    new ones). Returns the directory, or None when the variable is not set."""
    given = os.environ.get(MULTIPROC_ENV)
    if not given:
        return None
    directory = Path(given)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


@dataclass(frozen=True)
class Gauges:
    """Values read at scrape time (each may raise; a failed read is left out)."""

    log_size: Callable[[], int]
    checkpoint: Callable[[], tuple[int, float] | None]  # (size, seconds since it was signed)
    read_model_lag: Callable[[], dict[str, int]]
    ready: Callable[[], bool]
    caches: Callable[[], dict[str, tuple[int, int]]]  # name -> (bytes held, bound)


class _GaugeCollector(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        g = self.gauges
        yield from _read(
            lambda: [
                GaugeMetricFamily(
                    "trackrecord_log_size_entries", "Entries in the log.", value=g.log_size()
                )
            ]
        )
        yield from _read(lambda: _checkpoint_families(g.checkpoint()))
        yield from _read(lambda: [_lag_family(g.read_model_lag())])
        yield from _read(lambda: _cache_families(g.caches()))
        yield from _read(
            lambda: [
                GaugeMetricFamily(
                    "trackrecord_ready",
                    "1 if GET /readyz answers ready, else 0.",
                    value=1 if g.ready() else 0,
                )
            ]
        )


def _read(families: Callable[[], Iterable[Metric]]) -> Iterator[Metric]:
    try:
        yield from list(families())
    except Exception:  # a store that cannot be read: the gauge is absent, readiness says why
        return


def _checkpoint_families(latest: tuple[int, float] | None) -> list[Metric]:
    if latest is None:
        return []
    size, age = latest
    return [
        GaugeMetricFamily(
            "trackrecord_checkpoint_size_entries",
            "Tree size of the latest signed checkpoint.",
            value=size,
        ),
        GaugeMetricFamily(
            "trackrecord_checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed.",
            value=age,
        ),
    ]


def _lag_family(lag: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(
        "trackrecord_read_model_lag_positions",
        "Log positions a read model is behind the ledger.",
        labels=["read_model"],
    )
    for name, behind in sorted(lag.items()):
        family.add_metric([name], behind)
    return family


def _cache_families(caches: dict[str, tuple[int, int]]) -> list[Metric]:
    held = GaugeMetricFamily(
        "trackrecord_cache_bytes",
        "Memory a cache of this process holds (bytes; estimated for decoded streams).",
        labels=["cache"],
    )
    bound = GaugeMetricFamily(
        "trackrecord_cache_limit_bytes",
        "The bound of a cache of this process (bytes: serve --stream-cache-mib, ...).",
        labels=["cache"],
    )
    for name, (size, limit) in sorted(caches.items()):
        held.add_metric([name], size)
        bound.add_metric([name], limit)
    return [held, bound]


class Metrics:
    """The Prometheus metrics of one application, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            # counters and histograms are summed over the workers' files; the
            # instruments below still write there, their own registry stays unread
            self.served = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.served)  # type: ignore[no-untyped-call]
            self.served.register(_Delegate(self.registry, only_gauges=True))
        else:
            self.served = self.registry
        self._gauges: _GaugeCollector | None = None
        r = self.registry
        self.requests = Counter(
            "trackrecord_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "trackrecord_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.appends = Counter("trackrecord_appends", "Statements appended to the log.", registry=r)
        self.refusals = Counter(
            "trackrecord_refusals",
            "Statement submissions refused, by rule or error code.",
            ["code"],
            registry=r,
        )
        self.audits = Counter(
            "trackrecord_audits", "Audit runs finished, by verdict.", ["verdict"], registry=r
        )
        self.cosignatures = Counter(
            "trackrecord_cosignatures",
            "Checkpoints sent to a witness, by its key name and outcome (cosigned, failed).",
            ["witness", "outcome"],
            registry=r,
        )

    def watch(self, gauges: Gauges) -> None:
        """Read ``gauges`` at every scrape (until :meth:`unwatch`)."""
        self.unwatch()
        self._gauges = _GaugeCollector(gauges)
        self.registry.register(self._gauges)

    def unwatch(self) -> None:
        """Stop reading the gauges (the service stopped)."""
        if self._gauges is not None:
            self.registry.unregister(self._gauges)
            self._gauges = None

    def audited(self, verdict: str) -> None:
        """Count one finished audit: ``passed``, ``failed`` or ``error``."""
        self.audits.labels(verdict).inc()

    def cosigned(self, witness: str, ok: bool) -> None:
        """Count one checkpoint a witness cosigned (``ok``) or did not."""
        self.cosignatures.labels(witness, "cosigned" if ok else "failed").inc()


class _Delegate(Collector):
    """The gauges of ``registry`` (multiprocess mode reads counters from files)."""

    def __init__(self, registry: CollectorRegistry, *, only_gauges: bool) -> None:
        self.registry = registry
        self.only_gauges = only_gauges

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            if not self.only_gauges or family.type == "gauge":
                yield family


# -- the middleware ----------------------------------------------------------------------------
def problem_code_of(scope: Scope) -> str | None:
    """The problem code an error handler noted for this request (api.errors), if any."""
    state = scope.get("state")
    code = state.get("problem_code") if isinstance(state, dict) else None
    return code if isinstance(code, str) else None


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestObserver:
    """ASGI middleware: request id, one JSON log line per request and per submission,
    request metrics. Outermost but for the error middleware, so it sees every answer."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500
            raise
        finally:
            self._observe(scope, request_id, status, time.perf_counter() - began)

    def _observe(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route, method = _route_of(scope), str(scope.get("method", ""))
        code = problem_code_of(scope) or ("internal_error" if status >= 500 else None)
        self.metrics.requests.labels(route, method, str(status)).inc()
        self.metrics.latency.labels(route, method).observe(seconds)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        if code is not None and status >= 400:
            fields["code"] = code
        REQUESTS_LOG.info("request", extra=fields)
        if method == "POST" and route in APPEND_ROUTES:
            self._observe_append(scope, fields, status)

    def _observe_append(self, scope: Scope, fields: dict[str, Any], status: int) -> None:
        state = scope.get("state", {})
        appended = state.get("appended")
        if status == 201 and isinstance(appended, tuple):
            count, first = appended
            self.metrics.appends.inc(count)
            APPENDS_LOG.info(
                "append", extra={**fields, "statements": count, "first_log_index": first}
            )
            return
        code = str(fields.get("code") or f"http_{status}")
        self.metrics.refusals.labels(code).inc()
        APPENDS_LOG.info("refused", extra={**fields, "code": code})
