"""Storage of entries on the ``eventsourcing`` library's event store.

One backend contract (:class:`~ledger.store.base.Store`), two backends chosen by
URL: ``sqlite:///path/to/ledger.db`` (the default, zero set-up) and
``postgresql://user[:password]@host[:port]/dbname``. Which driver errors mean an
outage: :mod:`ledger.store.outage` (not imported here: it loads the PostgreSQL driver,
which a process on a SQLite ledger does not need).
"""

from .base import RawRecord, Store, StoredRecord, open_store, stream_originator_id

__all__ = [
    "RawRecord",
    "Store",
    "StoredRecord",
    "open_store",
    "stream_originator_id",
]
