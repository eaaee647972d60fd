"""Which errors of the database drivers mean an outage rather than a bug.

A PostgreSQL server that stops, restarts or cannot be reached surfaces as a
``psycopg.OperationalError`` or ``InterfaceError`` (a connection refused or
terminated, a pool that gives up waiting), wrapped by whoever made the call: the
event store (``eventsourcing.persistence.OperationalError``), the read models
(``sqlalchemy.exc.OperationalError``). :func:`as_outage` finds it in the chain of
causes, so callers (the API's one error mapping) answer ``503`` and not ``500``.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import urlsplit

from eventsourcing.persistence import PersistenceError

from ..errors import StoreUnavailable

__all__ = ["as_outage", "driver_errors"]

_LOG = logging.getLogger("ledger.store")


def driver_errors(database_url: str) -> tuple[type[Exception], ...]:
    """The root errors of the drivers under the store at ``database_url``: an outage is one
    of these (or wrapped in the read models' ``sqlalchemy.exc.SQLAlchemyError``).

    The PostgreSQL driver's only for a store that is not SQLite: a service on SQLite
    does not import psycopg (0.06 s of CPU at start)."""
    if urlsplit(database_url).scheme == "sqlite":
        return (PersistenceError,)
    import psycopg

    return (psycopg.Error, PersistenceError)


def as_outage(exc: BaseException) -> StoreUnavailable | None:
    """A :class:`StoreUnavailable` if ``exc`` (or an error it was raised from) says the
    database is unreachable or went away; None otherwise.

    The driver's message (it names the server's host and port) is logged, not returned.
    """
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:  # the PostgreSQL driver was never loaded: none of its errors exists
        return None
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
            _LOG.warning("the database is unavailable: %s", str(cause).splitlines()[0:1])
            return StoreUnavailable("the database is unavailable; try again shortly")
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None
