"""The witness (c2sp.org/tlog-witness): ``POST /add-checkpoint`` and the monitoring checkpoint.

Served only when the service is started as a witness (``trackrecord serve
--witness-key FILE --witness-log VKEY ...``); otherwise every log is unknown
(404). The submission and the monitoring prefix are the service's root and
``/witness``. The core is :class:`ledger.witness.Witness`; refusals map to the
statuses the spec gives them in :mod:`api.errors`.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from ledger.errors import NotFound
from ledger.witness import SIZE_MEDIA_TYPE, UnknownLog, Witness

from ..deps import Ctx
from ..errors import problem_responses
from ..models import CHECKPOINT_MEDIA_TYPE

__all__ = ["router"]

router = APIRouter(tags=["witness"], responses=problem_responses(400, 403, 404, 422))
_COSIGNED: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/plain": {"schema": {"type": "string"}}},
        "description": "the witness's cosignature line(s) (c2sp.org/tlog-cosignature)",
    },
    409: {
        "content": {SIZE_MEDIA_TYPE: {"schema": {"type": "string"}}},
        "description": "old is not the size the witness last cosigned: that size and a newline",
    },
}
OriginHash = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="lowercase hex SHA-256 of the log's origin")
]


def _witness(ctx: Ctx) -> Witness:
    if ctx.config.witness is None:
        raise UnknownLog("this service witnesses no log")
    return ctx.config.witness


@router.post("/add-checkpoint", response_class=PlainTextResponse, responses=_COSIGNED)
async def add_checkpoint(request: Request, ctx: Ctx) -> PlainTextResponse:
    """Cosign a log's checkpoint given a consistency proof from the size cosigned before."""
    witness = _witness(ctx)
    body = await request.body()
    # the state file's lock and fsync block: off the event loop
    lines = await run_in_threadpool(witness.add_checkpoint, body, now=int(time.time()))
    return PlainTextResponse(lines, media_type="text/plain; charset=utf-8")


@router.get("/witness/{origin_hash}/checkpoint", response_class=PlainTextResponse)
def witnessed_checkpoint(origin_hash: OriginHash, ctx: Ctx) -> PlainTextResponse:
    """The latest checkpoint this witness cosigned of the log, with its cosignature."""
    note = _witness(ctx).latest(origin_hash)
    if note is None:
        raise NotFound("this witness has cosigned no checkpoint of that log")
    return PlainTextResponse(note, media_type=CHECKPOINT_MEDIA_TYPE)
