"""The ``serve`` command: the HTTP service and web pages (uvicorn) for the ledger at ``--db``.

Register with ``app.add_typer(serve.app)`` (no name: ``serve`` joins the root's
commands). With ``--as OPERATOR`` the service signs a checkpoint whenever the
log has grown (the operator's key, opened from its keystore, is the only private
key the service ever holds); without it, checkpoints come from ``trackrecord
checkpoint`` and the service serves the stored ones.

With ``--workers N`` uvicorn runs N worker processes over the one database, each
built by :func:`worker_app` from the environment the command sets up for them: the
settings (``TRACKRECORD_DATABASE_URL``, ``TRACKRECORD_KEYS``, ``TRACKRECORD_AS``, and
the operator keystore's passphrase in ``TRACKRECORD_PASSPHRASE``) and the options
of ``serve`` (:data:`WORKER_OPTIONS_ENV`). Nothing a worker decides rests on its own
memory: appends serialise in the database, sessions are stored there, the read
models are caught up by one process at a time (docs: README, "Many processes").
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer

from keys import Identity
from ledger.catalogue import SLUG_RE
from ledger.store.base import redact

from ..settings import ACTING_ENV, DATABASE_URL_ENV, KEYS_ENV, PASSPHRASE_ENV, Settings
from .context import cli_context
from .errors import CliError
from .keyfiles import get_passphrase, load_identity
from .options import CheckpointInOption, RefreshInOption, env_option, file_option
from .witness_cmds import WitnessEndpoints, endpoints, open_witness

if TYPE_CHECKING:  # the web stack is imported when ``serve`` runs, not for every command
    from fastapi import FastAPI

    from api.config import ApiConfig
    from api.notify import SmtpServer
    from api.oidc import OidcProvider

__all__ = ["WORKER_OPTIONS_ENV", "app", "serve", "worker_app"]

Security = Literal["starttls", "tls", "none"]
WORKER_OPTIONS_ENV = "TRACKRECORD_SERVE_OPTIONS"
"""Set by ``serve --workers N`` for its workers: the options of ``serve`` as JSON."""
_WORKER_OPTIONS = (
    "checkpoint_interval",
    "secure_cookies",
    "metrics_token",
    "ready_max_lag",
    "stream_cache_bytes",
    "stream_cache_size",
    "answer_cache_bytes",
    "answer_cache_size",
    "public_url",
    "refresh_in",
    "refresh_every",
    "checkpoint_in",
)

app = typer.Typer(help="The HTTP service and web pages.")


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    operator: Identity | None = None,
    config: ApiConfig | None = None,
    announce: bool = True,
    workers: int = 1,
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
    if workers > 1:
        _serve_workers(settings, host, port, workers=workers, operator=operator, config=config)
        return
    memory = settings.checkpoint_memory()
    application = create_app(settings.database_url, config, operator=operator, memory=memory)
    if announce:
        _announce(settings, host, port, operator)
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


def _announce(settings: Settings, host: str, port: int, operator: Identity | None) -> None:
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    typer.echo(f"trackrecord is serving {redact(settings.database_url)}")
    typer.echo(f"  open http://{shown}:{port}/   (API: http://{shown}:{port}/docs)")
    if operator is not None:
        typer.echo(f"  signing checkpoints with the operator key {operator.key_id}")


def _serve_workers(
    settings: Settings,
    host: str,
    port: int,
    *,
    workers: int,
    operator: Identity | None,
    config: ApiConfig | None,
) -> None:
    """Run ``workers`` uvicorn worker processes, each built by :func:`worker_app`."""
    import uvicorn

    from api.config import ApiConfig
    from api.observability import MULTIPROC_ENV, prepare_multiprocess_dir

    cfg = config or ApiConfig()
    if cfg.witness is not None:
        raise CliError(
            "usage", "a witness (--witness-key) runs in one process: leave out --workers"
        )
    chosen: dict[str, Any] = {k: getattr(cfg, k) for k in _WORKER_OPTIONS}
    chosen["witnesses"] = [str(endpoint) for endpoint in cfg.witnesses]
    chosen["oidc"] = None if cfg.oidc is None else dataclasses.asdict(cfg.oidc)
    chosen["smtp"] = None if cfg.smtp is None else dataclasses.asdict(cfg.smtp)
    os.environ[WORKER_OPTIONS_ENV] = json.dumps(chosen)
    os.environ[DATABASE_URL_ENV] = settings.database_url
    os.environ[KEYS_ENV] = str(settings.keys_dir)
    if operator is not None and settings.acting is not None:
        os.environ[ACTING_ENV] = settings.acting
        path = settings.keystore_path(settings.acting)
        os.environ[PASSPHRASE_ENV] = get_passphrase(settings, path=path, new=False)
    else:
        os.environ.pop(ACTING_ENV, None)
    _announce(settings, host, port, operator)
    typer.echo(f"  in {workers} worker processes")
    shared = prepare_multiprocess_dir()
    if shared is not None:
        typer.echo(f"  metrics summed over the workers in {shared}")
    elif cfg.metrics_token is not None:
        typer.echo(
            f"  metrics: a scrape sees one worker's counters; set {MULTIPROC_ENV} to sum them",
            err=True,
        )
    uvicorn.run(
        "trackrecord.cli.serve:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        access_log=False,  # as in serve(): the service's own request log names no person
    )


def worker_app() -> FastAPI:
    """The application of one worker process of ``serve --workers N`` (a uvicorn factory:
    ``uvicorn --factory trackrecord.cli.serve:worker_app``), configured from the
    environment that ``serve`` set up; the operator's keystore is opened with
    ``TRACKRECORD_PASSPHRASE``. Raises :class:`KeyError` if :data:`WORKER_OPTIONS_ENV`
    is not set (the factory is not meant to be started by hand without it)."""
    from api.app import create_app
    from api.config import ApiConfig
    from api.notify import SmtpServer
    from api.observability import json_logging
    from api.oidc import OidcProvider

    settings = Settings.load()
    options: dict[str, Any] = json.loads(os.environ[WORKER_OPTIONS_ENV])
    operator = None
    if settings.acting is not None:
        operator = load_identity(settings, settings.acting, passphrase=settings.passphrase)
    json_logging().__enter__()  # for the worker's lifetime: it logs until it exits
    memory = settings.checkpoint_memory()
    options["witnesses"] = endpoints(options.get("witnesses", []))
    oidc = options.get("oidc")
    options["oidc"] = None if oidc is None else OidcProvider(**oidc)
    smtp = options.get("smtp")
    options["smtp"] = None if smtp is None else SmtpServer(**smtp)
    return create_app(settings.database_url, ApiConfig(**options), operator=operator, memory=memory)


@app.command("serve", rich_help_panel="Operating the ledger")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    checkpoint_every: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="With --as OPERATOR: seconds between checkpoints while the log grows, at "
            "least; and at least ten times as long as the last one took to issue.",
        ),
    ] = 10.0,
    checkpoint_in: CheckpointInOption = "child",
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark the session cookie Secure (behind HTTPS).")
    ] = False,
    metrics_token: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_METRICS_TOKEN",
            "Serve Prometheus metrics at /metrics to 'Authorization: Bearer TOKEN' "
            "(off without a token).",
        ),
    ] = None,
    ready_max_lag: Annotated[
        int,
        typer.Option(min=0, help="/readyz is not ready while a read model lags more positions."),
    ] = 1000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes (uvicorn workers) over the one database: up to about "
            "one per core.",
        ),
    ] = 1,
    stream_cache_mib: Annotated[
        float,
        typer.Option(
            min=0,
            help="Memory (MiB, estimated) each service process keeps decoded streams in, "
            "least recently read dropped first; 0: none kept.",
        ),
    ] = 64.0,  # api.streams.DEFAULT_STREAM_CACHE_BYTES (tests/test_service_caches.py)
    answer_cache_mib: Annotated[
        float,
        typer.Option(
            min=0,
            help="Memory (MiB of JSON) each service process keeps read-model answers "
            "(records, portfolios, ...) in; 0: none kept.",
        ),
    ] = 16.0,  # api.cache.DEFAULT_ANSWER_CACHE_BYTES
    stream_cache: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Deprecated, use --stream-cache-mib: also keep at most N streams decoded.",
        ),
    ] = None,
    answer_cache: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Deprecated, use --answer-cache-mib: also keep at most N answers.",
        ),
    ] = None,
    refresh_in: RefreshInOption = "child",
    refresh_every: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds between reputation refreshes while entries come in (at least ten "
            "times as long as the last one took).",
        ),
    ] = 30.0,
    witness: WitnessEndpoints = None,
    witness_key: Annotated[
        Path | None,
        file_option(
            "--witness-key",
            "Act as a witness (POST /add-checkpoint) with this secret key file "
            "(from 'trackrecord witness-key').",
        ),
    ] = None,
    witness_log: Annotated[
        list[str] | None,
        typer.Option(
            "--witness-log",
            metavar="VERIFIER_KEY",
            help="With --witness-key: a log to witness, by its checkpoint key; repeatable.",
        ),
    ] = None,
    witness_state: Annotated[
        Path | None,
        file_option(
            "--witness-state",
            "With --witness-key: the witness's memory (default: the key file + .state).",
        ),
    ] = None,
    oidc_issuer: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_OIDC_ISSUER",
            "Newcomers sign in at this OpenID Connect provider (its issuer URL).",
        ),
    ] = None,
    oidc_client_id: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_OIDC_CLIENT_ID", "With --oidc-issuer: this service's client id there."
        ),
    ] = None,
    oidc_client_secret: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_OIDC_CLIENT_SECRET",
            "With --oidc-issuer: the client secret (better given in the "
            "environment variable than on the command line).",
        ),
    ] = None,
    oidc_organisation: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_OIDC_ORGANISATION",
            "With --oidc-issuer: the organisation whose admins approve the "
            "people who sign in there.",
        ),
    ] = None,
    oidc_label: Annotated[
        str,
        typer.Option(
            envvar="TRACKRECORD_OIDC_LABEL",
            help="With --oidc-issuer: the name on the sign-in button.",
        ),
    ] = "your organisation's account",
    smtp_host: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_SMTP_HOST",
            "Send e-mail notifications through this SMTP server (the organisation's "
            "relay); none are sent without it.",
        ),
    ] = None,
    smtp_port: Annotated[
        int,
        typer.Option(envvar="TRACKRECORD_SMTP_PORT", min=1, max=65535, help="Its port."),
    ] = 587,
    smtp_from: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_SMTP_FROM", "With --smtp-host: the From address of the notifications."
        ),
    ] = None,
    smtp_security: Annotated[
        str,
        typer.Option(
            envvar="TRACKRECORD_SMTP_SECURITY",
            help="With --smtp-host: starttls (port 587), tls (implicit TLS, port 465) or "
            "none (a relay on this host only).",
        ),
    ] = "starttls",
    smtp_user: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_SMTP_USER",
            "With --smtp-host: the user name to log in with (no login without it).",
        ),
    ] = None,
    smtp_password: Annotated[
        str | None,
        env_option(
            "TRACKRECORD_SMTP_PASSWORD",
            "With --smtp-user: its password (better given in the environment "
            "variable than on the command line).",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API and the web pages for the ledger at --db.

    With --as OPERATOR (the operator's keystore), checkpoints are signed as the log grows,
    and cosigned by the witnesses given with --witness. With --witness-key the service is
    also a witness (c2sp.org/tlog-witness) of the logs given with --witness-log.
    """
    for flag, given in (("--stream-cache", stream_cache), ("--answer-cache", answer_cache)):
        if given is not None:  # still honoured: a bound on the number as well
            typer.echo(f"{flag} N is deprecated: the caches are bounded by memory ({flag}-mib)",
                       err=True)  # fmt: skip
    cli = cli_context(ctx)
    settings = cli.settings
    operator = None
    if settings.acting:
        # asked once (workers open the keystore again with it: TRACKRECORD_PASSPHRASE)
        path = settings.keystore_path(settings.acting)
        secret = get_passphrase(settings, path=path, new=False) if path.exists() else None
        operator = load_identity(settings, settings.acting, passphrase=secret)
        settings = dataclasses.replace(settings, passphrase=secret)
    from api.config import ApiConfig

    config = ApiConfig(
        checkpoint_interval=checkpoint_every,
        checkpoint_in=checkpoint_in,
        secure_cookies=secure_cookies,
        metrics_token=metrics_token or None,
        ready_max_lag=ready_max_lag,
        stream_cache_bytes=int(stream_cache_mib * 1024 * 1024),
        stream_cache_size=stream_cache,
        answer_cache_bytes=int(answer_cache_mib * 1024 * 1024),
        answer_cache_size=answer_cache,
        refresh_in=refresh_in,
        refresh_every=refresh_every,
        witness=open_witness(witness_key, witness_log or [], witness_state),
        witnesses=endpoints(witness),
        oidc=oidc_provider(
            oidc_issuer, oidc_client_id, oidc_client_secret, oidc_organisation, oidc_label
        ),
        public_url=settings.public_url,
        smtp=smtp_server(smtp_host, smtp_port, smtp_from, smtp_security, smtp_user, smtp_password),
    )
    serve(settings, host, port, operator=operator, config=config, workers=workers)


def oidc_provider(
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None,
    organisation: str | None,
    label: str,
) -> OidcProvider | None:
    """The identity provider ``serve`` is given, or None without ``--oidc-issuer``; a
    usage error when the issuer comes without its client id, secret or organisation."""
    from api.oidc import OidcProvider

    if issuer is None:
        return None
    missing = [
        name
        for name, value in (
            ("--oidc-client-id", client_id),
            ("--oidc-client-secret (or TRACKRECORD_OIDC_CLIENT_SECRET)", client_secret),
            ("--oidc-organisation", organisation),
        )
        if not value
    ]
    if missing or client_id is None or client_secret is None or organisation is None:
        raise CliError("usage", f"--oidc-issuer also needs {', '.join(missing)}")
    if not re.fullmatch(SLUG_RE, organisation):
        raise CliError("usage", f"--oidc-organisation {organisation!r} is not an organisation id")
    return OidcProvider(issuer, client_id, client_secret, organisation, label)


def smtp_server(
    host: str | None,
    port: int,
    sender: str | None,
    security: str,
    user: str | None,
    password: str | None,
) -> SmtpServer | None:
    """The SMTP server ``serve`` sends notifications through, or None without
    ``--smtp-host``; a usage error for a From address missing or a security unknown."""
    from api.notify import SmtpServer

    if host is None:
        return None
    if not sender or "@" not in sender:
        raise CliError("usage", "--smtp-host also needs --smtp-from, an e-mail address")
    if security not in ("starttls", "tls", "none"):
        raise CliError("usage", f"--smtp-security is starttls, tls or none, not {security!r}")
    if user is not None and password is None:
        raise CliError("usage", "--smtp-user also needs TRACKRECORD_SMTP_PASSWORD")
    return SmtpServer(host, sender, port, cast(Security, security), user, password)
