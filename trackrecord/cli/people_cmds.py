"""``trackrecord people import FILE.csv``: the organisation's people from an HR export;
``trackrecord people search SKILL...``: people by skill, available hours and ring.

The domain of the import is :mod:`ledger.people_import` (reading the file, the plan row by
row); the command shows the plan, and applies it as the acting admin (``--as ADMIN``) in
atomic batches with a progress bar. A file with any refused row is applied not at all (exit
status 2): every row's error is listed and nothing is written.

The search is :func:`projections.matching.search.search_people` with the rules of
:mod:`ledger.people_search`, as ``--as PERSON`` (their place and grants) or, without
``--as``, as someone without a session. It reads the read models as they are and writes
nothing (it counts no appearance: only the service's searches are counted).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger.onboarding import admin_scope
from ledger.people_import import (
    RowPlan,
    contact_addresses,
    count_actions,
    parse_people_csv,
    plan_people_import,
    statement_batches,
)
from ledger.people_search import MAX_HOURS, MAX_LIMIT, SearchRing, people_query

from .context import CliContext, cli_context
from .errors import CliError, ExitCode
from .options import JsonFlag
from .output import print_json

if TYPE_CHECKING:
    from projections.matching.search import PersonFound

__all__ = ["app"]

app = typer.Typer(help="The organisation's people, in bulk (as an admin).", no_args_is_help=True)

#: statements per atomic batch (the service's own limit for one batch is 1000)
BATCH_STATEMENTS = 500
_SHOWN = 200  # rows listed in the text output; --json lists all


def _print_plan(cli: CliContext, plans: list[RowPlan], *, applied: bool) -> None:
    listed = [p for p in plans if p.actions != ("unchanged",)]
    table = Table("line", "person", "what", "details", title="Rows that change or are refused")
    for plan in listed[:_SHOWN]:
        style = "red" if plan.refused else None
        table.add_row(
            str(plan.row.line), plan.row.person, " + ".join(plan.actions),
            "; ".join(plan.details), style=style,
        )  # fmt: skip
    if listed:
        cli.console.print(table)
    if len(listed) > _SHOWN:
        cli.console.print(f"… and {len(listed) - _SHOWN} more rows (--json lists all)")
    counts = ", ".join(f"{n} {k}" for k, n in count_actions(plans).items() if n)
    verb = "Imported" if applied else "Would import"
    cli.console.print(f"{verb} {len(plans)} rows: {counts}.")


def _apply(cli: CliContext, plans: list[RowPlan]) -> int:
    """Append the statements of the changing rows in atomic batches; return how many."""
    _, signer = cli.signer()
    appended = 0
    columns = (
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=cli.console, transient=True) as progress:
        task = progress.add_task("importing", total=sum(1 for p in plans if p.changes))
        for rows, statements in statement_batches(plans, signer, max_statements=BATCH_STATEMENTS):
            cli.service.append_batch(statements)
            appended += len(statements)
            progress.advance(task, rows)
    return appended


@app.command("import")
def import_people(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The HR export (CSV, UTF-8).")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Register, transfer and make managers the people of an HR export (docs/people-import.md).

    Columns (header line; ';' or ','): person_id;name;organisation;department;email;
    manages;public_key. Running the same file twice changes nothing. A refused row stops
    the whole import (exit status 2) with every row's reason; nothing is written.
    """
    cli = cli_context(ctx)
    rows = parse_people_csv(file.read_bytes())
    state = cli.state()
    admin_id = cli.acting()
    admin = state.people.get(admin_id)
    if admin is None:
        raise CliError("not_admin", f"{admin_id} is not registered here", exit_code=ExitCode.RULE)
    plans = plan_people_import(state, rows, admin=admin)
    refused = [p for p in plans if p.refused]
    appended = kept = 0
    if not dry_run and not refused:
        appended = _apply(cli, plans)
        # the e-mail addresses, for notifications (kept beside the ledger, not in it)
        scope = admin_scope(cli.state(), admin_id)
        kept = cli.keep_addresses(contact_addresses(cli.state(), rows, scope=scope))
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "applied": not dry_run and not refused,
                "statements": appended,
                "addresses": kept,
                "counts": count_actions(plans),
                "rows": [p.as_json() for p in plans],
            }
        )
    else:
        _print_plan(cli, plans, applied=not dry_run and not refused)
        if kept:
            cli.console.print(f"Kept {kept} e-mail addresses for notifications.")
        if refused and not dry_run:
            cli.console.print(f"Nothing imported: {len(refused)} rows are refused (above).")
    if refused:
        raise typer.Exit(ExitCode.RULE)


@app.command("search")
def search(
    ctx: typer.Context,
    skills: Annotated[
        list[str],
        typer.Argument(
            metavar="SKILL...", help="Skills by Dutch or English label (quoted) or slug."
        ),
    ],
    hours: Annotated[
        int,
        typer.Option("--hours", min=0, max=MAX_HOURS, help="Hours a week still free, at least."),
    ] = 0,
    ring: Annotated[
        SearchRing, typer.Option("--ring", help="How far to search, from your own place.")
    ] = SearchRing.GOVERNMENT,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT)] = 10,
    as_json: JsonFlag = False,
) -> None:
    """Search people by skill, available hours and ring, best first with the reasons, as
    --as PERSON finds them (only people who opted in towards them, and of each only what
    they may read); without --as, as someone without a session. Reads the read models as
    they are: run `trackrecord projections rebuild` (or `follow`) to bring them up to date."""
    from projections.matching import tables as mt
    from projections.matching.search import search_people

    cli = cli_context(ctx)
    query = people_query(skills, hours=hours, ring=ring.value, limit=limit)
    state = cli.state()
    searcher = cli.reader(state)
    with cli.read_models("matching", mt.metadata) as conn:
        found = search_people(conn, state, query, searcher=searcher)
    if as_json:
        print_json(
            {
                "skills": list(query.skills),
                "hours": query.hours,
                "ring": query.ring.value,
                "found": [f.as_json() for f in found],
            }
        )
        return
    _print_found(cli, found, ", ".join(query.skills))


def _print_found(cli: CliContext, found: list[PersonFound], skills: str) -> None:
    """One block per person found: rank, person, ring, score, hours and portfolio, then a
    line per reason (a table's narrow reasons column wrapped them unreadably)."""
    if not found:
        cli.console.print(f"Nobody who opted in towards you fits {escape(skills)}.")
        return
    for rank, f in enumerate(found, 1):
        m = f.match
        score = "score withheld" if m.score is None else f"score {m.score:.2f}"
        parts = ", ".join(p.value for p in f.portfolio)
        cli.console.print(
            f"{rank}. [bold]{escape(m.person)}[/bold] — {m.ring.value}, {score}, "
            f"{m.available_hours} h/week free; portfolio /portfolio/{escape(m.person)} ({parts})"
        )
        for reason in m.reasons:
            cli.console.print(f"   {escape(reason.text)}")
