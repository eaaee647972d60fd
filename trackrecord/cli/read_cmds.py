"""Reading commands: show a person's record, page through the log.

Both read as the acting person (``--as``), or as a caller without a session when none
is given, and show each entry as the API would show it to them
(:func:`ledger.entry_view.view_entry`): a directory entry (name, department, roles,
where they went) only to members or when the person made their dossier public
(docs/privacy.md §9), each record part by its visibility and grants. A withheld entry
shows only its place and hash, so chains still check.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ledger.access import shows_directory_entry, today_utc
from ledger.catalogue import Part
from ledger.entry_view import contribution_parts, prefetch_views, view_entry
from ledger.errors import NotFound
from ledger.imported_view import ImportedRecordView
from ledger.service import StoredEntry
from ledger.state import LedgerState

from .context import cli_context
from .options import JsonFlag
from .output import (
    HASH_PREFIX,
    WITHHELD,
    author_person,
    entries_table,
    entry_json,
    print_json,
    titles_of,
    withheld_json,
)

__all__ = ["register_commands"]


def show(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(metavar="PERSON", help="Whose record, e.g. alice.")],
    as_json: JsonFlag = False,
) -> None:
    """Show PERSON's record as the acting person (--as; without it, as anyone without a
    session) may see it: their identity stream, their record stream and the records they
    brought from other ledgers (imported)."""
    cli = cli_context(ctx)
    state = cli.service.snapshot()  # keeps what it reads: the look-ups below, read ahead
    viewer = cli.reader(state)
    identity = cli.service.read_stream(f"identity/{person}")
    try:
        record: list[StoredEntry] = cli.service.read_stream(f"record/{person}")
    except NotFound:
        record = []
    today = today_utc()
    parts = contribution_parts(record)
    prefetch_views(state, (*identity, *record), viewer)
    views = [view_entry(s, viewer, state, today=today, parts=parts) for s in (*identity, *record)]
    withheld = {v.stored.entry.hash: v.reason for v in views if not v.shown}
    imported = cli.ledger.imported_views(person, viewer, today=today)
    directory = shows_directory_entry(state, person, viewer)
    if as_json:

        def out(stored: StoredEntry) -> dict[str, Any]:
            h = stored.entry.hash
            return (
                withheld_json(stored, withheld[h]) if h in withheld else entry_json(stored, state)
            )

        print_json(
            {
                "person": person,
                "viewer": viewer,
                "directory": "shown" if directory else "withheld",
                "identity": [out(s) for s in identity],
                "record": [out(s) for s in record],
                "imported": [view.as_json() for view in imported],
            }
        )
        return
    if directory:
        cli.console.print(_directory_line(state, person, identity[0]), soft_wrap=True)
    else:
        cli.console.print(
            f"[bold]{escape(person)}[/bold]: directory entry withheld (shown to members, or "
            "to anyone once they make their dossier public)",
            soft_wrap=True,
        )
    cli.console.print(entries_table(f"identity/{person}", identity, state, withheld=withheld))
    if record:
        shown = [s for s in record if s.entry.hash not in withheld]
        cli.console.print(
            entries_table(
                f"record/{person}", record, state, titles=titles_of(shown), withheld=withheld
            )
        )
    else:
        cli.console.print(f"record/{escape(person)}: no entries yet")
    for view in imported:
        cli.console.print(_imported_text(view), soft_wrap=True)


def _directory_line(state: LedgerState, person: str, registered: StoredEntry) -> str:
    """Name, department, roles and where they went: the person's directory entry."""
    who = state.people.get(person)
    name = registered.disclosed().get("display_name", person)
    where = f"{who.department}" if who else "unknown department"
    roles = ", ".join(f"{r} of {s}" for r, s in sorted(who.roles)) if who else ""
    departure = state.departures.get(person)
    return (
        f"[bold]{escape(name)}[/bold] ({escape(person)}), {escape(where)}"
        + (f"; roles: {escape(roles)}" if roles else "")
        + ("" if departure is None else f"; left for {escape(departure.destination)}")
    )


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
    state = cli.service.snapshot()  # keeps what it reads: the look-ups below, read ahead
    viewer = cli.reader(state)
    page = cli.service.read_log(after=after, limit=limit)
    prefetch_views(state, (s for _, s in page), viewer)
    today = today_utc()
    record_parts: dict[str, dict[str, Part]] = {}

    def parts_of(stored: StoredEntry) -> dict[str, Part]:
        stream = stored.entry.stream
        if not stream.startswith("record/"):
            return {}
        if stream not in record_parts:
            record_parts[stream] = contribution_parts(cli.service.read_stream(stream))
        return record_parts[stream]

    views = [(pos, view_entry(s, viewer, state, today=today, parts=parts_of(s))) for pos, s in page]
    if as_json:
        print_json(
            [
                entry_json(v.stored, state, position=pos)
                if v.shown
                else withheld_json(v.stored, v.reason, position=pos)
                for pos, v in views
            ]
        )
        return
    table = Table(title=f"log after position {after}", title_justify="left")
    for column in ("pos", "stream", "seq", "type", "author", "entry hash"):
        table.add_column(column, no_wrap=column != "stream")
    for pos, v in views:
        e = v.stored.entry
        shown = v.shown
        table.add_row(
            str(pos),
            escape(e.stream),
            str(e.seq),
            e.statement.type if shown else WITHHELD,
            escape(author_person(state, e.statement.author)) if shown else "",
            e.hash[:HASH_PREFIX],
        )
    cli.console.print(table)
    if len(page) == limit:
        cli.console.print(f"more: trackrecord log --after {page[-1][0]} --limit {limit}")


def register_commands(app: typer.Typer, *, panel: str) -> None:
    """Add the reading commands to ``app``, listed under ``panel`` in the help."""
    app.command(rich_help_panel=panel)(show)
    app.command(rich_help_panel=panel)(log)
