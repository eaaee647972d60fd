"""The one log replay: stored entries folded into a state in log order.

Every reader that rebuilds rule state from the store (the service's fold of a ledger
whose state is behind its log, export's scan, the transparency log's heads at a size)
goes through :func:`apply_stored`, and the ones that read a whole prefix through
:func:`replay`. The signatures were checked when each entry was appended; the audit,
which trusts nothing, re-checks them on its own parallel pipeline (:mod:`ledger.audit`)
and then applies each entry with the same :func:`~ledger.rules.apply_entry`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .entry import Entry, decode_record
from .errors import IntegrityViolation, RuleViolation
from .rules import apply_entry
from .state import KeyRecord, LedgerState
from .store import Store, StoredRecord, stream_originator_id

__all__ = ["READ_CHUNK", "Replayed", "apply_stored", "replay"]

READ_CHUNK = 2000


@dataclass(frozen=True)
class Replayed:
    """One stored entry as folded: its row, the entry, and the key that signed it."""

    record: StoredRecord
    entry: Entry
    key: KeyRecord
    log_index: int


def apply_stored(state: LedgerState, record: StoredRecord) -> Replayed:
    """Decode ``record`` as the entry at ``state.size`` and apply it to ``state``.

    Raises :class:`~ledger.errors.IntegrityViolation`: ``row_mismatch`` when the row is
    not stored under its entry's stream, ``invalid_stored_entry`` (caused by the
    :class:`~ledger.errors.RuleViolation`) when a stored entry breaks a rule.
    """
    index = state.size
    entry, _ = decode_record(record.blob, log_index=index)
    if record.originator_id != stream_originator_id(entry.stream):
        raise IntegrityViolation(
            "row_mismatch", "stored row does not belong to the entry's stream", log_index=index
        )
    try:
        key = apply_entry(state, entry, log_index=index, verify_signature=False)
    except RuleViolation as exc:
        raise IntegrityViolation(
            "invalid_stored_entry",
            f"a stored entry breaks rule {exc.code}: {exc.message}; run the audit",
            stream=entry.stream,
            seq=entry.seq,
            log_index=index,
        ) from exc
    return Replayed(record, entry, key, index)


def replay(store: Store, state: LedgerState, *, size: int) -> Iterator[Replayed]:
    """Fold the first ``size`` entries of ``store``'s log into the empty ``state``,
    yielding each as it is applied; raise ``missing_entry`` if the log is shorter."""
    position = 0
    while state.size < size:
        records = store.read(after=position, limit=min(READ_CHUNK, size - state.size))
        if not records:
            raise IntegrityViolation(
                "missing_entry", f"the log is shorter than {size} entries", log_index=state.size
            )
        for record in records:
            yield apply_stored(state, record)
        position = records[-1].position
