"""People: who is registered, their keys and roles, and their record."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ledger.access import directory_listing, shows_directory_entry
from ledger.entry_view import contribution_parts
from ledger.errors import NotFound
from ledger.people_search import MAX_HOURS, MAX_LIMIT, MAX_SKILLS, people_query

from ..context import AppContext
from ..deps import Ctx, OptionalViewer, Paging, PersonId
from ..errors import problem_responses
from ..models import EntryOut, Page, PeopleSearchOut, PersonOut
from ..search_views import people_search_out, search_and_count
from ..views import person_out, stream_page, withheld_directory_entry

__all__ = ["display_name", "router"]

router = APIRouter(prefix="/people", tags=["people"], responses=problem_responses(400, 401, 404))


def display_name(ctx: AppContext, person: str) -> str | None:
    """``person``'s registered display name, as their identity stream discloses it (the
    caller decides who may see it: :func:`ledger.access.shows_directory_entry`)."""
    first, _ = ctx.streams.read(f"identity/{person}", ctx.state())[0]
    return first.disclosed().get("display_name")


@router.get("")
def list_people(ctx: Ctx, viewer: OptionalViewer, page: Paging) -> Page[PersonOut]:
    """Registered people in id order (cursor: an offset): for a caller without a session,
    only those who made their dossier public (docs/privacy.md §9)."""
    offset = page.offset()
    with ctx.locked_state() as state:
        ids = directory_listing(state, viewer.person)
        chunk = [state.people[i] for i in ids[offset : offset + page.limit]]
        items = [person_out(p, state, None) for p in chunk]
    items = [item.model_copy(update={"display_name": display_name(ctx, item.id)}) for item in items]
    more = offset + page.limit < len(ids)
    return Page[PersonOut](items=items, next_cursor=str(offset + page.limit) if more else None)


@router.get("/search", responses=problem_responses(403, 422))
def search(
    ctx: Ctx,
    viewer: OptionalViewer,
    skill: Annotated[
        list[str],
        Query(
            min_length=1,
            max_length=MAX_SKILLS,
            description="a skill: its Dutch or English label (``data-analyse``) or slug; "
            "repeat for several",
        ),
    ],
    hours: Annotated[
        int, Query(ge=0, le=MAX_HOURS, description="hours a week they must still have free")
    ] = 0,
    ring: Annotated[
        Literal["department", "organisation", "government", "beyond"],
        Query(description="how far to search, counted from your own place"),
    ] = "government",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> PeopleSearchOut:
    """People by skill, available hours and ring, best first with their reasons: only
    people who opted in towards you (their free part is visible to you), and of each only
    what you may read (``withheld``); ``beyond`` adds people whose evidence comes from
    another ledger. Without a session: only the government and beyond rings (``no_place``,
    403), and only people whose directory entry is public. Each person listed is counted
    as found once more; who searched is not kept (docs/privacy.md §10). An unknown skill
    is ``unknown_skill`` (422)."""
    query = people_query(skill, hours=hours, ring=ring, limit=limit)
    return people_search_out(query, search_and_count(ctx, query, viewer))


@router.get("/{person}")
def get_person(person: PersonId, ctx: Ctx, viewer: OptionalViewer) -> PersonOut:
    """One person: key history, and, if the caller may see their directory entry, their
    name, organisation, department, roles and where they went (docs/privacy.md §9)."""
    with ctx.locked_state() as state:
        found = state.people.get(person)
        if found is None:
            raise NotFound(f"no person {person!r} is registered")
        out = person_out(found, state, None)
        shown = shows_directory_entry(state, person, viewer.person)
    if not shown:
        return withheld_directory_entry(out)
    return out.model_copy(update={"display_name": display_name(ctx, person)})


@router.get("/{person}/record", response_model=Page[EntryOut])
def get_record(person: PersonId, ctx: Ctx, viewer: OptionalViewer, page: Paging) -> Response:
    """A person's record: their identity and record streams in log order, as the
    viewer may see them (cursor: an offset)."""
    offset = page.offset()
    # One snapshot for the whole answer: it is caught up once, and the rows its entries
    # consult are read ahead (stream_page), a bounded number of queries for any record.
    state = ctx.snapshot()

    def compute() -> Page[EntryOut]:
        record = f"record/{person}"
        state.prefetch([("people", person), ("heads", f"identity/{person}"), ("heads", record)])
        if person not in state.people:
            raise NotFound(f"no person {person!r} is registered")
        entries = list(ctx.streams.read(f"identity/{person}", state))
        parts = None
        if record in state.heads:  # not everyone has written to their record
            written = ctx.streams.read(record, state)
            parts = contribution_parts(e for e, _ in written)
            entries += written
        entries.sort(key=lambda pair: pair[1] or 0)
        return stream_page(ctx, entries, offset, page.limit, viewer, state, parts or {})

    # The record comes from the ledger state alone (no read model, no imported bundle).
    key = ("record", person, viewer.person, offset, page.limit)
    return ctx.cached(key, compute, (state.size, ctx.today()))
