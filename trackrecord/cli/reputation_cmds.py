"""``trackrecord reputation PERSON``: a person's reputation, explained, as of a date."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ledger.access import REPUTATION_PART, may_read, today_utc
from ledger.errors import NotPermitted

from .context import cli_context
from .errors import CliError, ExitCode
from .options import JsonFlag
from .output import print_json

if TYPE_CHECKING:
    from projections.reputation import Score

__all__ = ["reputation"]


def reputation(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(metavar="PERSON", help="Whose reputation.")],
    skill: Annotated[
        str | None, typer.Option("--skill", help="One skill (default: every rated skill).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="DATE",
            help="As of this day (YYYY-MM-DD, its end in UTC) or RFC 3339 instant; default now.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show PERSON's reputation per skill as of DATE: the score and every factor of every
    rating's weight (docs/reputation.md), if the acting person (--as; without it, anyone
    without a session) may read PERSON's analytical part, which it is made of; as the API,
    nothing otherwise (with --skill: refused). Reads the read models; run `trackrecord
    projections rebuild` (or `follow`) first to bring them up to date."""
    from projections.reputation import tables as rep
    from projections.reputation.queries import as_of, explain, rated_skills

    cli = cli_context(ctx)
    try:
        when = int(_dt.datetime.now(_dt.UTC).timestamp()) if at is None else as_of(at)
    except ValueError as exc:
        raise CliError("bad_date", f"--at: {exc}", exit_code=ExitCode.USAGE) from exc
    state = cli.state()
    viewer = cli.reader(state)
    if person not in state.people:
        raise CliError(
            "not_found", f"no person {person!r} on this ledger", exit_code=ExitCode.NOT_FOUND
        )
    visible = may_read(state, person, viewer, REPUTATION_PART, today=today_utc())
    withheld = f"the {REPUTATION_PART.value} part of {person} is not visible to this viewer"
    if skill and not visible:
        raise NotPermitted("not_visible", withheld)
    with cli.read_models("reputation", rep.metadata) as conn:
        skills = [skill] if skill else rated_skills(conn, person) if visible else []
        scores = [explain(conn, person, s, at=when) for s in skills]
        scores = [s for s in scores if skill or s.ratings]  # skills rated by DATE
    if not visible and not as_json:
        cli.console.print(f"{escape(person)}: reputation withheld ({escape(withheld)})")
        return
    if as_json:
        print_json([_score_json(s) for s in scores])
        return
    stamp = _dt.datetime.fromtimestamp(when, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if not scores:
        cli.console.print(f"{escape(person)}: no ratings as of {stamp}")
    for s in scores:
        cli.console.print(_score_table(s, stamp))


def _score_json(s: Score) -> dict[str, Any]:
    from projections.reputation.formula import FACTORS

    return {
        "person": s.person,
        "skill": s.skill,
        "score": s.score,
        "weight": s.weight,
        "confidence": s.confidence,
        "at": s.at,
        "prior_mean": s.prior_mean,
        "prior_weight": s.prior_weight,
        "standing_position": s.standing_position,
        "ratings": [
            {
                "rating": w.rating._asdict(),
                **{f: getattr(w, f) for f in FACTORS},
                "weight": w.weight,
            }
            for w in s.ratings
        ],
    }


def _score_table(s: Score, stamp: str) -> Table:
    from projections.reputation.formula import FACTORS

    title = (
        f"{s.person} in {s.skill} as of {stamp}: {s.score:.3f} "
        f"(Σw {s.weight:.3f}, confidence {s.confidence:.2f}; prior {s.prior_mean:g} "
        f"with weight {s.prior_weight:g})"
    )
    table = Table(title=escape(title), title_justify="left")
    for column in ("rating", "rater (role)", "origin", "grade", "date", *FACTORS, "w"):
        table.add_column(column)
    for w in s.ratings:
        r = w.rating
        day = _dt.datetime.fromtimestamp(r.at, _dt.UTC).strftime("%Y-%m-%d")
        table.add_row(
            r.kind,
            escape(f"{r.rater} ({r.role})"),
            escape(r.origin or "this ledger"),
            str(r.grade),
            day,
            *(f"{getattr(w, f):.3f}" for f in FACTORS),
            f"{w.weight:.4f}",
        )
    if not s.ratings:
        table.add_row("(none)", "", "", "", "", *("" for _ in FACTORS), "")
    return table
