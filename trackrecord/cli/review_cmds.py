"""360° reviews on request: ask colleagues, clients and a manager to review a contribution,
and list the review requests addressed to you.

``request`` is signed by the owner of the contribution (``--as``) on their own record;
it lets each reviewer read that contribution. A reviewer answers with ``trackrecord
endorse OWNER CONTRIBUTION --role ROLE --request REQUEST_ID``; the ledger refuses an
answer by someone the request does not name (docs/rules.md §4.1).
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledger import commands
from ledger.access import review_inbox

from .access_cmds import _table
from .context import cli_context
from .options import JsonFlag, resolve_id
from .output import ID_PREFIX, print_appended, print_json

__all__ = ["review_app"]


def request(
    ctx: typer.Context,
    contribution: Annotated[str, typer.Argument(metavar="CONTRIBUTION_ID")],
    manager: Annotated[
        list[str] | None, typer.Option(metavar="PERSON", help="A manager to ask (repeatable).")
    ] = None,
    peer: Annotated[
        list[str] | None, typer.Option(metavar="PERSON", help="A colleague to ask (repeatable).")
    ] = None,
    client: Annotated[
        list[str] | None, typer.Option(metavar="PERSON", help="A client to ask (repeatable).")
    ] = None,
    message: Annotated[
        str | None, typer.Option(help="What you ask (a personal field, seen by them and you).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Ask named people to review one of your contributions, each in their role; it lets
    them read that contribution."""
    cli = cli_context(ctx)
    person, signer = cli.signer()
    mine = (c.id for c in cli.state().contributions.values() if c.owner == person)
    full = resolve_id(contribution, mine, "contribution")
    reviewers = [
        (who, role)
        for role, people in (("manager", manager), ("peer", peer), ("client", client))
        for who in people or []
    ]
    if not reviewers:
        raise typer.BadParameter("name at least one --manager, --peer or --client to ask")
    signed = commands.request_review(
        signer, person=person, contribution=full, reviewers=reviewers, message=message
    )
    result = cli.service.append(signed)
    print_appended(cli, result, as_json=as_json, ids={"request": signed.statement.id})


def list_requests(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the review requests addressed to you (--as), newest first, and whether you
    answered them: nobody else sees them."""
    cli = cli_context(ctx)
    state = cli.state()
    me = cli.reader(state) or cli.acting(reading="this lists the review requests addressed to you")
    rows = [
        {
            "id": r.id,
            "owner": r.owner,
            "contribution": r.contribution,
            "role": r.role_of(me),
            "endorsement": endorsement,
        }
        for r, endorsement in review_inbox(state, me, seen_by=me)
    ]
    if as_json:
        print_json({"reviewer": me, "requests": rows})
        return
    for row in rows:
        row["endorsement"] = (row["endorsement"] or "")[:ID_PREFIX] or "not answered"
    columns = ["id", "owner", "contribution", "role", "endorsement"]
    cli.console.print(_table(f"review requests for {me}", columns, rows))


def review_app() -> typer.Typer:
    """The ``review`` command group."""
    app = typer.Typer(
        help="360° reviews on request: ask named people to review a contribution.",
        no_args_is_help=True,
    )
    app.command()(request)
    app.command("list")(list_requests)
    return app
