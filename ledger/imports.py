"""Imported records: bundles from other ledgers, accepted only from trusted origins.

A receiving ledger keeps a list of trusted origins — note verifier keys of other
ledgers' operators (docs/checkpoint.md §4) — and the bundles it imported, in
its own database beside its entries (tables ``trusted_origins`` and
``imported_bundles``). An import verifies the bundle offline
(:func:`ledger.bundle.verify_bundle`) against the trusted keys *only*: a bundle
from an untrusted origin, or one that fails any check, is refused whole and
nothing is stored. An accepted bundle is stored — its entries keep their
original signatures, inclusion proofs and checkpoint — keyed by
``(origin, person, checkpoint size)``, so it can be re-verified or handed on at
any time. Imported entries are *not* appended to the receiving ledger's own log:
they stay anchored to their origin's checkpoint.

**At rest** (privacy.md §7) each entry's disclosures are sealed like those of the
ledger's own entries (:func:`ledger.vault.seal`, bound to the entry's hash) under the
data key of their content owner (the bundle's person when the owner cannot be told),
written in place of the disclosure list as ``"TRS1:" + base64(sealed)``; the stored
``report`` column holds no report (it names people and titles) but the row's MAC
(:meth:`ledger.vault.Vault.row_mac` over every other column). Reading a bundle opens
the disclosures again; every read **re-verifies** it against the key it was imported
under and checks the MAC, so an edited row is not shown as verified:
:meth:`ImportRegistry.imported_records` leaves it out and :meth:`ImportRegistry.problems`
(run by the audit) names it.

Erasure: after ``PersonErased`` the person's data key is destroyed, so the
disclosures sealed under it — in their own bundles and their content in other
people's bundles (a display name, a posting's title) — read as withheld. Disclosures
sit outside every hash, signature and proof, so the bundle still verifies and the
imported facts (entries, grades, skills, periods) stay provable. Person ids are taken
to name the same person on the ledgers that import from each other.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from keys import key_id_for

from .bundle import BundleError, BundleReport, dump_bundle, load_bundle, verify_bundle
from .canonical import b64decode, canonical_bytes
from .checkpoint import NoteVerifier, parse_verifier_key
from .errors import IntegrityViolation, LedgerError, MalformedInput, NotFound
from .link import require_destination, require_link
from .privacy import content_owner
from .state import KeyRecord, LedgerState, Person
from .statement import parse_statement, utc_timestamp
from .store import Store
from .vault import open_sealed, seal, sealed_owner

DEFAULT_TRUST_WEIGHT = 0.5
"""The trust in a trusted origin whose weight was not declared (``trackrecord trust --weight``)."""

__all__ = [
    "DEFAULT_TRUST_WEIGHT",
    "ImportRegistry",
    "ImportedRecord",
    "TrustWeightTampered",
    "key_state",
    "withhold_content_of",
]


class TrustWeightTampered(IntegrityViolation):
    """A declared trust weight whose ``trust_weights`` row has no valid MAC (added or
    edited in the database): the weight of ``origin`` cannot be told, so nothing that
    counts imported ratings is computed from it."""

    def __init__(self, origin: str, weight: str) -> None:
        super().__init__(
            "trust_weight_tampered",
            f"the trust weight {weight!r} of {origin} (table trust_weights) was not recorded "
            f"by 'trackrecord trust --weight' (its MAC is missing or wrong): it was added or "
            f"edited in the database; declare it again with 'trackrecord trust KEY --weight W'",
        )
        self.origin = origin
        self.weight = weight

    def evidence(self) -> dict[str, Any]:
        return super().evidence() | {
            "table": "trust_weights",
            "origin": self.origin,
            "weight": self.weight,
        }


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
        # The MAC first: a crash in between leaves a MAC without its row, which trusts nothing.
        mac = self.store.vault.row_mac(_TRUST_KIND, [key.name, str(key)])
        self.store.set_meta(_TRUST_MAC + str(key), mac or "")
        self.store.put_trusted_key(key.name, str(key))
        return key

    def untrust(self, origin_or_key: str) -> int:
        """Stop trusting an origin (all its keys) or one key string; return how many keys."""
        return self.store.remove_trusted_keys(origin_or_key.strip())

    def trusted(self) -> list[NoteVerifier]:
        """The trusted note verifier keys, sorted by origin: those whose row carries a
        valid MAC (a row added or edited in the database trusts nothing;
        :meth:`unbound_trusted` names it)."""
        bound, _ = self._trusted_rows()
        return [parse_verifier_key(key) for key in bound]

    def unbound_trusted(self) -> list[tuple[str, str]]:
        """``(origin, verifier key)`` rows of ``trusted_origins`` without a valid MAC: not
        written by :meth:`trust` (added or edited in the database), so not trusted."""
        return self._trusted_rows()[1]

    def _trusted_rows(self) -> tuple[list[str], list[tuple[str, str]]]:
        bound: list[str] = []
        unbound: list[tuple[str, str]] = []
        for origin, key in self.store.trusted_keys():
            stored = self.store.get_meta(_TRUST_MAC + key) or ""
            expected = self.store.vault.row_mac(_TRUST_KIND, [origin, key], create=False)
            if expected is not None and hmac.compare_digest(stored, expected):
                bound.append(key)
            else:
                unbound.append((origin, key))
        return bound, unbound

    def set_weight(self, origin: str, weight: float) -> None:
        """Declare how much ratings imported from ``origin`` count here: their standing in
        reputation and matching (docs/reputation.md), in [0, 1]; replaces an earlier one.
        Raises :class:`~ledger.errors.MalformedInput` for a weight outside [0, 1]."""
        if not 0.0 <= weight <= 1.0:
            raise MalformedInput(f"a trust weight is between 0 and 1, not {weight}")
        text = repr(float(weight))
        mac = self.store.vault.row_mac(_WEIGHT_KIND, [origin, text]) or ""
        self.store.put_trust_weight(origin, text, mac)

    def origin_weights(self) -> dict[str, float]:
        """The declared trust in each trusted origin: its weight, or
        :data:`DEFAULT_TRUST_WEIGHT` when none was declared. An origin no longer trusted is
        absent (weight 0).

        Raises :class:`TrustWeightTampered` (naming the origin and the stored weight) when
        a ``trust_weights`` row lacks a valid MAC: it was added or edited in the database,
        and neither it nor the default stands in for what the operator declared."""
        declared: dict[str, float] = {}
        for origin, text, mac in self.store.trust_weights():
            if not self._weight_bound(origin, text, mac):
                raise TrustWeightTampered(origin, text)
            declared[origin] = float(text)
        return {k.name: declared.get(k.name, DEFAULT_TRUST_WEIGHT) for k in self.trusted()}

    def unbound_weights(self) -> list[tuple[str, str]]:
        """``(origin, stored weight)`` rows of ``trust_weights`` without a valid MAC: not
        written by :meth:`set_weight` (added or edited in the database)."""
        return [
            (origin, text)
            for origin, text, mac in self.store.trust_weights()
            if not self._weight_bound(origin, text, mac)
        ]

    def _weight_bound(self, origin: str, text: str, mac: str) -> bool:
        expected = self.store.vault.row_mac(_WEIGHT_KIND, [origin, text], create=False)
        return expected is not None and hmac.compare_digest(mac, expected)

    # -- import ------------------------------------------------------------------------------
    def import_bundle(self, bundle: str | bytes, *, state: LedgerState) -> ImportedRecord:
        """Verify ``bundle`` against the trusted keys, check that it is bound to a person of
        this ledger (``state``, caught up), and store it; return the record.

        Importing the same (origin, person, checkpoint size) again stores nothing
        and returns the record with ``new=False``. Raises
        :class:`~ledger.bundle.BundleError` (``untrusted_key`` for an untrusted
        origin, or whatever check failed) and
        :class:`~ledger.errors.RuleViolation` (``identity_unproven``) when no
        ``IdentityLinked`` here binds the bundle's person to a person of this ledger
        (:func:`ledger.link.require_link`), or (``wrong_destination``) when its person
        left its ledger for another than this one (:func:`ledger.link.require_destination`);
        it stores nothing then.
        """
        try:
            text = bundle.decode("utf-8") if isinstance(bundle, bytes) else bundle
        except UnicodeDecodeError as exc:
            raise BundleError("bad_format", f"a bundle is UTF-8 JSON: {exc}") from exc
        report = verify_bundle(text, trusted=self.trusted())
        doc = load_bundle(text)
        require_link(state, doc, origin=report.origin)
        arrived_from = {r.origin for r in self.imported_records(report.person)}
        require_destination(state, doc, origin=report.origin, arrived_from=arrived_from)
        key = (report.origin, report.person, report.checkpoint_size)
        columns = (*key, report.verifier_key, report.entry_count, utc_timestamp())
        stored = self._seal(load_bundle(text), report.person)
        mac = self.store.vault.row_mac(_ROW_KIND, _mac_fields(columns, stored))
        new = self.store.put_import((*columns, json.dumps({_MAC: mac}), stored))
        if not new and load_bundle(self.bundle_text(*key)) != load_bundle(text):
            raise BundleError(
                "already_imported",
                "a different bundle of this person at this checkpoint is already imported",
                origin=report.origin,
                person=report.person,
                checkpoint_size=report.checkpoint_size,
            )
        found = self._record(self._row(*key))
        if isinstance(found, str):
            raise BundleError("bad_import", found, origin=key[0], person=key[1])
        return dataclasses.replace(found, new=new)

    def imported_records(self, person: str | None = None) -> list[ImportedRecord]:
        """The imported bundles of ``person`` (of everyone if None), by person, origin, size,
        each verified again as it is read; a stored row that no longer verifies (edited in
        the database) is left out (:meth:`problems` names it)."""
        return [r for r in map(self._record, self._rows(person)) if not isinstance(r, str)]

    def problems(self) -> list[tuple[str, str, int, str]]:
        """``(origin, person, size, what is wrong)`` of every stored import that no longer
        verifies (its MAC, its bundle against the key it was imported under, its columns
        against the bundle); empty when all are sound."""
        out = []
        for row in self._rows(None):
            found = self._record(row)
            if isinstance(found, str):
                out.append((row.origin, row.person, row.size, found))
        return out

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
        """The text of an imported bundle, its disclosures opened (those erased since
        withheld); raise :class:`NotFound`."""
        stored = self.store.import_bundle_text(origin, person, checkpoint_size)
        if stored is None:
            raise NotFound(f"no bundle of {person} at checkpoint {checkpoint_size} of {origin}")
        return dump_bundle(self._open(stored))

    # -- erasure -------------------------------------------------------------------------------
    def erase(self, person: str) -> int:
        """How many imported bundles hold content of ``person`` that can still be read
        (sealed under their data key, which the erasure destroys next: nothing here is
        rewritten); 0 once the key is gone. Idempotent."""
        if not self.store.has_data_key(person):
            return 0
        count = 0
        for row in self._rows(None):
            stored = self.store.import_bundle_text(row.origin, row.person, row.size) or "{}"
            sealed = [x for x in json.loads(stored).get("entries", []) if _is_sealed(x)]
            if any(sealed_owner(_sealed_bytes(x)) == person for x in sealed):
                count += 1
        return count

    # -- the stored form -------------------------------------------------------------------
    def _seal(self, doc: dict[str, Any], person: str) -> str:
        """``doc`` with each entry's disclosures sealed under its content owner's data key."""
        state = key_state(doc["entries"])
        for item in doc["entries"]:
            if not item["disclosures"]:
                continue
            try:
                owner = content_owner(parse_statement(item["entry"]["statement"]), state)
            except LedgerError:
                owner = person  # not attributable: the bundle's person's
            digest = hashlib.sha256(canonical_bytes(item["entry"])).digest()
            plain = canonical_bytes(item["disclosures"])
            sealed = seal(self.store.vault.data_key(owner), owner, digest, plain)
            item["disclosures"] = _SEALED + base64.b64encode(sealed).decode("ascii")
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    def _open(self, stored: str) -> dict[str, Any]:
        """The bundle document of a stored form, disclosures opened; erased or unreadable
        ones are withheld (``[]``: the re-verification then reports what they were)."""
        doc: dict[str, Any] = json.loads(stored)
        sealed = [(item, _sealed_bytes(item)) for item in doc["entries"] if _is_sealed(item)]
        owners = {o for _, tail in sealed if (o := sealed_owner(tail)) is not None}
        keys = self.store.vault.keys_for(owners) if owners else {}
        for item, tail in sealed:
            owner = sealed_owner(tail)
            digest = hashlib.sha256(canonical_bytes(item["entry"])).digest()
            key = keys.get(owner) if owner is not None else None
            opened = open_sealed(tail, data_key=key, entry_hash=digest)
            item["disclosures"] = json.loads(opened.disclosures) if opened.sealing == "open" else []
        return doc

    def _rows(self, person: str | None) -> list[_Row]:
        return [_Row(*r) for r in self.store.imports(person)]

    def _row(self, origin: str, person: str, size: int) -> _Row:
        found = [r for r in self._rows(person) if (r.origin, r.size) == (origin, size)]
        if not found:
            raise NotFound(f"no bundle of {person} at checkpoint {size} of {origin}")
        return found[0]

    def _record(self, row: _Row) -> ImportedRecord | str:
        """The record of a stored row, verified again; or what is wrong with the row."""
        stored = self.store.import_bundle_text(row.origin, row.person, row.size)
        columns = (row.origin, row.person, row.size, row.verifier_key, row.count, row.at)
        try:
            mac = json.loads(row.report).get(_MAC) if stored is not None else None
        except (ValueError, AttributeError):
            mac = None
        fields = _mac_fields(columns, stored or "")
        expected = self.store.vault.row_mac(_ROW_KIND, fields, create=False)
        if not isinstance(mac, str) or expected is None or not hmac.compare_digest(mac, expected):
            return "the stored row does not match its MAC: it was changed in the database"
        try:
            text = dump_bundle(self._open(stored or "{}"))
            report = _verified(text, row.verifier_key)
        except (LedgerError, BundleError, ValueError, KeyError, TypeError) as exc:
            return f"the stored bundle no longer verifies: {exc}"
        if (report.origin, report.person, report.checkpoint_size, report.entry_count) != (
            row.origin,
            row.person,
            row.size,
            row.count,
        ):
            return "the stored row's columns differ from its bundle"
        return ImportedRecord(
            row.origin, row.person, row.size, row.verifier_key, row.count, row.at, report
        )


def _verified(text: str, verifier_key: str) -> BundleReport:
    """:func:`verify_bundle` of ``text`` against ``verifier_key``, remembered for the
    same text and key (an import list re-verifies every bundle on every read: ~50 ms for
    20 entries). The text is the opened bundle, so an edit or an erasure misses the
    cache; raises what :func:`verify_bundle` raises."""
    digest = hashlib.sha256(f"{verifier_key}\n{text}".encode()).digest()
    found = _VERIFIED.get(digest)
    if found is None:
        found = verify_bundle(text, trusted=[parse_verifier_key(verifier_key)])
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[digest] = found
    return found


_VERIFIED: dict[bytes, BundleReport] = {}
_VERIFIED_MAX = 1024
_ROW_KIND = "imported_bundle"
_TRUST_KIND = "trusted_origin"
_WEIGHT_KIND = "trust_weight"
_TRUST_MAC = "trusted-origin-mac "  # + the verifier key: the ledger_meta row of its MAC
_MAC = "row_mac"
_SEALED = "TRS1:"


@dataclass(frozen=True)
class _Row:
    origin: str
    person: str
    size: int
    verifier_key: str
    count: int
    at: str
    report: str


def _mac_fields(columns: tuple[str, str, int, str, int, str], stored: str) -> list[str]:
    return [*(str(c) for c in columns), stored]


def _is_sealed(item: dict[str, Any]) -> bool:
    value = item.get("disclosures")
    return isinstance(value, str) and value.startswith(_SEALED)


def _sealed_bytes(item: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(str(item["disclosures"])[len(_SEALED) :], validate=True)
    except ValueError:
        return b""


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
