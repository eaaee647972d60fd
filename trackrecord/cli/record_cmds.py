"""Commands on one's record: claim, withdraw, endorse, endorsement revoke, ambition, visibility;
and submit, which appends a statement signed elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ledger import commands
from ledger.catalogue import ContributionKind, EndorserRole, Part, Visibility
from ledger.errors import MalformedInput
from ledger.statement import parse_signed_statement

from .context import cli_context
from .keyfiles import file_sha256
from .options import Grade, JsonFlag, Skills, resolve_id
from .output import print_appended

__all__ = ["endorsement_app", "register_commands"]

Person = Annotated[str, typer.Argument(metavar="PERSON", help="Whose record, e.g. alice.")]
Reason = Annotated[str | None, typer.Option(help="Why (a personal field).")]


def claim(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="What you did (a personal field).")],
    start: Annotated[str, typer.Option(metavar="YYYY-MM-DD", help="When it started.")],
    skill: Skills = None,
    end: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="When it ended.")] = None,
    part: Annotated[Part, typer.Option(help="Portfolio part.")] = Part.DOSSIER,
    kind: Annotated[ContributionKind, typer.Option(help="Kind of contribution.")] = (
        ContributionKind.WORK
    ),
    description: Annotated[str | None, typer.Option(help="Details (a personal field).")] = None,
    evidence: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="A file proving it; only its SHA-256 is recorded, the file stays here.",
        ),
    ] = None,
    link: Annotated[
        str | None, typer.Option(metavar="URL", help="Where the evidence can be seen.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Claim a contribution on your own record (the acting person is the subject)."""
    cli = cli_context(ctx)
    person, signer = cli.signer()
    signed = commands.claim_contribution(
        signer,
        person=person,
        title=title,
        skills=skill or [],
        start=start,
        end=end,
        part=part.value,
        kind=kind.value,
        description=description,
        evidence_sha256=None if evidence is None else file_sha256(evidence),
        evidence_link=link,
    )
    result = cli.service.append(signed)
    print_appended(cli, result, as_json=as_json, ids={"contribution": signed.statement.id})


def withdraw(
    ctx: typer.Context,
    contribution: Annotated[str, typer.Argument(metavar="CONTRIBUTION_ID")],
    reason: Reason = None,
    as_json: JsonFlag = False,
) -> None:
    """Withdraw one of your contributions (it stays in the ledger, hidden from views)."""
    cli = cli_context(ctx)
    person = cli.acting()
    state = cli.state()
    mine = (c.id for c in state.contributions.values() if c.owner == person)
    full = resolve_id(contribution, mine, "contribution")
    _, signer = cli.signer()
    signed = commands.withdraw_contribution(signer, person=person, contribution=full, reason=reason)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def endorse(
    ctx: typer.Context,
    person: Person,
    contribution: Annotated[str, typer.Argument(metavar="CONTRIBUTION_ID")],
    grade: Grade,
    role: Annotated[EndorserRole, typer.Option(help="As whose manager, peer or client.")],
    comment: Annotated[str | None, typer.Option(help="A comment (a personal field).")] = None,
    request: Annotated[
        str | None,
        typer.Option(metavar="REQUEST_ID", help="The review request of PERSON this answers."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Endorse PERSON's contribution with a grade 1-5 as manager, peer or client,
    answering their review request if given (trackrecord review list)."""
    cli = cli_context(ctx)
    state = cli.state()
    theirs = (c.id for c in state.contributions.values() if c.owner == person)
    full = resolve_id(contribution, theirs, "contribution")
    if request is not None:
        asked = (r.id for r in state.review_requests.values() if r.owner == person)
        request = resolve_id(request, asked, "review request")
    _, signer = cli.signer()
    signed = commands.endorse(
        signer, person=person, contribution=full, grade=grade, role=role.value, comment=comment,
        request=request,
    )  # fmt: skip
    result = cli.service.append(signed)
    print_appended(cli, result, as_json=as_json, ids={"endorsement": signed.statement.id})


def endorsement_revoke(
    ctx: typer.Context,
    person: Person,
    endorsement: Annotated[str, typer.Argument(metavar="ENDORSEMENT_ID")],
    reason: Reason = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke an endorsement you gave on PERSON's record."""
    cli = cli_context(ctx)
    state = cli.state()
    given = (e.id for e in state.endorsements.values() if e.subject == person)
    full = resolve_id(endorsement, given, "endorsement")
    _, signer = cli.signer()
    signed = commands.revoke_endorsement(signer, person=person, endorsement=full, reason=reason)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def ambition(
    ctx: typer.Context,
    goal: Annotated[str, typer.Option(help="A personal goal (a personal field).")],
    skill: Skills = None,
    courses: Annotated[str | None, typer.Option(help="Courses to take (a personal field).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """State an ambition: a goal and the skills you want to develop."""
    cli = cli_context(ctx)
    person, signer = cli.signer()
    signed = commands.state_ambition(
        signer, person=person, goal=goal, skills=skill or [], courses=courses
    )
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def visibility(
    ctx: typer.Context,
    part: Annotated[Part, typer.Argument(help="Portfolio part.")],
    level: Annotated[Visibility, typer.Argument(metavar="VISIBILITY", help="Who may see it.")],
    as_json: JsonFlag = False,
) -> None:
    """Set who may see one part of your portfolio: public, on_request or private."""
    cli = cli_context(ctx)
    person, signer = cli.signer()
    signed = commands.change_visibility(
        signer, person=person, part=part.value, visibility=level.value
    )
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def submit(
    ctx: typer.Context,
    file: Annotated[
        typer.FileText,
        typer.Argument(
            metavar="FILE",
            help="A submission {statement, signature, disclosures} as JSON ('-': stdin).",
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Append a statement someone signed elsewhere (offline, in another tool), as it is.

    The ledger checks it like any other: signed by a key valid now, addressed to this
    ledger (wrong_ledger otherwise), never seen before.
    """
    cli = cli_context(ctx)
    try:
        raw = json.loads(file.read())
    except ValueError as exc:
        raise MalformedInput(f"{file.name} is not JSON: {exc}") from exc
    print_appended(cli, cli.service.append(parse_signed_statement(raw)), as_json=as_json)


def endorsement_app() -> typer.Typer:
    """The ``endorsement`` command group."""
    app = typer.Typer(help="Manage endorsements you gave.", no_args_is_help=True)
    app.command("revoke")(endorsement_revoke)
    return app


def register_commands(app: typer.Typer, *, panel: str) -> None:
    """Add the record commands to ``app``, listed under ``panel`` in the help."""
    for command in (claim, withdraw, endorse, ambition, visibility, submit):
        app.command(rich_help_panel=panel)(command)
    app.add_typer(endorsement_app(), name="endorsement", rich_help_panel=panel)
