"""Reading the log: entries by log index, the whole log page by page, one stream."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path

from ledger.entry import decode_record
from ledger.entry_view import prefetch_views
from ledger.errors import NotFound
from ledger.service import StoredEntry

from ..deps import Ctx, OptionalViewer, Paging
from ..errors import problem_responses
from ..models import EntryOut, Page
from ..views import entry_out, log_page, stream_page

__all__ = ["router"]

router = APIRouter(tags=["log"], responses=problem_responses(400, 401, 404, 422))

StreamKind = Literal["identity", "record", "assignment"]


@router.get("/entries")
def list_entries(ctx: Ctx, viewer: OptionalViewer, page: Paging) -> Page[EntryOut]:
    """The log in order, as the viewer may see it (cursor: a log index)."""
    return log_page(ctx, page.offset(), page.limit, viewer)


@router.get("/entries/{log_index}")
def get_entry(
    log_index: Annotated[int, Path(ge=0, le=2**53)], ctx: Ctx, viewer: OptionalViewer
) -> EntryOut:
    """The entry at ``log_index`` of the log."""
    rows = ctx.positions.read(log_index, 1)
    if not rows:
        raise NotFound(f"the log has no entry at index {log_index}")
    _, rec = rows[0]
    entry, disclosures = decode_record(rec.blob, log_index=log_index)
    stored = StoredEntry(entry, tuple(disclosures))
    state = ctx.snapshot()
    prefetch_views(state, [stored], viewer.person)
    return entry_out(ctx, stored, log_index, viewer, state)


@router.get("/streams/{kind}/{subject}")
def get_stream(
    kind: StreamKind,
    subject: Annotated[str, Path(max_length=64)],
    ctx: Ctx,
    viewer: OptionalViewer,
    page: Paging,
) -> Page[EntryOut]:
    """The entries of one stream (``identity/<person>``, ``record/<person>``,
    ``assignment/<uuid>``) in seq order (cursor: an offset)."""
    state = ctx.snapshot()
    entries = ctx.streams.read(f"{kind}/{subject}", state)
    return stream_page(ctx, entries, page.offset(), page.limit, viewer, state)
