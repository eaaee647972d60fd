"""The root ``trackrecord`` command: global options, the command groups, error handling."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..settings import Settings
from . import (
    backup_cmds,
    credentials,
    identity_cmds,
    people_cmds,
    present_cmds,
    projections,
    read_cmds,
    record_cmds,
    serve,
    transparency,
    witness_cmds,
)
from .access_cmds import access_app
from .assignment_cmds import assignment_app
from .audit_cmds import audit_command
from .context import CliContext
from .demo_cmds import demo
from .errors import EXIT_CODES_HELP, ExitCode, report
from .keys_cmds import keys_app
from .migrate_cmds import migrate
from .reputation_cmds import reputation
from .review_cmds import review_app
from .service_key_cmds import service_key_app

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


def create_app() -> typer.Typer:
    """Build the ``trackrecord`` application (nothing is opened until a command runs)."""
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
    identity_cmds.register_commands(app, panel="Identities and roles")
    app.add_typer(keys_app(), name="keys", rich_help_panel="Identities and roles")
    app.add_typer(service_key_app(), name="service-key", rich_help_panel="Identities and roles")
    app.add_typer(people_cmds.app, name="people", rich_help_panel="Identities and roles")
    record_cmds.register_commands(app, panel="Your record")
    app.add_typer(access_app(), name="access", rich_help_panel="Your record")
    app.add_typer(review_app(), name="review", rich_help_panel="Your record")
    app.add_typer(assignment_app(), name="assignment", rich_help_panel="Assignments")
    read_cmds.register_commands(app, panel="Reading and auditing")
    app.command("audit", rich_help_panel="Reading and auditing")(audit_command)
    app.command("reputation", rich_help_panel="Reading and auditing")(reputation)
    app.command(rich_help_panel="Reading and auditing")(demo)
    # No name: the transparency commands (checkpoint, export, verify, ...) join the root's;
    # they are listed under the help's "Commands" panel unless they name their own.
    app.add_typer(transparency.app)
    app.add_typer(projections.app, name="projections", rich_help_panel="Reading and auditing")
    app.add_typer(serve.app)
    app.add_typer(witness_cmds.app)
    app.command("backup", rich_help_panel="Operating the ledger")(backup_cmds.backup)
    app.command("restore", rich_help_panel="Operating the ledger")(backup_cmds.restore)
    app.command("migrate", rich_help_panel="Operating the ledger")(migrate)
    app.add_typer(
        credentials.app, name="credentials", rich_help_panel="Transparency and portable records"
    )
    app.add_typer(
        present_cmds.app, name="present", rich_help_panel="Transparency and portable records"
    )
    return app
