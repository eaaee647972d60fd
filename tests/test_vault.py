"""Personal content is encrypted at rest (ledger.vault), on both storage backends.

Unit: a sealed tail opens under its data key and for its entry only; any changed byte
makes it unreadable. Store: no plaintext of a disclosure reaches the events table or
the SQLite files; a destroyed data key leaves no trace and its content reads as
erased; a ledger refuses a service key it was not created with. Audit: corrupt tails
and unexplained erasures are failures at their entry.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import commands
from ledger.audit import audit
from ledger.errors import StoreError
from ledger.service import LedgerService
from ledger.store import Store, open_store
from ledger.vault import (
    SERVICE_KEY_ENV,
    open_sealed,
    seal,
    service_key_id,
    service_key_path,
)
from tests.factories import World, standard_world

CANARY = "Plaintext-Canary-7d1f"
DATA_KEY = bytes(range(32))
ENTRY_HASH = hashlib.sha256(b"an entry").digest()
DISCLOSURES = b'[["00112233445566778899aabbccddeeff","title","Secret title"]]'


# -- sealing and opening -------------------------------------------------------------------------


def test_a_sealed_tail_opens_for_its_entry_under_its_key() -> None:
    sealed = seal(DATA_KEY, "alice", ENTRY_HASH, DISCLOSURES)
    assert sealed.startswith(b"TRS1\x05alice")
    assert len(sealed) == 4 + 1 + 5 + 24 + 16 + 32 + len(DISCLOSURES)
    assert b"Secret" not in sealed
    opened = open_sealed(sealed, data_key=DATA_KEY, entry_hash=ENTRY_HASH)
    assert (opened.sealing, opened.disclosures, opened.owner) == ("open", DISCLOSURES, "alice")
    assert seal(DATA_KEY, "alice", ENTRY_HASH, DISCLOSURES) != sealed  # a fresh nonce each time


def test_nothing_sealed_without_disclosures_and_no_key_means_erased() -> None:
    assert open_sealed(b"", data_key=None, entry_hash=ENTRY_HASH).sealing == "none"
    sealed = seal(DATA_KEY, "alice", ENTRY_HASH, DISCLOSURES)
    erased = open_sealed(sealed, data_key=None, entry_hash=ENTRY_HASH)
    assert (erased.sealing, erased.disclosures, erased.owner) == ("erased", b"[]", "alice")


def test_a_sealed_tail_does_not_open_for_another_entry_or_key() -> None:
    sealed = seal(DATA_KEY, "alice", ENTRY_HASH, DISCLOSURES)
    other_entry = open_sealed(sealed, data_key=DATA_KEY, entry_hash=bytes(32))
    assert other_entry.sealing == "corrupt"
    assert "another entry" in other_entry.problem
    assert open_sealed(sealed, data_key=bytes(32), entry_hash=ENTRY_HASH).sealing == "corrupt"
    assert open_sealed(b"[]", data_key=DATA_KEY, entry_hash=ENTRY_HASH).sealing == "corrupt"


@given(data=st.data())
def test_any_changed_byte_of_a_sealed_tail_makes_it_unreadable(data: st.DataObject) -> None:
    """Past the owner's name, any change fails the MAC or the framing: ``corrupt``. The
    owner's name itself only chooses the key: another person's key fails the MAC, a
    person without a key reads as erased — for that other person, which the audit
    checks against the entry's real owner (test_audit_names_... below)."""
    sealed = seal(DATA_KEY, "alice", ENTRY_HASH, DISCLOSURES)
    at = data.draw(st.integers(0, len(sealed) - 1), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")
    flipped = sealed[:at] + bytes([sealed[at] ^ mask]) + sealed[at + 1 :]
    keys = {"alice": DATA_KEY, "alicf": bytes(32)}  # "alicf": some other person with a key
    owner = flipped[5 : 5 + flipped[4]].decode("latin-1")
    opened = open_sealed(flipped, data_key=keys.get(owner), entry_hash=ENTRY_HASH)
    if opened.sealing == "erased":
        assert opened.owner != "alice"
        assert 4 <= at < 10
    else:
        assert opened.sealing == "corrupt", (at, mask)
        assert opened.disclosures == b"[]"


def test_sealing_refuses_a_non_ascii_or_overlong_owner() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        seal(DATA_KEY, "ålice", ENTRY_HASH, DISCLOSURES)
    with pytest.raises(ValueError, match="1 to 255"):
        seal(DATA_KEY, "a" * 256, ENTRY_HASH, DISCLOSURES)


# -- the service key -------------------------------------------------------------------------------


def test_the_service_key_file_is_created_private_beside_an_sqlite_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SERVICE_KEY_ENV, raising=False)
    db = tmp_path / "ledger.db"
    assert service_key_path(str(db)) == tmp_path / "ledger.db.service-key"
    assert service_key_path(None) == Path.home() / ".trackrecord" / "service.key"
    open_store(f"sqlite://{db}").close()
    key_file = tmp_path / "ledger.db.service-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert len(key) == 32
    store = open_store(f"sqlite://{db}")  # the same key again: accepted
    try:
        assert store.get_meta("service_key_id") == service_key_id(key)
    finally:
        store.close()
    monkeypatch.setenv(SERVICE_KEY_ENV, str(tmp_path / "elsewhere.key"))
    assert service_key_path(str(db)) == tmp_path / "elsewhere.key"


def test_a_ledger_refuses_another_service_key(database_url: str, tmp_path: Path) -> None:
    open_store(database_url, service_key=b"\x01" * 32).close()
    with pytest.raises(StoreError) as refused:
        open_store(database_url, service_key=b"\x02" * 32)
    message = str(refused.value)
    assert "does not belong to this ledger" in message
    assert service_key_id(b"\x02" * 32) in message
    assert service_key_id(b"\x01" * 32) in message
    if database_url.startswith("sqlite"):
        wrong = tmp_path / "wrong.key"
        wrong.write_bytes(b"\x03" * 32)
        os.environ[SERVICE_KEY_ENV], saved = str(wrong), os.environ.get(SERVICE_KEY_ENV, "")
        try:
            with pytest.raises(StoreError, match=f"service key at {wrong} does not belong"):
                open_store(database_url)
        finally:
            os.environ[SERVICE_KEY_ENV] = saved
    open_store(database_url, service_key=b"\x01" * 32).close()


def test_a_service_key_file_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "ledger.db.service-key"
    key_file.write_bytes(b"short")
    os.environ[SERVICE_KEY_ENV], saved = str(key_file), os.environ.get(SERVICE_KEY_ENV, "")
    try:
        with pytest.raises(StoreError, match="exactly 32 bytes"):
            open_store(f"sqlite://{tmp_path / 'ledger.db'}")
    finally:
        os.environ[SERVICE_KEY_ENV] = saved


# -- at rest, on both backends ------------------------------------------------------------------


@pytest.fixture
def ledger(database_url: str) -> Iterator[tuple[LedgerService, World]]:
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        yield service, standard_world(service, seed="vault")
    finally:
        store.close()


def _raw_states(store: Store) -> list[bytes]:
    if store.backend == "sqlite":
        with sqlite3.connect(store.url.removeprefix("sqlite://")) as db:
            return [bytes(s) for (s,) in db.execute("SELECT state FROM stored_events")]
    with psycopg.connect(store.url) as db:
        return [bytes(s) for (s,) in db.execute("SELECT state FROM ledger_events")]


def _sqlite_file_bytes(store: Store) -> bytes:
    path = Path(store.url.removeprefix("sqlite://"))
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def _wrapped_keys(store: Store) -> dict[str, bytes]:
    return store.vault._table.select_data_keys(["alice", "bob", "carol", "dave"])


def test_no_plaintext_reaches_the_database(ledger: tuple[LedgerService, World]) -> None:
    service, w = ledger
    w.do(w.claim(w["alice"], title=CANARY, description=f"More {CANARY}"))
    states = _raw_states(service.store)
    assert states
    assert not any(CANARY.encode() in s for s in states)
    assert any(b"\nTRS1\x05alice" in s for s in states)
    if service.store.backend == "sqlite":
        assert CANARY.encode() not in _sqlite_file_bytes(service.store)
    (claimed,) = service.read_stream("record/alice")
    assert claimed.disclosed()["title"] == CANARY
    assert service.store.read_stream("record/alice")[0].sealing == "open"


def test_a_destroyed_data_key_leaves_no_trace_and_its_content_reads_as_erased(
    ledger: tuple[LedgerService, World],
) -> None:
    service, w = ledger
    store = service.store
    w.do(w.claim(w["alice"], title=CANARY))
    w.do(w.claim(w["bob"], title="Bob's own work"))
    wrapped = _wrapped_keys(store)["alice"]
    if store.backend == "sqlite":
        assert wrapped in _sqlite_file_bytes(store)  # the check below can see it

    assert store.destroy_data_key("alice") is True
    assert store.destroy_data_key("alice") is False  # idempotent
    assert "alice" not in _wrapped_keys(store)
    assert "bob" in _wrapped_keys(store)
    if store.backend == "sqlite":
        assert wrapped not in _sqlite_file_bytes(store)

    alice, bob = store.read_stream("record/alice")[0], store.read_stream("record/bob")[0]
    assert (alice.sealing, alice.sealed_for) == ("erased", "alice")
    assert alice.blob.endswith(b"\n[]")
    assert CANARY.encode() not in alice.blob
    assert bob.sealing == "open"
    (claim,) = service.read_stream("record/alice")
    assert claim.disclosures == ()
    report = audit(store)  # nothing in the log erases alice
    assert report.failure is not None
    assert (report.failure.code, report.failure.stream) == ("data_key_missing", "identity/alice")


def test_an_erasure_destroys_the_key_and_the_audit_accepts_it(
    ledger: tuple[LedgerService, World],
) -> None:
    service, w = ledger
    store = service.store
    w.do(w.claim(w["alice"], title=CANARY))
    w.do(w.claim(w["alice"], title="Second"))
    assert store.has_data_key("alice")
    w.do(commands.erase_person(w.operator.signer, person="alice", **w.opts()))
    assert not store.has_data_key("alice")
    assert all(r.sealing in ("erased", "none") for r in store.read_stream("record/alice"))
    report = audit(store)
    assert report.ok, report.as_json()
    assert report.erased >= 2
    assert report.as_json()["erased"] == report.erased


def test_catching_up_completes_an_interrupted_erasure(database_url: str) -> None:
    """A process that appended PersonErased but died before destroying the key: the next
    process to read the log destroys it."""
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service, seed="vault")
        w.do(w.claim(w["alice"], title=CANARY))
        destroy = store.destroy_data_key
        store.destroy_data_key = lambda person: False  # type: ignore[method-assign]
        w.do(commands.erase_person(w.operator.signer, person="alice", **w.opts()))
        store.destroy_data_key = destroy  # type: ignore[method-assign]
        assert store.has_data_key("alice")
    finally:
        store.close()
    store = open_store(database_url)
    try:
        LedgerService(store).catch_up()
        assert not store.has_data_key("alice")
        assert audit(store).ok
    finally:
        store.close()


def test_a_catch_up_looks_up_the_erased_peoples_keys_together(database_url: str) -> None:
    """Every process checks for erasures left half-way; with many erasures in the ledger's
    history that is one look-up for all of them, and a look-up of its own only for an
    erasure still to finish (it was one query per erasure, in every CLI command)."""
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        w = standard_world(service, seed="vault")
        for name in ("alice", "carol", "dave"):
            w.do(w.claim(w[name], title=CANARY))
        w.do(commands.erase_person(w.operator.signer, person="alice", **w.opts()))
        w.do(commands.erase_person(w.operator.signer, person="dave", **w.opts()))
        destroy = store.destroy_data_key
        store.destroy_data_key = lambda person: False  # type: ignore[method-assign]
        w.do(commands.erase_person(w.operator.signer, person="carol", **w.opts()))
        store.destroy_data_key = destroy  # type: ignore[method-assign]
    finally:
        store.close()
    store = open_store(database_url)
    try:
        asked: list[str] = []
        has_data_key = store.has_data_key

        def counted(person: str) -> bool:
            asked.append(person)
            return has_data_key(person)

        store.has_data_key = counted  # type: ignore[method-assign]
        LedgerService(store).catch_up()
        assert asked == ["carol"]  # not alice's and dave's, whose erasures are complete
        assert not store.data_key_holders(["alice", "carol", "dave"])
        assert store.data_key_holders(["bob"]) == {"bob"}
        assert audit(store).ok
    finally:
        store.close()


def _set_state(store: Store, index: int, state: bytes) -> None:
    if store.backend == "sqlite":
        with sqlite3.connect(store.url.removeprefix("sqlite://")) as db:
            db.execute(
                "UPDATE stored_events SET state=? WHERE rowid="
                "(SELECT rowid FROM stored_events ORDER BY rowid LIMIT 1 OFFSET ?)",
                (state, index),
            )
        return
    with psycopg.connect(store.url) as db:
        db.execute(
            "UPDATE ledger_events SET state=%s WHERE notification_id="
            "(SELECT notification_id FROM ledger_events ORDER BY 1 LIMIT 1 OFFSET %s)",
            (state, index),
        )


def test_audit_names_a_sealed_tail_moved_or_resealed_for_someone_else(
    ledger: tuple[LedgerService, World],
) -> None:
    service, w = ledger
    store = service.store
    first = w.do(w.claim(w["alice"], title="One"))
    w.do(w.claim(w["alice"], title="Two"))
    w.do(w.claim(w["bob"], title="Bob's"))
    size = service.state.size
    states = _raw_states(store)
    one, two = states[size - 3], states[size - 2]
    assert first.disclosures
    # alice's second tail moved onto her first entry: it opens, but for another entry
    _set_state(store, size - 3, one.partition(b"\n")[0] + b"\n" + two.partition(b"\n")[2])
    failure = audit(store).failure
    assert failure is not None
    assert (failure.code, failure.log_index) == ("sealed_disclosures", size - 3)
    assert "another entry" in failure.message
    assert store.read_stream("record/alice")[0].sealing == "corrupt"
    # alice's own disclosures, correctly sealed but for bob (who has a key): not hers
    _set_state(store, size - 3, one)
    record = store.read_stream("record/alice")[0].blob
    assert b'"One"' in record
    _set_state(store, size - 3, store.vault.seal_record(record, "bob"))
    failure = audit(store).failure
    assert failure is not None
    assert (failure.code, failure.log_index) == ("sealed_disclosures", size - 3)
    assert "belong to alice but are sealed for bob" in failure.message


def test_the_audit_names_a_stored_record_without_its_line_feed(sqlite_url: str) -> None:
    """A record is ``JCS(entry) ‖ 0x0A ‖ tail``: one whose separator was cut is refused at
    its entry, even though its entry bytes are intact."""
    store = open_store(sqlite_url)
    try:
        w = standard_world(LedgerService(store), seed="vault-separator")
        w.do(w.ambition(w["alice"]))  # no disclosure of a long text needed: any entry
        with sqlite3.connect(sqlite_url.removeprefix("sqlite://")) as db:
            (rowid, state) = db.execute(
                "SELECT rowid, state FROM stored_events ORDER BY rowid DESC LIMIT 1"
            ).fetchone()
            head = bytes(state).partition(b"\n")[0]
            db.execute("UPDATE stored_events SET state=? WHERE rowid=?", (head, rowid))
        report = audit(store)
        assert report.failure is not None
        assert report.failure.code == "sealed_disclosures"
        assert "no line feed" in report.failure.message
        assert report.failure.log_index == w.state.size - 1
    finally:
        store.close()
