"""The read models' error types: one root, :class:`ProjectionError`.

A person or assignment that does not exist is reported with the ledger's own
:class:`ledger.errors.NotFound`, so the command-line tool and the API map it
like every other "not found".
"""

from __future__ import annotations

__all__ = ["ProjectionError", "ProjectorBusy", "TrackingConflict", "UnknownReadModel"]


class ProjectionError(Exception):
    """Root of every error raised by :mod:`projections`."""

    code = "projection_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownReadModel(ProjectionError):
    """A read model name that is not one of ``portfolio``, ``reputation``, ``matching``."""

    code = "unknown_read_model"


class TrackingConflict(ProjectionError):
    """Another process advanced a read model's tracking record first.

    Carries the read model, the position this process expected and the one it
    found; the projector then re-reads its positions and carries on, so the
    entries are still applied exactly once.
    """

    code = "tracking_conflict"

    def __init__(self, read_model: str, expected: int, found: int | None) -> None:
        super().__init__(
            f"read model {read_model!r} was expected at position {expected}, found {found}"
        )
        self.read_model = read_model
        self.expected = expected
        self.found = found


class ProjectorBusy(ProjectionError):
    """Another process kept applying entries to the read models (it held their catch-up
    lock) for longer than this process would wait; what it committed can be read."""

    code = "projector_busy"

    def __init__(self, waited: float) -> None:
        super().__init__(f"another process kept the read models' catch-up lock for {waited} s")
        self.waited = waited
