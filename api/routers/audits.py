"""Full audits of the ledger, run in the background with progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from ..audits import JobState
from ..deps import Ctx
from ..errors import problem_responses
from ..models import AuditJob

__all__ = ["router"]

router = APIRouter(prefix="/audits", tags=["audit"], responses=problem_responses(404, 422))


def _out(job: JobState) -> AuditJob:
    return AuditJob(
        id=job.id, status=job.status, checked=job.checked, total=job.total, report=job.report
    )


@router.post("", status_code=202)
def start_audit(ctx: Ctx, response: Response) -> AuditJob:
    """Start a full audit (or join the one running); poll ``Location`` for progress."""
    job = ctx.audits.start()
    response.headers["Location"] = f"/audits/{job.id}"
    return _out(job)


@router.get("/latest")
def latest_audit(ctx: Ctx) -> AuditJob:
    """The most recent audit, running or finished."""
    return _out(ctx.audits.latest())


@router.get("/{audit_id}")
def get_audit(audit_id: Annotated[str, Path(max_length=20)], ctx: Ctx) -> AuditJob:
    """One audit: progress while it runs, the report once done."""
    return _out(ctx.audits.get(audit_id))
