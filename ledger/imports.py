"""Imported records: bundles from other ledgers, accepted only from trusted origins.

A receiving ledger keeps a list of trusted origins — note verifier keys of other
ledgers' operators (docs/checkpoint.md §4) — and the bundles it imported, in
its own database beside its entries (tables ``trusted_origins`` and
``imported_bundles``). An import verifies the bundle offline
(:func:`ledger.bundle.verify_bundle`) against the trusted keys *only*: a bundle
from an untrusted origin, or one that fails any check, is refused whole and
nothing is stored. An accepted bundle is stored as is — its entries keep their
original signatures, inclusion proofs and checkpoint — keyed by
``(origin, person, checkpoint size)``, so it can be re-verified or handed on at
any time. Imported entries are *not* appended to the receiving ledger's own log:
they stay anchored to their origin's checkpoint.

Erasure (:meth:`ImportRegistry.erase`): after ``PersonErased``, every imported
bundle is rewritten without the disclosures of the entries whose content owner
(:func:`ledger.privacy.content_owner`) is the erased person — their own bundles
and their content in other people's bundles (a display name, a posting's title).
The bundles are rewritten rather than deleted: disclosures sit outside every hash,
signature and proof, so the rewritten bundle still verifies and the imported facts
(entries, grades, skills, periods) stay provable; it is verified again against the
key it was imported under, and its stored report replaced by the new one. Person
ids are taken to name the same person on the ledgers that import from each other.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from keys import key_id_for

from .bundle import BundleError, BundleReport, dump_bundle, load_bundle, verify_bundle
from .canonical import b64decode
from .checkpoint import NoteVerifier, parse_verifier_key
from .errors import LedgerError, NotFound
from .privacy import content_owner
from .state import KeyRecord, LedgerState, Person
from .statement import parse_statement, utc_timestamp
from .store import Store

__all__ = ["ImportRegistry", "ImportedRecord", "key_state", "withhold_content_of"]


@dataclass(frozen=True)
class ImportedRecord:
    """One imported bundle: whose record, from which ledger, at which checkpoint."""

    origin: str
    person: str
    checkpoint_size: int
    verifier_key: str
    entry_count: int
    imported_at: str
    report: BundleReport
    new: bool = True


class ImportRegistry:
    """The trusted origins and imported bundles of one (receiving) ledger store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- trust -----------------------------------------------------------------------------
    def trust(self, verifier_key: str) -> NoteVerifier:
        """Trust checkpoints signed by ``verifier_key`` (``name+hash+base64``) for its origin.

        The key's name is the origin it vouches for. Returns the parsed key;
        raises :class:`~ledger.errors.MalformedInput` for a malformed key string.
        """
        key = parse_verifier_key(verifier_key.strip())
        self.store.put_trusted_key(key.name, str(key))
        return key

    def untrust(self, origin_or_key: str) -> int:
        """Stop trusting an origin (all its keys) or one key string; return how many keys."""
        return self.store.remove_trusted_keys(origin_or_key.strip())

    def trusted(self) -> list[NoteVerifier]:
        """The trusted note verifier keys, sorted by origin."""
        return [parse_verifier_key(key) for _, key in self.store.trusted_keys()]

    # -- import ------------------------------------------------------------------------------
    def import_bundle(self, bundle: str | bytes) -> ImportedRecord:
        """Verify ``bundle`` against the trusted keys and store it; return the record.

        Importing the same (origin, person, checkpoint size) again stores nothing
        and returns the record with ``new=False``. Raises
        :class:`~ledger.bundle.BundleError` (``untrusted_key`` for an untrusted
        origin, or whatever check failed) and stores nothing then.
        """
        try:
            text = bundle.decode("utf-8") if isinstance(bundle, bytes) else bundle
        except UnicodeDecodeError as exc:
            raise BundleError("bad_format", f"a bundle is UTF-8 JSON: {exc}") from exc
        report = verify_bundle(text, trusted=self.trusted())
        row = (
            report.origin,
            report.person,
            report.checkpoint_size,
            report.verifier_key,
            report.entry_count,
            utc_timestamp(),
            json.dumps(report.as_json(), ensure_ascii=False),
            text,
        )
        new = self.store.put_import(row)
        if not new:
            stored = self.bundle_text(report.origin, report.person, report.checkpoint_size)
            if load_bundle(stored) != load_bundle(text):
                raise BundleError(
                    "already_imported",
                    "a different bundle of this person at this checkpoint is already imported",
                    origin=report.origin,
                    person=report.person,
                    checkpoint_size=report.checkpoint_size,
                )
        key = (report.origin, report.checkpoint_size)
        stored_record = next(
            r for r in self.imported_records(report.person) if (r.origin, r.checkpoint_size) == key
        )
        return dataclasses.replace(stored_record, new=new)

    def imported_records(self, person: str | None = None) -> list[ImportedRecord]:
        """The imported bundles of ``person`` (of everyone if None), by person, origin, size."""
        return [
            ImportedRecord(
                origin, who, size, key, count, when, BundleReport.from_json(json.loads(report))
            )
            for origin, who, size, key, count, when, report in self.store.imports(person)
        ]

    def with_bundles(self, person: str) -> list[tuple[ImportedRecord, str]]:
        """``person``'s imported bundles with their stored text, by origin and size (what
        :func:`ledger.imported_view.imported_views` shows a viewer)."""
        return [
            (r, self.bundle_text(r.origin, r.person, r.checkpoint_size))
            for r in self.imported_records(person)
        ]

    def stamp(self) -> tuple[int, str]:
        """How many bundles are imported and when the latest was: it changes with every
        import, so answers that show imported records can be cached until it does."""
        return self.store.imports_stamp()

    def bundle_text(self, origin: str, person: str, checkpoint_size: int) -> str:
        """The stored text of an imported bundle, as it was imported; raise :class:`NotFound`."""
        text = self.store.import_bundle_text(origin, person, checkpoint_size)
        if text is None:
            raise NotFound(f"no bundle of {person} at checkpoint {checkpoint_size} of {origin}")
        return text

    # -- erasure -------------------------------------------------------------------------------
    def erase(self, person: str) -> int:
        """Withhold ``person``'s personal content in every imported bundle (see the module
        docstring); return how many bundles changed. Idempotent.

        The rows are overwritten so that the database files keep no copy: SQLite with
        ``secure_delete`` and a truncating WAL checkpoint, PostgreSQL with ``VACUUM
        FULL`` of the table (its WAL segments and backups keep the old rows until they
        are recycled). Raises :class:`~ledger.bundle.BundleError` if a rewritten bundle
        no longer verifies (nothing is written then).
        """
        rows: list[tuple[str, str, str, str, int]] = []
        for record in self.imported_records():
            text = self.bundle_text(record.origin, record.person, record.checkpoint_size)
            doc = load_bundle(text)
            if not withhold_content_of(doc, {person}):
                continue
            rewritten = dump_bundle(doc)
            report = verify_bundle(rewritten, trusted=[parse_verifier_key(record.verifier_key)])
            report_json = json.dumps(report.as_json(), ensure_ascii=False)
            rows.append(
                (report_json, rewritten, record.origin, record.person, record.checkpoint_size)
            )
        if rows:
            self.store.replace_imports(rows)
        return len(rows)


def withhold_content_of(bundle: dict[str, Any], people: AbstractSet[str]) -> bool:
    """Drop, in place, the disclosures of ``bundle``'s entries whose content owner is
    one of ``people``; True if any were dropped. ``bundle`` is a verified bundle (every
    author's key is registered in it); an entry whose owner it cannot tell loses its
    disclosures too."""
    state = key_state(bundle["entries"])
    changed = False
    for item in bundle["entries"]:
        if not item["disclosures"]:
            continue
        try:
            owner = content_owner(parse_statement(item["entry"]["statement"]), state)
        except LedgerError:
            owner = None  # not attributable: withheld, to be safe
        if owner is None or owner in people:
            item["disclosures"] = []
            changed = True
    return changed


def key_state(items: Sequence[dict[str, Any]]) -> LedgerState:
    """A ledger state that knows only whose each key a bundle's entry ``items`` register is
    (for :meth:`~ledger.state.LedgerState.person_of_key` and content owners)."""
    state = LedgerState()
    for item in items:
        s = item["entry"]["statement"]
        if s["type"] not in ("IdentityRegistered", "KeyRotated"):
            continue
        raw = b64decode(s["body"]["public_key"], length=32, what="public_key")
        key = key_id_for(raw)
        state.keys[key] = KeyRecord(key, s["subject"], raw, 0)
        if s["type"] == "IdentityRegistered":
            body = s["body"]
            state.people[s["subject"]] = Person(
                s["subject"], body["organisation"], body["department"], key, None, frozenset(), 0
            )
    return state
