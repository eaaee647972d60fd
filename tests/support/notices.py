"""What the service keeps for e-mail notifications (projections.notices), read from its
database as the operator would: a person's kept address, the outbox's rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine

from ledger.store import open_store
from projections import create_read_model_engine
from projections.notices import Contact, OutboxRow, contact_of, outbox_rows
from projections.sealed import bind_read_model_key, read_model_key

__all__ = ["contact", "outbox"]


@contextlib.contextmanager
def _engine(database_url: str) -> Iterator[Engine]:
    engine = create_read_model_engine(database_url)
    store = open_store(database_url)
    try:
        bind_read_model_key(engine, read_model_key(store))  # the addresses are sealed
        yield engine
    finally:
        store.close()
        engine.dispose()


def contact(database_url: str, person: str) -> Contact | None:
    with _engine(database_url) as engine, engine.connect() as conn:
        return contact_of(conn, person)


def outbox(database_url: str, recipient: str) -> list[OutboxRow]:
    with _engine(database_url) as engine:
        return outbox_rows(engine, recipient=recipient)
