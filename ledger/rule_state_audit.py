"""The audit's last check: the rule state the store keeps equals the state the audit
re-derived from the log, row for row (:mod:`ledger.state_rows`).

A stored row that differs from its re-derivation, is missing, or has no
counterpart is reported as ``rule_state_mismatch``, located like a tampered entry:
the stream, seq or log index the row follows from, where the row names one.
"""

from __future__ import annotations

from typing import Any

from .errors import IntegrityViolation
from .state import LedgerState
from .state_rows import STATE_TABLES, decode_key, encode_key, encode_value
from .store.rule_state import RULE_STATE_VERSION, VERSION_KEY, StateReader

__all__ = ["verify_rule_state"]


def verify_rule_state(store: StateReader, derived: LedgerState) -> None:
    """Compare ``store``'s rule state with ``derived`` (the audit's own, of the whole log);
    return None if they are equal, else raise :class:`~ledger.errors.IntegrityViolation`
    (``rule_state_mismatch``) for the first difference, the stored row as ``actual`` and
    its re-derivation as ``expected`` (None: no such row).

    A store whose rule state was never built (a ledger from before it was kept, not yet
    opened by this version) holds no rows: there is nothing to compare, and opening the
    ledger builds it from the log. A state whose version row
    (:data:`~ledger.store.rule_state.RULE_STATE_VERSION`, kept in the store) is missing or
    names another version than this one's is ``rule_state_version``: its rows cannot be
    compared (an earlier derivation lacks the rows a newer one adds), and a removed version
    row must not let tampered rows go unchecked. ``trackrecord migrate`` builds an earlier
    version's state again. A store whose log grew while the audit ran is compared no
    further than its size: its state follows entries the audit has not read.
    """
    texts = store.state_values([("meta", "size"), VERSION_KEY])
    stored_size = texts.get(("meta", "size"))
    if stored_size is None and not any(store.state_count(t) for t in STATE_TABLES):
        return
    version = texts.get(VERSION_KEY)
    if version is None or int(version) != RULE_STATE_VERSION:
        raise _version_finding(derived, version)
    if stored_size is not None and int(stored_size) > derived.size:
        try:
            store.get_node(0, derived.size)
            return  # appended to since the audit read the log
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
                raise _mismatch(derived, table, key, text, expected)
        for key, value in mine.items():
            if key not in seen:
                raise _mismatch(derived, table, key, None, encode_value(value))


def _version_finding(derived: LedgerState, version: str | None) -> IntegrityViolation:
    if version is None:
        what = (
            "has no version row: a rule state of version 1 is built again by 'trackrecord "
            "migrate'; one built since has had its version row removed"
        )
    elif int(version) < RULE_STATE_VERSION:
        what = (
            f"is of version {version}, older than this one's ({RULE_STATE_VERSION}): "
            "'trackrecord migrate' builds it again"
        )
    else:
        what = (
            f"is of version {version}, newer than this one's ({RULE_STATE_VERSION}): audit "
            "it with the version that built it"
        )
    return IntegrityViolation(
        "rule_state_version",
        f"the stored rule state {what}; it was not compared with the log",
        log_index=derived.size - 1,
        expected=str(RULE_STATE_VERSION),
        actual=version,
    )


def _mismatch(
    derived: LedgerState, table: str, key: Any, stored: str | None, expected: str | None
) -> IntegrityViolation:
    where = _location(derived, table, key)
    what = "is missing" if stored is None else "is extra" if expected is None else "differs"
    return IntegrityViolation(
        "rule_state_mismatch",
        f"the stored rule state row {table}[{encode_key(table, key)}] {what}: the log "
        f"does not produce it",
        stream=where.get("stream"),
        seq=where.get("seq"),
        log_index=where.get("log_index"),
        expected=expected,
        actual=stored,
    )


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
    if table == "consents":
        return {"stream": f"identity/{key}"}
    if table == "departures":
        departure = derived.departures.get(key)
        return {"stream": f"identity/{key}", "log_index": departure and departure.log_index}
    if table in ("contributions", "endorsements", "access_requests", "access_grants"):
        return {"log_index": derived.statement_ids.get(key)}
    return {"log_index": derived.size - 1 if table == "meta" else None}
