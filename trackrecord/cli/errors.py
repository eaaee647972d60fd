"""Exit codes and error messages of the command-line tool: the one place errors are mapped.

=====  =====================================================================
code   meaning
=====  =====================================================================
0      ok
1      usage or input error: bad arguments, malformed input (``MalformedInput``,
       a bad setting, an unknown option)
2      rule violation: the ledger refused the statement (``RuleViolation``;
       the rule code is printed) or the request (``NotPermitted``), or the
       ledger already exists (``init``)
3      audit or integrity failure: stored data does not verify
       (``IntegrityViolation``, ``ProofError`` such as a presentation that does not
       verify, a failed ``audit``)
4      key, keystore or passphrase error (``keys.KeyError_``, no passphrase)
5      store unreachable or misconfigured (``StoreError``), or no ledger at
       ``--db`` (``NoLedger``: only ``init`` and ``demo`` create one)
6      not found: no such person, stream or entry (``NotFound``)
7      concurrency conflict: other writers kept appending first
       (``ConcurrencyConflict``); retrying usually succeeds
=====  =====================================================================

Every error is printed to standard error as ``error [code]: message``
followed by its evidence (stream, seq, log index, ...).
"""

from __future__ import annotations

import enum
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer import _click  # Typer vendors Click; ClickException is not re-exported

from keys import KeyError_
from ledger.errors import (
    ConcurrencyConflict,
    IntegrityViolation,
    LedgerError,
    MalformedInput,
    NotFound,
    NotPermitted,
    ProofError,
    RuleViolation,
    StoreError,
)

from ..settings import SettingsError

__all__ = ["EXIT_CODES_HELP", "CliError", "ExitCode", "exit_code_for", "report"]


class ExitCode(enum.IntEnum):
    """The process exit status of ``trackrecord``."""

    OK = 0
    USAGE = 1
    RULE = 2
    INTEGRITY = 3
    KEY = 4
    STORE = 5
    NOT_FOUND = 6
    CONFLICT = 7


EXIT_CODES_HELP = "\n\n".join(
    [
        "[bold]Exit codes[/bold]",
        "0 ok · 1 usage or input error · 2 rule violation (the rule code is printed)"
        " · 3 audit or integrity failure · 4 key, keystore or passphrase error"
        " · 5 store unreachable or misconfigured · 6 not found · 7 concurrency conflict",
    ]
)


class CliError(Exception):
    """An error found by the command-line tool itself, with its code and exit status."""

    def __init__(self, code: str, message: str, *, exit_code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


# Most specific first: MalformedInput is a RuleViolation but an input error.
_LEDGER_EXIT_CODES: tuple[tuple[type[LedgerError], ExitCode], ...] = (
    (MalformedInput, ExitCode.USAGE),
    (RuleViolation, ExitCode.RULE),
    (NotPermitted, ExitCode.RULE),
    (IntegrityViolation, ExitCode.INTEGRITY),
    (ProofError, ExitCode.INTEGRITY),
    (StoreError, ExitCode.STORE),
    (NotFound, ExitCode.NOT_FOUND),
    (ConcurrencyConflict, ExitCode.CONFLICT),
)


def exit_code_for(exc: BaseException) -> ExitCode | None:
    """The exit status for ``exc``, or ``None`` if it is not an error the tool reports.

    A :class:`LedgerError` of no listed kind exits with :attr:`ExitCode.RULE`:
    the ledger refused the request.
    """
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, SettingsError | _click.ClickException | typer.Abort):
        return ExitCode.USAGE
    if isinstance(exc, KeyError_):
        return ExitCode.KEY
    if isinstance(exc, LedgerError):
        for kind, code in _LEDGER_EXIT_CODES:
            if isinstance(exc, kind):
                return code
        return ExitCode.RULE
    return None


def _evidence(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, LedgerError):
        return {k: v for k, v in exc.evidence().items() if k not in ("code", "message")}
    return {}


def _code_and_message(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, CliError | SettingsError | KeyError_ | LedgerError):
        return exc.code, exc.message
    return type(exc).__name__, str(exc)


def report(exc: BaseException, console: Console | None = None) -> ExitCode:
    """Print ``exc`` to standard error and return its exit status.

    Re-raises ``exc`` if it is not an error the tool reports (a bug shows its
    traceback rather than a misleading message).
    """
    code = exit_code_for(exc)
    if code is None:
        raise exc
    # Typer's rich help formatting (Rich's traceback and Markdown) is imported only when an
    # error needs it, not by every run of the tool (issue 13: a CLI append within a second).
    from typer.rich_utils import rich_abort_error, rich_format_error

    if isinstance(exc, _click.ClickException):
        rich_format_error(exc)
        return code
    if isinstance(exc, typer.Abort):
        rich_abort_error()
        return code
    out = console or Console(stderr=True, highlight=False, soft_wrap=True)
    rule, message = _code_and_message(exc)
    out.print(f"[bold red]error[/bold red] [red]\\[{escape(rule)}][/red]: {escape(message)}")
    for key, value in _evidence(exc).items():
        out.print(f"  {escape(key)}: {escape(str(value))}", style="red")
    return code
