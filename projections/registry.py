"""The read models of trackrecord and the one place that wires them to a ledger store."""

from __future__ import annotations

from sqlalchemy import Engine

from ledger.store import Store

from .base import ReadModel
from .db import create_read_model_engine
from .entries import EntryReader
from .erasure import erase
from .matching import MatchingModel
from .notices import forget
from .portfolio import PortfolioModel
from .reputation import ReputationModel
from .runner import Projector
from .sealed import bind_read_model_key, read_model_key
from .tracking import SqlTrackingRecorder

__all__ = ["READ_MODEL_NAMES", "open_projector", "purge_erased", "read_models"]

READ_MODEL_NAMES = ("portfolio", "reputation", "matching")


def read_models(engine: Engine) -> list[ReadModel]:
    """One instance of every read model, each with its tracking record in ``engine``'s database."""
    return [
        PortfolioModel(SqlTrackingRecorder(engine, "portfolio")),
        ReputationModel(SqlTrackingRecorder(engine, "reputation")),
        MatchingModel(SqlTrackingRecorder(engine, "matching")),
    ]


def open_projector(
    store: Store, *, engine: Engine | None = None, batch_size: int = 2000
) -> Projector:
    """A :class:`Projector` for every read model over ``store``'s database, tables created.

    ``engine`` defaults to a new engine on the store's own database; either way it gets
    the read-model key, to seal and open the personal columns (:mod:`.sealed`).
    """
    engine = engine or create_read_model_engine(store.url)
    bind_read_model_key(engine, read_model_key(store))
    projector = Projector(EntryReader(store), engine, read_models(engine), batch_size=batch_size)
    projector.setup()
    return projector


def purge_erased(engine: Engine, person: str) -> set[str]:
    """Purge ``person``'s personal content from every read model now, then compact.

    For callers that append a ``PersonErased`` entry (``trackrecord erase``, the API)
    and do not want to wait for the projector: it purges the same rows when it applies
    the entry, so this only makes the purge immediate. Idempotent; read models not set
    up in ``engine``'s database are skipped. Returns the tables whose rows changed.
    """
    models = (PortfolioModel, ReputationModel, MatchingModel)
    forget(engine, person)  # their e-mail address and notices (projections.notices)
    return erase(engine, [person], [c for m in models for c in m.personal_columns])
