"""Submitting signed statements: one at a time, or a batch appended atomically."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Response

from ledger.service import AppendResult
from ledger.statement import SignedStatement, parse_signed_statement

from ..deps import Ctx
from ..errors import problem_responses
from ..models import Accepted, BatchSubmission, Submission

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
def submit_statement(submission: Submission, ctx: Ctx, response: Response) -> Accepted:
    """Append one signed statement; the ledger checks its signature and every rule."""
    signed = _parse(submission)
    ctx.writes.take(signed.statement.author)
    accepted = _accepted(ctx.service.append(signed))
    response.headers["Location"] = f"/entries/{accepted.log_index}"
    return accepted


@router.post("/batch", status_code=201, responses=REFUSALS)
def submit_batch(batch: BatchSubmission, ctx: Ctx) -> list[Accepted]:
    """Append signed statements atomically, in order: all are accepted or none."""
    signed = [_parse(s) for s in batch.statements]
    for author in Counter(s.statement.author for s in signed):
        ctx.writes.take(author)
    return [_accepted(r) for r in ctx.service.append_batch(signed)]
