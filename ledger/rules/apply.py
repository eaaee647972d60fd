"""One entry judged and folded in: position, chain, replay, key, signature, then its handler.

:data:`HANDLERS` maps each statement type to the function holding its rules (one module
per stream: :mod:`.identity`, :mod:`.record`, :mod:`.access`, :mod:`.assignments`;
:mod:`.reviews` for review requests and the evidence an endorsement needs).
"""

from __future__ import annotations

from typing import Any

from keys import key_id_for

from ..canonical import b64decode
from ..entry import GENESIS_PREV, Entry
from ..errors import RuleViolation
from ..state import Head, KeyRecord, LedgerState
from ..statement import Statement, check_statement_signature
from .access import access_granted, access_refused, access_requested, access_revoked
from .addressed import check_addressed, fold_addressed
from .assignments import (
    assignment_applied,
    assignment_assigned,
    assignment_cancelled,
    assignment_completed,
    assignment_posted,
)
from .context import Ctx, Handler
from .identity import (
    employee_left,
    employee_transferred,
    identity_linked,
    identity_registered,
    key_revoked,
    key_rotated,
    person_erased,
    refuse_departed,
    role_granted,
    role_revoked,
    transfer_consented,
)
from .record import (
    ambition_stated,
    contribution_claimed,
    contribution_withdrawn,
    endorsement_given,
    endorsement_revoked,
    visibility_changed,
)
from .reviews import review_requested

__all__ = ["HANDLERS", "apply_entry"]

HANDLERS: dict[str, Handler] = {
    "IdentityRegistered": identity_registered,
    "KeyRotated": key_rotated,
    "KeyRevoked": key_revoked,
    "RoleGranted": role_granted,
    "RoleRevoked": role_revoked,
    "EmployeeTransferred": employee_transferred,
    "TransferConsented": transfer_consented,
    "EmployeeLeft": employee_left,
    "IdentityLinked": identity_linked,
    "ContributionClaimed": contribution_claimed,
    "ContributionWithdrawn": contribution_withdrawn,
    "EndorsementGiven": endorsement_given,
    "EndorsementRevoked": endorsement_revoked,
    "ReviewRequested": review_requested,
    "AmbitionStated": ambition_stated,
    "VisibilityChanged": visibility_changed,
    "AssignmentPosted": assignment_posted,
    "AssignmentApplied": assignment_applied,
    "AssignmentAssigned": assignment_assigned,
    "AssignmentCompleted": assignment_completed,
    "AssignmentCancelled": assignment_cancelled,
    "PersonErased": person_erased,
    "AccessRequested": access_requested,
    "AccessGranted": access_granted,
    "AccessRefused": access_refused,
    "AccessRevoked": access_revoked,
}


def _author_key(
    state: LedgerState, s: Statement, log_index: int, where: dict[str, Any]
) -> KeyRecord:
    """Return the key that may sign ``s`` at ``log_index``, or raise."""
    if log_index == 0:
        if s.type != "IdentityRegistered":
            raise RuleViolation(
                "genesis_required",
                "the first entry of a ledger registers its operator (IdentityRegistered)",
                statement_id=s.id,
                **where,
            )
        raw = b64decode(s.body["public_key"], length=32, what="public_key")
        if key_id_for(raw) != s.author:
            raise RuleViolation(
                "genesis_not_self_signed",
                "the operator's registration must be signed by the key it registers",
                statement_id=s.id,
                **where,
            )
        return KeyRecord(s.author, s.subject, raw, valid_from=log_index)
    key = state.keys.get(s.author)
    if key is None:
        raise RuleViolation(
            "unknown_key", f"key {s.author} is not registered", statement_id=s.id, **where
        )
    if key.person in state.erased:
        raise RuleViolation(
            "erased",
            f"key {s.author} belongs to {key.person}, who was erased at log index "
            f"{state.erased[key.person]}, and signs nothing after it",
            statement_id=s.id,
            **where,
        )
    if key.retired_at is not None and log_index > key.retired_at:
        code = "key_revoked" if key.revoked else "key_superseded"
        how = "revoked" if key.revoked else "rotated out"
        raise RuleViolation(
            code,
            f"key {s.author} of {key.person} was {how} at log index {key.retired_at} "
            f"and signs nothing after it",
            statement_id=s.id,
            **where,
        )
    return key


def _refuse_erased(state: LedgerState, entry: Entry, where: dict[str, Any]) -> None:
    """After ``PersonErased``, nothing more is written on or about the erased person.

    Asks only about the persons named (no "is anyone erased?" first): a state kept in the
    store reads those rows ahead with the batch, but would read the table's first row to
    answer whether it is empty (issue 13)."""
    s = entry.statement
    erased: str | None = None
    if entry.stream.startswith(("identity/", "record/")) and s.subject in state.erased:
        if s.type == "PersonErased":
            return  # its handler says already_erased
        erased = s.subject
    elif s.type in ("AssignmentAssigned", "AssignmentCompleted") and (
        str(s.body.get("assignee")) in state.erased
    ):
        erased = str(s.body["assignee"])
    if erased is not None:
        raise RuleViolation(
            "erased",
            f"{erased} was erased at log index {state.erased[erased]}; "
            f"nothing more is recorded on or about them",
            statement_id=s.id,
            **where,
        )


def apply_entry(
    state: LedgerState,
    entry: Entry,
    *,
    log_index: int,
    verify_signature: bool = True,
    partial: bool = False,
    submitted: bool = False,
) -> KeyRecord:
    """Check ``entry`` at ``log_index`` against ``state`` and fold it in.

    Returns the key record that signed it. Raises :class:`RuleViolation` (and
    changes nothing) if any rule of DESIGN.md §6 fails: chain position, replay,
    key validity at this log position, signature, authorship and the
    type-specific rules.

    ``partial`` folds a subset of the log (a bundle: whole streams, in log
    order, with gaps between log indexes); the rules then see only what the
    subset holds, which is why a bundle carries the identity streams of every
    author it needs.

    ``submitted`` marks a statement offered for appending now (not an entry
    re-checked): it must name this ledger (statement format version 2), while a
    recorded version 1 entry, from before statements named their ledger, is
    still accepted when no version 2 entry precedes it (:mod:`.addressed`); and a
    registration may not take a reserved person id (``reserved_id``), while a person
    registered under one before that rule stays accepted.
    """
    s = entry.statement
    where: dict[str, Any] = {"stream": entry.stream, "seq": entry.seq, "log_index": log_index}
    if partial:
        if log_index < state.size:
            raise RuleViolation(
                "bad_position",
                f"entry at log index {log_index} comes after log index {state.size - 1}",
                **where,
            )
    elif log_index != state.size:
        raise RuleViolation(
            "bad_position", f"entry at log index {log_index}, expected {state.size}", **where
        )
    head = state.heads.get(entry.stream)
    expected_seq, expected_prev = (head.seq + 1, head.hash) if head else (1, GENESIS_PREV)
    if entry.seq != expected_seq or entry.prev != expected_prev:
        raise RuleViolation(
            "chain_broken",
            f"entry {entry.stream}#{entry.seq} does not follow the stream head "
            f"(expected seq {expected_seq} after {expected_prev[:16]}…)",
            **where,
        )
    if s.id in state.statement_ids:
        raise RuleViolation(
            "replayed_id",
            f"statement id {s.id} was already accepted at log index {state.statement_ids[s.id]}",
            statement_id=s.id,
            **where,
        )
    check_addressed(state, s, log_index, where, submitted=submitted)
    key = _author_key(state, s, log_index, where)
    if verify_signature:
        check_statement_signature(s, entry.signature, key.public_key, **where)
    author = None if log_index == 0 else state.people.get(key.person)
    if log_index != 0 and author is None:
        raise RuleViolation("unknown_person", f"key {s.author} belongs to no person", **where)
    _refuse_erased(state, entry, where)
    ctx = Ctx(state, s, author, log_index, where, entry.recorded_at[:10], partial, submitted)
    refuse_departed(ctx)
    HANDLERS[s.type](ctx)
    state.put(state.statement_ids, s.id, log_index)
    state.put(state.heads, entry.stream, Head(entry.seq, entry.hash))
    state.put(state.meta, "size", log_index + 1)
    fold_addressed(state, s, log_index)
    return key
