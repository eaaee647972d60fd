"""Tampering with the stored rows is found by the audit, at the entry that was tampered with.

For random valid ledgers (8-25 entries), written through the real service to the real
store, one tampering chosen by hypothesis is applied with plain SQL on the backend's
own tables (SQLite ``stored_events`` with ``rowid`` as position; PostgreSQL
``ledger_events`` with ``notification_id``), bypassing the library as an attacker with
database access would. The Merkle node tables are left alone. Stored disclosures are
sealed (``ledger.vault``); a forged entry gets a correctly sealed tail, as if the
attacker also held the service key, so that only the log's own checks can find it. Then
``audit(open_store(url))`` must fail, and name the entry:

=================  ===========================================================
tampering          the failure's ``log_index`` (0-based position in the log)
=================  ===========================================================
flip_statement     k, the row whose statement bytes were flipped
flip_signature     k, the row whose signature text was flipped
flip_prev          k, the row whose ``prev`` text was flipped
resign             k, the row re-signed by another key valid at k
delete             k, where the deleted entry was (the next one now sits there)
swap               i, the earlier of the two rows whose records were swapped
insert_copy        p, where a copy of a row, re-keyed to a new version, was put
insert_forged      p, where a new, validly signed, correctly chained entry was put
=================  ===========================================================

For the kinds that leave the tampered entry at its place and in its stream, a failure
that names a stream and seq must name that entry's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tests import pgcluster
from tests.factories import random_statements
from tests.support.tamper import (
    KINDS,
    Backend,
    SqliteRows,
    audit_url,
    span_of,
    tamper,
    write_ledger,
)

# Half of the profile's examples per backend: 25 in "ci", 500 in "thorough".
EXAMPLES = max(10, settings().max_examples // 2)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    directory = tmp_path_factory.mktemp("tamper")
    if request.param == "sqlite":
        yield Backend("sqlite", directory, None)
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    with pgcluster.fresh_database(server_url) as url:
        yield Backend("postgres", directory, url)


# -- the property ---------------------------------------------------------------------------------


# No shrinking: a failing example is already small and the assertion message describes the
# tampering exactly, while each shrink step costs a database round trip (shrinking would run
# into hypothesis's five-minute limit).
@settings(max_examples=EXAMPLES, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    size=st.integers(8, 25),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(1, 24), max_size=2),
    kind=st.sampled_from(KINDS),
    data=st.data(),
)
def test_audit_names_the_tampered_entry(
    backend: Backend, size: int, seed: int, cuts: list[int], kind: str, data: st.DataObject
) -> None:
    w, signed = random_statements(random.Random(seed), size, seed=f"tamper-{seed}")
    db = backend.fresh()
    try:
        write_ledger(db.url, signed, [c for c in cuts if c < size])
        clean = audit_url(db.url)
        assert clean.ok, clean.as_json()
        assert clean.entries == size

        done = tamper(kind, data, db, w)
        report = audit_url(db.url)
    finally:
        db.close()

    failure = report.failure
    assert failure is not None, f"{done.description}: the audit found nothing"
    where = (failure.log_index, failure.stream, failure.seq, failure.code, failure.message)
    assert failure.log_index == done.log_index, f"{done.description}: reported {where}"
    if done.entry is not None and failure.stream is not None:
        assert (failure.stream, failure.seq) == (done.entry.stream, done.entry.seq), where


# -- one deterministic sweep: the same tampering at every index of one ledger ---------------------


@pytest.fixture(scope="module")
def fixed_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-entry SQLite ledger, written once; tests tamper with copies of the file."""
    path = tmp_path_factory.mktemp("fixed") / "ledger.db"
    _, signed = random_statements(random.Random(2026), 16, seed="fixed")
    write_ledger(f"sqlite://{path.resolve().as_posix()}", signed, [5, 11])
    return path


@pytest.mark.parametrize("k", range(16))
def test_other_valid_signature_is_named_at_its_index(fixed_ledger: Path, k: int) -> None:
    """A signature replaced by other valid base64 of the right length: the signature check
    and the Merkle leaf both fail at k; nodes above leaf k must not be blamed on k's left
    neighbours."""
    copy = fixed_ledger.with_name(f"copy-{k}.db")
    copy.write_bytes(fixed_ledger.read_bytes())
    db = SqliteRows(f"sqlite://{copy.resolve().as_posix()}")
    try:
        row = db.rows()[k]
        head, _, tail = row.state.partition(b"\n")
        at = span_of(head, b'"signature":"', b'"')[0] + 10
        swapped = b"B" if head[at : at + 1] == b"A" else b"A"
        db.set_state(row.position, head[:at] + swapped + head[at + 1 :] + b"\n" + tail)
    finally:
        db.close()
    report = audit_url(db.url)
    assert report.failure is not None
    assert report.failure.code in ("bad_signature", "merkle_mismatch")
    assert report.failure.log_index == k, report.failure.as_json()
