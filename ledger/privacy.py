"""Whose personal content an entry holds: the person whose data key seals its disclosures.

Every entry's disclosures are sealed under exactly one person's data key
(:mod:`ledger.vault`), so erasing that person (``PersonErased``, which destroys
the key) makes exactly their content unreadable:

- on ``identity/P`` and ``record/P`` streams: ``P``. An endorsement's comment
  or an access request's message written by someone else on P's record is part
  of P's track record and goes with it;
- on assignment streams: the assignee for ``AssignmentAssigned`` and
  ``AssignmentCompleted`` (the outcome note is about their work); otherwise the
  author (the owner's posting and cancellation, the applicant's motivation).
"""

from __future__ import annotations

from .errors import RuleViolation
from .state import LedgerState
from .statement import Statement

__all__ = ["ABOUT_ASSIGNEE", "content_owner"]

#: the assignment statements whose content belongs to their assignee
ABOUT_ASSIGNEE = frozenset({"AssignmentAssigned", "AssignmentCompleted"})


def content_owner(statement: Statement, state: LedgerState) -> str:
    """The person whose data key seals ``statement``'s disclosures (see the module docstring).

    ``state`` is the ledger state the statement is judged against (its author's
    key must be known there).
    """
    kind = statement.stream.split("/", 1)[0]
    if kind in ("identity", "record"):
        return statement.subject
    if statement.type in ABOUT_ASSIGNEE:
        return str(statement.body["assignee"])
    author = state.person_of_key(statement.author)
    if author is None:
        raise RuleViolation("unknown_key", f"key {statement.author} belongs to no person")
    return author.id
