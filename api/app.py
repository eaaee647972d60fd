"""The FastAPI application: :func:`create_app` wires routers, limits and error handling.

Nothing happens at import time. ``create_app(database_url)`` only builds the
application; the ledger is opened when the server starts it (the lifespan) and
closed when it stops. Endpoints that touch the ledger are plain ``def``
functions: the ledger and its store are synchronous, so they run on the
server's thread pool.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from keys import Identity
from ledger.app import Ledger
from ledger.rollback import CheckpointMemory
from ledger.service import UpgradeProgress

from .config import ApiConfig
from .context import AppContext
from .deps import COOKIE_NAME
from .errors import install_error_handlers
from .guards import SameOriginCookieWrites, UniqueJsonMembers
from .i18n import template_environment
from .limits import BodySizeLimit
from .observability import Metrics, RequestObserver
from .onboarding import ONBOARDING_COOKIE
from .openapi import install_openapi
from .readiness import ReadinessProbe, gauges_of
from .routers import (
    access,
    admin_pages,
    assignments,
    audits,
    auth,
    bundles,
    checkpoints,
    contexts,
    entries,
    inbox,
    issuer,
    onboarding,
    operations,
    pages,
    people,
    portfolio,
    reviews,
    statements,
    status_lists,
    trust,
    verifier,
    witness,
)
from .wording import TERMS, reason_text, skill_label

__all__ = ["create_app"]

DESCRIPTION = """\
A verifiable track record that travels with the employee: an append-only,
hash-chained ledger of signed contributions, endorsements and assignments.

* **Writes** are signed statements (`POST /statements`): the service checks the
  Ed25519 signature and every rule, and never sees a private key.
* **Reads** of what is not public need a session: sign a challenge with your key
  (`POST /auth/challenge`, `POST /auth/session`), then send
  `Authorization: Bearer <token>`.
* **Verification**: signed checkpoints (C2SP signed notes) and RFC 9162
  inclusion and consistency proofs let anyone check the log without trusting
  this server.
* **Errors** are RFC 9457 problem documents (`application/problem+json`) whose
  `code` names the rule that refused the request.
"""

_LOG = logging.getLogger("api.app")


_SWAGGER = "/static/vendor/swagger-ui-5.36.0"
_REDOC = "/static/vendor/redoc-2.5.4"
FAVICON = "/static/favicon.svg"


_UPGRADE_LOG_EVERY = 50_000  # entries indexed or folded between two progress lines at start


def _upgrade_progress() -> UpgradeProgress:
    """What the service logs while it brings a ledger an earlier version wrote up to date
    (:meth:`ledger.service.LedgerService.bring_up_to_date`): a warning before the work,
    then a line every :data:`_UPGRADE_LOG_EVERY` entries indexed or folded, so that an
    operator watching a service build a large ledger's rule state sees it advance."""
    logged = {"positions indexed": 0, "rule state built": 0}

    def begin() -> None:
        _LOG.warning(
            "this ledger was written by an earlier version: building its rule state "
            "and entry positions from the log, once, before serving ('trackrecord "
            "migrate' does it ahead of time)"
        )

    def every(what: str) -> Callable[[int], None]:
        def progress(done: int) -> None:
            if done - logged[what] >= _UPGRADE_LOG_EVERY:
                logged[what] = done
                _LOG.info("%s for %d entries so far", what, done)

        return progress

    return UpgradeProgress(
        begin=begin, indexed=every("positions indexed"), folded=every("rule state built")
    )


def install_api_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), from the copies in api/static/vendor/,
    and the favicon."""

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="trackrecord API",
            swagger_js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{_SWAGGER}/swagger-ui.css",
            swagger_favicon_url=FAVICON,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="trackrecord API",
            redoc_js_url=f"{_REDOC}/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,  # no other host
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse(FAVICON, status_code=301)


def create_app(
    database_url: str,
    config: ApiConfig | None = None,
    *,
    operator: Identity | None = None,
    memory: CheckpointMemory | None = None,
) -> FastAPI:
    """Build the application for the ledger at ``database_url``.

    The ledger is opened when the application starts serving (and its store
    closed when it stops); ``config`` holds the HTTP layer's limits. With the
    ``operator``'s identity (the operator runs the service), the service signs a
    checkpoint whenever the log has grown (:mod:`api.checkpointer`); it holds no
    other private key. ``memory``: where the checkpoints it signs are remembered
    outside the database, and checked against at start (:mod:`ledger.rollback`).
    """
    cfg = config or ApiConfig()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = AppContext(Ledger.open(database_url, memory=memory), cfg, operator)
        try:
            context.service.bring_up_to_date(_upgrade_progress())
            # A store behind the last checkpoint the operator signed is not served
            # (ledger.rollback); the error is kept for `trackrecord serve` to report.
            context.service.verify_not_rolled_back()
            # a ledger written before the imports stamp was stored: counted once, here, not
            # by every portfolio answer (ledger.store.trust_tables.TrustTables.imports_stamp)
            context.store.store_imports_stamp()
        except BaseException as exc:
            app.state.startup_error = exc
            context.close()
            raise
        context.read_models.start()
        if context.checkpointer is not None:
            context.checkpointer.start()
        if context.notifier is not None:
            context.notifier.start()
        app.state.context = context
        context.audits.listeners.append(metrics.audited)
        if context.checkpointer is not None and context.checkpointer.cosigners is not None:
            context.checkpointer.cosigners.listeners.append(metrics.cosigned)
        app.state.readiness = ReadinessProbe(context, timeout=cfg.ready_timeout)
        metrics.watch(gauges_of(context, app.state.readiness))
        # What exists now (modules, the caught-up state) lives as long as the service:
        # out of the collector's sight, a full collection no longer walks it while a
        # request waits (it cost 60-90 ms on a 200-person ledger, bench.http).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            metrics.unwatch()
            app.state.readiness.close()
            context.close()

    app = FastAPI(
        title="trackrecord",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from a local copy: no CDN, so it works offline
        redoc_url=None,
    )
    here = Path(__file__).parent
    app.state.templates = Jinja2Templates(
        env=template_environment(here / "templates", TERMS, skill_label, reason_text)
    )
    app.mount("/static", StaticFiles(directory=here / "static"), name="static")
    install_api_docs(app)
    install_error_handlers(app, database_url)
    install_openapi(app)
    # Outermost last: the size limit first, then cross-site cookie writes, then JSON.
    app.add_middleware(UniqueJsonMembers)
    app.add_middleware(SameOriginCookieWrites, cookies=(COOKIE_NAME, ONBOARDING_COOKIE))
    app.add_middleware(BodySizeLimit, limit_for=cfg.body_limit)
    # added last, so outermost: it sees (and logs) every answer, a 413 of the limit too
    app.add_middleware(RequestObserver, metrics=metrics)
    app.state.metrics = metrics
    routers = (
        statements,
        entries,
        people,
        portfolio,
        access,
        reviews,
        bundles,
        checkpoints,
        assignments,
        audits,
        auth,
        onboarding,
        inbox,
        pages,
        admin_pages,
        operations,
        witness,
        contexts,
        issuer,
        verifier,
        status_lists,
        trust,
    )
    for module in routers:
        app.include_router(module.router)
    return app
