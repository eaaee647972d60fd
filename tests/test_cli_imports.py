"""What one run of ``trackrecord`` imports (issue 13: a CLI append within a second).

A command's module is imported only when that command runs, and an append loads neither the
web stack nor the read models: Python imports were most of a CLI append's cost (1.2 of
1.6 s of CPU at any ledger size). These tests keep it so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from tests.support.cli import BASE_ENV, Cli, organisation
from trackrecord.cli import create_app
from trackrecord.cli.app import _SOURCES

# Packages a plain append must not import: the service (FastAPI, uvicorn, Jinja2 pages,
# HTTP clients), the read models (SQLAlchemy, Alembic, numpy), the PostgreSQL driver on a
# SQLite ledger, the credentials' JOSE stack, Typer's Rich help formatting, test tools.
_HEAVY = (
    "api",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "babel",
    "httpx",
    "projections",
    "sqlalchemy",
    "alembic",
    "numpy",
    "psycopg",
    "jwcrypto",
    "sd_jwt",
    "cryptography",
    "ledger.credentials",
    "typer.rich_utils",
    "hypothesis",
    "pyld",
    # the audit and what only it and the reading commands print with: an append prints two
    # lines (trackrecord.cli.audit_report)
    "ledger.audit",
    "rich.progress",
    "rich.table",
)

# Runs the tool as the console script does, then writes the names of the loaded modules.
_RUN_AND_LIST = """
import json, sys
listed = sys.argv.pop(1)
from trackrecord.cli import main
try:
    main()
finally:
    with open(listed, "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _modules_of_run(cli: Cli, tmp_path: Path, *args: str) -> tuple[set[str], str]:
    listed = tmp_path / "modules.json"
    env = {k: v for k, v in {**os.environ, **BASE_ENV}.items() if v is not None}
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, str(listed), "--db", cli.url,
         "--keys", str(cli.keys), *args],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(json.loads(listed.read_text(encoding="utf-8"))), done.stdout


def test_an_append_imports_neither_the_service_nor_the_read_models(
    sqlite_url: str, tmp_path: Path
) -> None:
    cli = Cli(sqlite_url, tmp_path / "keys")
    organisation(cli)
    modules, out = _modules_of_run(cli, tmp_path, "--as", "alice", "ambition", "--goal", "Lead")
    assert "AmbitionStated appended" in out
    loaded = sorted(name for name in modules if any(_within(name, heavy) for heavy in _HEAVY))
    assert loaded == []
    # the other command modules stay unloaded too
    assert "trackrecord.cli.serve" not in modules
    assert "trackrecord.cli.transparency" not in modules


def test_each_command_is_found_where_the_root_says_it_is() -> None:
    """The root's table names exactly the commands each module adds, and the root lists
    every one of them (its help loads them all)."""
    for source in _SOURCES:
        app = typer.Typer()
        source.install(app)
        assert tuple(typer.main.get_group(app).commands) == source.names
    root = typer.main.get_command(create_app())
    assert isinstance(root, typer.core.TyperGroup)
    listed = root.list_commands(typer.Context(root))
    assert sorted(listed) == sorted(name for source in _SOURCES for name in source.names)
    for name in listed:  # a fresh root finds each by its name alone
        fresh = typer.main.get_command(create_app())
        assert isinstance(fresh, typer.core.TyperGroup)
        found = fresh.get_command(None, name)  # type: ignore[arg-type]
        assert found is not None
        assert found.name == name


def test_a_mistyped_command_is_answered_with_the_close_one() -> None:
    done = CliRunner().invoke(create_app(), ["clam"], env=BASE_ENV)
    assert done.exit_code == 1
    assert "Did you mean 'claim'?" in done.output


# Starts the service's application (its lifespan: the ledger opened, the read models caught
# up and followed) and stops it, then writes the names of the loaded modules.
_START_AND_LIST = """
import asyncio, json, sys
from api.app import create_app
url, listed = sys.argv[1:]
app = create_app(url)
async def start_and_stop():
    async with app.router.lifespan_context(app):
        marks = app.state.context.read_models.projector.refreshed().values()
        print("refreshed" if marks and None not in marks else "never refreshed")
asyncio.run(start_and_stop())
with open(listed, "w") as out:
    json.dump(sorted(sys.modules), out)
"""

# What a service on SQLite does not need before its first answer: the PostgreSQL driver,
# the OIDC sign-in's HTTP clients and JOSE (httpx, Authlib, requests, joserfc: imported
# when a sign-in runs) and NumPy (the reputation refresh's, which runs after the start).
_NOT_AT_START = ("psycopg", "httpx", "authlib", "requests", "joserfc", "numpy")


def test_a_service_on_sqlite_starts_without_the_modules_it_needs_later(
    sqlite_url: str, tmp_path: Path
) -> None:
    cli = Cli(sqlite_url, tmp_path / "keys")
    organisation(cli)
    env = {k: v for k, v in {**os.environ, **BASE_ENV}.items() if v is not None}
    listed = tmp_path / "modules.json"
    for _ in range(2):  # the first start refreshes the read models (never refreshed before)
        done = subprocess.run(
            [sys.executable, "-c", _START_AND_LIST, cli.url, str(listed)],
            env=env, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "refreshed"  # the read models did start
    modules = set(json.loads(listed.read_text(encoding="utf-8")))
    assert "api.app" in modules
    loaded = sorted(m for m in modules if any(_within(m, heavy) for heavy in _NOT_AT_START))
    assert loaded == []
