"""docker-compose.yml (no Docker engine here): it parses, and the service's command is one
the ``trackrecord`` CLI accepts, with the worker processes the README describes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
import yaml

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
