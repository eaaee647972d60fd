"""Full audits run in the background, one at a time, with progress to poll."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.audit import audit
from ledger.errors import NotFound
from ledger.store import Store

__all__ = ["AuditJobs", "JobState"]

_KEEP = 20


@dataclass
class JobState:
    """One audit: ``status`` is ``running``, ``done`` or ``failed`` (the audit itself broke)."""

    id: str
    status: str = "running"
    checked: int = 0
    total: int = 0
    report: dict[str, Any] | None = None
    error: str | None = field(default=None, repr=False)


class AuditJobs:
    """Starts audits of ``store`` on a worker thread; at most one runs at a time."""

    def __init__(self, store: Store, *, workers: int = 2) -> None:
        self._store = store
        self._workers = workers
        self._lock = threading.Lock()
        self._jobs: dict[str, JobState] = {}
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        #: called with the verdict (``passed``, ``failed``, ``error``) of each finished audit
        self.listeners: list[Callable[[str], None]] = []

    def start(self) -> JobState:
        """Start an audit, or return the one already running."""
        with self._lock:
            for job in self._jobs.values():
                if job.status == "running":
                    return job
            job = JobState(str(next(self._ids)))
            self._jobs[job.id] = job
            while len(self._jobs) > _KEEP:
                del self._jobs[next(iter(self._jobs))]
        thread = threading.Thread(
            target=self._run, args=(job,), name=f"audit-{job.id}", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    def get(self, job_id: str) -> JobState:
        """The audit ``job_id``; raise :class:`NotFound`."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no audit {job_id!r} (only the last {_KEEP} are kept)")
        return job

    def latest(self) -> JobState:
        """The most recent audit; raise :class:`NotFound` if none was started."""
        with self._lock:
            if not self._jobs:
                raise NotFound("no audit has been run yet: POST /audits starts one")
            return self._jobs[next(reversed(self._jobs))]

    def _run(self, job: JobState) -> None:
        def progress(checked: int, total: int) -> None:
            job.checked, job.total = checked, total

        try:
            report = audit(self._store, workers=self._workers, progress=progress)
        except Exception as exc:  # the audit reports failures; this is the audit breaking
            job.error = str(exc)
            job.report = {"ok": False, "failure": {"code": "audit_error", "message": str(exc)}}
            job.status = "failed"
            self._tell("error")
            return
        job.report = report.as_json()
        job.checked = job.total = report.entries
        job.status = "done"
        self._tell("passed" if report.ok else "failed")

    def _tell(self, verdict: str) -> None:
        for listener in self.listeners:
            listener(verdict)

    def join(self, timeout: float = 10.0) -> None:
        """Wait for running audits (on shutdown)."""
        for thread in self._threads:
            thread.join(timeout)
