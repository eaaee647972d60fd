"""Read models derived from the ledger's log: portfolio, reputation, matching (DESIGN.md §8).

Each read model keeps SQLAlchemy tables in the ledger's own database and a
tracking record of the last log position it applied, written in the same
transaction as its rows (:mod:`projections.tracking`), so every entry is
applied exactly once across crashes and restarts. :func:`open_projector`
wires them to a store; :class:`Projector` catches up, rebuilds and follows.
"""

from .access import DEFAULT_VISIBILITY, OPT_IN_PART, visible_parts
from .base import ReadModel
from .child import REFRESH_IN, RefreshFailed, RefreshIn
from .db import create_read_model_engine, sqlalchemy_url, writing
from .entries import AcceptedEntry, EntryReader
from .errors import ProjectionError, ProjectorBusy, TrackingConflict, UnknownReadModel
from .registry import READ_MODEL_NAMES, open_projector, purge_erased, read_models
from .runner import CatchUp, Projector, Refreshable
from .tracking import SqlTrackingRecorder

__all__ = [
    "DEFAULT_VISIBILITY",
    "OPT_IN_PART",
    "READ_MODEL_NAMES",
    "REFRESH_IN",
    "AcceptedEntry",
    "CatchUp",
    "EntryReader",
    "ProjectionError",
    "Projector",
    "ProjectorBusy",
    "ReadModel",
    "RefreshFailed",
    "RefreshIn",
    "Refreshable",
    "SqlTrackingRecorder",
    "TrackingConflict",
    "UnknownReadModel",
    "create_read_model_engine",
    "open_projector",
    "purge_erased",
    "read_models",
    "sqlalchemy_url",
    "visible_parts",
    "writing",
]
