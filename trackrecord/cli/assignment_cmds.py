"""The ``assignment`` commands: post, apply, assign, complete, cancel, show."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.markup import escape

from ledger import commands
from ledger.access import applied_for, shows_assignee, today_utc
from ledger.catalogue import Outcome, Ring
from ledger.entry_view import view_entry
from ledger.errors import NotPermitted
from ledger.state import Assignment, LedgerState

from .context import CliContext, cli_context
from .options import Grade, Hours, JsonFlag, Skills, organisation_of, resolve_id
from .output import entries_table, entry_json, print_appended, print_json, withheld_json

__all__ = ["assignment_app"]

AssignmentId = Annotated[
    str, typer.Argument(metavar="ID", help="The assignment id (or its first characters).")
]
Person = Annotated[str, typer.Argument(metavar="PERSON", help="Person id, e.g. alice.")]


def _full_id(cli: CliContext, given: str) -> str:
    return resolve_id(given, cli.state().assignments, "assignment")


def post(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="Title (a personal field).")],
    department: Annotated[
        str, typer.Option(metavar="ORG/DEPT", help="The department you manage that posts it.")
    ],
    hours: Hours,
    skill: Skills = None,
    organisation: Annotated[
        str | None, typer.Option(metavar="ORG", help="Organisation (default: from department).")
    ] = None,
    ring: Annotated[Ring, typer.Option(help="How far to search for candidates.")] = (
        Ring.GOVERNMENT
    ),
    description: Annotated[str | None, typer.Option(help="Details (a personal field).")] = None,
    starts: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD")] = None,
    ends: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Post an assignment (as a manager of DEPARTMENT); prints the new assignment id."""
    cli = cli_context(ctx)
    _, signer = cli.signer()
    assignment = str(uuid.uuid4())
    signed = commands.post_assignment(
        signer,
        assignment=assignment,
        organisation=organisation_of(department, organisation),
        department=department,
        title=title,
        skills=skill or [],
        hours_per_week=hours,
        ring=ring.value,
        description=description,
        starts=starts,
        ends=ends,
    )
    result = cli.service.append(signed)
    print_appended(cli, result, as_json=as_json, ids={"assignment": assignment})


def apply(
    ctx: typer.Context,
    assignment: AssignmentId,
    hours: Hours,
    motivation: Annotated[str | None, typer.Option(help="Why you (a personal field).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Apply to an open assignment."""
    cli = cli_context(ctx)
    full = _full_id(cli, assignment)
    _, signer = cli.signer()
    signed = commands.apply_to_assignment(
        signer, assignment=full, hours_per_week=hours, motivation=motivation
    )
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def assign(
    ctx: typer.Context, assignment: AssignmentId, person: Person, as_json: JsonFlag = False
) -> None:
    """Assign PERSON to your assignment (as its owner)."""
    cli = cli_context(ctx)
    full = _full_id(cli, assignment)
    _, signer = cli.signer()
    signed = commands.assign(signer, assignment=full, assignee=person)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def complete(
    ctx: typer.Context,
    assignment: AssignmentId,
    person: Person,
    grade: Grade,
    outcome: Annotated[Outcome, typer.Option(help="What was delivered.")] = Outcome.DELIVERED,
    note: Annotated[str | None, typer.Option(help="A note on the outcome (personal).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Confirm that PERSON completed your assignment, with an outcome and a grade."""
    cli = cli_context(ctx)
    full = _full_id(cli, assignment)
    _, signer = cli.signer()
    signed = commands.complete_assignment(
        signer, assignment=full, assignee=person, grade=grade, outcome=outcome.value, note=note
    )
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def cancel(
    ctx: typer.Context,
    assignment: AssignmentId,
    reason: Annotated[str | None, typer.Option(help="Why (a personal field).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Cancel your open or assigned assignment."""
    cli = cli_context(ctx)
    full = _full_id(cli, assignment)
    _, signer = cli.signer()
    signed = commands.cancel_assignment(signer, assignment=full, reason=reason)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def show(ctx: typer.Context, assignment: AssignmentId, as_json: JsonFlag = False) -> None:
    """Show an assignment: its status and every entry of its stream, as the acting person
    (--as; without it, anyone without a session) may see them, as the API shows them:
    applicants are counted, and named only to its owner; an assignee is named to the
    owner and to whoever may read the assignee's free part; an entry they may not see
    keeps only its place and hash."""
    cli = cli_context(ctx)
    state = cli.state()
    viewer = cli.reader(state)
    full = _full_id(cli, assignment)
    entries = cli.service.read_stream(f"assignment/{full}")
    today = today_utc()
    views = [view_entry(s, viewer, state, today=today, parts={}) for s in entries]
    withheld = {v.stored.entry.hash: v.reason for v in views if not v.shown}
    a = state.assignments.get(full)
    summary: dict[str, Any] = {
        "assignment": full,
        "viewer": viewer,
        "owner": a.owner if a else None,
        "department": a.department if a else None,
        "status": a.status if a else None,
        "applicants": len(a.applicants) if a else 0,
        "applied": _applied(state, full, viewer),
        "assignees": _named(state, a, a.assignees, viewer, today) if a else [],
        "completed": _named(state, a, a.completed, viewer, today) if a else [],
    }
    if as_json:
        print_json(
            {
                **summary,
                "entries": [
                    entry_json(v.stored, state) if v.shown else withheld_json(v.stored, v.reason)
                    for v in views
                ],
            }
        )
        return
    cli.console.print(
        f"assignment {full}: [bold]{escape(str(summary['status']))}[/bold], "
        f"owner {escape(str(summary['owner']))}, {escape(str(summary['department']))}; "
        f"{summary['applicants']} applied; "
        f"assigned: {escape(', '.join(summary['assignees']) or 'nobody shown')}",
        soft_wrap=True,
    )
    cli.console.print(entries_table(f"assignment/{full}", entries, state, withheld=withheld))


def _applied(state: LedgerState, assignment: str, viewer: str | None) -> list[str] | None:
    """Who applied to ``assignment``, for its owner only (:func:`ledger.access.applied_for`);
    None for anyone else."""
    try:
        return sorted(applied_for(state, assignment, viewer).applicants)
    except NotPermitted:
        return None


def _named(
    state: LedgerState, a: Assignment, people: Iterable[str], viewer: str | None, today: str
) -> list[str]:
    """The ones of ``people`` (assignees of ``a``) ``viewer`` is shown
    (:func:`ledger.access.shows_assignee`)."""
    return sorted(p for p in people if shows_assignee(state, a, p, viewer, today=today))


def assignment_app() -> typer.Typer:
    """The ``assignment`` command group."""
    app = typer.Typer(help="The marketplace of assignments.", no_args_is_help=True)
    for command in (post, apply, assign, complete, cancel, show):
        app.command()(command)
    return app
