"""Turning ledger values into response bodies, through the visibility rules."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.canonical import b64encode
from ledger.entry import decode_record
from ledger.service import StoredEntry
from ledger.state import LedgerState, Person

from .context import AppContext
from .erasure import withhold_erased
from .models import EntryOut, KeyOut, Page, PersonOut, RoleOut
from .visibility import Viewer, view_entry

__all__ = ["entry_out", "log_page", "person_out", "stream_page"]


def entry_out(
    ctx: AppContext, stored: StoredEntry, log_index: int | None, viewer: Viewer, state: LedgerState
) -> EntryOut:
    """What ``viewer`` may see of ``stored`` (nothing personal once its content owner is erased)."""
    stored = withhold_erased(stored, state)
    view = view_entry(stored, viewer, state, ctx.profiles)
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
    rows = ctx.index.read(start, limit)
    state = ctx.state()
    items = []
    for log_index, rec in rows:
        entry, disclosures = decode_record(rec.blob, log_index=log_index)
        items.append(
            entry_out(ctx, StoredEntry(entry, tuple(disclosures)), log_index, viewer, state)
        )
    more = len(rows) == limit and ctx.index.position_of(start + limit) is not None
    return Page[EntryOut](items=items, next_cursor=str(start + limit) if more else None)


def stream_page(
    ctx: AppContext,
    entries: Sequence[tuple[StoredEntry, int | None]],
    offset: int,
    limit: int,
    viewer: Viewer,
) -> Page[EntryOut]:
    """A page of ``entries`` (in order, with their log indexes) from ``offset`` on."""
    state = ctx.state()
    chunk = entries[offset : offset + limit]
    items = [entry_out(ctx, e, log_index, viewer, state) for e, log_index in chunk]
    more = offset + limit < len(entries)
    return Page[EntryOut](items=items, next_cursor=str(offset + limit) if more else None)


def person_out(person: Person, state: LedgerState, display_name: str | None) -> PersonOut:
    """A person's public facts (and display name, if the viewer may see it)."""
    keys = sorted(
        (k for k in state.keys.values() if k.person == person.id), key=lambda k: k.valid_from
    )
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
    )
