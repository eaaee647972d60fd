"""Tests for ledger.checkpoint: C2SP tlog-checkpoint bodies in C2SP signed notes.

Byte compatibility is proven against the published vectors of the Go reference
implementation (golang.org/x/mod/sumdb/note and sumdb/tlog) and of
transparency-dev/formats; see tests/data/checkpoint/README.md for sources.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.identity import Identity
from ledger.checkpoint import (
    MAX_SIGNATURES,
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    note_key_hash,
    open_note,
    parse_checkpoint_body,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    signer_key,
    verifier_key,
    verify_checkpoint,
)
from ledger.errors import MalformedInput, ProofError

DATA = Path(__file__).parent / "data" / "checkpoint"
DOC = Path(__file__).parent.parent / "docs" / "checkpoint.md"


def _load(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return result


GO = _load("golang_note_vectors.json")
TD = _load("transparency_dev_vectors.json")
EXAMPLE = _load("trackrecord_example.json")

TEXT: str = GO["text"]
PETER_SIG: str = GO["peter"]["signature_line"]
ENOCH_SIG: str = GO["enoch"]["signature_line"]
PETER = parse_verifier_key(GO["peter"]["verifier_key"])
ENOCH = parse_verifier_key(GO["enoch"]["verifier_key"])

EXAMPLE_VERIFIER = parse_verifier_key(EXAMPLE["verifier_key"])
EXAMPLE_NOTE: str = EXAMPLE["signed_note"]


def _signature_lines(text: str, signers: list[tuple[str, Identity]]) -> str:
    """Return the signature lines that each signer alone would put under ``text``."""
    return "".join(sign_note(text, name=n, signer=s)[len(text) + 1 :] for n, s in signers)


def _cosigned(text: str, signers: list[tuple[str, Identity]]) -> str:
    return text + "\n" + _signature_lines(text, signers)


def _utf8_bump(data: str, index: int) -> str:
    """Go's ``b[i]++`` on the UTF-8 bytes of an ASCII key string."""
    raw = bytearray(data.encode("utf-8"))
    raw[index] = (raw[index] + 1) % 256
    return raw.decode("utf-8", errors="surrogateescape")


# --- Go sumdb/note: keys ------------------------------------------------------------


def test_go_verifier_key_parses_and_round_trips() -> None:
    vkey = GO["peter"]["verifier_key"]
    verifier = parse_verifier_key(vkey)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_hash == bytes.fromhex("c74f20a3")
    assert verifier.key_id == "PeterNeumann+c74f20a3"
    assert verifier_key(verifier.name, verifier.public_key) == vkey
    assert str(verifier) == vkey
    assert NoteVerifier.for_key(verifier.name, verifier.public_key) == verifier


def test_go_enoch_verifier_key() -> None:
    assert ENOCH.name == "EnochRoot"
    assert ENOCH.key_hash.hex() == GO["enoch"]["key_hash"]
    assert verifier_key(ENOCH.name, ENOCH.public_key) == GO["enoch"]["verifier_key"]


def test_go_signer_key_matches_verifier_key() -> None:
    name, identity = parse_signer_key(GO["peter"]["signer_key"])
    assert name == "PeterNeumann"
    assert verifier_key(name, identity.public_key.raw) == GO["peter"]["verifier_key"]
    assert signer_key(name, identity) == GO["peter"]["signer_key"]


def test_go_verifier_key_manglings_are_rejected() -> None:
    """TestNewVerifier: every proper substring and every single-byte increment fails."""
    vkey: str = GO["peter"]["verifier_key"]
    for i in range(len(vkey) + 1):
        for j in range(i + 1, len(vkey) + 1):
            if (i, j) != (0, len(vkey)):
                with pytest.raises(MalformedInput):
                    parse_verifier_key(vkey[i:j])
    for i in range(len(vkey)):
        with pytest.raises(MalformedInput):
            parse_verifier_key(_utf8_bump(vkey, i))


@pytest.mark.parametrize("vkey", GO["bad_verifier_keys"])
def test_go_bad_verifier_keys(vkey: str) -> None:
    """Wrong key length and unknown algorithm, each with an adjusted key hash."""
    with pytest.raises(MalformedInput):
        parse_verifier_key(vkey)


def test_go_signer_key_manglings_are_rejected() -> None:
    """TestNewSigner: every proper substring and every single-byte increment fails."""
    skey: str = GO["peter"]["signer_key"]
    for i in range(len(skey) + 1):
        for j in range(i + 1, len(skey) + 1):
            if (i, j) != (0, len(skey)):
                with pytest.raises(MalformedInput):
                    parse_signer_key(skey[i:j])
    for i in range(len(skey)):
        with pytest.raises(MalformedInput):
            parse_signer_key(_utf8_bump(skey, i))


def test_signer_key_error_does_not_quote_the_secret() -> None:
    skey: str = GO["peter"]["signer_key"]
    bad = skey[:-2] + ("A" if skey[-2] != "A" else "B") + skey[-1]
    with pytest.raises(MalformedInput) as info:
        parse_signer_key(bad)
    assert skey[-20:] not in str(info.value.evidence())


def test_key_hash_definition() -> None:
    name, pk = PETER.name, PETER.public_key
    expected = hashlib.sha256(name.encode() + b"\n\x01" + pk).digest()[:4]
    assert note_key_hash(name, pk) == expected == bytes.fromhex("c74f20a3")


@pytest.mark.parametrize(
    "name", ["", "a+b", "bad name", "tab\tname", "nbsp\u00a0name", "ideo\u3000space", "nl\nx"]
)
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(MalformedInput):
        verifier_key(name, PETER.public_key)
    with pytest.raises(MalformedInput):
        sign_note(TEXT, name=name, signer=Identity(bytes(32)))


def test_verifier_with_wrong_hash_cannot_be_built() -> None:
    with pytest.raises(MalformedInput):
        NoteVerifier(PETER.name, bytes.fromhex("c74f20a4"), PETER.public_key)
    with pytest.raises(MalformedInput):
        NoteVerifier.for_key(PETER.name, PETER.public_key[:31])


# --- Go sumdb/note: signing and opening ------------------------------------------------


def test_go_sign_is_byte_identical() -> None:
    name, identity = parse_signer_key(GO["peter"]["signer_key"])
    assert sign_note(TEXT, name=name, signer=identity) == GO["signed_note"]
    assert GO["signed_note"] == TEXT + "\n" + PETER_SIG


def test_sign_rejects_text_without_final_newline() -> None:
    _, identity = parse_signer_key(GO["peter"]["signer_key"])
    for text in ("abc", "", "a\x01b\n", "cr\r\n"):
        with pytest.raises(MalformedInput):
            sign_note(text, name="PeterNeumann", signer=identity)


def test_go_open_one_verified_one_unknown() -> None:
    text, names = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, verifiers=[PETER])
    assert text == TEXT
    assert names == ["PeterNeumann"]


def test_go_open_both_verified() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, verifiers=[PETER, ENOCH]) == (TEXT, ["PeterNeumann", "EnochRoot"])
    assert open_note(note.encode("utf-8"), verifiers=[ENOCH, PETER])[1] == [
        "PeterNeumann",
        "EnochRoot",
    ]


def test_go_open_without_known_key_fails() -> None:
    with pytest.raises(CheckpointError) as info:
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, verifiers=[])
    assert info.value.evidence()["unknown_keys"] == ["PeterNeumann+c74f20a3", "EnochRoot+af0cfe78"]


def test_go_open_duplicated_verifier_is_harmless() -> None:
    """An identical verifier listed twice is the same key (Go reports it as ambiguous)."""
    assert open_note(TEXT + "\n" + ENOCH_SIG, verifiers=[ENOCH, PETER, ENOCH])[1] == ["EnochRoot"]


def test_two_different_keys_with_same_name_and_hash_are_ambiguous() -> None:
    """A 32-bit key-hash collision between two trusted keys is refused, not guessed."""
    impostor = object.__new__(NoteVerifier)
    object.__setattr__(impostor, "name", ENOCH.name)
    object.__setattr__(impostor, "key_hash", ENOCH.key_hash)
    object.__setattr__(impostor, "public_key", PETER.public_key)
    with pytest.raises(CheckpointError) as info:
        open_note(TEXT + "\n" + ENOCH_SIG, verifiers=[ENOCH, impostor])
    assert info.value.evidence()["key"] == "EnochRoot+af0cfe78"
    # Unused ambiguity does not matter, as in Go.
    assert open_note(TEXT + "\n" + PETER_SIG, verifiers=[ENOCH, impostor, PETER])[1] == [
        "PeterNeumann"
    ]


def test_go_too_many_signatures() -> None:
    with pytest.raises(CheckpointError):
        open_note(TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), verifiers=[PETER])
    with pytest.raises(CheckpointError):
        open_note(TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), verifiers=[])
    assert MAX_SIGNATURES >= 16  # the spec's floor
    assert open_note(TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, verifiers=[PETER])[1] == [
        "PeterNeumann"
    ]


def test_go_invalid_signature_by_known_key() -> None:
    raw = PETER_SIG.encode("utf-8")
    bad = (raw[:60] + b"ABCD" + raw[60:]).decode("utf-8")
    with pytest.raises(CheckpointError) as info:
        open_note(TEXT + "\n" + bad, verifiers=[PETER])
    assert info.value.evidence()["key"] == "PeterNeumann+c74f20a3"


def test_go_duplicated_verified_and_unverified_signatures() -> None:
    raw = ENOCH_SIG.encode("utf-8")
    enoch_abcd = (raw[:60] + b"ABCD" + raw[60:]).decode("utf-8")
    note = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    assert open_note(note, verifiers=[PETER]) == (TEXT, ["PeterNeumann"])
    # Fail closed: once Enoch is trusted, the corrupted copy of his signature is fatal.
    with pytest.raises(CheckpointError):
        open_note(note, verifiers=[PETER, ENOCH])


@pytest.mark.parametrize(
    "note",
    [
        TEXT.encode(),
        (TEXT + "\n").encode(),
        (TEXT + "\n" + PETER_SIG[:-1]).encode(),
        ("\x01" + TEXT + "\n" + PETER_SIG).encode(),
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        (TEXT + "\n" + "— Bad Name " + PETER_SIG.split(" ")[-1]).encode(),
        (TEXT + "\n" + PETER_SIG + "Unexpected line.\n").encode(),
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "no-final-newline",
        "control-char",
        "invalid-utf8",
        "bad-name",
        "unexpected-line",
    ],
)
def test_go_malformed_notes(note: bytes) -> None:
    """TestOpen's badMsgs."""
    with pytest.raises(CheckpointError):
        open_note(note, verifiers=[PETER])


def test_go_signature_with_wrong_name_or_hash_is_unknown() -> None:
    misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    wrong_hash = PETER_SIG.replace("x08g", "xxxx")
    for line in (misnamed, wrong_hash):
        with pytest.raises(CheckpointError, match="no signature by a known key"):
            open_note(TEXT + "\n" + line, verifiers=[PETER])


@pytest.mark.parametrize(
    "signature_line",
    [
        "- PeterNeumann " + PETER_SIG.split(" ")[-1],  # hyphen, not em dash
        "—  PeterNeumann " + PETER_SIG.split(" ")[-1],  # empty name
        "— PeterNeumann\n",  # no signature
        "— PeterNeumann \n",  # empty signature
        "— PeterNeumann " + PETER_SIG.split(" ")[-1].rstrip("=\n") + "\n",  # unpadded
        "— PeterNeumann AAAAAA==\n",  # 4 bytes: hash without a signature
        "— PeterNeumann " + PETER_SIG.split(" ")[-1][:-3] + "N=\n",  # non-canonical bits
    ],
)
def test_malformed_signature_lines(signature_line: str) -> None:
    with pytest.raises(CheckpointError):
        open_note(TEXT + "\n" + signature_line, verifiers=[PETER])


def test_lone_surrogate_note_is_rejected() -> None:
    with pytest.raises(CheckpointError):
        open_note("\udc80" + TEXT + "\n" + PETER_SIG, verifiers=[PETER])


# --- Go sumdb/tlog: the checkpoint body ------------------------------------------------


def test_go_tlog_tree_body() -> None:
    tree = GO["tlog_tree"]
    root = hashlib.sha256(b"\x00hello world").digest()  # RFC 6962 RecordHash
    checkpoint = parse_checkpoint_body(tree["body"])
    assert checkpoint == Checkpoint("go.sum database tree", tree["size"], root)
    assert checkpoint.body() == tree["body"]


@pytest.mark.parametrize("body", GO["tlog_tree"]["bad_bodies"])
def test_go_tlog_bad_bodies(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(body)


def test_go_tlog_trailing_lines_are_extensions() -> None:
    body: str = GO["tlog_tree"]["body"]
    assert parse_checkpoint_body(body + "JOE\n").extensions == ("JOE",)
    assert parse_checkpoint_body(body + "JOE\n" * 1000).extensions == ("JOE",) * 1000
    with pytest.raises(CheckpointError):  # Go ignores this junk; a C2SP body must end in \n
        parse_checkpoint_body(body + "JOE")


def test_go_tlog_wrong_origin_is_rejected_by_verify() -> None:
    body: str = GO["tlog_tree"]["wrong_origin_body"]
    name, identity = parse_signer_key(GO["peter"]["signer_key"])
    note = sign_note(body, name=name, signer=identity)
    assert verify_checkpoint(note, verifiers=[PETER]).origin == "not-go.sum database tree"
    with pytest.raises(CheckpointError) as info:
        verify_checkpoint(note, verifiers=[PETER], origin="go.sum database tree")
    assert info.value.evidence()["expected"] == "go.sum database tree"


# --- transparency-dev/formats ----------------------------------------------------------


@pytest.mark.parametrize("pair", TD["key_pairs"], ids=lambda p: p["verifier_key"].split("+")[0])
def test_transparency_dev_key_pairs(pair: dict[str, str]) -> None:
    name, identity = parse_signer_key(pair["signer_key"])
    assert verifier_key(name, identity.public_key.raw) == pair["verifier_key"]
    assert signer_key(name, identity) == pair["signer_key"]
    assert str(parse_verifier_key(pair["verifier_key"])) == pair["verifier_key"]


def test_real_sum_golang_org_checkpoint_verifies() -> None:
    vector = TD["sumdb_checkpoint"]
    verifier = parse_verifier_key(vector["verifier_key"])
    checkpoint = verify_checkpoint(vector["note"], verifiers=[verifier], origin=vector["origin"])
    assert checkpoint.size == vector["size"]
    assert checkpoint.root_hash == base64.b64decode(vector["root_hash_b64"])
    assert checkpoint.extensions == ()
    # Re-encoding the parsed body gives the signed bytes back.
    assert vector["note"].startswith(checkpoint.body() + "\n")


def test_transparency_dev_parse_checkpoint_scenarios() -> None:
    """The applicable cases of TestParseCheckpoint, with verifiers = [Log, Known, KnownAgain]."""
    keys = {
        p["verifier_key"].split("+")[0]: parse_signer_key(p["signer_key"]) for p in TD["key_pairs"]
    }
    verifiers = [parse_verifier_key(p["verifier_key"]) for p in TD["key_pairs"][:3]]
    body = Checkpoint("TestParseCheckpoint", 42, hashlib.sha256(b"abcdef").digest()).body()

    note = _cosigned(body, [keys["Log"], keys["Known"], keys["Unknown"]])
    assert open_note(note, verifiers=verifiers)[1] == ["Log", "Known"]
    note = _cosigned(body, [keys["KnownAgain"], keys["Log"], keys["Known"]])
    assert open_note(note, verifiers=verifiers)[1] == ["KnownAgain", "Log", "Known"]
    note = _cosigned(body, [keys["Log"], keys["Known"], keys["Known"]])
    assert open_note(note, verifiers=verifiers)[1] == ["Log", "Known"]
    assert verify_checkpoint(note, verifiers=verifiers[:1], origin="TestParseCheckpoint").size == 42

    with pytest.raises(CheckpointError):  # no signatures at all
        open_note(body + "\n", verifiers=verifiers)
    with pytest.raises(CheckpointError):  # only an unknown key
        open_note(_cosigned(body, [keys["Unknown"]]), verifiers=verifiers)
    bad_body = "if this is a valid checkpoint then I'll eat my hat\n"
    note = _cosigned(bad_body, [keys["Log"]])
    assert open_note(note, verifiers=verifiers)[1] == ["Log"]
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, verifiers=verifiers)


# --- our own golden example (docs/checkpoint.md) -----------------------------------------


def test_example_is_reproduced_from_its_seed() -> None:
    identity = Identity(bytes.fromhex(EXAMPLE["seed_hex"]))
    name = EXAMPLE["name"]
    assert identity.public_key.raw.hex() == EXAMPLE["public_key_hex"]
    assert note_key_hash(name, identity.public_key.raw).hex() == EXAMPLE["key_hash_hex"]
    assert verifier_key(name, identity.public_key.raw) == EXAMPLE["verifier_key"]
    assert signer_key(name, identity) == EXAMPLE["signer_key"]
    checkpoint = Checkpoint(
        EXAMPLE["origin"],
        EXAMPLE["size"],
        bytes.fromhex(EXAMPLE["root_hash_hex"]),
        tuple(EXAMPLE["extensions"]),
    )
    assert checkpoint.body() == EXAMPLE["body"]
    assert sign_checkpoint(checkpoint, name=name, signer=identity) == EXAMPLE_NOTE
    assert verify_checkpoint(EXAMPLE_NOTE, verifiers=[EXAMPLE_VERIFIER]) == checkpoint


def test_example_appears_verbatim_in_the_docs() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert EXAMPLE_NOTE in doc
    for key in ("verifier_key", "signer_key", "key_hash_hex", "public_key_hex", "seed_hex"):
        assert EXAMPLE[key] in doc


# --- tampering ---------------------------------------------------------------------------


def test_every_single_bit_flip_in_the_note_fails() -> None:
    raw = EXAMPLE_NOTE.encode("utf-8")
    for index in range(len(raw)):
        for mask in (0x01, 0x02, 0x20, 0x80):
            tampered = bytearray(raw)
            tampered[index] ^= mask
            with pytest.raises(CheckpointError):
                verify_checkpoint(bytes(tampered), verifiers=[EXAMPLE_VERIFIER])


@given(st.data())
def test_any_changed_byte_fails(data: st.DataObject) -> None:
    raw = bytearray(EXAMPLE_NOTE.encode("utf-8"))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    with pytest.raises(CheckpointError):
        verify_checkpoint(bytes(raw), verifiers=[EXAMPLE_VERIFIER])


def test_inserted_or_deleted_bytes_fail() -> None:
    raw = EXAMPLE_NOTE.encode("utf-8")
    for index in range(len(raw)):
        for tampered in (raw[:index] + raw[index + 1 :], raw[:index] + b"A" + raw[index:]):
            with pytest.raises(CheckpointError):
                verify_checkpoint(tampered, verifiers=[EXAMPLE_VERIFIER])


def test_signature_by_unknown_key_alone_fails() -> None:
    body: str = EXAMPLE["body"]
    stranger = Identity(hashlib.sha256(b"stranger").digest())
    for name in (EXAMPLE["name"], "stranger.example"):  # same name, other key; other name
        note = sign_note(body, name=name, signer=stranger)
        with pytest.raises(CheckpointError) as info:
            verify_checkpoint(note, verifiers=[EXAMPLE_VERIFIER])
        assert info.value.code == "bad_checkpoint"
        assert isinstance(info.value, ProofError)
        assert info.value.evidence()["unknown_keys"] == [
            f"{name}+{note_key_hash(name, stranger.public_key.raw).hex()}"
        ]


def test_unknown_cosignature_is_ignored_beside_a_valid_one() -> None:
    witness = ("witness.example", Identity(hashlib.sha256(b"witness").digest()))
    note = EXAMPLE_NOTE + _signature_lines(EXAMPLE["body"], [witness])
    assert verify_checkpoint(note, verifiers=[EXAMPLE_VERIFIER]).size == EXAMPLE["size"]


def test_bad_signature_by_trusted_cosigner_fails_even_beside_a_valid_one() -> None:
    witness = ("witness.example", Identity(hashlib.sha256(b"witness").digest()))
    other_body = EXAMPLE["body"].replace("\n0\n", "\n1\n")
    stolen = _signature_lines(other_body, [witness])  # valid signature, different text
    witness_verifier = NoteVerifier.for_key(witness[0], witness[1].public_key.raw)
    with pytest.raises(CheckpointError) as info:
        verify_checkpoint(EXAMPLE_NOTE + stolen, verifiers=[EXAMPLE_VERIFIER, witness_verifier])
    assert info.value.evidence()["key"] == witness_verifier.key_id


# --- body strictness -------------------------------------------------------------------------

ROOT_B64 = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\n",
        "origin\n",
        "origin\n5\n",
        f"origin\n5\n{ROOT_B64}",  # no final newline
        f"\n5\n{ROOT_B64}\n",  # empty origin
        f"origin\n\n{ROOT_B64}\n",
        f"origin\n5\n{ROOT_B64}\n\n",  # empty extension line
        f"origin\n5\n{ROOT_B64}\next\n\nmore\n",
        f"origin\n05\n{ROOT_B64}\n",
        f"origin\n00\n{ROOT_B64}\n",
        f"origin\n+5\n{ROOT_B64}\n",
        f"origin\n-5\n{ROOT_B64}\n",
        f"origin\n 5\n{ROOT_B64}\n",
        f"origin\n5 \n{ROOT_B64}\n",
        f"origin\n1_000\n{ROOT_B64}\n",
        f"origin\n0x10\n{ROOT_B64}\n",
        f"origin\n\u0661\n{ROOT_B64}\n",  # ARABIC-INDIC DIGIT ONE
        f"origin\n{2**64}\n{ROOT_B64}\n",
        f"origin\n{'9' * 5000}\n{ROOT_B64}\n",
        "origin\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n",  # non-canonical bits
        "origin\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",  # unpadded
        "origin\n5\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n",  # URL alphabet
        "origin\n5\n47DEQpj8HBSa+/TImW+5 JCeuQeRkm5NMpJWZG3hSuFU=\n",  # whitespace
        f"origin\n5\n{base64.b64encode(bytes(31)).decode()}\n",
        f"origin\n5\n{base64.b64encode(bytes(33)).decode()}\n",
        f"origin\r\n5\r\n{ROOT_B64}\r\n",  # CRLF
        f"ori\tgin\n5\n{ROOT_B64}\n",
        f"ori\x00gin\n5\n{ROOT_B64}\n",
        f"ori\udc80gin\n5\n{ROOT_B64}\n",  # lone surrogate
    ],
)
def test_strict_body_rejections(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(body)


def test_non_utf8_body_is_rejected() -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint_body(b"ori\xffgin\n5\n" + ROOT_B64.encode() + b"\n")


def test_body_boundaries() -> None:
    assert parse_checkpoint_body(f"o\n0\n{ROOT_B64}\n").size == 0
    assert parse_checkpoint_body(f"o\n{MAX_TREE_SIZE}\n{ROOT_B64}\n").size == 2**64 - 1
    assert parse_checkpoint_body(f"o r+g\u2014 \n1\n{ROOT_B64}\n").origin == "o r+g\u2014 "
    assert parse_checkpoint_body(f"o\n1\n{ROOT_B64}\n".encode()).root_hash == bytes(range(32))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": ""},
        {"origin": "a\nb"},
        {"origin": "a\rb"},
        {"size": -1},
        {"size": 2**64},
        {"size": True},
        {"root_hash": bytes(31)},
        {"root_hash": "x" * 32},
        {"extensions": ["list"]},
        {"extensions": ("",)},
        {"extensions": ("two\nlines",)},
    ],
)
def test_checkpoint_constructor_validates(kwargs: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"origin": "o", "size": 1, "root_hash": bytes(32), "extensions": ()}
    fields.update(kwargs)
    with pytest.raises(CheckpointError):
        Checkpoint(**fields)


# --- property: sign -> verify -> parse round trip -----------------------------------------------

_line_chars = st.characters(
    exclude_categories=["Cs"], exclude_characters=[chr(c) for c in range(0x20)]
)
_lines = st.text(_line_chars, min_size=1, max_size=40)
_names = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="+"),
    min_size=1,
    max_size=30,
).filter(lambda s: not any(c.isspace() for c in s))
_checkpoints = st.builds(
    Checkpoint,
    origin=_lines,
    size=st.integers(0, MAX_TREE_SIZE),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(_lines, max_size=4).map(tuple),
)


@given(checkpoint=_checkpoints, name=_names, seed=st.binary(min_size=32, max_size=32))
def test_round_trip(checkpoint: Checkpoint, name: str, seed: bytes) -> None:
    identity = Identity(seed)
    verifier = parse_verifier_key(verifier_key(name, identity.public_key.raw))
    note = sign_checkpoint(checkpoint, name=name, signer=identity)
    assert open_note(note, verifiers=[verifier]) == (checkpoint.body(), [name])
    assert verify_checkpoint(note.encode("utf-8"), verifiers=[verifier]) == checkpoint
    assert parse_checkpoint_body(checkpoint.body()) == checkpoint
    assert parse_signer_key(signer_key(name, identity))[1].seed == seed
