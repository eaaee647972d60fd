"""Portable records: export a person's bundle, verify an uploaded one, import one.

A bundle (docs/bundle.md) is the self-proving record of one person. Exporting
is the owner's act (their session): they may withhold the personal content of
whole portfolio parts (``withhold=ambitions``) — the entries stay, so the bundle
still verifies completely. The owner may also export the bundle *for a viewer*
(``for=bob``), and a viewer with a session may download the bundle of anyone:
both give the bundle as disclosed to that viewer (selective disclosure,
:func:`ledger.bundle.disclose_for_viewer`): every entry, but personal content
only of the parts the viewer may read (public parts and ``on_request`` parts
granted to them). Verifying needs nothing of this ledger but its
operator key; importing stores a bundle from another ledger whose operator key
this ledger trusts. The use cases and their policies (who may export or import
which record) are :class:`ledger.app.Ledger`'s; this module translates HTTP.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ledger.bundle import BundleError, dump_bundle, load_bundle
from ledger.catalogue import SLUG_RE, Part
from ledger.imported_view import ListedImport, listed_imports

from ..context import AppContext
from ..deps import Ctx, CurrentSession, Paging, PersonId
from ..errors import ApiError, problem_responses
from ..models import BundleVerification, ImportOut, Page

__all__ = ["router"]

router = APIRouter(tags=["bundles"], responses=problem_responses(400, 401, 403, 404, 413, 422))
_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a bundle, as exported (trackrecord-bundle/v1)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


async def _raw_body(request: Request) -> bytes:
    body = await request.body()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "bad_format", "a bundle is UTF-8 JSON text") from exc
    return body


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.get(
    "/people/{person}/bundle",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    response_class=Response,
)
def export_record(
    person: PersonId,
    ctx: Ctx,
    session: CurrentSession,
    size: Annotated[int | None, Query(ge=1, le=2**53, description="checkpoint size")] = None,
    withhold: Annotated[list[Part] | None, Query(description="parts to withhold")] = None,
    for_viewer: Annotated[
        str | None,
        Query(
            alias="for",
            pattern="^$|" + SLUG_RE,  # empty: nobody chosen (as a page's form sends it)
            description="disclose only what this viewer may read (public parts and parts "
            "granted to them); every entry stays, so the bundle still verifies",
        ),
    ] = None,
) -> Response:
    """Download one's own record as a bundle, proven against a signed checkpoint: whole, or
    as disclosed to a viewer (``for``), or without some parts' content (``withhold``).

    Only the owner exports: a bundle holds every entry of their streams with its clear
    facts (skills, grades, who endorsed) so that it proves itself complete; only the
    personal fields can be withheld. Handing that out is the owner's decision.
    """
    viewer = for_viewer or None
    if size is None and ctx.checkpointer is not None and session.person == person:
        # the bundle then holds everything of theirs up to now (a checkpoint issued only
        # if the latest one does not, and shared with the requests at the same time)
        ctx.checkpointer.ensure_covers(ctx.log.size_covering(person))
    bundle = ctx.ledger.export(
        person, by=session.person, size=size, withhold=withhold or (), viewer=viewer
    )
    name = f"{person}-record"
    if viewer is not None and viewer != person:
        name += f"-for-{viewer}"
    return Response(
        dump_bundle(bundle),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


def _verify(ctx: AppContext, body: bytes) -> BundleVerification:
    try:
        doc = load_bundle(body)
    except BundleError as exc:
        raise ApiError(400, exc.code, exc.message) from exc
    items = doc.get("entries")
    rows = [_row(i) for i in items] if isinstance(items, list) else []
    try:
        report = ctx.ledger.verify(doc)
    except BundleError as exc:
        evidence = exc.evidence()
        failed_at = evidence.get("entry_index")
        for n, row in enumerate(rows):
            row["status"] = _status(n, failed_at)
        return BundleVerification(ok=False, failure=evidence, report=None, entries=rows)
    for row in rows:
        row["status"] = "ok"
    return BundleVerification(ok=True, failure=None, report=report.as_json(), entries=rows)


def _status(n: int, failed_at: Any) -> str:
    if not isinstance(failed_at, int):
        return "unchecked"
    return "ok" if n < failed_at else "failed" if n == failed_at else "unchecked"


#: The body fields of a statement an entry row shows as the bundle has them (unverified
#: until the bundle verifies): enough for the auditor page to name an entry in people's terms.
_SHOWN_FIELDS = ("contribution", "grade", "role")


def _row(item: Any) -> dict[str, Any]:
    entry = item.get("entry") if isinstance(item, dict) else None
    entry = entry if isinstance(entry, dict) else {}
    statement = entry.get("statement")
    statement = statement if isinstance(statement, dict) else {}
    body = statement.get("body")
    body = body if isinstance(body, dict) else {}
    disclosures = item.get("disclosures") if isinstance(item, dict) else None
    title = next(
        (
            d[2]
            for d in disclosures or ()
            if isinstance(d, list) and len(d) == 3 and d[1] == "title" and isinstance(d[2], str)
        ),
        None,
    )
    return {
        "log_index": item.get("log_index") if isinstance(item, dict) else None,
        "stream": entry.get("stream"),
        "seq": entry.get("seq"),
        "type": statement.get("type"),
        "status": "unchecked",
        "id": statement.get("id"),
        "subject": statement.get("subject"),
        "title": title,
        **{name: body[name] for name in _SHOWN_FIELDS if name in body},
    }


@router.post("/bundles/verify", openapi_extra=_JSON_BODY)
def verify_uploaded_bundle(ctx: Ctx, body: RawBody) -> BundleVerification:
    """Verify a bundle: every signature, proof, chain and rule, entry by entry.

    The checkpoint key is pinned to this ledger's operator key (or a trusted
    origin's key) when the bundle comes from there; otherwise it is taken from
    the bundle and the report says so.
    """
    return _verify(ctx, body)


def _import_out(listed: ListedImport) -> ImportOut:
    record = listed.record
    return ImportOut(
        origin=record.origin,
        person=record.person,
        checkpoint_size=record.checkpoint_size,
        verifier_key=record.verifier_key,
        entry_count=record.entry_count,
        imported_at=record.imported_at,
        new=record.new,
        report=None if listed.report is None else listed.report.as_json(),
    )


@router.post("/bundles/import", status_code=201, openapi_extra=_JSON_BODY)
def import_bundle(ctx: Ctx, session: CurrentSession, body: RawBody) -> ImportOut:
    """Import a bundle from another ledger whose operator key this ledger trusts: one's own
    record, or (as an admin) a newcomer's."""
    try:
        load_bundle(body)
    except BundleError as exc:
        raise ApiError(400, exc.code, exc.message) from exc
    record = ctx.ledger.import_bundle(body, by=session.person)
    [listed] = listed_imports([record], session.person)
    return _import_out(listed)


@router.get("/imports")
def list_imports(
    ctx: Ctx,
    session: CurrentSession,
    page: Paging,
    person: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ImportOut]:
    """Imported bundles, by person, origin and checkpoint (cursor: an offset)."""
    records = listed_imports(ctx.ledger.imports.imported_records(person), session.person)
    offset = page.offset()
    more = offset + page.limit < len(records)
    return Page[ImportOut](
        items=[_import_out(r) for r in records[offset : offset + page.limit]],
        next_cursor=str(offset + page.limit) if more else None,
    )
