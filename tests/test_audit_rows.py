"""What the store keeps beside the log, checked by the audit (issue 15, items 6b and 6c):
a checkpoint deleted between stored ones is found through the signed chain of
``trackrecord-previous`` lines; an imported bundle edited in the database is no longer
shown and the audit names it; a stored import holds no plaintext. On both backends."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest

from keys import Identity
from ledger import commands
from ledger.audit import audit
from ledger.checkpoint import verifier_key, verify_checkpoint
from ledger.imports import ImportedRecord, ImportRegistry
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import Store, open_store
from ledger.transparency import PREVIOUS_LINE, TransparencyLog
from projections import create_read_model_engine
from tests.factories import identity_for
from tests.support.bundles import ALICE_LAST_KEY, origin_bundle
from tests.support.links import link_record
from tests.support.scan import every_value, holds

OP = Identity(bytes([3]) * 32)
ORIGIN = "trackrecord.example/test"
OP_SIGNS = Signer(OP, ORIGIN)


def _genesis(store: Store) -> LedgerService:
    """A service on ``store`` with its operator ``op`` registered."""
    service = LedgerService(store)
    service.append(
        commands.register_identity(
            OP_SIGNS, person="op", public_key=OP.public_key.raw, organisation="o",
            department="o/d", display_name="Op",
        )
    )  # fmt: skip
    return service


def _checkpointed(url: str, count: int) -> list[int]:
    """A ledger with ``count`` checkpoints, two ambitions apart; their sizes."""
    store = open_store(url)
    try:
        service = _genesis(store)
        log = TransparencyLog(service)
        log.set_origin(ORIGIN)
        sizes = []
        for i in range(count):
            for j in range(2):
                service.append(commands.state_ambition(OP_SIGNS, person="op", goal=f"goal {i}.{j}"))
            sizes.append(log.issue_checkpoint(OP).size)
        return sizes
    finally:
        store.close()


def _delete_checkpoint(url: str, size: int) -> None:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            db.execute("DELETE FROM checkpoints WHERE size=?", (size,))
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DELETE FROM ledger_checkpoints WHERE size=%s", (size,))


def _failure(url: str) -> tuple[str, int | None, dict[str, object]] | None:
    store = open_store(url)
    try:
        failure = audit(store).failure
    finally:
        store.close()
    return None if failure is None else (failure.code, failure.log_index, failure.evidence)


def test_each_checkpoint_names_the_one_before_it(sqlite_url: str) -> None:
    sizes = _checkpointed(sqlite_url, 3)
    store = open_store(sqlite_url)
    try:
        log = TransparencyLog(LedgerService(store))
        notes = [log.checkpoint(s).note for s in sizes]
        extensions = [verify_checkpoint(n, verifiers=[log.verifier()]).extensions for n in notes]
    finally:
        store.close()
    previous = [[x for x in lines if x.startswith(PREVIOUS_LINE)] for lines in extensions]
    assert previous == [[f"{PREVIOUS_LINE}{n}"] for n in (0, sizes[0], sizes[1])]
    assert _failure(sqlite_url) is None


def test_a_checkpoint_deleted_between_stored_ones_is_reported(database_url: str) -> None:
    sizes = _checkpointed(database_url, 3)
    _delete_checkpoint(database_url, sizes[1])
    assert _failure(database_url) == (
        "checkpoint_missing",
        sizes[1] - 1,
        {"checkpoint_size": sizes[2], "previous": sizes[1]},
    )


def test_the_oldest_checkpoint_deleted_is_reported(database_url: str) -> None:
    sizes = _checkpointed(database_url, 2)
    _delete_checkpoint(database_url, sizes[0])
    found = _failure(database_url)
    assert found is not None
    assert found[:2] == ("checkpoint_missing", sizes[0] - 1)


def test_the_latest_checkpoint_deleted_is_the_monitors_to_find(sqlite_url: str) -> None:
    """Nothing later names it: the audit cannot tell; a monitor or the service's memory of
    its last signed checkpoint (ledger.rollback) does."""
    sizes = _checkpointed(sqlite_url, 2)
    _delete_checkpoint(sqlite_url, sizes[-1])
    assert _failure(sqlite_url) is None


# -- imported bundles (issue 15, items 6b and 3) ------------------------------------------------


@pytest.fixture(scope="module")
def alice_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """alice's bundle from an origin ledger (tests.support.bundles) and its verifier key."""
    return origin_bundle(tmp_path_factory.mktemp("origin"))


def _imported(url: str, bundle: str, key: str) -> None:
    store = open_store(url)
    try:
        service = _genesis(store)
        # alice joins this ledger and links her record on the origin ledger to her here
        link_record(
            service, bundle, here=identity_for("alice-here"), there=ALICE_LAST_KEY, registrar=OP
        )
        registry = ImportRegistry(store)
        registry.trust(key)
        with service.reading() as state:
            registry.import_bundle(bundle, state=state)
    finally:
        store.close()


def _sql(url: str, statement: str) -> None:
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as db:
            db.execute(statement)
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(statement)


def _records(url: str) -> list[ImportedRecord]:
    store = open_store(url)
    try:
        return ImportRegistry(store).imported_records()
    finally:
        store.close()


def test_a_stored_import_holds_no_plaintext_and_reads_back_whole(
    database_url: str, alice_bundle: tuple[str, str]
) -> None:
    bundle, key = alice_bundle
    _imported(database_url, bundle, key)
    engine = create_read_model_engine(database_url)
    try:
        stored = [v for t, _, v in every_value(engine) if t.endswith("imported_bundles")]
        assert stored
    finally:
        engine.dispose()
    entries = json.loads(bundle)["entries"]
    # (values too short to tell from chance matches in base64, such as "Ok", are left out)
    personal = [d[2] for item in entries for d in item["disclosures"] if len(d[2]) >= 6]
    assert "Policy brief" in personal
    assert [p for p in personal if any(holds(v, p) for v in stored)] == []
    [record] = _records(database_url)
    assert "Policy brief" in [c.title for c in record.report.contributions]
    assert record.report.display_name == "Alice"
    assert _failure(database_url) is None


@pytest.mark.parametrize(
    "edit",
    [
        # a grade changed in the stored bundle
        "UPDATE {t} SET bundle = replace(bundle, '\"grade\":4', '\"grade\":5')",
        # the row said to be imported under another key
        "UPDATE {t} SET verifier_key = verifier_key || 'x'",
        # the row's MAC replaced
        'UPDATE {t} SET report = \'{{"row_mac": "00"}}\'',
        # the row moved to another person
        "UPDATE {t} SET person = 'mallory'",
    ],
)
def test_an_edited_import_no_longer_shows_and_the_audit_names_it(
    database_url: str, alice_bundle: tuple[str, str], edit: str
) -> None:
    bundle, key = alice_bundle
    _imported(database_url, bundle, key)
    assert len(_records(database_url)) == 1
    table = "imported_bundles" if database_url.startswith("sqlite") else "ledger_imported_bundles"
    _sql(database_url, edit.format(t=table))
    assert _records(database_url) == []
    found = _failure(database_url)
    assert found is not None
    assert found[0] == "import_tampered"
    assert found[2]["origin"] == json.loads(bundle)["origin"]


# -- trusted origins (issue 15, item 6d) ----------------------------------------------------------


def _trusted(url: str) -> list[str]:
    store = open_store(url)
    try:
        return [str(k) for k in ImportRegistry(store).trusted()]
    finally:
        store.close()


@pytest.mark.parametrize("edit", ["added", "edited"])
def test_a_trusted_origin_written_in_the_database_trusts_nothing(
    database_url: str, alice_bundle: tuple[str, str], edit: str
) -> None:
    bundle, key = alice_bundle
    _imported(database_url, bundle, key)
    assert _trusted(database_url) == [key]
    assert _failure(database_url) is None
    table = "trusted_origins" if database_url.startswith("sqlite") else "ledger_trusted_origins"
    mallory = verifier_key("trackrecord.example/m", identity_for("mallory").public_key.raw)
    if edit == "added":
        _sql(database_url, f"INSERT INTO {table} VALUES ('trackrecord.example/m', '{mallory}')")
        assert _trusted(database_url) == [key]
    else:
        _sql(database_url, f"UPDATE {table} SET verifier_key = '{mallory}'")
        assert _trusted(database_url) == []
    found = _failure(database_url)
    assert found is not None
    assert (found[0], found[2]["verifier_key"]) == ("trusted_origin_unbound", mallory)
