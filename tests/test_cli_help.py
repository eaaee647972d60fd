"""Every command's ``--help`` names every option in full at a normal 80-column width."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer
from typer import _click
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from tests.support.cli import BASE_ENV
from trackrecord.cli import create_app


def _commands() -> Iterator[tuple[tuple[str, ...], _click.Command]]:
    """Every command and group of ``trackrecord`` (the root too), with its path of names."""
    root = typer.main.get_command(create_app())
    ctx = _click.Context(root)
    todo: list[tuple[tuple[str, ...], _click.Command]] = [((), root)]
    while todo:
        path, command = todo.pop()
        yield path, command
        if isinstance(command, TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                todo.append(((*path, name), sub))


COMMANDS = sorted(_commands(), key=lambda item: item[0])


def test_every_root_command_is_in_a_named_panel() -> None:
    result = CliRunner().invoke(create_app(), ["--help"], env={**BASE_ENV, "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "─ Commands ─" not in result.output  # Typer's panel for commands naming none
    assert "─ Operating the ledger ─" in result.output


def test_the_tree_is_whole() -> None:
    paths = {path for path, _ in COMMANDS}
    assert {("serve",), ("keys", "rotate"), ("proof", "inclusion")} <= paths
    assert len(paths) > 60


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "trackrecord" for p, _ in COMMANDS]
)
def test_help_names_every_option_in_full_at_80_columns(
    path: tuple[str, ...], command: _click.Command
) -> None:
    result = CliRunner().invoke(
        create_app(), [*path, "--help"], env={**BASE_ENV, "COLUMNS": "80"}, terminal_width=80
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"-[\w-]*…", result.output) is None, result.output  # no cut name
    for line in result.output.splitlines():
        assert len(line) <= 80, line
    names = [
        name
        for param in command.get_params(_click.Context(command))
        if isinstance(param, TyperOption)
        for name in (*param.opts, *param.secondary_opts)
    ]
    assert "--help" in names, path
    words = set(re.findall(r"-[\w-]+", result.output))
    for name in names:
        assert name in words, (name, result.output)
