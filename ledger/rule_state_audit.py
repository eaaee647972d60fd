"""The audit's last check: the rule state the store keeps equals the state the audit
re-derived from the log, row for row (:mod:`ledger.state_rows`).

A stored row that differs from its re-derivation, is missing, or has no
counterpart is reported as ``rule_state_mismatch``, located like a tampered entry:
the stream, seq or log index the row follows from, where the row names one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .state import LedgerState
from .state_rows import STATE_TABLES, decode_key, encode_key, encode_value

if TYPE_CHECKING:
    from .audit import Failure
    from .store import Store

__all__ = ["check_rule_state"]


def check_rule_state(store: Store, derived: LedgerState) -> Failure | None:
    """Compare ``store``'s rule state with ``derived`` (the audit's own, of the whole log);
    return the first difference as a :class:`~ledger.audit.Failure`, or None.

    A store whose rule state was never built (a ledger from before it was kept, not yet
    opened by this version) holds no rows: there is nothing to compare, and opening the
    ledger builds it from the log. A store whose log grew while the audit ran is
    compared no further than its size: its state follows entries the audit has not read.
    """
    stored_size = store.state_values([("meta", "size")]).get(("meta", "size"))
    if stored_size is None and not any(store.state_count(t) for t in STATE_TABLES):
        return None
    if stored_size is not None and int(stored_size) > derived.size:
        try:
            store.get_node(0, derived.size)
            return None  # appended to since the audit read the log
        except KeyError:
            pass
    for table in STATE_TABLES:
        mine = getattr(derived, table)
        seen: set[Any] = set()
        for key_text, text in store.state_scan(table):
            key = decode_key(table, key_text)
            seen.add(key)
            expected = encode_value(mine[key]) if key in mine else None
            if text != expected:
                return _mismatch(derived, table, key, text, expected)
        for key, value in mine.items():
            if key not in seen:
                return _mismatch(derived, table, key, None, encode_value(value))
    return None


def _mismatch(
    derived: LedgerState, table: str, key: Any, stored: str | None, expected: str | None
) -> Failure:
    from .audit import Failure  # the audit imports this module

    where = _location(derived, table, key)
    what = "is missing" if stored is None else "should not exist" if expected is None else "differs"
    return Failure(
        code="rule_state_mismatch",
        message=f"the stored rule state row {table}[{encode_key(table, key)}] {what} "
        f"from the state the log produces",
        log_index=where.get("log_index"),
        stream=where.get("stream"),
        seq=where.get("seq"),
        evidence={"table": table, "key": encode_key(table, key), "stored": stored,
                  "expected": expected},
    )  # fmt: skip


def _location(derived: LedgerState, table: str, key: Any) -> dict[str, Any]:
    """The stream, seq and log index a row of ``table`` follows from, as far as known."""
    if table == "heads":
        head = derived.heads.get(key)
        return {"stream": key, "seq": None if head is None else head.seq}
    if table in ("statement_ids", "erased"):
        return {"log_index": getattr(derived, table).get(key)}
    if table == "people":
        person = derived.people.get(key)
        return {"stream": f"identity/{key}", "log_index": person and person.registered_at}
    if table == "keys":
        record = derived.keys.get(key)
        return {"log_index": record and record.valid_from}
    if table == "assignments":
        return {"stream": f"assignment/{key}"}
    if table in ("contributions", "endorsements", "access_requests", "access_grants"):
        return {"log_index": derived.statement_ids.get(key)}
    return {"log_index": derived.size - 1 if table == "meta" else None}
