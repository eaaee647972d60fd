"""Signed checkpoints of the log, as C2SP signed notes, and Merkle proofs against them.

``GET /checkpoints/latest`` and ``GET /checkpoints/{size}`` answer with the note
text exactly as the operator signed it, media type :data:`CHECKPOINT_MEDIA_TYPE`
(an unregistered ``x.`` type, RFC 6838 §3.4: C2SP names no media type); any
C2SP signed-note verifier can check it. The JSON list gives the same notes
parsed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from ledger.canonical import b64encode
from ledger.errors import NotFound
from ledger.transparency import SignedCheckpoint

from ..deps import Ctx, Paging
from ..errors import problem_responses
from ..models import (
    CHECKPOINT_MEDIA_TYPE,
    CheckpointOut,
    ConsistencyProof,
    InclusionProof,
    LogInfo,
    Page,
)
from ..views import checkpoint_out

__all__ = ["router"]

_NOTE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {CHECKPOINT_MEDIA_TYPE: {"schema": {"type": "string"}}},
        "description": "the C2SP checkpoint in a signed note",
    }
}

router = APIRouter(tags=["transparency log"], responses=problem_responses(400, 404, 422))
Size = Annotated[int, Path(ge=0, le=2**53, description="tree size")]


def _note(signed: SignedCheckpoint) -> PlainTextResponse:
    return PlainTextResponse(signed.note, media_type=CHECKPOINT_MEDIA_TYPE)


@router.get("/log")
def log_info(ctx: Ctx) -> LogInfo:
    """The log's origin, its current size and the size of its latest signed checkpoint."""
    try:
        origin: str | None = ctx.log.origin
    except NotFound:
        origin = None
    latest = ctx.store.get_checkpoint()
    return LogInfo(
        origin=origin, size=ctx.log.size(), latest_checkpoint=latest[0] if latest else None
    )


@router.get("/checkpoints/latest", response_class=PlainTextResponse, responses=_NOTE)
def latest_checkpoint(ctx: Ctx) -> PlainTextResponse:
    """The latest signed checkpoint, as a C2SP signed note."""
    return _note(ctx.log.checkpoint())


@router.get("/checkpoints/{size}", response_class=PlainTextResponse, responses=_NOTE)
def checkpoint_of_size(size: Size, ctx: Ctx) -> PlainTextResponse:
    """The signed checkpoint of tree size ``size``, as a C2SP signed note."""
    return _note(ctx.log.checkpoint(size))


@router.get("/checkpoints")
def list_checkpoints(ctx: Ctx, page: Paging) -> Page[CheckpointOut]:
    """Every stored checkpoint, oldest first, parsed (cursor: an offset)."""
    sizes = ctx.log.checkpoint_sizes()
    offset = page.offset()
    chunk = sizes[offset : offset + page.limit]
    items = [checkpoint_out(ctx.log.checkpoint(size)) for size in chunk]
    more = offset + page.limit < len(sizes)
    return Page[CheckpointOut](items=items, next_cursor=str(offset + page.limit) if more else None)


@router.get("/proofs/inclusion")
def inclusion_proof(
    ctx: Ctx,
    index: Annotated[int, Query(ge=0, le=2**53, description="log index of the entry")],
    size: Annotated[int, Query(ge=1, le=2**53, description="tree size of a checkpoint")],
) -> InclusionProof:
    """RFC 9162 inclusion proof of the entry at ``index`` in the tree of ``size``."""
    hashes = ctx.log.inclusion_proof(index, size)
    return InclusionProof(
        index=index,
        size=size,
        leaf_hash=b64encode(ctx.store.get_node(0, index)),
        root_hash=b64encode(ctx.log.root(size)),
        hashes=[b64encode(h) for h in hashes],
    )


@router.get("/proofs/consistency")
def consistency_proof(
    ctx: Ctx,
    first: Annotated[int, Query(ge=0, le=2**53, description="the older tree size")],
    second: Annotated[int, Query(ge=0, le=2**53, description="the newer tree size")],
) -> ConsistencyProof:
    """RFC 9162 consistency proof that the tree of ``first`` is a prefix of ``second``."""
    hashes = ctx.log.consistency_proof(first, second)
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=b64encode(ctx.log.root(first)),
        second_root=b64encode(ctx.log.root(second)),
        hashes=[b64encode(h) for h in hashes],
    )
