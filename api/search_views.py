"""People search as the API and the pages answer it (issue 17): the one query
(:func:`projections.matching.search.search_people`), the appearances counted
(:mod:`api.search_counts`), and each person found as a response body."""

from __future__ import annotations

from ledger.people_search import PeopleQuery
from projections.matching.search import PersonFound, search_people

from .context import AppContext
from .models import PeopleSearchOut, PersonFoundOut
from .visibility import Viewer

__all__ = ["people_search_out", "person_found_out", "search_and_count"]


def search_and_count(ctx: AppContext, query: PeopleQuery, viewer: Viewer) -> list[PersonFound]:
    """The people ``viewer`` finds with ``query``; each of them is counted as found once
    more (who searched is not kept: :mod:`api.search_counts`). Raises what
    :func:`~projections.matching.search.search_people` raises (``no_place``)."""
    state = ctx.state()
    with ctx.read_models.connection() as conn:
        found = search_people(conn, state, query, searcher=viewer.person, today=viewer.today)
    ctx.search_appearances.count([f.person for f in found])
    return found


def person_found_out(found: PersonFound) -> PersonFoundOut:
    """One person found, as the API gives it (reasons: code, values, English text)."""
    return PersonFoundOut.model_validate(found.as_json())


def people_search_out(query: PeopleQuery, found: list[PersonFound]) -> PeopleSearchOut:
    """A search and the people it found, as the API gives them."""
    return PeopleSearchOut(
        skills=list(query.skills),
        hours=query.hours,
        ring=query.ring.value,
        found=[person_found_out(f) for f in found],
    )
