"""Disclosures sit outside every hash and signature, so the ledger checks them against the
signed commitments wherever they enter or are read back: on append and in the audit."""

from __future__ import annotations

import json
import sqlite3

import pytest

from keys import Identity
from ledger import commands
from ledger.audit import audit
from ledger.disclosures import Disclosure
from ledger.errors import MalformedInput
from ledger.service import LedgerService
from ledger.statement import SignedStatement, Signer, parse_statement
from ledger.store import open_store
from tests.factories import TEST_ORIGIN


def _ledger(url: str) -> tuple[LedgerService, Identity]:
    service = LedgerService(open_store(url))
    op, alice = Identity(bytes([3]) * 32), Identity(bytes([4]) * 32)
    service.append(
        commands.register_identity(
            Signer(op, TEST_ORIGIN),
            person="op",
            public_key=op.public_key.raw,
            organisation="o",
            department="o/d",
            display_name="Op",
        )
    )
    service.append(
        commands.register_identity(
            Signer(op, TEST_ORIGIN),
            person="alice",
            public_key=alice.public_key.raw,
            organisation="o",
            department="o/d",
            display_name="Alice",
        )
    )
    return service, alice


def test_append_refuses_disclosures_that_do_not_match(sqlite_url: str) -> None:
    service, alice = _ledger(sqlite_url)
    signed = commands.claim_contribution(
        Signer(alice, TEST_ORIGIN),
        person="alice",
        title="Real title",
        skills=["x"],
        start="2026-01-01",
    )
    (title,) = signed.disclosures
    forged = SignedStatement(
        signed.statement, signed.signature, (Disclosure(title.salt, "title", "Inflated title"),)
    )
    before = service.store.max_position()
    with pytest.raises(MalformedInput) as info:
        service.append(forged)
    assert info.value.code == "bad_disclosure"
    assert service.store.max_position() == before
    service.append(SignedStatement(signed.statement, signed.signature, ()))  # withheld: fine


def test_audit_names_a_stored_disclosure_that_was_changed(sqlite_url: str) -> None:
    service, alice = _ledger(sqlite_url)
    result = service.append(
        commands.claim_contribution(
            Signer(alice, TEST_ORIGIN),
            person="alice",
            title="Real title",
            skills=["x"],
            start="2026-01-01",
        )
    )
    assert audit(open_store(sqlite_url)).ok
    # The stored disclosures are sealed: this attacker holds the service key too and
    # seals the changed disclosure correctly, so only the commitment can give it away.
    (stored,) = service.store.read(after=service.store.max_position() - 1)
    head, _, tail = stored.blob.partition(b"\n")
    disclosures = json.loads(tail)
    disclosures[0][2] = "Inflated title"
    new_tail = json.dumps(disclosures, separators=(",", ":")).encode()
    resealed = service.store.vault.seal_record(head + b"\n" + new_tail, "alice")
    path = sqlite_url.removeprefix("sqlite://")
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE stored_events SET state=? WHERE rowid=(SELECT MAX(rowid) FROM stored_events)",
            (resealed,),
        )
    report = audit(open_store(sqlite_url))
    assert report.failure is not None
    assert (report.failure.code, report.failure.log_index) == ("bad_disclosure", result.log_index)
    assert report.failure.stream == "record/alice"


@pytest.mark.parametrize("field", ["subject", "id", "author", "issued_at"])
def test_a_trailing_newline_is_not_a_valid_value(field: str) -> None:
    """``$`` in a Python regex also matches before a final newline; the ledger matches whole."""
    signed = commands.claim_contribution(
        Signer(Identity(bytes(32)), TEST_ORIGIN),
        person="alice",
        title="x",
        skills=["x"],
        start="2026-01-01",
    )
    raw = signed.statement.as_json()
    raw[field] = raw[field] + "\n"
    with pytest.raises(MalformedInput):
        parse_statement(raw)
