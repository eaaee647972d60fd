"""The rule state's rows in a store (:mod:`ledger.store.rule_state`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import IntegrityError, OperationalError

from .entry_tables import write_error
from .recorder import LedgerRecorder
from .rule_state import StateRow

__all__ = ["Progress", "RuleStateTables"]


@dataclass(frozen=True)
class Progress:
    """How far a store's log and what follows it have come, read at one moment
    (:meth:`RuleStateTables.progress`): the rule-state ``values`` asked for, the log's
    size (its Merkle leaves), how many entries have their position indexed
    (:mod:`ledger.store.position_tables`) and the highest notification position."""

    values: dict[tuple[str, str], str]
    log_size: int
    indexed_size: int
    max_position: int


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

    def progress(self, keys: Sequence[tuple[str, str]]) -> Progress:
        """The rule-state values of ``keys`` and how far the log, its positions index and
        its notifications have come, in one query (PostgreSQL: one round trip): what every
        append and every reader's catch-up checks first
        (:meth:`ledger.service.LedgerService.catch_up`); it was four queries, and a fifth
        for an append's rollback check (issue 13)."""
        values, log_size, indexed_size, max_position = self._recorder.select_progress(list(keys))
        return Progress(values, log_size, indexed_size, max_position)

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
