"""Options and arguments shared by several commands, and small input helpers."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import typer

from ledger.catalogue import GRADE_MAX, GRADE_MIN

from .errors import CliError

__all__ = [
    "Grade",
    "Hours",
    "JsonFlag",
    "RefreshInOption",
    "Skills",
    "confirm",
    "env_option",
    "file_option",
    "organisation_of",
    "resolve_id",
]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Skills = Annotated[
    list[str] | None,
    typer.Option(
        "--skill",
        metavar="SKILL",
        help="A skill tag like 'policy-advice' (lowercase, digits, '-'); repeat for more.",
    ),
]
Grade = Annotated[
    int,
    typer.Option(
        min=GRADE_MIN,
        max=GRADE_MAX,
        help="Grade on the uniform scale: 1 below expectations … 5 excellent.",
    ),
]
Hours = Annotated[int, typer.Option("--hours", min=1, max=40, help="Hours per week (1-40).")]
RefreshInOption = Annotated[
    # projections.REFRESH_IN, spelt out: a command that does not refresh loads no read model
    Literal["child", "process"],
    typer.Option(
        "--refresh-in",
        envvar="TRACKRECORD_REFRESH_IN",
        help="Run the reputation refresh in a short-lived child process (its memory given "
        "back when it ends) or in this process.",
    ),
]

CheckpointInOption = Annotated[
    # ledger.child_process.RUN_IN, spelt out as RefreshInOption is
    Literal["child", "process"],
    typer.Option(
        "--checkpoint-in",
        envvar="TRACKRECORD_CHECKPOINT_IN",
        help="With --as OPERATOR: hash and store each checkpoint's heads tree in a short-lived "
        "child process (its memory given back when it ends; the operator's key stays in "
        "the service, which signs) or in this process.",
    ),
]

_MIN_PREFIX = 4


def env_option(envvar: str, help: str) -> Any:
    """An option also read from the environment variable ``envvar``, its value never
    shown in the help (addresses, client ids, secrets): ``Annotated[str | None,
    env_option(...)]``. Returns typer's option declaration (typed ``Any`` by typer)."""
    return typer.Option(envvar=envvar, show_default=False, help=help)


def file_option(name: str, help: str) -> Any:
    """An option ``name`` (``--name``) that names one file, never a directory:
    ``Annotated[Path | None, file_option(...)]``. Returns typer's option declaration."""
    return typer.Option(name, dir_okay=False, help=help)


def organisation_of(department: str, organisation: str | None) -> str:
    """``organisation`` if given, else the organisation part of ``org/dept``."""
    return organisation or department.split("/", 1)[0]


def resolve_id(given: str, candidates: Iterable[str], what: str) -> str:
    """Expand a unique prefix (at least 4 characters) of one of ``candidates``.

    Returns ``given`` unchanged when it is a full candidate or matches none (the
    ledger then names what is wrong); raises :class:`CliError` if it is ambiguous.
    """
    pool = list(candidates)
    if given in pool or len(given) < _MIN_PREFIX:
        return given
    matches = [c for c in pool if c.startswith(given)]
    if len(matches) > 1:
        raise CliError(
            "ambiguous_id", f"{given!r} is the start of {len(matches)} {what}s; give more of it"
        )
    return matches[0] if matches else given


def confirm(yes: bool, question: str, *, without_terminal: str, cancelled: str) -> None:
    """Go on only if ``yes`` (``--yes``) or the person answers ``question`` with yes.

    Without ``--yes`` and without a terminal to ask on, raise :class:`CliError`
    (``confirmation_needed``, saying ``without_terminal``) instead of waiting for
    an answer that never comes; a "no" raises ``cancelled``.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError("confirmation_needed", without_terminal)
    if not typer.confirm(question, err=True):
        raise CliError("cancelled", cancelled)
