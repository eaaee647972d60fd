"""Reading commands: show a person's record, page through the log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ledger.errors import NotFound
from ledger.imported_view import ImportedRecordView
from ledger.service import StoredEntry

from .context import cli_context
from .options import JsonFlag
from .output import HASH_PREFIX, author_person, entries_table, entry_json, print_json, titles_of

__all__ = ["register_commands"]


def show(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(metavar="PERSON", help="Whose record, e.g. alice.")],
    as_json: JsonFlag = False,
) -> None:
    """Show PERSON's record: their identity stream, their record stream and the records
    they brought from other ledgers (imported)."""
    cli = cli_context(ctx)
    state = cli.state()
    identity = cli.service.read_stream(f"identity/{person}")
    try:
        record: list[StoredEntry] = cli.service.read_stream(f"record/{person}")
    except NotFound:
        record = []
    imported = cli.ledger.imported_views(person, person)  # the whole record, as its owner reads it
    if as_json:
        print_json(
            {
                "person": person,
                "identity": [entry_json(s, state) for s in identity],
                "record": [entry_json(s, state) for s in record],
                "imported": [view.as_json() for view in imported],
            }
        )
        return
    who = state.people.get(person)
    name = identity[0].disclosed().get("display_name", person)
    where = f"{who.department}" if who else "unknown department"
    roles = ", ".join(f"{r} of {s}" for r, s in sorted(who.roles)) if who else ""
    departure = state.departures.get(person)
    cli.console.print(
        f"[bold]{escape(name)}[/bold] ({escape(person)}), {escape(where)}"
        + (f"; roles: {escape(roles)}" if roles else "")
        + ("" if departure is None else f"; left for {escape(departure.destination)}"),
        soft_wrap=True,
    )
    cli.console.print(entries_table(f"identity/{person}", identity, state))
    if record:
        cli.console.print(
            entries_table(f"record/{person}", record, state, titles=titles_of(record))
        )
    else:
        cli.console.print(f"record/{escape(person)}: no entries yet")
    for view in imported:
        cli.console.print(_imported_text(view), soft_wrap=True)


def _imported_text(view: ImportedRecordView) -> str:
    """A few lines on one imported record: where it was verified, what it holds."""
    lines = [
        f"imported from [bold]{escape(view.origin)}[/bold]: verified at checkpoint "
        f"{view.checkpoint_size} of {escape(view.origin)}, imported {view.imported_at[:10]}"
    ]
    for part, held in view.parts.items():
        for c in held.contributions:
            gone = " [withdrawn]" if c.withdrawn else ""
            title = escape(c.title or "(title withheld)")
            lines.append(f"  {part.value}: {title}{escape(gone)} ({', '.join(c.skills)})")
        grades = ", ".join(f"{e.grade} ({e.role})" for e in held.endorsements)
        if grades:
            lines.append(f"  {part.value}: {len(held.endorsements)} endorsements, grades {grades}")
        for a in held.assignments_completed:
            title = escape(a.title or "(title withheld)")
            lines.append(f"  {part.value}: assignment {title}: {a.outcome}, grade {a.grade}")
    return "\n".join(lines)


def log(
    ctx: typer.Context,
    after: Annotated[
        int, typer.Option(min=0, help="Start after this log position (0: from the start).")
    ] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List entries of the whole log in order, a page at a time."""
    cli = cli_context(ctx)
    state = cli.state()
    page = cli.service.read_log(after=after, limit=limit)
    if as_json:
        print_json([entry_json(s, state, position=pos) for pos, s in page])
        return
    table = Table(title=f"log after position {after}", title_justify="left")
    for column in ("pos", "stream", "seq", "type", "author", "entry hash"):
        table.add_column(column, no_wrap=column != "stream")
    for pos, stored in page:
        e = stored.entry
        table.add_row(
            str(pos),
            escape(e.stream),
            str(e.seq),
            e.statement.type,
            escape(author_person(state, e.statement.author)),
            e.hash[:HASH_PREFIX],
        )
    cli.console.print(table)
    if len(page) == limit:
        cli.console.print(f"more: trackrecord log --after {page[-1][0]} --limit {limit}")


def register_commands(app: typer.Typer, *, panel: str) -> None:
    """Add the reading commands to ``app``, listed under ``panel`` in the help."""
    app.command(rich_help_panel=panel)(show)
    app.command(rich_help_panel=panel)(log)
