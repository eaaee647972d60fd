"""Hostile input: every parser answers random and adversarial input with its own typed error.

A *parser* here is any function that turns bytes, text or decoded JSON from outside into
a value the ledger trusts: statements and submissions (``ledger.statement``), stored
records (``ledger.entry.decode_record``), bundles (``ledger.bundle``), checkpoint notes
and verifier keys (``ledger.checkpoint``), disclosures, heads proofs and Merkle proofs.
For each one, :data:`tests.support.hostile.FUZZERS` holds a hypothesis strategy of hostile
input — random JSON, text with lone surrogates and NUL, random bytes, 100,000-deep
nesting, hostile numbers, and single mutations of a genuine document — and a check that

* the parser either accepts or raises one of :data:`~tests.support.hostile.TYPED`
  (``LedgerError`` or ``keys.KeyError_`` subclasses): anything else is a
  :class:`~tests.support.hostile.Crash`;
* whatever it accepts is not a forgery: a changed statement never verifies under any
  key of the ledger and is refused by the rules, a changed bundle is refused (only
  withholding a disclosure is allowed), a changed note never yields another text, a
  proof never places a leaf where it is not (:class:`~tests.support.hostile.Forgery`).

The same registry drives the long fuzz runs of ``bench/reliability``. The deterministic
tests below pin the cases named in issue 7: deep nesting, non-canonical JSON that hashes
differently, Unicode look-alikes of person ids, NUL bytes, lone surrogates, oversized
input and hostile sizes in proof requests.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import commands
from ledger.audit import audit
from ledger.bundle import BundleError, load_bundle, verify_bundle
from ledger.canonical import sha256_hex
from ledger.checkpoint import (
    CheckpointError,
    open_note,
    parse_checkpoint_body,
    parse_verifier_key,
)
from ledger.entry import decode_record
from ledger.errors import LedgerError, MalformedInput
from ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    verify_inclusion,
)
from ledger.service import LedgerService
from ledger.statement import Signer, parse_signed_statement
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests.factories import DEPT, ORG, TEST_ORIGIN, identity_for, standard_world
from tests.support.api_server import live_server
from tests.support.hostile import (
    DEEP,
    FUZZERS,
    ORIGIN,
    disclosure_base,
    dry_append,
    genuine,
    honest_bundle,
    honest_note,
    inputs,
    merkle_tree,
    nested,
    nested_text,
    outcome,
    reserialised,
)


@pytest.mark.parametrize("name", sorted(FUZZERS))
@given(data=st.data())
def test_parser_answers_hostile_input_with_typed_errors(name: str, data: st.DataObject) -> None:
    fuzz = FUZZERS[name]
    outcome(fuzz, data.draw(inputs(fuzz), label=name))


@pytest.mark.parametrize("name", sorted(FUZZERS))
def test_the_genuine_documents_are_accepted(name: str) -> None:
    """The checks accept the unchanged documents, so a refusal above means something."""
    g, b, n = genuine(), honest_bundle(), honest_note()
    leaves, nodes, _ = merkle_tree()
    originals: dict[str, Any] = {
        "statement": g.pending[0].as_json()["statement"],
        "submission": g.pending[1].as_json(),
        "record": g.records[-1][1],
        "bundle": b.text,
        "checkpoint_note": n.note,
        "checkpoint_body": n.checkpoint.body(),
        "verifier_key": str(n.key),
        "disclosures": disclosure_base()[1],
        "heads_proof": b.doc["heads"]["record/alice"],
        "inclusion_proof": (leaves[5], 5, 11, inclusion_proof(5, 11, nodes.get_node), 11),
        "consistency_proof": (
            6,
            13,
            merkle_tree()[2][6],
            merkle_tree()[2][13],
            consistency_proof(6, 13, nodes.get_node),
        ),
    }
    assert outcome(FUZZERS[name], originals[name]) == "accepted"


# -- deep nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "object"])
def test_deeply_nested_bundles_are_bad_format(kind: str) -> None:
    text = nested_text(DEEP, kind=kind)
    for parse in (load_bundle, lambda t: verify_bundle(t, trusted=None)):
        with pytest.raises(BundleError) as refused:
            parse(text)
        assert refused.value.code == "bad_format"


@pytest.mark.parametrize("part", ["entry", "disclosures"])
@pytest.mark.parametrize("kind", ["list", "object"])
def test_deeply_nested_stored_record_is_malformed(kind: str, part: str) -> None:
    head = genuine().records[-1][1].partition(b"\n")[0]
    deep = nested_text(DEEP, kind=kind).encode()
    with pytest.raises(LedgerError) as refused:
        decode_record(deep + b"\n[]" if part == "entry" else head + b"\n" + deep)
    assert refused.value.code == "malformed_entry"


def test_audit_reports_a_deeply_nested_row_instead_of_crashing(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        w = standard_world(LedgerService(store), seed="deep")
        w.do(w.claim(w["alice"]))
    finally:
        store.close()
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite://"), isolation_level=None)
    try:
        db.execute(
            "UPDATE stored_events SET state=? WHERE rowid=(SELECT rowid FROM stored_events "
            "ORDER BY rowid LIMIT 1 OFFSET 3)",
            (nested_text(DEEP).encode() + b"\n[]",),
        )
    finally:
        db.close()
    store = open_store(sqlite_url)
    try:
        report = audit(store)
    finally:
        store.close()
    assert report.failure is not None
    assert (report.failure.code, report.failure.log_index) == ("malformed_entry", 3)


@pytest.mark.parametrize(
    "path",
    [
        "body",
        "body.skills",
        "body.commitments",
        "id",
        "author",
        "issued_at",
        "subject",
        "type",
    ],
)
def test_deeply_nested_statement_values_are_malformed(path: str) -> None:
    raw = genuine().pending[0].as_json()
    target = raw["statement"]
    *parents, last = path.split(".")
    for step in parents:
        target = target[step]
    target[last] = nested(DEEP)
    with pytest.raises(MalformedInput):
        parse_signed_statement(raw)


def test_a_deeply_nested_signature_or_disclosure_list_is_malformed() -> None:
    raw = genuine().pending[0].as_json()
    with pytest.raises(MalformedInput):
        parse_signed_statement({**raw, "signature": nested(DEEP, kind="object")})
    with pytest.raises(MalformedInput):
        parse_signed_statement({**raw, "disclosures": nested(DEEP)})


# -- non-canonical JSON that hashes differently -----------------------------------------------


@pytest.mark.parametrize("how", range(4))
def test_a_reserialised_stored_entry_is_non_canonical(how: int) -> None:
    for entry, record in genuine().records:
        head, _, tail = record.partition(b"\n")
        other = reserialised(json.loads(head), how)
        assert json.loads(other) == json.loads(head)  # the same value...
        assert sha256_hex(other) != entry.hash  # ...that hashes differently
        with pytest.raises(LedgerError) as refused:
            decode_record(other + b"\n" + tail)
        assert refused.value.code == "non_canonical_entry"


def test_duplicate_keys_and_number_forms_in_a_stored_entry_are_refused() -> None:
    entry, record = genuine().records[-1]
    head, _, tail = record.partition(b"\n")
    seq = f'"seq":{entry.seq}'.encode()
    variants = {
        "duplicate key": head.replace(seq, b'"seq":99,' + seq),
        "float seq": head.replace(seq, f'"seq":{entry.seq}.0'.encode()),
        "exponent seq": head.replace(seq, f'"seq":{entry.seq}e0'.encode()),
        "escaped letter": head.replace(b'"stream"', b'"\\u0073tream"'),
        "indented": json.dumps(json.loads(head), indent=1).encode(),
    }
    for name, other in variants.items():
        assert other != head, name
        with pytest.raises(LedgerError) as refused:
            decode_record(other + b"\n" + tail)
        assert refused.value.code in ("non_canonical_entry", "malformed_entry"), name


def test_a_reserialised_submission_is_the_same_statement() -> None:
    """Clients may send any JSON form: the signature covers the canonical bytes, so the
    statement verifies the same, and the ledger stores only the canonical form."""
    signed = genuine().pending[0]
    text = json.dumps(signed.as_json(), indent=3, ensure_ascii=True)
    again = parse_signed_statement(json.loads(text))
    assert again.statement.canonical == signed.statement.canonical
    dry_append(genuine().memory, again)


# -- Unicode look-alikes, NUL bytes, lone surrogates --------------------------------------------

LOOKALIKES = {
    "cyrillic a": "\u0430lice",
    "greek omicron": "b\u03bfb",
    "fullwidth": "\uff41lice",
    "dotless i": "al\u0131ce",
    "combining acute": "alice\u0301",
    "zero-width space": "ali\u200bce",
    "zero-width joiner": "ali\u200dce",
    "right-to-left override": "\u202ealice",
    "byte order mark": "\ufeffalice",
    "upper case": "Alice",
    "trailing space": "alice ",
    "nul": "alice\x00",
    "lone surrogate": "alice\ud800",
    "kelvin sign": "\u212aevin",
    "trailing newline": "alice\n",
}
_LOOKALIKE_PARAMS = [pytest.param(v, id=k) for k, v in LOOKALIKES.items()]


@pytest.mark.parametrize("name", _LOOKALIKE_PARAMS)
def test_lookalike_person_ids_are_refused(name: str) -> None:
    """Person ids are ASCII slugs: nothing can be registered that renders like 'alice'."""
    g = genuine()
    operator = g.world.operator.identity
    stranger = identity_for("stranger")
    with pytest.raises(MalformedInput) as refused:
        commands.register_identity(
            Signer(operator, TEST_ORIGIN),
            person=name,
            public_key=stranger.public_key.raw,
            organisation=ORG,
            department=DEPT,
            display_name="Alice",
        )
    assert refused.value.code == "bad_subject"
    raw = g.pending[-1].as_json()  # erin's registration, renamed
    raw["statement"]["subject"] = name
    with pytest.raises(MalformedInput) as parsed:
        parse_signed_statement(raw)
    assert parsed.value.code == "bad_subject"


@pytest.mark.parametrize("name", _LOOKALIKE_PARAMS)
def test_lookalike_ids_in_bodies_are_refused(name: str) -> None:
    """Where a body names a person (an assignee), the same slug rule holds."""
    raw = genuine().pending[3].as_json()  # bob assigns alice
    raw["statement"]["body"]["assignee"] = name
    with pytest.raises(MalformedInput):
        parse_signed_statement(raw)


def test_lookalike_identifiers_of_other_kinds_are_refused() -> None:
    base = genuine().pending[0].as_json()
    statement_id = base["statement"]["id"]
    author = base["statement"]["author"]
    changes = {
        "id": [statement_id.upper(), statement_id.replace("-", "\u2010"), statement_id + " "],
        "author": [author.replace("ed25519", "ed25519\u200b"), author.upper(), author + "\x00"],
        "issued_at": ["２０２６-03-01T09:00:00Z", "2026-03-01T09:00:00\u200bZ"],
        "type": ["ContributionClaimed\x00", "Contribution\u0421laimed"],
    }
    for field, values in changes.items():
        for value in values:
            raw = copy.deepcopy(base)
            raw["statement"][field] = value
            with pytest.raises(MalformedInput):
                parse_signed_statement(raw)


def test_nul_in_free_text_is_data_and_round_trips_exactly() -> None:
    """A personal field may hold any text, NUL included: it is committed by its digest and
    comes back byte for byte; NUL in any identifier is refused (above)."""
    entry, record = genuine().records[6]  # the claim whose description holds a NUL
    again, disclosures = decode_record(record)
    assert again == entry
    assert {d.field: d.value for d in disclosures}["description"] == "NUL\x00kept"
    assert b"\\u0000" in record  # escaped in JSON, never a raw NUL byte
    assert b"\x00" not in record


def test_lone_surrogates_are_refused_everywhere() -> None:
    g = genuine()
    alice = g.world["alice"].identity
    with pytest.raises(MalformedInput):  # no canonical form: nothing can be committed to
        commands.claim_contribution(
            Signer(alice, TEST_ORIGIN),
            person="alice",
            title="bad \ud800",
            skills=["python"],
            start="2026-01-01",
        )
    raw = g.pending[0].as_json()
    raw["disclosures"][0][2] = "bad \udfff"
    with pytest.raises(MalformedInput):
        parse_signed_statement(raw)
    with pytest.raises(BundleError):
        verify_bundle(honest_bundle().text.replace('"alice"', '"alice\\ud800"', 1), trusted=None)
    with pytest.raises(CheckpointError):
        open_note(honest_note().note.replace("21", "2\ud8001"), verifiers=[honest_note().key])
    encoded = "\ud800".encode("utf-8", "surrogatepass")  # CESU-style bytes: not UTF-8
    with pytest.raises(BundleError):
        load_bundle(b'{"person": "' + encoded + b'"}')
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(ORIGIN.encode() + b"\n1\n" + encoded + b"\n")
    record = g.records[-1][1]
    with pytest.raises(LedgerError):
        decode_record(record.replace(b'"stream":"', b'"stream":"' + encoded, 1))


def test_nul_bytes_in_notes_keys_and_bundles_are_refused() -> None:
    h = honest_note()
    with pytest.raises(CheckpointError):
        open_note(h.note.replace("\n21\n", "\n21\x00\n"), verifiers=[h.key])
    with pytest.raises(MalformedInput):
        parse_verifier_key(str(h.key).replace("+", "\x00+", 1))
    with pytest.raises(BundleError):
        load_bundle(honest_bundle().text.replace('"alice"', '"ali\x00ce"', 1))


# -- oversized input ------------------------------------------------------------------------------


def test_oversized_input_is_refused_quickly() -> None:
    g, b = genuine(), honest_bundle()
    raw = g.pending[0].as_json()
    raw["statement"]["body"]["skills"] = ["python"] * 100_000
    with pytest.raises(MalformedInput) as too_many:
        parse_signed_statement(raw)
    assert too_many.value.code == "too_long"
    raw = g.pending[0].as_json()
    raw["disclosures"][0][2] = "x" * 1_000_000
    with pytest.raises(MalformedInput) as too_long:
        parse_signed_statement(raw)
    assert too_long.value.code == "too_long"
    doc = copy.deepcopy(b.doc)
    doc["entries"] = doc["entries"] * 5_000  # 100,000 items: refused at the second
    with pytest.raises(BundleError) as repeated:
        verify_bundle(doc, trusted=[b.key])
    assert repeated.value.code == "bad_log_index"
    leaves, _, roots = merkle_tree()
    with pytest.raises(LedgerError):
        verify_inclusion(
            leaf_hash=leaves[0], index=0, size=13, proof=[bytes(32)] * 100_000, root=roots[13]
        )


# -- hostile sizes and indexes in proof requests ------------------------------------------------


@pytest.fixture(scope="module")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransparencyLog]:
    path = tmp_path_factory.mktemp("proofs") / "ledger.db"
    store = open_store(f"sqlite://{path.resolve().as_posix()}")
    w = standard_world(LedgerService(store), seed="proofs")
    w.do(w.claim(w["alice"]))
    log = TransparencyLog(w.ledger)  # type: ignore[arg-type]
    log.set_origin(ORIGIN)
    log.issue_checkpoint(w.operator.identity)
    try:
        yield log
    finally:
        store.close()


_BAD_PAIRS = [(-1, 7), (7, 7), (0, 8), (0, -1), (2**63, 2**64), (0, 2**64), (-(2**70), 3)]


@pytest.mark.parametrize(("index", "size"), _BAD_PAIRS)
def test_hostile_inclusion_requests_are_bad_size_or_index(
    small_log: TransparencyLog, index: int, size: int
) -> None:
    assert small_log.size() == 7
    with pytest.raises(MalformedInput) as refused:
        small_log.inclusion_proof(index, size)
    assert refused.value.code in ("bad_size", "bad_index")


@pytest.mark.parametrize(
    ("size1", "size2"), [(-1, 7), (8, 7), (0, 8), (3, -3), (2**64, 2**64), (0, 2**200)]
)
def test_hostile_consistency_requests_are_bad_size(
    small_log: TransparencyLog, size1: int, size2: int
) -> None:
    with pytest.raises(MalformedInput) as refused:
        small_log.consistency_proof(size1, size2)
    assert refused.value.code == "bad_size"


def test_hostile_requests_for_checkpoints_and_roots(small_log: TransparencyLog) -> None:
    for size in (-1, 8, 2**53):  # the HTTP layer bounds sizes at 2**53
        with pytest.raises(MalformedInput):
            small_log.root(size)
        with pytest.raises(LedgerError):
            small_log.checkpoint(size)
    assert small_log.inclusion_proof(6, 7)  # and the largest valid request is answered


# -- the same over HTTP ----------------------------------------------------------------------------

_HOSTILE_BODIES: dict[str, bytes] = {
    "100,000-deep array": nested_text(DEEP).encode(),
    "100,000-deep object": nested_text(DEEP, kind="object").encode(),
    "900-deep array": nested_text(900).encode(),
    "not UTF-8": b'{"statement": "\xff\xfe"}',
    "lone surrogate": b'{"statement": {"type": "\\ud800"}}',
    "NUL in a name": b'{"statement": {"subject": "ali\\u0000ce"}}',
    "5,000-digit number": b'{"statement": 1' + b"0" * 5000 + b"}",
    "NaN": b'{"statement": NaN}',
    "duplicate keys": b'{"statement": {}, "statement": {}}',
}
_HOSTILE_QUERIES = [
    "/proofs/inclusion?index=-1&size=3",
    "/proofs/inclusion?index=0&size=18446744073709551616",
    "/proofs/inclusion?index=99&size=3",
    "/proofs/inclusion?index=9007199254740992&size=9007199254740992",
    "/proofs/consistency?first=5&second=2",
    "/proofs/consistency?first=-3&second=2",
    "/proofs/consistency?first=0&second=99999999999999999999999",
    "/checkpoints/-1",
    "/checkpoints/18446744073709551616",
    "/entries/-1",
    "/entries/9007199254740993",
    "/entries/1e3",
]


def test_http_answers_hostile_bodies_and_proof_requests_with_4xx(sqlite_url: str) -> None:
    """Through the real HTTP service: every hostile body and every hostile size or index is
    answered with a 4xx problem document (the bundle verifier answers 200 with its verdict)."""
    store = open_store(sqlite_url)
    try:
        w = standard_world(LedgerService(store), seed="http")
        log = TransparencyLog(w.ledger)  # type: ignore[arg-type]
        log.set_origin(ORIGIN)
        log.issue_checkpoint(w.operator.identity)
    finally:
        store.close()
    with live_server(sqlite_url) as live:
        for path in ("/statements", "/statements/batch", "/bundles/verify"):
            for name, body in _HOSTILE_BODIES.items():
                response = live.client.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
                where = f"POST {path} with {name}: {response.status_code} {response.text[:200]}"
                if path == "/bundles/verify" and response.status_code == 200:
                    assert response.json()["ok"] is False, where
                else:
                    live.problem(response)  # a 4xx problem document
                    assert response.status_code < 500, where
        for query in _HOSTILE_QUERIES:
            live.problem(live.client.get(query))
        assert live.client.get("/proofs/inclusion?index=5&size=6").status_code == 200
