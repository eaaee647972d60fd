"""docker-compose.yml (no Docker engine here): it parses, and the service's command is one
the ``trackrecord`` CLI accepts, with the worker processes the README describes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from tests.support.api_server import live_server
from trackrecord.cli import create_app

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _interpolate(arg: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}``, with ``env`` as the environment."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), arg)


def test_compose_runs_postgres_and_the_service_in_worker_processes() -> None:
    services = _compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    service = services["trackrecord"]
    assert service["environment"]["TRACKRECORD_DATABASE_URL"].startswith("postgresql://")
    command = [_interpolate(str(a), {}) for a in service["command"]]
    assert command[0] == "serve"
    serve = typer.main.get_command(create_app()).get_command(None, "serve")  # type: ignore[attr-defined]
    assert serve is not None
    ctx = serve.make_context("serve", command[1:])  # parses and checks every option
    assert ctx.params["workers"] == 2
    assert ctx.params["host"] == "0.0.0.0"
    scaled = [_interpolate(str(a), {"TRACKRECORD_WORKERS": "4"}) for a in service["command"]]
    assert serve.make_context("serve", scaled[1:]).params["workers"] == 4


def test_compose_health_check_asks_readiness_of_a_real_service(tmp_path: Path) -> None:
    """The container's health check, run as is against a live service: it passes while
    ``/readyz`` is ready and fails otherwise (issue 20)."""
    service = _compose()["services"]["trackrecord"]
    assert service["environment"]["PROMETHEUS_MULTIPROC_DIR"]  # the workers' metrics summed
    kind, *argv = service["healthcheck"]["test"]
    assert kind == "CMD"
    assert "http://127.0.0.1:8000/readyz" in argv[-1]
    with live_server(f"sqlite://{tmp_path / 'ledger.db'}", keys_dir=tmp_path / "keys") as live:
        check = [sys.executable, *argv[1:-1], argv[-1].replace("http://127.0.0.1:8000", live.url)]
        assert argv[0] == "python"
        assert subprocess.run(check, check=False, capture_output=True).returncode == 0
    down = subprocess.run(check, check=False, capture_output=True)  # the service is gone
    assert down.returncode != 0
