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

import psycopg
from eventsourcing.persistence import PersistenceError

from ..errors import StoreUnavailable

__all__ = ["DRIVER_ERRORS", "as_outage"]

#: the root errors of the drivers under the store: an outage is one of these (or wrapped
#: in the read models' ``sqlalchemy.exc.SQLAlchemyError``)
DRIVER_ERRORS: tuple[type[Exception], ...] = (psycopg.Error, PersistenceError)

_LOG = logging.getLogger("ledger.store")


def as_outage(exc: BaseException) -> StoreUnavailable | None:
    """A :class:`StoreUnavailable` if ``exc`` (or an error it was raised from) says the
    database is unreachable or went away; None otherwise.

    The driver's message (it names the server's host and port) is logged, not returned.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
            _LOG.warning("the database is unavailable: %s", str(cause).splitlines()[0:1])
            return StoreUnavailable("the database is unavailable; try again shortly")
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None
