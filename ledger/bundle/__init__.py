"""Portable records: one person's record as a self-contained bundle, verified offline.

A bundle (format ``trackrecord-bundle/v1``, byte rules in docs/bundle.md) holds,
for one person and one signed checkpoint of size ``n``:

- every entry among the first ``n`` of the log of the person's identity and
  record streams, of every assignment stream the person owns or is assigned
  to, and of the identity stream of every author and assignee of those
  entries (repeated until nothing new is added) — each stream *whole*,
  ``seq`` 1 up to its head at the checkpoint;
- each entry's inclusion proof against the checkpoint's Merkle root, and its
  disclosures (other people's personal fields withheld; the commitments stay);
- a stream-heads proof (:mod:`ledger.heads`) for every stream, showing that its
  last entry in the bundle *is* its head at the checkpoint, and an absence
  proof for the person's record stream when they have none;
- the checkpoint note and the operator's note verifier key.

:func:`verify_bundle` checks all of it with no database and no network, then
re-checks the DESIGN.md §6 rules by folding the entries through
:func:`ledger.rules.apply_entry` (``partial=True``), and returns a
:class:`BundleReport`. It fails closed: the first thing
wrong raises a :class:`BundleError` naming it, with its evidence.

The modules: :mod:`.document` (format, errors, strict JSON, shape),
:mod:`.absence` (absence proofs), :mod:`.disclose` (what one
viewer may read of a bundle), :mod:`.items` and
:mod:`.verify` (the offline checks), :mod:`.report`. None of them imports the
store at run time; export, which reads the store, is :mod:`ledger.export`.
"""

from __future__ import annotations

from ..heads import heads_root_of as heads_root
from .absence import AbsenceProof, verify_absence
from .disclose import disclose_for_viewer, withhold_parts
from .document import FORMAT, BundleError, IncompleteBundle, dump_bundle, load_bundle
from .report import AssignmentSummary, BundleReport, ContributionSummary, EndorsementSummary
from .verify import verify_bundle

__all__ = [
    "FORMAT",
    "AbsenceProof",
    "AssignmentSummary",
    "BundleError",
    "BundleReport",
    "ContributionSummary",
    "EndorsementSummary",
    "IncompleteBundle",
    "disclose_for_viewer",
    "dump_bundle",
    "heads_root",
    "load_bundle",
    "verify_absence",
    "verify_bundle",
    "withhold_parts",
]
