"""Credential status: ``GET /credentials/status/{list}``, a signed Bitstring Status List.

The exported credentials name these URLs in their ``credentialStatus``
(:func:`ledger.credentials.status_entry`, under ``ApiConfig.public_url``). List
``n`` holds the status of the credentials resting on log indexes ``n·131072`` to
``(n+1)·131072 - 1``; its bits come from the ledger state now
(:func:`ledger.credentials.revoked_log_indexes`) and the operator's key signs it, as
it signs the credentials (docs/credentials.md §5). A service started without the
operator's key serves none: 404 ``no_operator_key`` (as ``/metrics`` without its token).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from ledger.credentials import (
    STATUS_LIST_BITS,
    STATUS_LIST_PATH,
    CredentialIssuer,
    status_list_credential,
)
from ledger.credentials.status import STATUS_LIST_TTL_MS
from ledger.errors import NotFound

from ..deps import Ctx
from ..errors import ApiError, problem_responses

__all__ = ["VC_MEDIA_TYPE", "router"]

#: a credential secured with an embedded proof (VC Data Model 2.0 §6.3)
VC_MEDIA_TYPE = "application/vc"

router = APIRouter(tags=["credentials"], responses=problem_responses(404, 422))
ListNumber = Annotated[int, Path(ge=0, le=2**53 // STATUS_LIST_BITS, description="list number")]

_LIST: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {VC_MEDIA_TYPE: {"schema": {"type": "object"}}},
        "description": "the BitstringStatusListCredential, signed by the operator's key",
    }
}


@router.get(
    STATUS_LIST_PATH,
    response_class=Response,
    responses=_LIST,
    summary="A revocation status list of exported credentials",
)
def status_list(list: ListNumber, ctx: Ctx) -> Response:
    """The signed status list ``list`` as of now; cacheable for its ``ttl`` (five minutes)."""
    if ctx.operator is None:
        raise ApiError(
            404,
            "no_operator_key",
            "this service serves no status lists: it runs without the operator's key, "
            "which signs them",
        )
    size, revoked = ctx.revoked()
    if list * STATUS_LIST_BITS >= max(size, 1):
        raise NotFound(f"status list {list} holds no entry yet: the log has {size} entries")
    issuer = CredentialIssuer.from_identity(ctx.operator, ctx.log.origin)
    doc = status_list_credential(
        issuer,
        public_url=ctx.config.public_url,
        list_number=list,
        revoked=revoked,
        now=dt.datetime.now(dt.UTC),
    )
    return Response(
        json.dumps(doc, ensure_ascii=False).encode("utf-8"),
        media_type=VC_MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={STATUS_LIST_TTL_MS // 1000}"},
    )
