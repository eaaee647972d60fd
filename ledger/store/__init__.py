"""Storage of entries on the ``eventsourcing`` library's event store.

One backend contract (:class:`~ledger.store.base.Store`), two backends chosen by
URL: ``sqlite:///path/to/ledger.db`` (the default, zero set-up) and
``postgresql://user[:password]@host[:port]/dbname``.
"""

from .base import RawRecord, Store, StoredRecord, open_store, stream_originator_id
from .outage import DRIVER_ERRORS, as_outage

__all__ = [
    "DRIVER_ERRORS",
    "RawRecord",
    "Store",
    "StoredRecord",
    "as_outage",
    "open_store",
    "stream_originator_id",
]
