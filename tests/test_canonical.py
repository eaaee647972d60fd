"""Canonical bytes: ``canonical_bytes`` is RFC 8785 (JCS), byte for byte, on every JSON value.

``ledger.canonical`` takes a fast path through the stdlib encoder for the "plain" subset
and hands everything else to the ``rfc8785`` package; the properties here hold it to the
``rfc8785`` reference on random values of both kinds. The golden values pin the bytes,
digests, signature and hashes of one fixed statement and its entry (each recomputed here
with hashlib and PyNaCl directly, not only through the code under test).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

import nacl.signing
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from keys import BadSignature, Identity
from ledger.canonical import b64decode, b64encode, canonical_bytes
from ledger.entry import GENESIS_PREV, decode_record, encode_record, make_entry
from ledger.errors import MalformedInput
from ledger.merkle import leaf_hash
from ledger.statement import Signer, parse_signed_statement, parse_statement, sign_statement

SAFE = 2**53 - 1
# Characters JSON encoders get wrong: controls, quotes, DEL, line separators, the edges
# of the BMP's private and surrogate-adjacent ranges, and non-BMP characters (whose
# UTF-16 form decides the key order in JCS).
TRICKY = (
    "\x00\x01\x08\t\n\x0b\x0c\r\x1f \"'/\\\x7f\x80\xa0é"
    "\u2028\u2029\ud7ff\ue000\ufeff\uffff𐀀𝄞😀\U0010ffff"
)
chars = st.characters(codec="utf-8") | st.sampled_from(TRICKY)
texts = st.text(chars, max_size=12)
ascii_keys = st.text(st.characters(max_codepoint=127), max_size=8)
safe_ints = st.integers(-SAFE, SAFE)
floats = st.floats(allow_nan=False, allow_infinity=False)


def json_values(*, keys: st.SearchStrategy[str], scalars: st.SearchStrategy[Any]) -> Any:
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=25,
    )


PLAIN_SCALARS = st.none() | st.booleans() | safe_ints | texts
ANY_SCALARS = PLAIN_SCALARS | floats | st.sampled_from([0.0, -0.0, 1e21, 1e-7, 5e-324, 2.0**53])


@given(json_values(keys=ascii_keys, scalars=PLAIN_SCALARS))
def test_plain_values_match_rfc8785(value: Any) -> None:
    """The subset on which the fast stdlib path is taken (no floats, ASCII keys)."""
    encoded = canonical_bytes(value)
    assert encoded == rfc8785.dumps(value)
    assert json.loads(encoded) == value


@given(json_values(keys=ascii_keys | texts, scalars=ANY_SCALARS))
def test_any_json_value_matches_rfc8785(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@given(st.dictionaries(texts, safe_ints, min_size=2, max_size=8))
def test_keys_are_sorted_by_utf16_code_units(value: dict[str, int]) -> None:
    encoded = canonical_bytes(value)
    assert encoded == rfc8785.dumps(value)
    keys = list(json.loads(encoded))
    assert keys == sorted(value, key=lambda k: k.encode("utf-16-be"))


def test_non_bmp_key_sorts_before_private_use_key() -> None:
    # U+1D11E is D834 DD1E in UTF-16, below U+E000; by code point it would come after.
    assert canonical_bytes({"\ue000": 1, "𝄞": 2}) == '{"𝄞":2,"\ue000":1}'.encode()


@pytest.mark.parametrize(
    "value",
    [
        2**53,
        -(2**53),
        {"n": [1, 2**60]},
        math.nan,
        math.inf,
        [-math.inf],
        "\ud800",
        {"k": "x\udfff"},
        {"\udc00": 1},
        {1: "one"},
        {"a": {2.5: 1}},
        b"bytes",
        {"s": {1, 2}},
    ],
    ids=repr,
)
def test_values_without_a_canonical_form_are_refused(value: Any) -> None:
    with pytest.raises(MalformedInput) as info:
        canonical_bytes(value)
    assert info.value.code == "malformed"


@given(st.binary(max_size=80))
def test_base64_round_trip_is_strict(data: bytes) -> None:
    text = b64encode(data)
    assert b64decode(text) == data
    with pytest.raises(MalformedInput):
        b64decode(text + "=")
    with pytest.raises(MalformedInput):
        b64decode(text.rstrip("=") + "!")


# -- golden values ---------------------------------------------------------------------------------

SEED = bytes(range(32))
KEY_ID = "ed25519:b730c748fb94ff2a75b1c29821763063"
TITLE = "Zoë's Woo guide 🚀"
DESCRIPTION = 'Drafted "with" legal\n'
GOLDEN_STATEMENT_V1 = (
    b'{"author":"ed25519:b730c748fb94ff2a75b1c29821763063","body":{"commitments":{'
    b'"description":"bb80d778aa0e4890fa278a956c8370c8c247c63737e3d0039657b85e8ea48931",'
    b'"title":"45b09c872368ec80cbc994fcadf3a74d8d9749c2954fd3363047301d5ca51192"},'
    b'"kind":"work","part":"dossier","period":{"end":"2026-02-28","start":"2026-01-01"},'
    b'"skills":["policy-advice","python"]},"id":"0f8fad5b-d9cb-469f-a165-70867728950e",'
    b'"issued_at":"2026-03-01T09:00:00.000000Z","subject":"alice","type":"ContributionClaimed"}'
)
GOLDEN_SIGNATURE_V1 = (
    "N0gxGb0yrRG8YcrDzhc9sK3WxrmLg0TTuKCUO61XmDEaLmHmfM8QfWbJF0k2EalYoG9/zKCbBYH8GeQYzFfCBg=="
)
LEDGER = "trackrecord.example/golden"
GOLDEN_STATEMENT = GOLDEN_STATEMENT_V1.replace(
    b'"subject":', b'"ledger":"trackrecord.example/golden","subject":'
)
GOLDEN_TITLE_DISCLOSURE = '["00000000000000000000000000000000","title","Zoë\'s Woo guide 🚀"]'
GOLDEN_SIGNATURE = (
    "ofMsOcoKH6KRlaHQMXLe3CTO566WZOC1+vkoTR+uPgtj5VyGs/RogHEoQPiOpIaFGutl7iW0lKi+BU5SbdYKDw=="
)
GOLDEN_ENTRY = (
    b'{"prev":"0000000000000000000000000000000000000000000000000000000000000000",'
    b'"recorded_at":"2026-03-01T09:00:01.000000Z","seq":1,"signature":"'
    + GOLDEN_SIGNATURE.encode()
    + b'","statement":'
    + GOLDEN_STATEMENT
    + b',"stream":"record/alice"}'
)
GOLDEN_ENTRY_HASH = "df8f1b55e39d13aaa8f0d983bbd6f09329de5540b946f94788d4c4d1754594eb"
GOLDEN_LEAF_HASH = "88731ed2d19f96e4d8b55011070dba6f97cc02f304b7a2193be7a6d7d42519a1"


def _golden_signed() -> Any:
    salts = iter(range(100))
    return sign_statement(
        Signer(Identity(SEED), LEDGER),
        type="ContributionClaimed",
        subject="alice",
        body={
            "part": "dossier",
            "kind": "work",
            "skills": ["policy-advice", "python"],
            "period": {"start": "2026-01-01", "end": "2026-02-28"},
        },
        personal={"title": TITLE, "description": DESCRIPTION},
        statement_id="0f8fad5b-d9cb-469f-a165-70867728950e",
        issued_at="2026-03-01T09:00:00.000000Z",
        salt_source=lambda n: bytes([next(salts)]) * n,
    )


def test_golden_statement_bytes_digest_and_signature() -> None:
    signed = _golden_signed()
    assert signed.statement.author == KEY_ID
    public = Identity(SEED).public_key.raw
    domain_digest = hashlib.sha256(b"trackrecord:key-id:v1\x00" + public).hexdigest()
    assert "ed25519:" + domain_digest[:32] == KEY_ID

    assert signed.statement.canonical == GOLDEN_STATEMENT
    assert rfc8785.dumps(signed.statement.as_json()) == GOLDEN_STATEMENT

    title = signed.disclosures[0]
    assert canonical_bytes(title.as_json()) == GOLDEN_TITLE_DISCLOSURE.encode()
    digest = hashlib.sha256(
        b"trackrecord:disclosure:v1\x00" + GOLDEN_TITLE_DISCLOSURE.encode()
    ).hexdigest()
    assert signed.statement.body["commitments"]["title"] == digest == title.digest

    assert b64encode(signed.signature) == GOLDEN_SIGNATURE
    message = b"trackrecord:v1:statement\x00" + GOLDEN_STATEMENT
    nacl.signing.VerifyKey(public).verify(message, signed.signature)
    assert (signed.statement.version, signed.statement.ledger) == (2, LEDGER)


def test_golden_version_1_statement_still_parses_and_verifies() -> None:
    """A statement signed before statements named their ledger (format version 1: the same
    object without ``ledger``) keeps its bytes and its signature."""
    statement = parse_statement(json.loads(GOLDEN_STATEMENT_V1))
    assert statement.canonical == GOLDEN_STATEMENT_V1
    assert (statement.version, statement.ledger) == (1, None)
    assert "ledger" not in statement.as_json()
    statement.verify_signature(
        public_key=Identity(SEED).public_key.raw, signature=base64.b64decode(GOLDEN_SIGNATURE_V1)
    )
    # the v1 signature says nothing about any ledger: it does not verify a v2 statement
    bound = parse_statement({**json.loads(GOLDEN_STATEMENT_V1), "ledger": LEDGER})
    with pytest.raises(BadSignature):
        bound.verify_signature(
            public_key=Identity(SEED).public_key.raw,
            signature=base64.b64decode(GOLDEN_SIGNATURE_V1),
        )


def test_golden_entry_hash_and_record() -> None:
    signed = _golden_signed()
    entry = make_entry(
        stream="record/alice",
        seq=1,
        prev=GENESIS_PREV,
        statement=signed.statement,
        signature=signed.signature,
        recorded_at="2026-03-01T09:00:01.000000Z",
    )
    assert entry.canonical == GOLDEN_ENTRY
    assert entry.hash == hashlib.sha256(GOLDEN_ENTRY).hexdigest() == GOLDEN_ENTRY_HASH
    assert leaf_hash(entry.canonical).hex() == GOLDEN_LEAF_HASH
    assert hashlib.sha256(b"\x00" + GOLDEN_ENTRY).hexdigest() == GOLDEN_LEAF_HASH

    record = encode_record(entry, signed.disclosures)
    assert record == GOLDEN_ENTRY + b"\n" + rfc8785.dumps([d.as_json() for d in signed.disclosures])
    decoded, disclosures = decode_record(record)
    assert decoded == entry
    assert [d.value for d in disclosures] == [TITLE, DESCRIPTION]
    parsed = parse_signed_statement(json.loads(json.dumps(signed.as_json())))
    assert parsed.statement.canonical == GOLDEN_STATEMENT


@given(
    seq=st.integers(min_value=1, max_value=2**53 - 1),
    prev=st.binary(min_size=32, max_size=32),
    title=st.text(min_size=1, max_size=50),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_composed_entry_bytes_equal_rfc8785(seq: int, prev: bytes, title: str, micros: int) -> None:
    """make_entry composes the entry's bytes around the statement's; they must be JCS."""
    from keys import Identity
    from ledger import commands
    from ledger.entry import make_entry
    from ledger.statement import Signer
    from tests.factories import TEST_ORIGIN

    signed = commands.claim_contribution(
        Signer(Identity(bytes(32)), TEST_ORIGIN),
        person="alice",
        title=title,
        skills=["python"],
        start="2026-01-01",
    )
    entry = make_entry(
        stream=signed.statement.stream,
        seq=seq,
        prev=prev.hex(),
        statement=signed.statement,
        signature=signed.signature,
        recorded_at=f"2026-11-23T14:00:00.{micros:06d}Z",
    )
    assert entry.canonical == rfc8785.dumps(entry.as_json())
