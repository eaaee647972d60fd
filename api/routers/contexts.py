"""JSON-LD contexts: ``GET /contexts/trackrecord/v1``, the context of trackrecord credentials.

The bytes are the file shipped in :mod:`ledger.credentials` (the same on every
trackrecord service, never generated), media type ``application/ld+json``
(JSON-LD 1.1 §9.1); a credential names it by its URL
:data:`ledger.credentials.TRACKRECORD_CONTEXT` (docs/credentials.md §4).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ledger.credentials import TRACKRECORD_CONTEXT_PATH, trackrecord_context_bytes

__all__ = ["JSON_LD_MEDIA_TYPE", "router"]

JSON_LD_MEDIA_TYPE = "application/ld+json"

router = APIRouter(tags=["credentials"])

_CONTEXT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {JSON_LD_MEDIA_TYPE: {"schema": {"type": "object"}}},
        "description": "the JSON-LD context defining every term trackrecord credentials add",
    }
}


@router.get(
    TRACKRECORD_CONTEXT_PATH,
    response_class=Response,
    responses=_CONTEXT,
    summary="The trackrecord JSON-LD context of credentials",
)
def trackrecord_context() -> Response:
    """The context document exactly as shipped; cacheable for a day (it only changes by version)."""
    return Response(
        trackrecord_context_bytes(),
        media_type=JSON_LD_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=86400"},
    )
