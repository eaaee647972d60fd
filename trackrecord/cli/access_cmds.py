"""Access on request: ask to read a part, grant, refuse, revoke, and list requests and grants.

``request`` is signed by the viewer (``--as``) on the owner's record; the
others by the owner on their own record. The ledger's rules decide
(docs/rules.md §5): only an ``on_request`` part is requested or granted, a
request is answered once, a grant is revoked once.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ledger import commands
from ledger.access import access_listed, grant_is_active, grant_status, today_utc
from ledger.catalogue import Part
from ledger.errors import NotFound
from ledger.state import LedgerState

from .context import cli_context
from .options import JsonFlag, resolve_id
from .output import ID_PREFIX, print_appended, print_json

__all__ = ["access_app"]

PartOption = Annotated[Part, typer.Option("--part", help="The portfolio part.")]
Reason = Annotated[str | None, typer.Option(help="Why (a personal field).")]


def request(
    ctx: typer.Context,
    owner: Annotated[str, typer.Argument(metavar="OWNER", help="Whose portfolio, e.g. alice.")],
    part: PartOption = Part.DOSSIER,
    message: Annotated[
        str | None, typer.Option(help="Why you ask (a personal field, seen by OWNER and you).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Ask OWNER to let you read one of their on_request portfolio parts."""
    cli = cli_context(ctx)
    _, signer = cli.signer()
    signed = commands.request_access(signer, owner=owner, part=part.value, message=message)
    result = cli.service.append(signed)
    print_appended(cli, result, as_json=as_json, ids={"request": signed.statement.id})


def grant(
    ctx: typer.Context,
    viewer: Annotated[str, typer.Argument(metavar="VIEWER", help="Who may read it, e.g. bob.")],
    part: PartOption = Part.DOSSIER,
    request_id: Annotated[
        str | None,
        typer.Option("--request", metavar="REQUEST_ID", help="The request this answers."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="YYYY-MM-DD", help="The last day (UTC) the grant gives access."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Let VIEWER read one of your on_request portfolio parts (answering their request)."""
    cli = cli_context(ctx)
    person = cli.acting()
    state = cli.state()
    full = None
    if request_id is not None:
        mine = (r.id for r in state.access_requests.values() if r.owner == person)
        full = resolve_id(request_id, mine, "request")
    _, signer = cli.signer()
    signed = commands.grant_access(
        signer, person=person, viewer=viewer, part=part.value, request=full, until=until
    )
    result = cli.service.append(signed)
    print_appended(cli, result, as_json=as_json, ids={"grant": signed.statement.id})


def refuse(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(metavar="REQUEST_ID")],
    reason: Reason = None,
    as_json: JsonFlag = False,
) -> None:
    """Refuse an access request made to you."""
    cli = cli_context(ctx)
    person = cli.acting()
    mine = (r.id for r in cli.state().access_requests.values() if r.owner == person)
    full = resolve_id(request_id, mine, "request")
    _, signer = cli.signer()
    signed = commands.refuse_access(signer, person=person, request=full, reason=reason)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def revoke(
    ctx: typer.Context,
    grant_id: Annotated[str, typer.Argument(metavar="GRANT_ID")],
    reason: Reason = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke an access grant you gave: the viewer reads the part no more."""
    cli = cli_context(ctx)
    person = cli.acting()
    mine = (g.id for g in cli.state().access_grants.values() if g.owner == person)
    full = resolve_id(grant_id, mine, "grant")
    _, signer = cli.signer()
    signed = commands.revoke_access(signer, person=person, grant=full, reason=reason)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def _listing(state: LedgerState, person: str, viewer: str | None, today: str) -> dict[str, Any]:
    """The requests and grants ``person`` is owner or viewer of that ``viewer`` (None: a
    caller without a session) may see (:func:`ledger.access.access_listed`)."""
    requests, grants = access_listed(state, person, seen_by=viewer)
    return {
        "person": person,
        "viewer": viewer,
        "requests": [
            {
                "id": r.id,
                "owner": r.owner,
                "viewer": r.viewer,
                "part": r.part,
                "answer": r.answer,
            }
            for r in requests
        ],
        "grants": [
            {
                "id": g.id,
                "owner": g.owner,
                "viewer": g.viewer,
                "part": g.part,
                "until": g.until,
                "revoked": g.revoked,
                "active": grant_is_active(g, today=today),
                "status": grant_status(g, today=today),
            }
            for g in grants
        ],
    }


_IDS = ("id", "contribution")
"""Columns of statement ids: shown as a prefix, as ``show`` does, which every command
that takes one accepts (``resolve_id``)."""


def _table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> Table:
    """``rows`` as a table whose cells are never cut short: a long value folds onto the
    next line (a person id cut to "hr-6995…" could not be typed)."""
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=column in _IDS, overflow="fold")
    for row in rows:
        cells = ("" if row[c] is None else str(row[c]) for c in columns)
        table.add_row(
            *(
                escape(v[:ID_PREFIX] if c in _IDS else v)
                for c, v in zip(columns, cells, strict=True)
            )
        )
    return table


def list_access(
    ctx: typer.Context,
    person: Annotated[
        str | None,
        typer.Argument(metavar="PERSON", help="Whose requests and grants; default: --as."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the access requests and grants PERSON is owner or viewer of, as far as the
    acting person (--as) may see them: each is seen by its owner and its viewer only, so
    without --as none are listed."""
    cli = cli_context(ctx)
    state = cli.state()
    viewer = cli.reader(state)
    who = person or cli.acting(
        reading="this lists PERSON's access requests and grants, yours by default"
    )
    if who not in state.people:
        raise NotFound(f"no person {who!r} is registered")
    listing = _listing(state, who, viewer, today_utc())
    if as_json:
        print_json(listing)
        return
    if viewer is None:
        cli.err.print(
            "an access request or grant is seen only by its owner and its viewer: read as "
            "one of them with --as PERSON",
            soft_wrap=True,
        )
    for r in listing["requests"]:
        r["answer"] = r["answer"] or "open"
    cli.console.print(
        _table(
            f"access requests ({who})",
            ["id", "owner", "viewer", "part", "answer"],
            listing["requests"],
        )
    )
    cli.console.print(
        _table(
            f"access grants ({who})",
            ["id", "owner", "viewer", "part", "until", "status"],
            listing["grants"],
        )
    )


def access_app() -> typer.Typer:
    """The ``access`` command group."""
    app = typer.Typer(
        help="Access on request: ask to read a portfolio part; grant, refuse, revoke.",
        no_args_is_help=True,
    )
    for command in (request, grant, refuse, revoke):
        app.command()(command)
    app.command("list")(list_access)
    return app
