"""Tests of the keys package: key ids, domain-separated signatures, encrypted keystores."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypedDict

import nacl.pwhash
import pytest
from hypothesis import given
from hypothesis import strategies as st

import keys
from keys.keystore import FORMAT

# RFC 8032, section 7.1, TEST 1: a published seed and its public key.
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
# Pinned: changing the key id derivation changes every stored key id.
GOLDEN_KEY_ID = "ed25519:4661e1763b179b8fdaae6b65b83fc1d6"
GOLDEN_PAYLOAD = b'{"hello":"world"}'
# Pinned: Ed25519 is deterministic, so this fixes the signed bytes for STATEMENT.
GOLDEN_STATEMENT_SIGNATURE = bytes.fromhex(
    "bbaed9038b3517bbbddd29dd9fcdd3a898991f230757996ed11eba11c483b31f"
    "93486bb9831353c47c9dd3be4d338d2fa92e3a7f685d1c262f5d4c1ba88ec502"
)


class _Kdf(TypedDict):
    opslimit: int
    memlimit: int


# The argon2id minimums keep keystore tests fast; one test uses the defaults.
FAST_KDF = _Kdf(
    opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN,
    memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN,
)
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def identity() -> keys.Identity:
    return keys.Identity(RFC8032_SEED)


@pytest.fixture
def keystore_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "me.json"


def _flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# --- key ids ------------------------------------------------------------------------------


def test_public_key_matches_rfc8032(identity: keys.Identity) -> None:
    assert identity.public_key.raw == RFC8032_PUBLIC


def test_key_id_is_stable(identity: keys.Identity) -> None:
    assert keys.key_id_for(RFC8032_PUBLIC) == GOLDEN_KEY_ID
    assert identity.key_id == GOLDEN_KEY_ID
    assert identity.public_key.key_id == GOLDEN_KEY_ID
    assert keys.Identity(identity.seed).key_id == GOLDEN_KEY_ID


def test_key_id_differs_between_keys() -> None:
    assert keys.Identity(bytes(32)).key_id != keys.Identity(bytes(31) + b"\x01").key_id


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_key_id_needs_32_bytes(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        keys.key_id_for(bytes(length))


def test_identity_needs_a_32_byte_seed() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        keys.Identity(bytes(16))


def test_repr_does_not_leak_the_seed(identity: keys.Identity) -> None:
    assert RFC8032_SEED.hex() not in repr(identity)
    assert GOLDEN_KEY_ID in repr(identity)


# --- signatures ---------------------------------------------------------------------------


def test_statement_signature_is_pinned(identity: keys.Identity) -> None:
    signature = identity.sign(keys.Purpose.STATEMENT, GOLDEN_PAYLOAD)
    assert signature == GOLDEN_STATEMENT_SIGNATURE
    assert keys.signing_message(keys.Purpose.STATEMENT, GOLDEN_PAYLOAD) == (
        b"trackrecord:v1:statement\x00" + GOLDEN_PAYLOAD
    )


@pytest.mark.parametrize("purpose", list(keys.Purpose))
def test_signature_verifies_for_its_purpose(identity: keys.Identity, purpose: keys.Purpose) -> None:
    signature = identity.sign(purpose, GOLDEN_PAYLOAD)
    keys.verify_signature(
        public_key=RFC8032_PUBLIC, purpose=purpose, payload=GOLDEN_PAYLOAD, signature=signature
    )
    identity.public_key.verify(purpose=purpose, payload=GOLDEN_PAYLOAD, signature=signature)


@pytest.mark.parametrize("other", [keys.Purpose.REQUEST, keys.Purpose.CHALLENGE])
def test_statement_signature_fails_for_another_purpose(
    identity: keys.Identity, other: keys.Purpose
) -> None:
    signature = identity.sign(keys.Purpose.STATEMENT, GOLDEN_PAYLOAD)
    with pytest.raises(keys.BadSignature):
        keys.verify_signature(
            public_key=RFC8032_PUBLIC, purpose=other, payload=GOLDEN_PAYLOAD, signature=signature
        )


def test_raw_signature_is_not_a_purpose_signature(identity: keys.Identity) -> None:
    signature = identity.sign_raw(GOLDEN_PAYLOAD)
    for purpose in keys.Purpose:
        with pytest.raises(keys.BadSignature):
            identity.public_key.verify(purpose=purpose, payload=GOLDEN_PAYLOAD, signature=signature)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p, s: (_flip(p), s), id="payload-first-byte"),
        pytest.param(lambda p, s: (_flip(p, len(p) - 1), s), id="payload-last-byte"),
        pytest.param(lambda p, s: (p + b" ", s), id="payload-extended"),
        pytest.param(lambda p, s: (p[:-1], s), id="payload-truncated"),
        pytest.param(lambda p, s: (p, _flip(s)), id="signature-first-byte"),
        pytest.param(lambda p, s: (p, _flip(s, 63)), id="signature-last-byte"),
        pytest.param(lambda p, s: (p, s[:63]), id="signature-short"),
        pytest.param(lambda p, s: (p, s + b"\x00"), id="signature-long"),
        pytest.param(lambda p, s: (p, bytes(64)), id="signature-zero"),
    ],
)
def test_tampering_fails_with_bad_signature(
    identity: keys.Identity, tamper: Callable[[bytes, bytes], tuple[bytes, bytes]]
) -> None:
    payload, signature = tamper(
        GOLDEN_PAYLOAD, identity.sign(keys.Purpose.STATEMENT, GOLDEN_PAYLOAD)
    )
    with pytest.raises(keys.BadSignature) as excinfo:
        identity.public_key.verify(
            purpose=keys.Purpose.STATEMENT, payload=payload, signature=signature
        )
    assert isinstance(excinfo.value, keys.KeyError_)
    assert excinfo.value.code == "bad_signature"


def test_signature_fails_for_another_key(identity: keys.Identity) -> None:
    signature = identity.sign(keys.Purpose.STATEMENT, GOLDEN_PAYLOAD)
    other = keys.Identity(bytes(32)).public_key
    with pytest.raises(keys.BadSignature):
        other.verify(purpose=keys.Purpose.STATEMENT, payload=GOLDEN_PAYLOAD, signature=signature)


def test_malformed_public_key_fails_with_bad_signature(identity: keys.Identity) -> None:
    signature = identity.sign(keys.Purpose.STATEMENT, GOLDEN_PAYLOAD)
    with pytest.raises(keys.BadSignature):
        keys.verify_signature(
            public_key=RFC8032_PUBLIC[:31],
            purpose=keys.Purpose.STATEMENT,
            payload=GOLDEN_PAYLOAD,
            signature=signature,
        )


@given(
    seed=st.binary(min_size=32, max_size=32),
    payload=st.binary(max_size=256),
    signed_for=st.sampled_from(keys.Purpose),
    checked_for=st.sampled_from(keys.Purpose),
)
def test_signature_verifies_exactly_for_its_purpose(
    seed: bytes, payload: bytes, signed_for: keys.Purpose, checked_for: keys.Purpose
) -> None:
    identity = keys.Identity(seed)
    signature = identity.sign(signed_for, payload)
    if signed_for is checked_for:
        identity.public_key.verify(purpose=checked_for, payload=payload, signature=signature)
    else:
        with pytest.raises(keys.BadSignature):
            identity.public_key.verify(purpose=checked_for, payload=payload, signature=signature)


# --- keystores ----------------------------------------------------------------------------


def test_keystore_round_trip(identity: keys.Identity, keystore_path: Path) -> None:
    keys.save_keystore(keystore_path, identity, PASSPHRASE, label="laptop", **FAST_KDF)
    loaded = keys.load_keystore(keystore_path, PASSPHRASE)
    assert loaded.seed == identity.seed
    assert loaded.key_id == GOLDEN_KEY_ID
    document = json.loads(keystore_path.read_text(encoding="utf-8"))
    assert document["format"] == FORMAT
    assert document["key_id"] == GOLDEN_KEY_ID
    assert document["label"] == "laptop"
    assert base64.b64decode(document["public_key"]) == RFC8032_PUBLIC
    assert RFC8032_SEED.hex() not in keystore_path.read_text(encoding="utf-8")
    assert base64.b64encode(RFC8032_SEED).decode() not in keystore_path.read_text(encoding="utf-8")


def test_keystore_round_trip_with_default_kdf(tmp_path: Path) -> None:
    identity = keys.Identity.generate()
    path = tmp_path / "default.json"
    keys.save_keystore(path, identity, PASSPHRASE)
    kdf = json.loads(path.read_text(encoding="utf-8"))["kdf"]
    assert kdf["name"] == "argon2id"
    assert kdf["opslimit"] == nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
    assert kdf["memlimit"] == nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
    assert keys.load_keystore(path, PASSPHRASE).seed == identity.seed


def test_unicode_passphrase_round_trips(identity: keys.Identity, keystore_path: Path) -> None:
    keys.save_keystore(keystore_path, identity, "pässwörd 🔑", **FAST_KDF)
    assert keys.load_keystore(keystore_path, "pässwörd 🔑").key_id == GOLDEN_KEY_ID


@pytest.mark.parametrize("wrong", ["", PASSPHRASE + " ", PASSPHRASE.upper()])
def test_wrong_passphrase_raises_bad_passphrase(
    identity: keys.Identity, keystore_path: Path, wrong: str
) -> None:
    keys.save_keystore(keystore_path, identity, PASSPHRASE, **FAST_KDF)
    with pytest.raises(keys.BadPassphrase) as excinfo:
        keys.load_keystore(keystore_path, wrong)
    assert isinstance(excinfo.value, keys.KeystoreError)
    assert excinfo.value.code == "bad_passphrase"


@pytest.mark.usefixtures("permissive_umask")
def test_keystore_file_mode_is_0600(identity: keys.Identity, keystore_path: Path) -> None:
    keys.save_keystore(keystore_path, identity, PASSPHRASE, **FAST_KDF)
    assert stat.S_IMODE(keystore_path.stat().st_mode) == 0o600


@pytest.mark.usefixtures("permissive_umask")
def test_overwrite_tightens_an_existing_files_mode(
    identity: keys.Identity, keystore_path: Path
) -> None:
    keystore_path.parent.mkdir(parents=True)
    keystore_path.write_text("old", encoding="utf-8")
    keystore_path.chmod(0o644)
    keys.save_keystore(keystore_path, identity, PASSPHRASE, overwrite=True, **FAST_KDF)
    assert stat.S_IMODE(keystore_path.stat().st_mode) == 0o600
    assert keys.load_keystore(keystore_path, PASSPHRASE).key_id == GOLDEN_KEY_ID


def test_refuses_to_overwrite_unless_asked(identity: keys.Identity, keystore_path: Path) -> None:
    keys.save_keystore(keystore_path, identity, PASSPHRASE, **FAST_KDF)
    before = keystore_path.read_bytes()
    other = keys.Identity(bytes(32))
    with pytest.raises(keys.KeystoreError, match="already exists"):
        keys.save_keystore(keystore_path, other, "another passphrase", **FAST_KDF)
    assert keystore_path.read_bytes() == before
    assert keys.load_keystore(keystore_path, PASSPHRASE).key_id == GOLDEN_KEY_ID

    keys.save_keystore(keystore_path, other, "another passphrase", overwrite=True, **FAST_KDF)
    assert keys.load_keystore(keystore_path, "another passphrase").key_id == other.key_id


def test_empty_passphrase_is_refused(identity: keys.Identity, keystore_path: Path) -> None:
    with pytest.raises(keys.KeystoreError, match="empty passphrase"):
        keys.save_keystore(keystore_path, identity, "", **FAST_KDF)
    assert not keystore_path.exists()


def _valid_document(identity: keys.Identity, path: Path) -> dict[str, Any]:
    keys.save_keystore(path, identity, PASSPHRASE, **FAST_KDF)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _drop(*names: str) -> Callable[[dict[str, Any]], Any]:
    def edit(doc: dict[str, Any]) -> Any:
        for name in names:
            doc.pop(name)
        return doc

    return edit


def _set_kdf(name: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def edit(doc: dict[str, Any]) -> Any:
        doc["kdf"][name] = value
        return doc

    return edit


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def edit(doc: dict[str, Any]) -> Any:
        doc[name] = value
        return doc

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda doc: [doc], id="not-an-object"),
        pytest.param(_drop("format"), id="no-format"),
        pytest.param(_set("format", "trackrecord-keystore/v0"), id="other-format"),
        pytest.param(_drop("kdf"), id="no-kdf"),
        pytest.param(_drop("nonce"), id="no-nonce"),
        pytest.param(_drop("ciphertext"), id="no-ciphertext"),
        pytest.param(_set("nonce", "not base64!"), id="nonce-not-base64"),
        pytest.param(_set("ciphertext", 42), id="ciphertext-not-a-string"),
        pytest.param(_set_kdf("salt", "c2hvcnQ="), id="salt-too-short"),
        pytest.param(_set_kdf("opslimit", "many"), id="opslimit-not-a-number"),
        pytest.param(_drop("key_id"), id="no-key-id"),
        pytest.param(_set("key_id", "ed25519:" + "0" * 32), id="key-id-mismatch"),
    ],
)
def test_malformed_keystore_raises_keystore_error(
    identity: keys.Identity, keystore_path: Path, edit: Callable[[dict[str, Any]], Any]
) -> None:
    document = _valid_document(identity, keystore_path)
    keystore_path.write_text(json.dumps(edit(document)), encoding="utf-8")
    with pytest.raises(keys.KeystoreError) as excinfo:
        keys.load_keystore(keystore_path, PASSPHRASE)
    assert not isinstance(excinfo.value, keys.BadPassphrase)


@pytest.mark.parametrize(
    "content", [b"", b"{", b"not json", b"\xff\xfe\x00garbage"], ids=["empty", "cut", "text", "bin"]
)
def test_unreadable_keystore_raises_keystore_error(keystore_path: Path, content: bytes) -> None:
    keystore_path.parent.mkdir(parents=True)
    keystore_path.write_bytes(content)
    with pytest.raises(keys.KeystoreError):
        keys.load_keystore(keystore_path, PASSPHRASE)


def test_missing_keystore_raises_keystore_error(keystore_path: Path) -> None:
    with pytest.raises(keys.KeystoreError, match="no keystore"):
        keys.load_keystore(keystore_path, PASSPHRASE)


def test_tampered_ciphertext_does_not_open(identity: keys.Identity, keystore_path: Path) -> None:
    document = _valid_document(identity, keystore_path)
    ciphertext = base64.b64decode(document["ciphertext"])
    document["ciphertext"] = base64.b64encode(_flip(ciphertext, 5)).decode()
    keystore_path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(keys.BadPassphrase):
        keys.load_keystore(keystore_path, PASSPHRASE)


def test_keystore_with_unbounded_kdf_limits_is_refused(tmp_path: Path) -> None:
    """A swapped keystore must not make the CLI spin or allocate without bound."""
    path = tmp_path / "k.key"
    keys.save_keystore(
        path,
        keys.Identity.generate(),
        "pw",
        opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN,
        memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN,
    )
    doc = json.loads(path.read_text())
    doc["kdf"]["memlimit"] = 2**40
    path.write_text(json.dumps(doc))
    with pytest.raises(keys.KeystoreError, match="outside the accepted range"):
        keys.load_keystore(path, "pw")
