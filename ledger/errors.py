"""The ledger's error types: one root, subclasses that carry their evidence.

Every failure the ledger can report is a :class:`LedgerError`. Errors are mapped
to CLI exit codes in :mod:`trackrecord.cli.errors` (and, later, to HTTP problem
documents) in exactly one place each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONFLICT_CODES",
    "ConcurrencyConflict",
    "ConsistencyError",
    "InclusionError",
    "IntegrityViolation",
    "LedgerError",
    "Location",
    "MalformedInput",
    "NoLedger",
    "NotFound",
    "NotPermitted",
    "ProofError",
    "RuleStateTooNew",
    "RuleViolation",
    "StoreError",
    "StoreUnavailable",
]


class LedgerError(Exception):
    """Root of every error raised by :mod:`ledger`."""

    code: str = "ledger_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def evidence(self) -> dict[str, Any]:
        """Return the machine-readable evidence of this error."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Location:
    """Where in the ledger something was found: stream, seq and log index."""

    stream: str | None = None
    seq: int | None = None
    log_index: int | None = None


CONFLICT_CODES = frozenset(
    {
        "replayed_id",
        "already_registered",
        "already_posted",
        "already_applied",
        "already_assigned",
        "already_completed",
        "already_revoked",
        "duplicate_endorsement",
        "role_already_granted",
        "key_reused",
    }
)
"""The rule codes that say a statement *conflicts with what the ledger already holds*
(it repeats or races an earlier one) rather than being wrong in itself: the API
answers them 409, not 422 (:attr:`RuleViolation.conflict`)."""


class RuleViolation(LedgerError):
    """A statement breaks a rule of DESIGN.md §6; ``code`` names the rule."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        stream: str | None = None,
        seq: int | None = None,
        log_index: int | None = None,
        statement_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.stream = stream
        self.seq = seq
        self.log_index = log_index
        self.statement_id = statement_id

    @property
    def conflict(self) -> bool:
        """True if the code says the statement conflicts with what the ledger holds
        (:data:`CONFLICT_CODES`)."""
        return self.code in CONFLICT_CODES

    def evidence(self) -> dict[str, Any]:
        ev = super().evidence()
        for key in ("stream", "seq", "log_index", "statement_id"):
            value = getattr(self, key)
            if value is not None:
                ev[key] = value
        return ev


class MalformedInput(RuleViolation):
    """Input that is not a well-formed statement, entry, body or document.

    A rule violation too (DESIGN.md §6: malformed input, unknown fields and
    oversized bodies are refused); ``code`` says which kind, ``field`` where.
    """

    def __init__(self, message: str, *, code: str = "malformed", field: str | None = None) -> None:
        super().__init__(code, message)
        self.field = field

    def evidence(self) -> dict[str, Any]:
        ev = super().evidence()
        if self.field is not None:
            ev["field"] = self.field
        return ev


class IntegrityViolation(LedgerError):
    """Stored data that does not verify: a broken chain link, a bad signature,
    a missing or extra entry, a Merkle node that does not match."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        stream: str | None = None,
        seq: int | None = None,
        log_index: int | None = None,
        expected: str | None = None,
        actual: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.stream = stream
        self.seq = seq
        self.log_index = log_index
        self.expected = expected
        self.actual = actual

    def evidence(self) -> dict[str, Any]:
        ev = super().evidence()
        for key in ("stream", "seq", "log_index", "expected", "actual"):
            value = getattr(self, key)
            if value is not None:
                ev[key] = value
        return ev


class ConcurrencyConflict(LedgerError):
    """Another writer appended first and retrying did not resolve it."""

    code = "conflict"


class NotFound(LedgerError):
    """A stream, entry, person or checkpoint that does not exist."""

    code = "not_found"


class NotPermitted(LedgerError):
    """The requester may not do this: a policy of the application (who may export or
    import a record, :class:`ledger.app.Ledger`), not a rule of the log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StoreError(LedgerError):
    """The storage backend failed or is misconfigured."""

    code = "store_error"


class StoreUnavailable(StoreError):
    """The database cannot be reached or dropped the connection (an outage): nothing was
    written, and the same request may succeed once it is back."""

    code = "store_unavailable"


class NoLedger(StoreError):
    """No ledger exists at the database URL (and the command may not create one)."""

    code = "no_ledger"

    def __init__(self, *, url: str) -> None:
        super().__init__(
            f"no ledger at {url}: check --db (or TRACKRECORD_DATABASE_URL); "
            "'trackrecord init' creates a ledger, 'trackrecord demo' a demo one"
        )
        self.url = url

    def evidence(self) -> dict[str, Any]:
        return {**super().evidence(), "url": self.url}


class RuleStateTooNew(StoreError):
    """The ledger's rule state was built by a newer version of trackrecord than this one
    (its version row holds a larger :data:`~ledger.store.rule_state.RULE_STATE_VERSION`):
    this version would write rule state in its older layout, so it appends and folds
    nothing."""

    code = "rule_state_too_new"

    def __init__(self, *, stored: int, known: int) -> None:
        super().__init__(
            f"this ledger's rule state was built by a newer version of trackrecord "
            f"(rule-state version {stored}; this one knows up to {known}): it would write the "
            "rule state in its older layout, so it refuses to append to this ledger or catch it "
            "up; upgrade trackrecord to work on it"
        )
        self.stored = stored
        self.known = known

    def evidence(self) -> dict[str, Any]:
        return {**super().evidence(), "stored_version": self.stored, "known_version": self.known}


class ProofError(LedgerError):
    """A Merkle proof or checkpoint that does not verify."""

    code = "bad_proof"

    def __init__(self, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(evidence)

    def evidence(self) -> dict[str, Any]:
        ev = super().evidence()
        ev.update(self.details)
        return ev


class InclusionError(ProofError):
    """An inclusion proof does not lead to the expected root."""

    code = "bad_inclusion_proof"


class ConsistencyError(ProofError):
    """Two tree heads are not consistent: history was rewritten or the proof is wrong."""

    code = "bad_consistency_proof"
