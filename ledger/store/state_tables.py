"""The rule state's rows in a store (:mod:`ledger.store.rule_state`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from eventsourcing.persistence import IntegrityError, OperationalError

from .entry_tables import write_error
from .recorder import LedgerRecorder
from .rule_state import StateRow

__all__ = ["RuleStateTables"]


class RuleStateTables:
    """The rule state's rows (a part of :class:`~ledger.store.Store`)."""

    _recorder: LedgerRecorder

    def state_values(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored rule-state values of ``(table, key)`` pairs (absent ones left out)."""
        return dict(self._recorder.select_state(list(keys)))

    def state_scan(self, table: str, *, chunk: int = 1000) -> Iterator[tuple[str, str]]:
        """Every ``(key, value)`` row of a rule-state table in the order the rows were first
        written, ``chunk`` at a time."""
        after = (-1, "")
        while True:
            rows = self._recorder.select_state_range(table, after, chunk)
            for _, key, value in rows:
                yield key, value
            if len(rows) < chunk:
                return
            after = rows[-1][:2]

    def state_tables(self, tables: Sequence[str]) -> list[tuple[str, str, str]]:
        """Every row ``(table, key, value)`` of the rule-state ``tables``, read by one
        statement: one moment of the store, however many rows (an append between two
        reads of a range scan is not half seen)."""
        return list(self._recorder.select_state_tables(list(tables)))

    def state_count(self, table: str) -> int:
        """How many rows a rule-state table holds."""
        return int(self._recorder.count_state(table))

    def reset_state(self, version: int) -> int | None:
        """If the stored rule state was built by an older derivation than ``version`` (or
        by none: a fresh ledger), drop its rows and record ``version``, in one transaction
        that two processes do one after the other; return how many rows were dropped (the
        state is then built again from the log by folding, which resumes if interrupted),
        or None if the state already is at ``version``."""
        try:
            return self._recorder.reset_state(version)
        except (IntegrityError, OperationalError) as exc:
            raise write_error(exc) from exc

    def write_state(self, rows: Sequence[StateRow], *, expect_size: int) -> None:
        """Store rule-state ``rows`` (value None: delete) in one transaction, if the stored
        state still follows ``expect_size`` entries; raise :class:`ConcurrencyConflict` if
        another process moved it first (nothing is written then)."""
        try:
            self._recorder.write_state(rows, expect_size)
        except (IntegrityError, OperationalError) as exc:
            raise write_error(exc) from exc
