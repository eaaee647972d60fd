"""The ``trackrecord`` command-line tool run in-process, bound to one ledger and keystore.

:class:`Cli` runs the real CLI with Typer's ``CliRunner``; keystores use
``TRACKRECORD_KDF=fast`` (Argon2id minimum limits). :func:`organisation` sets up an
operator, alice and her manager bob; :func:`claim` has alice claim a contribution.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner, Result

from trackrecord.cli import create_app
from trackrecord.cli import projections as projections_cli

__all__ = ["BASE_ENV", "PASSPHRASE", "Cli", "app_with_projections", "claim", "organisation"]

PASSPHRASE = "correct horse"
BASE_ENV: dict[str, str | None] = {
    "TRACKRECORD_PASSPHRASE": PASSPHRASE,
    "TRACKRECORD_KDF": "fast",
    "TRACKRECORD_DATABASE_URL": None,
    "TRACKRECORD_KEYS": None,
    "TRACKRECORD_AS": None,
    "COLUMNS": "200",
}


def app_with_projections() -> typer.Typer:
    """The CLI app, with the ``projections`` commands registered (once)."""
    app = create_app()
    if not any(group.name == "projections" for group in app.registered_groups):
        app.add_typer(projections_cli.app, name="projections")
    return app


@dataclass
class Cli:
    """The CLI bound to one ledger and keystore directory."""

    url: str
    keys: Path

    def __call__(
        self, *args: str, who: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        argv = ["--db", self.url, "--keys", str(self.keys)]
        if who is not None:
            argv += ["--as", who]
        return CliRunner().invoke(create_app(), [*argv, *args], env={**BASE_ENV, **(env or {})})

    def ok(self, *args: str, who: str | None = None) -> Result:
        result = self(*args, who=who)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str, who: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", who=who).stdout)


def organisation(cli: Cli) -> None:
    """An operator, alice (employee) and bob (manager of alice's department)."""
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    alice = cli.json("keys", "create", "alice")
    cli.ok("keys", "create", "bob")
    cli.ok(
        "register", "alice", "--department", "minbzk/dgo", "--name", "Alice",
        "--public-key", alice["public_key"], who="op",
    )  # fmt: skip
    cli.ok(
        "register", "bob", "--department", "minbzk/dgo", "--name", "Bob",
        "--keystore", str(cli.keys / "bob.key"), who="op",
    )  # fmt: skip
    cli.ok("role", "grant", "bob", "manager", "minbzk/dgo", who="op")


def claim(cli: Cli, title: str = "Policy brief") -> str:
    """alice claims a contribution titled ``title``; return its id."""
    out = cli.json("claim", "--title", title, "--skill", "policy-advice", "--start",
                   "2026-01-01", who="alice")  # fmt: skip
    contribution: str = out["contribution"]
    return contribution
