"""Verifiable Credentials / Open Badges 3.0 export (ledger.credentials, the CLI).

The eddsa-jcs-2022 test vector of the W3C spec is reproduced byte for byte; every
credential exported from the bundle scenario of tests/support/bundles.py validates
against the shipped W3C VC 2.0 and 1EdTech OB 3.0 JSON schemas, and its proof is
checked by a verifier written here independently of the exporter (own base58,
rfc8785 for JCS, PyNaCl); tampering with a claim, the proof value or the
verification method is refused by both. Every credential is expanded as JSON-LD
by pyld with the W3C VC v2, 1EdTech OB 3.0 and trackrecord contexts (the last one
fetched from a running service), and no member may be left undefined.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import rfc8785
from typer.testing import CliRunner

from keys import Identity, save_keystore
from ledger.bundle import BundleError
from ledger.credentials import (
    OB_V3_CONTEXT,
    TRACKRECORD_CONTEXT,
    TRACKRECORD_CONTEXT_PATH,
    VC_V2_CONTEXT,
    CredentialError,
    IssuedCredential,
    base58btc_decode,
    base58btc_encode,
    did_key_for,
    issue_credentials,
    sign_document,
    verify_credential,
    verify_proof,
)
from ledger.export import export_bundle
from tests.factories import identity_for
from tests.support.api_server import Live
from tests.support.bundles import Scenario, build_scenario
from tests.support.credentials import (
    b58decode,
    expand,
    independent_verify,
    load_data,
    undefined_terms,
)

CREATED = "2026-11-23T12:00:00Z"
PUBLIC_URL = "https://ledger.example.org"


# -- the spec's test vector ------------------------------------------------------------------
def test_eddsa_jcs_2022_vector_is_reproduced_byte_for_byte() -> None:
    keys = load_data("eddsa-jcs-2022-keyPair.json")
    signed = load_data("eddsa-jcs-2022-signedJCS.json")
    private = base58btc_decode(keys["privateKeyMultibase"][1:])
    public = base58btc_decode(keys["publicKeyMultibase"][1:])
    assert private[:2] == b"\x80\x26"
    assert public[:2] == b"\xed\x01"
    identity = Identity(private[2:])
    assert identity.public_key.raw == public[2:]
    assert did_key_for(public[2:]) == "did:key:" + keys["publicKeyMultibase"]
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    proof = signed["proof"]
    again = sign_document(
        unsecured,
        sign=identity.sign_raw,
        verification_method=proof["verificationMethod"],
        created=proof["created"],
    )
    assert again == signed
    assert again["proof"]["proofValue"] == (
        "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"
    )
    # the second half of hashData, the document hash, as in the spec's combinedHashJCS.txt
    assert hashlib.sha256(rfc8785.dumps(unsecured)).hexdigest() == (
        "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
    )


def test_base58btc_round_trips_leading_zeros() -> None:
    for data in (b"", b"\x00", b"\x00\x00\x01", b"\xff" * 40, bytes(range(64))):
        assert base58btc_decode(base58btc_encode(data)) == data
        assert b58decode(base58btc_encode(data)) == data


# -- the exported credentials ------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_context(live: Live) -> dict[str, Any]:
    response = live.client.get(TRACKRECORD_CONTEXT_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    served: dict[str, Any] = response.json()
    return served


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    url = f"sqlite://{(tmp_path_factory.mktemp('vc') / 'a.db').resolve().as_posix()}"
    return build_scenario(url)


@pytest.fixture(scope="module")
def bundle(scenario: Scenario) -> dict[str, Any]:
    return export_bundle(scenario.log, "alice")


@pytest.fixture(scope="module")
def issued(bundle: dict[str, Any]) -> list[IssuedCredential]:
    return issue_credentials(
        bundle, operator=identity_for("operator"), created=CREATED, public_url=PUBLIC_URL
    )


def _validators() -> Iterator[tuple[str, jsonschema.protocols.Validator]]:
    vc = load_data("vc-2.0-verifiable-credential-schema.json")
    ob = load_data("ob_v3p0_achievementcredential_schema.json")
    endorsement = {"$ref": "#/$defs/EndorsementCredential", "$defs": ob["$defs"]}
    fmt = jsonschema.FormatChecker()
    yield "vc", jsonschema.Draft202012Validator(vc, format_checker=fmt)
    yield "ob", jsonschema.Draft201909Validator(ob, format_checker=fmt)
    yield "endorsement", jsonschema.Draft201909Validator(endorsement, format_checker=fmt)


def test_what_is_exported(issued: list[IssuedCredential], bundle: dict[str, Any]) -> None:
    names = sorted(c.filename.split("-")[0] for c in issued)
    # one endorsed contribution (3 endorsements); "Second" has none; one completed assignment
    assert names == ["assignment", "contribution", "endorsement", "endorsement", "endorsement"]
    contribution = next(c.document for c in issued if c.filename.startswith("contribution"))
    assert contribution["name"] == "Policy brief"
    achievement = contribution["credentialSubject"]["achievement"]
    assert len(achievement["endorsement"]) == 3
    assert achievement["tag"] == ["policy-advice"]
    assignment = next(c.document for c in issued if c.filename.startswith("assignment"))
    assert assignment["credentialSubject"]["result"][0]["value"] == "4"
    assert assignment["credentialSubject"]["narrative"] == "Ok"


def test_every_credential_validates_against_the_official_schemas(
    issued: list[IssuedCredential],
) -> None:
    validators = dict(_validators())
    for c in issued:
        doc = json.loads(c.dumps())
        validators["vc"].validate(doc)
        kind = "endorsement" if "EndorsementCredential" in doc["type"] else "ob"
        validators[kind].validate(doc)
        if kind == "ob":
            for inner in doc["credentialSubject"]["achievement"].get("endorsement", []):
                validators["vc"].validate(inner)


def test_the_schemas_do_refuse_a_credential_missing_a_required_member(
    issued: list[IssuedCredential],
) -> None:
    validators = dict(_validators())
    doc = copy.deepcopy(issued[0].document)
    del doc["credentialSubject"]["achievement"]["criteria"]
    with pytest.raises(jsonschema.ValidationError):
        validators["ob"].validate(doc)
    del doc["issuer"]
    with pytest.raises(jsonschema.ValidationError):
        validators["vc"].validate(doc)


def test_every_proof_verifies_with_both_verifiers(issued: list[IssuedCredential]) -> None:
    did = did_key_for(identity_for("operator").public_key.raw)
    for c in issued:
        doc = json.loads(c.dumps())
        assert doc["issuer"]["id"] == did
        assert did.startswith("did:key:z6Mk")
        assert independent_verify(doc)
        verify_credential(doc, issuer=did)


def test_evidence_points_at_the_bundles_signed_entries(
    issued: list[IssuedCredential], bundle: dict[str, Any]
) -> None:
    by_index = {i["log_index"]: i["entry"] for i in bundle["entries"]}
    first = bundle["checkpoint"].split("\n")
    for c in issued:
        for ev in c.document["evidence"]:
            entry = by_index[ev["logIndex"]]
            assert hashlib.sha256(rfc8785.dumps(entry)).hexdigest() == ev["entryHash"]
            assert (entry["stream"], entry["seq"]) == (ev["stream"], ev["seq"])
            assert entry["statement"]["id"] == ev["statementId"]
            assert (ev["checkpointOrigin"], ev["checkpointSize"]) == (first[0], int(first[1]))


def _tamperings(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    claim = copy.deepcopy(doc)
    claim["name"] = claim["name"] + "!"
    yield "claim", claim
    nested = copy.deepcopy(doc)
    subject = nested["credentialSubject"]
    if "identifier" in subject:
        subject["identifier"][0]["identityHash"] = "mallory"
    else:
        subject["endorsementComment"] += "!"
    yield "subject", nested
    value = copy.deepcopy(doc)
    sig = bytearray(b58decode(value["proof"]["proofValue"][1:]))
    sig[10] ^= 1
    value["proof"]["proofValue"] = "z" + base58btc_encode(bytes(sig))
    yield "proofValue", value
    other = did_key_for(identity_for("mallory").public_key.raw)
    method = copy.deepcopy(doc)
    method["proof"]["verificationMethod"] = f"{other}#{other[8:]}"
    yield "verificationMethod", method
    both = copy.deepcopy(method)
    both["issuer"]["id"] = other
    yield "verificationMethod and issuer", both


def test_a_tampered_credential_fails(issued: list[IssuedCredential]) -> None:
    for c in issued:
        for what, bad in _tamperings(json.loads(c.dumps())):
            assert not independent_verify(bad), what
            with pytest.raises(CredentialError):
                verify_credential(bad)


def test_a_tampered_embedded_endorsement_fails(issued: list[IssuedCredential]) -> None:
    doc = copy.deepcopy(next(c.document for c in issued if c.filename.startswith("contribution")))
    inner = doc["credentialSubject"]["achievement"]["endorsement"][0]
    inner["credentialSubject"]["grade"] = 5 if inner["credentialSubject"]["grade"] != 5 else 4
    with pytest.raises(CredentialError) as err:
        verify_credential(doc)
    assert err.value.code == "bad_signature"
    assert not independent_verify(doc)


def test_a_proof_by_another_key_is_refused_even_when_it_verifies(
    issued: list[IssuedCredential],
) -> None:
    mallory = identity_for("mallory")
    other = did_key_for(mallory.public_key.raw)
    unsecured = {k: v for k, v in issued[0].document.items() if k != "proof"}
    forged = sign_document(
        unsecured,
        sign=mallory.sign_raw,
        verification_method=f"{other}#{other[8:]}",
        created=CREATED,
    )
    verify_proof(forged)  # a valid proof ...
    with pytest.raises(CredentialError) as err:
        verify_credential(forged)  # ... but not by the issuer
    assert err.value.code == "wrong_controller"
    assert not independent_verify(forged)


def test_only_the_operator_can_issue(bundle: dict[str, Any]) -> None:
    with pytest.raises(BundleError) as err:
        issue_credentials(
            bundle, operator=identity_for("alice"), created=CREATED, public_url=PUBLIC_URL
        )
    assert err.value.code == "untrusted_key"


# -- JSON-LD: every term is defined ---------------------------------------------------------
def test_every_credential_expands_with_every_term_defined(
    issued: list[IssuedCredential], served_context: dict[str, Any]
) -> None:
    for c in issued:
        doc = json.loads(c.dumps())
        assert doc["@context"] == [VC_V2_CONTEXT, OB_V3_CONTEXT, TRACKRECORD_CONTEXT]
        expanded = expand(doc, served_context)
        assert undefined_terms(expanded) == set(), c.filename
        # the members trackrecord adds expand to its vocabulary
        flat = json.dumps(expanded)
        for term in ("statementId", "entryHash", "checkpointRoot", "logIndex"):
            assert f"https://trackrecord.dev/contexts/trackrecord/v1#{term}" in flat


def test_the_served_context_is_the_shipped_one_and_the_check_finds_undefined_terms(
    issued: list[IssuedCredential], served_context: dict[str, Any]
) -> None:
    from ledger.credentials import trackrecord_context

    assert served_context == trackrecord_context()
    doc = json.loads(issued[0].dumps())
    doc["evidence"][0]["madeUp"] = 1
    doc["credentialSubject"]["type"].append("MadeUpSubject")
    assert undefined_terms(expand(doc, served_context)) == {"madeUp", "MadeUpSubject"}
    # without the trackrecord context, its 14 terms (and issuanceDate) are undefined
    doc = json.loads(issued[-1].dumps())
    doc["@context"] = doc["@context"][:2]
    assert {"statementId", "logIndex", "issuanceDate", "outcome"} <= undefined_terms(
        expand(doc, served_context)
    )


# -- the command -------------------------------------------------------------------------------
def test_cli_credentials_export(tmp_path: Path) -> None:
    import typer

    from trackrecord.cli import create_app
    from trackrecord.cli.credentials import app as credentials_app

    url = f"sqlite://{(tmp_path / 'c.db').resolve().as_posix()}"
    build_scenario(url)
    keys = tmp_path / "keys"
    keys.mkdir()
    save_keystore(keys / "operator.key", identity_for("operator"), "pw", opslimit=1, memlimit=8192)
    root = create_app()
    if not any(g.name == "credentials" for g in root.registered_groups):
        root.add_typer(credentials_app, name="credentials")
    assert isinstance(root, typer.Typer)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        root,
        [
            "--db",
            url,
            "--keys",
            str(keys),
            "--as",
            "operator",
            "credentials",
            "export",
            "alice",
            "-o",
            str(out),
        ],
        env={"TRACKRECORD_PASSPHRASE": "pw"},
    )
    assert result.exit_code == 0, result.output
    files = sorted(p.name.split("-")[0] for p in out.glob("*.json"))
    assert files == ["assignment", "contribution", "endorsement", "endorsement", "endorsement"]
    for path in out.glob("*.json"):
        assert independent_verify(json.loads(path.read_text(encoding="utf-8")))
