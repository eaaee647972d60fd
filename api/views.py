"""Turning ledger values into response bodies, through the visibility rules.

Shared by the routers (the API's and the pages'), which import no other router."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ledger.access import application_status, applied_for, review_inbox, shows_assignee
from ledger.canonical import b64encode
from ledger.catalogue import Part, Ring
from ledger.entry import decode_record
from ledger.entry_view import prefetch_views
from ledger.erasure import withhold_erased
from ledger.service import StoredEntry
from ledger.state import Assignment, LedgerState, Person
from ledger.transparency import TIME_LINE, SignedCheckpoint
from projections.matching.queries import AssignmentSpec

from .context import AppContext
from .models import (
    ApplicantOut,
    AssignmentOut,
    CheckpointOut,
    EntryOut,
    KeyOut,
    Page,
    PersonOut,
    ReviewRequestOut,
    ReviewRequestsOut,
    RoleOut,
)
from .visibility import Viewer, view_entry

__all__ = [
    "assignment_out",
    "checkpoint_out",
    "entry_out",
    "log_page",
    "person_out",
    "request_messages",
    "review_inbox_out",
    "spec_of",
    "stream_page",
]


def entry_out(
    ctx: AppContext,
    stored: StoredEntry,
    log_index: int | None,
    viewer: Viewer,
    state: LedgerState,
    parts: Mapping[str, Part] | None = None,
) -> EntryOut:
    """What ``viewer`` may see of ``stored`` (nothing personal once its content owner is
    erased); ``parts``: see :func:`api.visibility.view_entry`."""
    stored = withhold_erased(stored, state)
    view = view_entry(stored, viewer, state, ctx.profiles, parts)
    entry = stored.entry
    return EntryOut(
        log_index=log_index,
        stream=entry.stream,
        seq=entry.seq,
        entry_hash=entry.hash,
        entry=entry.as_json() if view.shown else None,
        disclosures=view.disclosures,
        withheld_fields=view.withheld_fields,
        withheld=view.reason,
    )


def log_page(ctx: AppContext, start: int, limit: int, viewer: Viewer) -> Page[EntryOut]:
    """Entries of the log from log index ``start`` on."""
    rows = ctx.positions.read(start, limit)
    state = ctx.snapshot()
    decoded = []
    for log_index, rec in rows:
        entry, disclosures = decode_record(rec.blob, log_index=log_index)
        decoded.append((StoredEntry(entry, tuple(disclosures)), log_index))
    prefetch_views(state, (e for e, _ in decoded), viewer.person)
    items = [entry_out(ctx, e, log_index, viewer, state) for e, log_index in decoded]
    more = len(rows) == limit and ctx.positions.position_of(start + limit) is not None
    return Page[EntryOut](items=items, next_cursor=str(start + limit) if more else None)


def stream_page(
    ctx: AppContext,
    entries: Sequence[tuple[StoredEntry, int | None]],
    offset: int,
    limit: int,
    viewer: Viewer,
    state: LedgerState,
    parts: Mapping[str, Part] | None = None,
) -> Page[EntryOut]:
    """A page of ``entries`` (in order, with their log indexes) from ``offset`` on, as
    ``viewer`` may see them in ``state`` (a snapshot, :meth:`AppContext.snapshot`: the
    rows the page's entries consult are read ahead in two queries); ``parts``: see
    :func:`api.visibility.view_entry`."""
    chunk = entries[offset : offset + limit]
    prefetch_views(state, (e for e, _ in chunk), viewer.person)
    items = [entry_out(ctx, e, log_index, viewer, state, parts) for e, log_index in chunk]
    more = offset + limit < len(entries)
    return Page[EntryOut](items=items, next_cursor=str(offset + limit) if more else None)


def person_out(person: Person, state: LedgerState, display_name: str | None) -> PersonOut:
    """A person's public facts (and display name, if the viewer may see it)."""
    keys = sorted(
        (k for k in state.keys.values() if k.person == person.id), key=lambda k: k.valid_from
    )
    departure = state.departures.get(person.id)
    return PersonOut(
        id=person.id,
        display_name=display_name,
        organisation=person.organisation,
        department=person.department,
        roles=[RoleOut(role=r, scope=s) for r, s in sorted(person.roles)],
        current_key=person.current_key,
        keys=[
            KeyOut(
                key_id=k.key_id,
                public_key=b64encode(k.public_key),
                valid_from=k.valid_from,
                retired_at=k.retired_at,
                revoked=k.revoked,
            )
            for k in keys
        ],
        registered_at=person.registered_at,
        left_for=None if departure is None else departure.destination,
    )


def withheld_directory_entry(out: PersonOut) -> PersonOut:
    """``out`` without its directory entry (name, organisation, department, roles, where
    they went), for a caller who may not see it: the id and key history stay, as every
    signature of the log needs them."""
    return out.model_copy(
        update={
            "display_name": None,
            "organisation": None,
            "department": None,
            "roles": [],
            "left_for": None,
            "directory": "withheld",
        }
    )


def request_messages(ctx: AppContext, person: str, state: LedgerState) -> dict[str, str]:
    """The ``message`` of every access request on ``person``'s record, by request id."""
    if f"record/{person}" not in state.heads:
        return {}
    out = {}
    for stored in ctx.streams.entries(f"record/{person}", state):
        s = stored.entry.statement
        if s.type == "AccessRequested":
            message = stored.disclosed().get("message")
            if message is not None:
                out[s.id] = message
    return out


def review_inbox_out(
    ctx: AppContext, reviewer: str, state: LedgerState, *, seen_by: str | None
) -> ReviewRequestsOut:
    """The review requests naming ``reviewer`` (:func:`ledger.access.review_inbox`, which
    raises ``NotPermitted`` for anyone but the reviewer), each with the texts of its
    contribution and message from the owner's record stream: the request lets the reviewer
    read them (:func:`ledger.access.may_read_contribution`)."""
    inbox = review_inbox(state, reviewer, seen_by=seen_by)
    texts: dict[str, dict[str, str]] = {}  # statement id -> its disclosed fields
    for owner in {r.owner for r, _ in inbox}:
        wanted = {i for r, _ in inbox if r.owner == owner for i in (r.id, r.contribution)}
        for stored in ctx.streams.entries(f"record/{owner}", state):
            if stored.entry.statement.id in wanted:
                texts[stored.entry.statement.id] = stored.disclosed()
    out = []
    for r, endorsement in inbox:
        c, fields = state.contributions[r.contribution], texts.get(r.contribution, {})
        out.append(
            ReviewRequestOut(
                id=r.id,
                owner=r.owner,
                contribution=r.contribution,
                role=r.role_of(reviewer),  # type: ignore[arg-type]  # the request names them
                title=fields.get("title"),
                description=fields.get("description"),
                evidence_link=fields.get("evidence_link"),
                skills=list(c.skills),
                part=c.part,
                message=texts.get(r.id, {}).get("message"),
                endorsement=endorsement,
                log_index=state.statement_ids.get(r.id),
            )
        )
    return ReviewRequestsOut(reviewer=reviewer, requests=out)


def assignment_out(
    a: Assignment, ctx: AppContext, viewer: Viewer, state: LedgerState
) -> AssignmentOut:
    """An assignment as ``viewer`` may see it: applicants are counted, not named; an
    assignee is named only to the owner, the assignee, and those who may see the
    assignee's free part (the assignments they worked on):
    :func:`ledger.access.shows_assignee`."""
    posting = ctx.board.posting(a.id)

    def named(person: str) -> bool:
        return shows_assignee(state, a, person, viewer.person, today=viewer.today)

    return AssignmentOut(
        id=a.id,
        title=posting.title,
        owner=a.owner,
        organisation=a.organisation,
        department=a.department,
        skills=list(a.skills),
        hours_per_week=posting.hours_per_week,
        ring=posting.ring,
        status=a.status,
        assignees=sorted(p for p in a.assignees if named(p)),
        completed=sorted(p for p in a.completed if named(p)),
        applicants=len(a.applicants),
        posted_at=posting.posted_at,
    )


def spec_of(a: Assignment, ctx: AppContext) -> AssignmentSpec:
    """What ``a`` asks for, as the matching read model takes it."""
    posting = ctx.board.posting(a.id)
    return AssignmentSpec(
        skills=a.skills,
        hours_per_week=posting.hours_per_week,
        organisation=a.organisation,
        department=a.department,
        ring=Ring(posting.ring),
    )


def checkpoint_out(signed: SignedCheckpoint) -> CheckpointOut:
    """The parsed form of a signed checkpoint."""
    cp = signed.checkpoint
    times = [x[len(TIME_LINE) :] for x in cp.extensions if x.startswith(TIME_LINE)]
    return CheckpointOut(
        origin=cp.origin,
        size=cp.size,
        root_hash=b64encode(cp.root_hash),
        time=times[0] if times else None,
        note=signed.note,
    )


def applicants_out(
    ctx: AppContext, assignment: str, viewer: str | None, state: LedgerState
) -> list[ApplicantOut]:
    """Who applied to ``assignment``, in the order they applied, each with their hours,
    motivation and where their application stands; for its owner only
    (:func:`ledger.access.applied_for` raises for anyone else)."""
    a = applied_for(state, assignment, viewer)
    out = []
    for stored in ctx.streams.entries(f"assignment/{a.id}", state):
        s = stored.entry.statement
        key = state.keys.get(s.author)
        if s.type != "AssignmentApplied" or key is None:
            continue
        out.append(
            ApplicantOut(
                person=key.person,
                hours_per_week=int(s.body["hours_per_week"]),
                motivation=stored.disclosed().get("motivation"),
                status=application_status(a, key.person),
                applied_at=s.issued_at,
            )
        )
    return out
