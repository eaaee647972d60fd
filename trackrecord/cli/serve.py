"""The ``serve`` command: the HTTP service and web pages (uvicorn) for the ledger at ``--db``.

Register with ``app.add_typer(serve.app)`` (no name: ``serve`` joins the root's
commands). With ``--as OPERATOR`` the service signs a checkpoint whenever the
log has grown (the operator's key, opened from its keystore, is the only private
key the service ever holds); without it, checkpoints come from ``trackrecord
checkpoint`` and the service serves the stored ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keys import Identity
from ledger.store.base import redact

from ..settings import Settings
from .context import cli_context
from .keyfiles import load_identity

if TYPE_CHECKING:  # the web stack is imported when ``serve`` runs, not for every command
    from api.config import ApiConfig

__all__ = ["app", "serve"]

app = typer.Typer(help="The HTTP service and web pages.")


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    operator: Identity | None = None,
    config: ApiConfig | None = None,
    announce: bool = True,
) -> None:
    """Serve the ledger of ``settings`` on ``host:port`` until interrupted.

    Raises :class:`ledger.errors.NoLedger` if there is no ledger at the database URL.
    Prints the address first. ``operator`` (the operator's identity) makes the
    service sign checkpoints as the log grows. Re-raises what stopped the service
    from starting (a store that cannot be opened or is behind the last signed
    checkpoint), so the command exits with that error's code.
    """
    import uvicorn

    from api.app import create_app
    from api.observability import json_logging

    with settings.open_ledger():  # a missing ledger is refused here (NoLedger), not in a worker
        pass
    memory = settings.checkpoint_memory()
    application = create_app(settings.database_url, config, operator=operator, memory=memory)
    if announce:
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
        typer.echo(f"trackrecord is serving {redact(settings.database_url)}")
        typer.echo(f"  open http://{shown}:{port}/   (API: http://{shown}:{port}/docs)")
        if operator is not None:
            typer.echo(f"  signing checkpoints with the operator key {operator.key_id}")
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=False,
            # uvicorn's access log prints each raw path, which names people; the
            # service's own request log names the route template instead
            access_log=False,
        )
    )
    try:
        with json_logging():  # one JSON line per request and per submission
            server.run()
    except SystemExit:  # uvicorn's "startup failed"
        failure = getattr(application.state, "startup_error", None)
        if isinstance(failure, Exception):
            raise failure from None  # e.g. a store behind the last signed checkpoint
        raise


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    checkpoint_every: Annotated[
        float,
        typer.Option(min=1.0, help="With --as OPERATOR: seconds between checkpoints."),
    ] = 10.0,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark the session cookie Secure (behind HTTPS).")
    ] = False,
    metrics_token: Annotated[
        str | None,
        typer.Option(
            envvar="TRACKRECORD_METRICS_TOKEN",
            show_default=False,
            help="Serve Prometheus metrics at /metrics to 'Authorization: Bearer TOKEN' "
            "(off without a token).",
        ),
    ] = None,
    ready_max_lag: Annotated[
        int,
        typer.Option(min=0, help="/readyz is not ready while a read model lags more positions."),
    ] = 1000,
) -> None:
    """Serve the HTTP API and the web pages for the ledger at --db.

    With --as OPERATOR (the operator's keystore), checkpoints are signed as the log grows.
    """
    cli = cli_context(ctx)
    settings = cli.settings
    operator = load_identity(settings, settings.acting) if settings.acting else None
    from api.config import ApiConfig

    config = ApiConfig(
        checkpoint_interval=checkpoint_every,
        secure_cookies=secure_cookies,
        metrics_token=metrics_token or None,
        ready_max_lag=ready_max_lag,
    )
    serve(settings, host, port, operator=operator, config=config)
