"""Submitting signed statements: one at a time, or a batch appended atomically."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request, Response

from ledger.service import AppendResult
from ledger.statement import SignedStatement, parse_signed_statement

from ..deps import Ctx, client_address
from ..errors import problem_responses
from ..models import Accepted, BatchSubmission, Submission
from ..ratelimit import charged_on_refusal

__all__ = ["router"]

router = APIRouter(prefix="/statements", tags=["statements"])
REFUSALS = problem_responses(400, 409, 413, 422, 429)


def _accepted(result: AppendResult) -> Accepted:
    entry = result.entry
    return Accepted(
        log_index=result.log_index,
        stream=entry.stream,
        seq=entry.seq,
        entry_hash=entry.hash,
        statement_id=entry.statement.id,
        recorded_at=entry.recorded_at,
    )


def _parse(submission: Submission) -> SignedStatement:
    return parse_signed_statement(submission.model_dump())


@router.post("", status_code=201, responses=REFUSALS)
def submit_statement(
    submission: Submission, request: Request, ctx: Ctx, response: Response
) -> Accepted:
    """Append one signed statement; the ledger checks its signature and every rule."""
    with charged_on_refusal(ctx.refusals, client_address(request)):
        signed = _parse(submission)
        # The author's write budget is spent only once the ledger has verified the
        # signature (api.ratelimit): anyone can name a key in an unsigned statement.
        ctx.writes.check(signed.statement.author)
        accepted = _accepted(ctx.service.append(signed))
    ctx.writes.charge(signed.statement.author)
    request.state.appended = (1, accepted.log_index)  # for the append log (api.observability)
    response.headers["Location"] = f"/entries/{accepted.log_index}"
    return accepted


@router.post("/batch", status_code=201, responses=REFUSALS)
def submit_batch(batch: BatchSubmission, request: Request, ctx: Ctx) -> list[Accepted]:
    """Append signed statements atomically, in order: all are accepted or none."""
    with charged_on_refusal(ctx.refusals, client_address(request)):
        signed = [_parse(s) for s in batch.statements]
        authors = Counter(s.statement.author for s in signed)
        for author in authors:
            ctx.writes.check(author)
        results = ctx.service.append_batch(signed)
    for author in authors:  # a batch is one write per author
        ctx.writes.charge(author)
    request.state.appended = (len(results), results[0].log_index if results else None)
    return [_accepted(r) for r in results]
