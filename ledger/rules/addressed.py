"""``wrong_ledger``: a statement counts only in the ledger it names (docs/rules.md §2 step 3).

Every statement of format version 2 names, inside its signed bytes, the origin of the
ledger it is addressed to (docs/entry.md §3). A ledger accepts it only when that is its
own origin, so a signature made for one ledger cannot be replayed into another where the
same key is registered. Version 1 statements name none: they are what ledgers recorded
before, and are accepted only as recorded entries before the first version 2 one.
"""

from __future__ import annotations

from typing import Any

from ..errors import RuleViolation
from ..state import LedgerState
from ..statement import Statement

__all__ = ["check_addressed", "fold_addressed"]


def check_addressed(
    state: LedgerState, s: Statement, log_index: int, where: dict[str, Any], *, submitted: bool
) -> None:
    """Raise ``RuleViolation(wrong_ledger)`` unless ``s`` may stand at ``log_index`` of this
    ledger (a version 2 genesis may name a ledger that was given no name).

    ``submitted``: ``s`` is offered for appending now, so it must name this ledger.
    """
    origin = state.origin
    if s.ledger is None:
        bound_from = state.meta.get("bound_from")
        if submitted or bound_from is not None:
            since = "" if bound_from is None else f" (they do since log index {bound_from})"
            raise RuleViolation(
                "wrong_ledger",
                f"statement {s.id} names no ledger: it is in the format from before statements "
                f"named the ledger they are for{since}; sign it again for "
                f"{origin or 'this ledger'}",
                statement_id=s.id,
                **where,
            )
        return
    if origin is None and log_index == 0 == state.size:
        return
    if s.ledger != origin:
        raise RuleViolation(
            "wrong_ledger",
            f"statement {s.id} is addressed to ledger {s.ledger!r}, not to this one ({origin!r})",
            statement_id=s.id,
            **where,
        )


def fold_addressed(state: LedgerState, s: Statement, log_index: int) -> None:
    """Remember, once ``s`` is accepted at ``log_index``, the ledger's name as the first
    version 2 entry names it (from the log alone, so the audit derives the same rows) and
    where its statements started naming it."""
    if s.ledger is None:
        return
    if state.meta.get("origin") is None:
        state.put(state.meta, "origin", s.ledger)
    if state.meta.get("bound_from") is None:
        state.put(state.meta, "bound_from", log_index)
