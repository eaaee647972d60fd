"""The root ``trackrecord`` command: global options, the command groups, error handling."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click  # Typer vendors Click; Context is not re-exported
from typer.core import TyperCommand, TyperGroup

from ..settings import Settings
from .context import CliContext
from .errors import EXIT_CODES_HELP, ExitCode, report

__all__ = ["create_app"]

_HELP = (
    "A verifiable track record that travels with the employee.\n\n"
    "An append-only, hash-chained ledger of signed work contributions, endorsements and "
    "assignments. Every statement is signed with the acting person's key (--as PERSON), "
    "read from the keystore <keys>/<person>.key; its passphrase comes from "
    "TRACKRECORD_PASSPHRASE or a prompt."
)


class _Root(TyperGroup):
    """The root group: maps every error to its exit code (see ``trackrecord.cli.errors``).

    Click exits with 2 on usage errors; this tool reserves 2 for rule violations,
    so the root runs Click in non-standalone mode and reports errors itself.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = int(result) if isinstance(result, int) else ExitCode.OK
        except Exception as exc:  # report() re-raises what it does not know
            code = report(exc)
        if standalone_mode:
            sys.exit(code)
        return code

    def get_command(self, ctx: _click.Context | None, cmd_name: str) -> _click.Command | None:
        """The root command ``cmd_name``, its module imported now if it was not yet."""
        if cmd_name not in self.commands:
            source = _SOURCE_OF.get(cmd_name)
            # an unknown name: load them all, so that the error suggests a close one
            installs = (source.install,) if source else tuple(s.install for s in _SOURCES)
            for name, command in _group(*installs).commands.items():
                self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        """Every root command, in the order they are registered (all modules imported)."""
        every = _group(*(source.install for source in _SOURCES)).commands
        for name, command in every.items():
            self.commands.setdefault(name, command)
        return list(every)


def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Ledger database: sqlite:///abs/path.db or postgresql://user@host:port/db "
            "(env TRACKRECORD_DATABASE_URL; default sqlite:///<cwd>/trackrecord.db)",
            show_default=False,
        ),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys",
            metavar="DIR",
            file_okay=False,
            help="Keystore directory (env TRACKRECORD_KEYS; default ~/.trackrecord/keys)",
            show_default=False,
        ),
    ] = None,
    acting: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="PERSON",
            help="Act as PERSON: sign with <keys>/<PERSON>.key (env TRACKRECORD_AS)",
            show_default=False,
        ),
    ] = None,
) -> None:
    settings = Settings.load(database_url=db, keys_dir=keys, acting=acting)
    cli = CliContext(settings)
    ctx.obj = cli
    ctx.call_on_close(cli.close)


Install = Callable[[typer.Typer], None]


@dataclass(frozen=True)
class _Source:
    """A module of commands: the root commands (and groups) it adds, and how it adds them."""

    names: tuple[str, ...]
    install: Install


def _identity(app: typer.Typer) -> None:
    from . import identity_cmds

    identity_cmds.register_commands(app, panel="Identities and roles")


def _keys(app: typer.Typer) -> None:
    from .keys_cmds import keys_app

    app.add_typer(keys_app(), name="keys", rich_help_panel="Identities and roles")


def _service_key(app: typer.Typer) -> None:
    from .service_key_cmds import service_key_app

    app.add_typer(service_key_app(), name="service-key", rich_help_panel="Identities and roles")


def _people(app: typer.Typer) -> None:
    from . import people_cmds

    app.add_typer(people_cmds.app, name="people", rich_help_panel="Identities and roles")


def _record(app: typer.Typer) -> None:
    from . import record_cmds

    record_cmds.register_commands(app, panel="Your record")


def _access(app: typer.Typer) -> None:
    from .access_cmds import access_app

    app.add_typer(access_app(), name="access", rich_help_panel="Your record")


def _review(app: typer.Typer) -> None:
    from .review_cmds import review_app

    app.add_typer(review_app(), name="review", rich_help_panel="Your record")


def _assignment(app: typer.Typer) -> None:
    from .assignment_cmds import assignment_app

    app.add_typer(assignment_app(), name="assignment", rich_help_panel="Assignments")


def _read(app: typer.Typer) -> None:
    from . import read_cmds

    read_cmds.register_commands(app, panel="Reading and auditing")


def _audit(app: typer.Typer) -> None:
    from .audit_cmds import audit_command

    app.command("audit", rich_help_panel="Reading and auditing")(audit_command)


def _reputation(app: typer.Typer) -> None:
    from .reputation_cmds import reputation

    app.command("reputation", rich_help_panel="Reading and auditing")(reputation)


def _demo(app: typer.Typer) -> None:
    from .demo_cmds import demo

    app.command(rich_help_panel="Reading and auditing")(demo)


def _transparency(app: typer.Typer) -> None:
    from . import transparency

    # No name: the transparency commands (checkpoint, export, verify, ...) join the root's;
    # they are listed under the help's "Commands" panel unless they name their own.
    app.add_typer(transparency.app)


def _projections(app: typer.Typer) -> None:
    from . import projections

    app.add_typer(projections.app, name="projections", rich_help_panel="Reading and auditing")


def _serve(app: typer.Typer) -> None:
    from . import serve

    app.add_typer(serve.app)


def _witness(app: typer.Typer) -> None:
    from . import witness_cmds

    app.add_typer(witness_cmds.app)


def _backup(app: typer.Typer) -> None:
    from . import backup_cmds

    app.command("backup", rich_help_panel="Operating the ledger")(backup_cmds.backup)
    app.command("restore", rich_help_panel="Operating the ledger")(backup_cmds.restore)


def _migrate(app: typer.Typer) -> None:
    from .migrate_cmds import migrate

    app.command("migrate", rich_help_panel="Operating the ledger")(migrate)


def _credentials(app: typer.Typer) -> None:
    from . import credentials

    app.add_typer(
        credentials.app, name="credentials", rich_help_panel="Transparency and portable records"
    )


def _present(app: typer.Typer) -> None:
    from . import present_cmds

    app.add_typer(
        present_cmds.app, name="present", rich_help_panel="Transparency and portable records"
    )


# The root's commands, by the module that adds them, in the help's order. A command's module
# is imported only when that command runs (the root's help imports them all): one CLI append
# imports neither the service nor the read models (issue 13: a CLI append within a second).
# tests/test_cli_imports.py checks these names against what each module adds.
_SOURCES: tuple[_Source, ...] = (
    _Source(
        ("init", "register", "transfer", "consent-transfer", "leave", "erase", "link", "role"),
        _identity,
    ),
    _Source(("keys",), _keys),
    _Source(("service-key",), _service_key),
    _Source(("people",), _people),
    _Source(
        ("claim", "withdraw", "endorse", "ambition", "visibility", "submit", "endorsement"),
        _record,
    ),
    _Source(("access",), _access),
    _Source(("review",), _review),
    _Source(("assignment",), _assignment),
    _Source(("show", "log"), _read),
    _Source(("audit",), _audit),
    _Source(("reputation",), _reputation),
    _Source(("demo",), _demo),
    _Source(
        ("checkpoint", "export", "verify", "import", "trust", "imported", "monitor", "proof"),
        _transparency,
    ),
    _Source(("projections",), _projections),
    _Source(("serve",), _serve),
    _Source(("witness-key",), _witness),
    _Source(("backup", "restore"), _backup),
    _Source(("migrate",), _migrate),
    _Source(("credentials",), _credentials),
    _Source(("present",), _present),
)
_SOURCE_OF = {name: source for source in _SOURCES for name in source.names}


def _readable_help(command: _click.Command) -> None:
    """Make the help of ``command`` and everything under it readable at any width.

    Typer's rich help lays options out in six auto-sized table columns it lets no one set;
    at 80 columns rich shrinks them all and cuts option names ("--checkpoint-ev…"). Click's
    formatter never cuts a name and wraps the help under it, so a command's help uses it,
    while groups keep rich's panels (a command's name there is never cut). In those panels
    rich keeps the line breaks of a docstring's first paragraph, so each command's summary
    is that paragraph on one line, for rich to wrap.
    """
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if sub.short_help is None and sub.help:
                summary = inspect.cleandoc(sub.help).split("\n\n", 1)[0]
                sub.short_help = " ".join(summary.split())
            _readable_help(sub)
    elif isinstance(command, TyperCommand):
        command.rich_markup_mode = None


def _group(*installs: Install) -> TyperGroup:
    """The Click group of the commands ``installs`` add, built as the root builds its own."""
    app = typer.Typer(rich_markup_mode="rich")
    for install in installs:
        install(app)
    group = typer.main.get_group(app)
    _readable_help(group)
    return group


def create_app() -> typer.Typer:
    """Build the ``trackrecord`` application (nothing is opened until a command runs, and a
    command's module is imported only when it runs)."""
    app = typer.Typer(
        cls=_Root,
        name="trackrecord",
        help=_HELP,
        epilog=EXIT_CODES_HELP,
        rich_markup_mode="rich",
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback(no_args_is_help=True)(_root)
    return app
