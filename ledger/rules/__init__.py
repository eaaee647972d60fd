"""The rules of DESIGN.md §6, checked on append and re-checked by the audit.

:func:`apply_entry` checks one entry against the state of the log before it and,
if every rule holds, folds it into the state. The same function serves the
append path (with signature verification) and the audit (which verifies
signatures in parallel and passes ``verify_signature=False``), so the rules that
decide what is accepted are exactly the rules the verifier re-checks.

Where each rule lives: :mod:`.apply` (what every entry must satisfy, and the handler
table :data:`HANDLERS` from statement type to its rules), :mod:`.identity`,
:mod:`.record`, :mod:`.access` and :mod:`.assignments` (the rules of each statement
type, by stream), :mod:`.context` (what the handlers share).

Rule codes (each a :class:`~ledger.errors.RuleViolation` ``code``) are listed in
docs/rules.md.
"""

from __future__ import annotations

from .apply import HANDLERS, apply_entry
from .context import NEXT_KEY_PREFIX, next_key_digest

__all__ = ["HANDLERS", "NEXT_KEY_PREFIX", "apply_entry", "next_key_digest"]
