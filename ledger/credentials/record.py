"""A person's record as verified for issuing credentials: a bundle that verifies with the
operator's key, its report, and its entries by statement id.

Both credential formats are issued from it: Open Badges 3.0 / VC 2.0 (:mod:`.badges`)
and SD-JWT VC (:mod:`.sd_jwt_vc`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keys import Identity

from ..bundle import BundleReport, load_bundle, verify_bundle
from ..canonical import canonical_bytes, sha256_hex
from ..checkpoint import NoteVerifier
from ..merkle import leaf_hash
from .data_integrity import CredentialError

__all__ = ["RecordEntry", "VerifiedRecord", "verified_record"]


@dataclass(frozen=True)
class RecordEntry:
    """One entry of the bundle: its log index, the entry and its disclosed personal fields."""

    log_index: int
    entry: dict[str, Any]
    disclosed: dict[str, str]

    @property
    def statement(self) -> dict[str, Any]:
        """The signed statement of the entry."""
        return dict(self.entry["statement"])

    def entry_hash(self) -> str:
        """Hex SHA-256 of the canonical entry (docs/entry.md §9)."""
        return sha256_hex(canonical_bytes(self.entry))

    def leaf_hash(self) -> str:
        """Hex RFC 9162 leaf hash of the entry in the log's Merkle tree."""
        return leaf_hash(canonical_bytes(self.entry)).hex()


class VerifiedRecord:
    """A verified bundle: its report and its entries by statement id."""

    def __init__(self, bundle: Mapping[str, Any], report: BundleReport) -> None:
        self.report = report
        self.entries: dict[str, RecordEntry] = {}
        for item in bundle["entries"]:
            disclosed = {field: value for _, field, value in item["disclosures"]}
            e = RecordEntry(item["log_index"], item["entry"], disclosed)
            self.entries[e.statement["id"]] = e

    def completion(self, assignment: str) -> RecordEntry:
        """The ``AssignmentCompleted`` entry of ``assignment`` for the record's person."""
        for e in self.entries.values():
            s = e.statement
            if (
                s["type"] == "AssignmentCompleted"
                and s["subject"] == assignment
                and s["body"]["assignee"] == self.report.person
            ):
                return e
        raise CredentialError("bad_format", f"no completion of assignment {assignment}")

    def posted(self, assignment: str) -> RecordEntry:
        """The ``AssignmentPosted`` entry of ``assignment``."""
        return next(
            e
            for e in self.entries.values()
            if e.statement["type"] == "AssignmentPosted" and e.statement["subject"] == assignment
        )


def verified_record(
    bundle: str | bytes | Mapping[str, Any], *, operator: Identity
) -> VerifiedRecord:
    """Return the record of ``bundle``, verified with ``operator``'s key as the only trusted key.

    So only the operator of the ledger that signed its checkpoint can issue credentials
    from it. Raises :class:`~ledger.bundle.BundleError` if the bundle does not verify,
    :class:`CredentialError` (``bad_format``) if it has no origin.
    """
    doc = load_bundle(bundle) if isinstance(bundle, str | bytes) else dict(bundle)
    origin = doc.get("origin")
    if not isinstance(origin, str):
        raise CredentialError("bad_format", "the bundle has no origin")
    key = NoteVerifier.for_key(origin, operator.public_key.raw)
    return VerifiedRecord(doc, verify_bundle(doc, trusted=[key]))
