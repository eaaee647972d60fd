"""Credential status (W3C Bitstring Status List v1.0): layout, encoding, the signed list,
checking a credential's status, and revocation end to end over HTTP.

The bitstrings are read back by a decoder written here with the standard library only
(base64 + gzip), bit 0 being the left-most bit of the first byte (§2.2); the spec's own
Example 3 list decodes with both decoders. The end-to-end test runs the real service
(uvicorn, tests/support/api_server.py) with the operator's key, exports credentials with
the CLI, revokes an endorsement over HTTP and checks the credentials against the status
list fetched over HTTP: valid before, ``revoked`` after.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from keys import Identity, save_keystore
from ledger.credentials import (
    STATUS_LIST_BITS,
    VC_V2_CONTEXT,
    CredentialError,
    CredentialIssuer,
    CredentialRevoked,
    StatusPosition,
    bitstring,
    checked_public_url,
    decode_list,
    did_key_for,
    encode_list,
    list_positions,
    revoked_log_indexes,
    status_entry,
    status_list_credential,
    status_list_urls,
    verify_credential,
    verify_status,
)
from ledger.credentials.status import STATUS_LIST_VALIDITY
from ledger.statement import Statement
from tests.factories import MemoryLedger, World, identity_for, standard_world
from tests.support.api_server import (
    BACKENDS,
    UNLIMITED,
    Backend,
    Live,
    issue_checkpoint,
    live_server,
    loopback_socket,
    make_cast,
)
from tests.support.credentials import expand, independent_verify, undefined_terms

PUBLIC_URL = "https://ledger.example.org"
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
ORIGIN = "ledger.example.org/a"


# -- an independent decoder: the standard library only ----------------------------------------
def independent_bits(encoded: str) -> bytes:
    """encodedList -> bitstring: multibase 'u' (base64url, no padding), then GZIP."""
    assert encoded[0] == "u"
    assert "=" not in encoded
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def set_bits(bits: bytes) -> list[int]:
    """The indexes of the set bits, index 0 the most significant bit of byte 0."""
    return [i * 8 + j for i, byte in enumerate(bits) for j in range(8) if byte & (0x80 >> j)]


# -- layout --------------------------------------------------------------------------------
def test_log_index_to_list_and_position() -> None:
    assert STATUS_LIST_BITS == 131_072 == 16 * 1024 * 8
    assert StatusPosition.of(0) == StatusPosition(0, 0)
    assert StatusPosition.of(131_071) == StatusPosition(0, 131_071)
    assert StatusPosition.of(131_072) == StatusPosition(1, 0)
    assert StatusPosition.of(131_081) == StatusPosition(1, 9)
    for i in (0, 5, 131_071, 131_072, 10**9 + 7):
        assert StatusPosition.of(i).log_index == i
    with pytest.raises(ValueError, match="not negative"):
        StatusPosition.of(-1)
    assert list_positions([3, 131_081, 9, 262_144, 131_072], 1) == [0, 9]
    assert list_positions([3, 131_081, 9], 0) == [3, 9]
    assert list_positions([3], 2) == []


def test_bit_order_index_zero_is_the_left_most_bit() -> None:
    bits = bitstring([0, 7, 8, 131_071])
    assert len(bits) == 16_384
    assert bits[0] == 0b1000_0001  # indexes 0 and 7
    assert bits[1] == 0b1000_0000  # index 8
    assert bits[-1] == 0b0000_0001  # index 131071, the right-most bit
    assert set_bits(bits) == [0, 7, 8, 131_071]
    with pytest.raises(ValueError, match="outside"):
        bitstring([131_072])


def test_encoded_list_decodes_with_the_standard_library() -> None:
    positions = [0, 9, 4242, 131_071]
    encoded = encode_list(bitstring(positions))
    assert encoded.startswith("u")
    assert set(encoded[1:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert set_bits(independent_bits(encoded)) == positions
    assert decode_list(encoded) == bitstring(positions)
    assert encode_list(bitstring(positions)) == encoded  # GZIP time 0: deterministic
    assert len(encoded) < 100  # 16 KiB of mostly zeros compresses to a few dozen bytes


def test_the_specs_example_list_decodes() -> None:
    # Bitstring Status List v1.0, Example 3: an empty list of 131,072 entries
    example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
    assert decode_list(example) == independent_bits(example) == bytes(16_384)


def test_malformed_encoded_lists_are_refused() -> None:
    good = encode_list(bitstring([1]))
    raw = gzip.compress(bitstring([1]), mtime=0)

    def u(data: bytes) -> str:
        return "u" + base64.urlsafe_b64encode(data).decode().rstrip("=")

    bad = {
        "no multibase prefix": good[1:],
        "base58btc prefix": "z" + good[1:],
        "padding": good + "==",
        "standard base64": "u" + base64.b64encode(raw).decode(),
        "not gzip": u(b"plain bytes, not compressed"),
        "zlib framing": u(zlib.compress(bitstring([1]))),
        "truncated": u(raw[:-6]),
        "two members": u(raw + raw),
        "trailing bytes": u(raw + b"\0"),
    }
    for what, encoded in bad.items():
        with pytest.raises(CredentialError) as err:
            decode_list(encoded)
        assert err.value.code == "bad_format", what
    bomb = u(gzip.compress(bytes(4097), mtime=0))
    with pytest.raises(CredentialError, match="more than 4096"):
        decode_list(bomb, limit=4096)


def test_status_entry_names_the_list_and_position() -> None:
    assert status_entry(PUBLIC_URL + "/", 131_081) == {
        "id": "https://ledger.example.org/credentials/status/1#9",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "9",
        "statusListCredential": "https://ledger.example.org/credentials/status/1",
    }


def test_public_url_is_checked() -> None:
    assert checked_public_url("https://ledger.example.org/") == PUBLIC_URL
    assert checked_public_url("http://127.0.0.1:8000/base") == "http://127.0.0.1:8000/base"
    for bad in ("ledger.example.org", "ftp://x", "https://", "https://u:p@x", "https://x/?q=1"):
        with pytest.raises(ValueError, match="not a public URL"):
            checked_public_url(bad)


# -- which bits are set: the ledger state ----------------------------------------------------
def test_revoked_log_indexes_follow_withdrawals_and_revocations() -> None:
    w = standard_world(MemoryLedger())
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    kept = w.do(w.claim(alice, title="Kept")).statement.id
    dropped = w.do(w.claim(alice, title="Dropped")).statement.id
    by_bob = w.do(w.endorse(bob, alice, kept, role="manager")).statement.id
    by_carol = w.do(w.endorse(carol, alice, kept)).statement.id
    on_dropped = w.do(w.endorse(carol, alice, dropped)).statement.id
    assert revoked_log_indexes(w.state, _statements_of(w)) == frozenset()
    w.do(w.revoke_endorsement(carol, alice, by_carol))
    w.do(w.withdraw(alice, dropped))
    ids = w.state.statement_ids
    # the revoked endorsement, the withdrawn claim, and the endorsement of a withdrawn claim
    revoked = revoked_log_indexes(w.state, _statements_of(w))
    assert revoked == {ids[by_carol], ids[dropped], ids[on_dropped]}
    assert ids[by_bob] not in revoked


def _statements_of(w: World) -> Callable[[str], list[Statement]]:
    """A memory ledger's stream reader: stream name -> its statements in order."""
    ledger = w.ledger
    assert isinstance(ledger, MemoryLedger)
    return lambda stream: [e.statement for e, _ in ledger.entries if e.stream == stream]


def test_erasure_revokes_the_credentials_resting_on_the_erased_persons_content() -> None:
    w = standard_world(MemoryLedger())
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    hers = w.do(w.claim(alice, title="Erased with her")).statement.id
    on_hers = w.do(w.endorse(bob, alice, hers, role="manager")).statement.id
    carols = w.do(w.claim(carol, title="Carol's own")).statement.id
    by_alice = w.do(w.endorse(alice, carol, carols)).statement.id
    posted = w.do(w.post(bob)).statement.subject
    for person in (alice, carol):
        w.do(w.apply(person, posted))
    for person in (alice, carol):
        w.do(w.assign(bob, posted, person))
    her_completion = w.do(w.complete(bob, posted, alice)).statement.id
    carols_completion = w.do(w.complete(bob, posted, carol)).statement.id
    statements_of = _statements_of(w)
    assert revoked_log_indexes(w.state, statements_of) == frozenset()
    w.do(w.erase(alice))
    ids = w.state.statement_ids
    # her claim, the endorsement of it, her completion: the content the erasure took
    revoked = revoked_log_indexes(w.state, statements_of)
    assert revoked == {ids[hers], ids[on_hers], ids[her_completion]}
    # what she gave carol, and carol's completion, are carol's record: still valid
    assert not revoked & {ids[carols], ids[by_alice], ids[carols_completion]}


# -- the status list credential ----------------------------------------------------------------
def _issuer(name: str = "operator") -> CredentialIssuer:
    return CredentialIssuer.from_identity(identity_for(name), ORIGIN)


def _list(revoked: list[int], list_number: int = 0, **kw: Any) -> dict[str, Any]:
    return status_list_credential(
        kw.pop("issuer", _issuer()),
        public_url=PUBLIC_URL,
        list_number=list_number,
        revoked=revoked,
        now=kw.pop("now", NOW),
    )


def test_the_status_list_credential_is_signed_and_shaped_per_the_spec() -> None:
    doc = _list([5, 131_077], list_number=0)
    assert doc["@context"] == [VC_V2_CONTEXT]
    assert doc["id"] == PUBLIC_URL + "/credentials/status/0"
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert doc["issuer"] == did_key_for(identity_for("operator").public_key.raw)
    assert doc["validFrom"] == "2026-11-23T12:00:00Z"
    assert doc["validUntil"] == "2026-11-24T12:00:00Z"
    subject = doc["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert subject["ttl"] == 300_000
    assert set_bits(independent_bits(subject["encodedList"])) == [5]  # 131077 is list 1's
    verify_credential(doc, issuer=doc["issuer"])
    assert independent_verify(doc)
    assert doc["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    one = _list([5, 131_077], list_number=1)
    assert set_bits(independent_bits(one["credentialSubject"]["encodedList"])) == [5]


def test_the_status_list_expands_with_every_term_defined() -> None:
    doc = _list([5])
    expanded = expand(doc, trackrecord={})
    assert undefined_terms(expanded) == set()
    flat = json.dumps(expanded)
    for term in ("BitstringStatusListCredential", "BitstringStatusList", "encodedList", "ttl"):
        assert f"https://www.w3.org/ns/credentials/status#{term}" in flat
    doc["credentialSubject"]["madeUp"] = 1  # the check does find an undefined term
    assert undefined_terms(expand(doc, trackrecord={})) == {"madeUp"}


# -- checking a credential's status ------------------------------------------------------------
def _credential(log_index: int, issuer: CredentialIssuer | None = None) -> dict[str, Any]:
    """A credential resting on entry ``log_index``, embedding another on ``log_index + 1``."""
    who = issuer or _issuer()

    def make(i: int, inner: list[dict[str, Any]]) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": [VC_V2_CONTEXT],
            "id": f"urn:example:{i}",
            "type": ["VerifiableCredential"],
            "issuer": who.profile(),
            "validFrom": "2026-11-23T11:00:00Z",
            "credentialSubject": {"id": "urn:example:subject", "endorsement": inner},
            "credentialStatus": status_entry(PUBLIC_URL, i),
        }
        return who.secure(doc, created="2026-11-23T11:00:00Z")

    return make(log_index, [make(log_index + 1, [])])


def _lists(*docs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in docs}


def test_status_valid_then_revoked_with_evidence() -> None:
    cred = _credential(40)
    assert status_list_urls(cred) == [PUBLIC_URL + "/credentials/status/0"]
    verify_status(cred, status_lists=_lists(_list([39, 42])), at=NOW)  # other bits set
    with pytest.raises(CredentialRevoked) as err:
        verify_status(cred, status_lists=_lists(_list([40])), at=NOW)
    assert err.value.code == "revoked"
    assert err.value.evidence() == {
        "code": "revoked",
        "message": err.value.message,
        "credential": "urn:example:40",
        "status_list_credential": PUBLIC_URL + "/credentials/status/0",
        "status_list_index": 40,
        "status_purpose": "revocation",
        "status_list_valid_from": "2026-11-23T12:00:00Z",
    }
    with pytest.raises(CredentialRevoked) as err:  # the embedded credential's bit
        verify_status(cred, status_lists=_lists(_list([41])), at=NOW)
    assert err.value.evidence()["credential"] == "urn:example:41"
    far = _credential(131_072 + 7)  # list 1, position 7
    verify_status(far, status_lists=_lists(_list([7], list_number=1)), at=NOW)
    with pytest.raises(CredentialRevoked):
        verify_status(far, status_lists=_lists(_list([131_079], list_number=1)), at=NOW)


def _faults(good: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dt.datetime]]:
    """(expected code, what, status list, time of the check) for each faulty status list."""
    url = good["id"]
    yield "status_retrieval", "no list", {}, NOW
    tampered = copy.deepcopy(good)
    tampered["credentialSubject"]["encodedList"] = encode_list(bitstring([]))
    yield "status_verification", "a tampered list", _lists(tampered), NOW
    forged = _list([], issuer=_issuer("mallory"))
    yield "status_verification", "another issuer's list", _lists(forged), NOW
    late = NOW + STATUS_LIST_VALIDITY + dt.timedelta(minutes=6)
    yield "status_verification", "expired", _lists(good), late
    yield "status_verification", "not yet valid", _lists(good), NOW - dt.timedelta(minutes=6)
    moved = _list([], list_number=1)
    yield "status_verification", "another list's document", {url: moved}, NOW
    issuer = _issuer()

    def resigned(change: dict[str, Any]) -> dict[str, dict[str, Any]]:
        doc = {k: v for k, v in good.items() if k != "proof"}
        doc["credentialSubject"] = {**doc["credentialSubject"], **change}
        return _lists(issuer.secure(doc, created="2026-11-23T12:00:00Z"))

    yield "status_verification", "suspension list", resigned({"statusPurpose": "suspension"}), NOW
    short = encode_list(bitstring([], bits=STATUS_LIST_BITS // 2))
    yield "status_list_length", "a short list", resigned({"encodedList": short}), NOW
    yield "bad_format", "a malformed list", resigned({"encodedList": "not-multibase"}), NOW


def test_every_fault_of_a_status_list_is_refused_with_its_code() -> None:
    cred = _credential(40)
    good = _list([3])
    verify_status(cred, status_lists=_lists(good), at=NOW)
    for skew in (-4, 4):  # the issuer's clock a few minutes off the verifier's
        late = NOW + STATUS_LIST_VALIDITY if skew > 0 else NOW
        verify_status(cred, status_lists=_lists(good), at=late + dt.timedelta(minutes=skew))
    for code, what, lists, at in _faults(good):
        with pytest.raises(CredentialError) as err:
            verify_status(cred, status_lists=lists, at=at)
        assert err.value.code == code, (what, err.value.message)


def test_unreadable_status_entries_are_refused() -> None:
    issuer = _issuer()
    lists = _lists(_list([]))
    changes: list[tuple[str, dict[str, Any]]] = [
        ("bad_format", {"type": "StatusList2021Entry"}),
        ("bad_format", {"statusPurpose": "suspension"}),
        ("bad_format", {"statusSize": 2}),
        ("bad_format", {"statusListIndex": 40}),
        ("bad_format", {"statusListIndex": "040"}),
        ("bad_format", {"statusListIndex": "-1"}),
        ("status_range", {"statusListIndex": str(STATUS_LIST_BITS)}),
    ]
    for code, change in changes:
        doc = {k: v for k, v in _credential(40).items() if k != "proof"}
        doc["credentialStatus"] = {**doc["credentialStatus"], **change}
        with pytest.raises(CredentialError) as err:
            verify_status(
                issuer.secure(doc, created="2026-11-23T12:00:00Z"), status_lists=lists, at=NOW
            )
        assert err.value.code == code, change


# -- end to end: the service, the CLI, a revoked endorsement ------------------------------------
@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """The service with the operator's key, its public URL its own loopback address."""
    sock = loopback_socket()
    public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = dataclasses.replace(UNLIMITED, public_url=public_url, checkpoint_interval=3600.0)
    with (
        Backend.fresh(request, tmp_path_factory.mktemp("status")) as url,
        live_server(url, config, operator=identity_for("operator"), sock=sock) as live,
    ):
        yield live


def _cli(live: Live, keys: Path, *args: str) -> Any:
    from trackrecord.cli import create_app

    return CliRunner().invoke(
        create_app(),
        ["--db", live.database_url, "--keys", str(keys), *args],
        env={"TRACKRECORD_PASSPHRASE": "pw", "TRACKRECORD_PUBLIC_URL": live.url},
    )


def test_a_revoked_endorsements_credential_verifies_as_revoked(
    served: Live, tmp_path: Path
) -> None:
    live = served
    w: World = make_cast(live, "st")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    claim = w.do(w.claim(alice, title="Status brief")).statement.id
    by_bob = w.do(w.endorse(bob, alice, claim, role="manager")).statement.id
    by_carol = w.do(w.endorse(carol, alice, claim)).statement.id
    issue_checkpoint(live)
    keys = tmp_path / "keys"
    keys.mkdir()
    save_keystore(keys / "operator.key", identity_for("operator"), "pw", opslimit=1, memlimit=8192)
    out = tmp_path / "vc"
    done = _cli(live, keys, "--as", "operator", "credentials", "export", "st-alice", "-o", str(out))
    assert done.exit_code == 0, done.output
    carols = out / f"endorsement-{by_carol}.json"
    bobs = out / f"endorsement-{by_bob}.json"
    contribution = out / f"contribution-{claim}.json"
    entry = json.loads(carols.read_text())["credentialStatus"]
    assert entry["statusListCredential"] == live.url + "/credentials/status/0"

    # before the revocation: valid, fetched over HTTP by the CLI
    done = _cli(
        live, keys, "credentials", "verify", str(carols), str(contribution), "--fetch-status"
    )
    assert done.exit_code == 0, done.output
    assert done.output.count("status valid") == 2

    w.do(w.revoke_endorsement(carol, alice, by_carol))

    # the status list, fetched over HTTP: signed by the operator, carol's bit set
    response = live.client.get("/credentials/status/0")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vc"
    assert response.headers["cache-control"] == "public, max-age=300"
    status_list = response.json()
    assert independent_verify(status_list)
    bits = independent_bits(status_list["credentialSubject"]["encodedList"])
    assert set_bits(bits) == [int(entry["statusListIndex"])]
    saved = tmp_path / "status-0.json"
    saved.write_text(response.text)

    # after: revoked, offline from the saved list and online; bob's stays valid
    for how in (["--status-list", str(saved)], ["--fetch-status"]):
        done = _cli(live, keys, "credentials", "verify", str(carols), *how)
        assert done.exit_code == 3, done.output
        assert "[revoked]" in done.output, done.output.replace("\n", " | ")
        assert f"status_list_index: {entry['statusListIndex']}" in done.output
        done = _cli(live, keys, "credentials", "verify", str(contribution), *how)
        assert done.exit_code == 3, done.output  # it embeds carol's endorsement
        done = _cli(live, keys, "credentials", "verify", str(bobs), *how)
        assert done.exit_code == 0, done.output
    with pytest.raises(CredentialRevoked):
        verify_status(
            json.loads(carols.read_text()),
            status_lists={status_list["id"]: status_list},
            at=dt.datetime.now(dt.UTC),
        )

    # without a list: the proof alone, and the status said to be unchecked
    done = _cli(live, keys, "credentials", "verify", str(carols))
    assert done.exit_code == 0, done.output
    assert "status NOT checked" in done.output


def test_an_erased_persons_credential_verifies_as_revoked(served: Live, tmp_path: Path) -> None:
    live = served
    w: World = make_cast(live, "er")
    alice, bob = w["alice"], w["bob"]
    claim = w.do(w.claim(alice, title="Erased brief")).statement.id
    w.do(w.endorse(bob, alice, claim, role="manager"))
    issue_checkpoint(live)
    keys = tmp_path / "keys"
    keys.mkdir()
    save_keystore(keys / "operator.key", identity_for("operator"), "pw", opslimit=1, memlimit=8192)
    out = tmp_path / "vc"
    done = _cli(live, keys, "--as", "operator", "credentials", "export", "er-alice", "-o", str(out))
    assert done.exit_code == 0, done.output
    contribution = out / f"contribution-{claim}.json"
    done = _cli(live, keys, "credentials", "verify", str(contribution), "--fetch-status")
    assert done.exit_code == 0, done.output

    w.do(w.erase(alice))

    done = _cli(live, keys, "credentials", "verify", str(contribution), "--fetch-status")
    assert done.exit_code == 3, done.output
    assert "[revoked]" in done.output, done.output.replace("\n", " | ")
    index = json.loads(contribution.read_text())["credentialStatus"]["statusListIndex"]
    assert f"status_list_index: {index}" in done.output


def test_status_list_http_refusals(served: Live) -> None:
    make_cast(served, "st")
    far = served.client.get("/credentials/status/5")
    assert served.problem(far)["code"] == "not_found"
    assert served.problem(served.client.get("/credentials/status/-1"))["code"] == "invalid_request"


def test_a_service_without_the_operators_key_serves_no_status_list(live: Live) -> None:
    problem = live.problem(live.client.get("/credentials/status/0"))
    assert problem["status"] == 404
    assert problem["code"] == "no_operator_key"


# -- docs/credentials.md §5: the worked example ------------------------------------------------
DOC = Path(__file__).resolve().parent.parent / "docs" / "credentials.md"


def _json_blocks(text: str) -> list[Any]:
    return [json.loads(b.split("```")[0]) for b in text.split("```json\n")[1:]]


def test_the_docs_worked_example_is_the_codes_output() -> None:
    text = DOC.read_text(encoding="utf-8")
    seed = hashlib.sha256(b"docs/credentials.md operator").digest()
    assert seed.hex() in text
    issuer = CredentialIssuer.from_identity(Identity(seed), "ledger.example.org/a")
    doc = status_list_credential(
        issuer,
        public_url="https://ledger.example.org",
        list_number=1,
        revoked=[7, 131_081],
        now=NOW,
    )
    entry = status_entry("https://ledger.example.org", 131_081)
    # both appear byte for byte, as json.dumps(indent=2) writes them
    assert json.dumps(entry, indent=2) in text
    assert json.dumps(doc, indent=2) in text
    assert [entry, doc] == [b for b in _json_blocks(text) if b in (entry, doc)]
    # the bytes the page spells out, read back with the standard library only
    body = doc["credentialSubject"]["encodedList"][1:]
    member = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(member) == 52
    assert member.hex() in text
    assert member[:10].hex() == "1f8b08000000000002ff"
    assert "1f 8b 08 00 00 00\n00 00 02 ff" in text
    bits = gzip.decompress(member)
    assert bits[1] == 0x40
    assert set_bits(bits) == [9]
    assert member[-8:].hex() == "5ca9aaa600400000"
    assert "`0xa6aaa95c`" in text
    assert hex(zlib.crc32(bits)) == "0xa6aaa95c"
    verify_credential(doc, issuer=doc["issuer"])
    assert independent_verify(doc)


def test_cli_verify_refuses_unreadable_input(tmp_path: Path) -> None:
    from trackrecord.cli import create_app

    good = tmp_path / "good.json"
    good.write_text(json.dumps(_credential(40)))
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(_list([40], now=dt.datetime.now(dt.UTC))))
    stale = tmp_path / "stale.json"  # valid for a day from NOW, long over
    stale.write_text(json.dumps(_list([], now=NOW - STATUS_LIST_VALIDITY * 30)))
    runner = CliRunner()
    not_json = tmp_path / "x.json"
    not_json.write_text("{not json")
    for args in (
        [str(not_json)],
        [str(good), "--status-list", str(not_json)],
        [str(tmp_path / "missing.json")],
    ):
        done = runner.invoke(create_app(), ["credentials", "verify", *args])
        assert done.exit_code == 1, (args, done.output)
    # the status list read from a file: revoked, with no database and no network
    done = runner.invoke(
        create_app(), ["credentials", "verify", str(good), "--status-list", str(listed)]
    )
    assert done.exit_code == 3, done.output
    assert "[revoked]" in done.output
    done = runner.invoke(
        create_app(), ["credentials", "verify", str(good), "--status-list", str(stale)]
    )
    assert done.exit_code == 3, done.output
    assert "[status_verification]" in done.output
    done = runner.invoke(create_app(), ["credentials", "verify", str(good), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["status"] == "not_checked"
