"""Content withheld or erased versus content removed from the store (issue 15, item 5).

An entry that commits to personal fields is always stored with a sealed tail, a sealed
``[]`` when every field was withheld at append; erasure destroys the data key and leaves
the tail. So a tail cut off in the database (the attack: ``UPDATE stored_events SET
state=substr(state,1,instr(state,X'0A'))``) is neither, and the audit names it
``content_missing`` at its stream, seq and log index, on both backends.
"""

from __future__ import annotations

import sqlite3

import psycopg

from keys import Identity
from ledger import commands
from ledger.audit import audit
from ledger.service import AppendResult, LedgerService
from ledger.statement import SignedStatement, Signer
from ledger.store import open_store
from tests.factories import TEST_ORIGIN

OP, ALICE = Identity(bytes([3]) * 32), Identity(bytes([4]) * 32)
OP_SIGNS, ALICE_SIGNS = Signer(OP, TEST_ORIGIN), Signer(ALICE, TEST_ORIGIN)


def _ledger(url: str) -> LedgerService:
    service = LedgerService(open_store(url))
    for person, identity in (("op", OP), ("alice", ALICE)):
        service.append(
            commands.register_identity(
                OP_SIGNS,
                person=person,
                public_key=identity.public_key.raw,
                organisation="o",
                department="o/d",
                display_name=person.title(),
            )
        )
    return service


def _claim(service: LedgerService) -> AppendResult:
    """alice claims a contribution with a title (a personal field)."""
    return service.append(
        commands.claim_contribution(
            ALICE_SIGNS, person="alice", title="Real title", skills=["x"], start="2026-01-01"
        )
    )


def _cut_tail(url: str, log_index: int) -> None:
    """Cut the stored row of ``log_index`` after its line feed, in plain SQL."""
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            db.execute(
                "UPDATE stored_events SET state=substr(state,1,instr(state,X'0A')) "
                "WHERE rowid=(SELECT rowid FROM stored_events ORDER BY rowid LIMIT 1 OFFSET ?)",
                (log_index,),
            )
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "UPDATE ledger_events SET state=substring(state from 1 for "
            "position('\\x0a'::bytea in state)) WHERE notification_id=(SELECT notification_id "
            "FROM ledger_events ORDER BY notification_id LIMIT 1 OFFSET %s)",
            (log_index,),
        )


def _audit(url: str) -> dict[str, object]:
    store = open_store(url)
    try:
        return audit(store).as_json()
    finally:
        store.close()


def test_a_cut_sealed_tail_is_reported_as_missing_content(database_url: str) -> None:
    service = _ledger(database_url)
    claimed = _claim(service)
    service.append(commands.state_ambition(ALICE_SIGNS, person="alice", goal="Lead a team"))
    service.store.close()
    assert _audit(database_url)["ok"]

    _cut_tail(database_url, claimed.log_index)

    report = _audit(database_url)
    failure = report["failure"]
    assert isinstance(failure, dict), report
    assert failure["code"] == "content_missing"
    assert (failure["stream"], failure["seq"], failure["log_index"]) == (
        "record/alice",
        1,
        claimed.log_index,
    )
    assert failure["evidence"] == {"person": "alice", "fields": ["title"]}


def test_content_withheld_at_append_is_sealed_and_passes(database_url: str) -> None:
    service = _ledger(database_url)
    signed = commands.claim_contribution(
        ALICE_SIGNS,
        person="alice",
        title="Withheld",
        skills=["x"],
        start="2026-01-01",
    )
    withheld = service.append(SignedStatement(signed.statement, signed.signature, ()))
    (stored,) = service.store.read(after=service.store.max_position() - 1)
    assert (stored.sealing, stored.disclosures, stored.sealed_for) == ("open", b"[]", "alice")
    service.store.close()
    assert _audit(database_url)["ok"]

    _cut_tail(database_url, withheld.log_index)  # withheld, and then the sealed [] cut off
    failure = _audit(database_url)["failure"]
    assert isinstance(failure, dict)
    assert (failure["code"], failure["log_index"]) == ("content_missing", withheld.log_index)


def test_an_entry_without_personal_fields_has_no_tail(sqlite_url: str) -> None:
    service = _ledger(sqlite_url)
    service.append(commands.grant_role(OP_SIGNS, person="alice", role="manager", scope="o/d"))
    (stored,) = service.store.read(after=service.store.max_position() - 1)
    assert stored.sealing == "none"
    assert _audit(sqlite_url)["ok"]


def test_an_erased_persons_cut_tail_is_not_missing_content(sqlite_url: str) -> None:
    """After an erasure the content is gone by the log's order: a cut tail changes nothing
    anyone could read, so it is not reported (the erasure itself leaves the tail)."""
    service = _ledger(sqlite_url)
    claimed = _claim(service)
    service.append(commands.erase_person(OP_SIGNS, person="alice", basis="request"))
    (first,) = [r for r in service.store.read_stream("record/alice") if r.version == 1]
    assert first.sealing == "erased"
    _cut_tail(sqlite_url, claimed.log_index)
    assert _audit(sqlite_url)["ok"]
