"""SD-JWT VC issuance and presentation verification (ledger.credentials, docs/wallet.md).

The RFC 9901 examples (tests/data/wallet/rfc9901-examples.json, source noted there) are
conformance vectors for the generic SD-JWT+KB layer. The credentials of the bundle
scenario (tests/support/bundles.py) are presented by the SD-JWT reference holder
(``sd_jwt.holder``) and checked by :func:`verify_presentation`; each refusal the issue
names is one case. The independent wallet (node, @sd-jwt/*) is tests/test_wallet_flow.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder

from ledger.credentials import (
    PresentationError,
    SdJwtVc,
    VerifiedRecord,
    credential_identifiers,
    decode_lst,
    encode_lst,
    issue_sd_jwt_vc,
    issuer_jwk,
    status_list_token,
    token_status_bytes,
    type_metadata,
    verified_record,
    verify_inclusion_evidence,
    verify_presentation,
    verify_sd_jwt,
)
from ledger.errors import InclusionError
from ledger.export import export_bundle
from tests.factories import identity_for
from tests.support.bundles import Scenario, build_scenario

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "wallet" / "rfc9901-examples.json").read_text("utf-8")
)
ISSUER = "https://ledger.example"
VERIFIER = "https://employer.example"
OPERATOR = identity_for("operator")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _json_part(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


# -- RFC 9901 conformance vectors --------------------------------------------------------------
def test_rfc9901_disclosure_and_digest_vectors() -> None:
    d = VECTORS["disclosure"]
    assert _json_part(d["disclosure"]) == d["array"]
    assert _b64(hashlib.sha256(d["disclosure"].encode("ascii")).digest()) == d["digest"]
    a = VECTORS["array_disclosure"]
    assert _json_part(a["disclosure"]) == a["array"]


def _spec_verify(presentation: str, **changes: Any) -> Any:
    kb = VECTORS["kb_jwt_payload"]
    args: dict[str, Any] = {
        "issuer_key": JWK(**VECTORS["issuer_key"]),
        "typ": "example+sd-jwt",
        "audience": kb["aud"],
        "nonce": kb["nonce"],
        "now": kb["iat"],
    }
    args.update(changes)
    return verify_sd_jwt(presentation, **args)


def test_rfc9901_section5_presentation_verifies_to_the_processed_payload() -> None:
    verified = _spec_verify(VECTORS["presentation"])
    assert verified.claims == VECTORS["processed_payload"]
    assert verified.disclosures == 4
    issuance = VECTORS["issuance"]
    assert issuance.startswith(VECTORS["issuer_signed_jwt"] + "~")
    assert issuance.count("~") == 11  # ten disclosures


def test_rfc9901_section5_presentation_refusals() -> None:
    spec = VECTORS["presentation"]
    with pytest.raises(PresentationError) as e:
        _spec_verify(spec, nonce="0987654321")
    assert e.value.code == "wrong_nonce"
    with pytest.raises(PresentationError) as e:
        _spec_verify(spec, audience="https://other.example")
    assert e.value.code == "wrong_audience"
    with pytest.raises(PresentationError) as e:
        _spec_verify(spec, now=VECTORS["kb_jwt_payload"]["iat"] + 3600)
    assert e.value.code == "stale_presentation"
    jwt, *disclosures, kb = spec.split("~")
    forged = _b64(json.dumps(["lklxF5jMYlGTPUovMNIvCA", "DE"]).encode())
    with pytest.raises(PresentationError) as e:
        _spec_verify("~".join([jwt, *disclosures[:-1], forged, kb]))
    assert e.value.code == "bad_disclosure"
    other = JWK.generate(kty="EC", crv="P-256")
    with pytest.raises(PresentationError) as e:
        _spec_verify(spec, issuer_key=other)
    assert e.value.code == "bad_signature"


# -- trackrecord's credentials -----------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    url = f"sqlite://{(tmp_path_factory.mktemp('sdjwt') / 'a.db').resolve().as_posix()}"
    return build_scenario(url)


@pytest.fixture(scope="module")
def record(scenario: Scenario) -> VerifiedRecord:
    return verified_record(export_bundle(scenario.log, "alice"), operator=OPERATOR)


@pytest.fixture(scope="module")
def holder() -> JWK:
    return JWK.generate(kty="EC", crv="P-256")


def _issue(record: VerifiedRecord, identifier: str, holder: JWK, **kw: Any) -> SdJwtVc:
    args: dict[str, Any] = {
        "operator": OPERATOR,
        "issuer": ISSUER,
        "holder_key": holder.export_public(as_dict=True),
        "issued_at": int(time.time()),
        "valid_for": 3600,
    }
    args.update(kw)
    return issue_sd_jwt_vc(record, identifier, **args)


def _present(vc: SdJwtVc, holder: JWK, disclose: dict[str, Any], nonce: str = "n-1") -> str:
    h = SDJWTHolder(vc.issuance)
    h.create_presentation(disclose, nonce, VERIFIER, holder, "ES256")
    return str(h.sd_jwt_presentation)


def _verify(presentation: str, **changes: Any) -> Any:
    args: dict[str, Any] = {
        "issuer_key": OPERATOR.public_key.raw,
        "audience": VERIFIER,
        "nonce": "n-1",
        "now": int(time.time()),
    }
    args.update(changes)
    return verify_presentation(presentation, **args)


def test_the_record_supports_one_credential_per_endorsed_contribution_and_assignment(
    record: VerifiedRecord,
) -> None:
    ids = credential_identifiers(record)
    assert len(ids["contribution"]) == 1
    assert len(ids["endorsement"]) == 3
    assert len(ids["assignment"]) == 1
    assert ids["summary"] == [f"summary:{record.report.checkpoint_size}"]


def test_no_personal_field_is_in_the_clear(record: VerifiedRecord, holder: JWK) -> None:
    secrets = {"alice", "Alice", "Policy brief", "Data migration", "comment by manager", "bob"}
    for identifiers in credential_identifiers(record).values():
        for identifier in identifiers:
            vc = _issue(record, identifier, holder)
            jwt = vc.issuance.split("~")[0]
            header, payload = _json_part(jwt.split(".")[0]), _json_part(jwt.split(".")[1])
            assert header["typ"] == "dc+sd-jwt"
            assert header["alg"] == "EdDSA"
            assert header["kid"] == issuer_jwk(OPERATOR.public_key.raw)["kid"]
            text = json.dumps(payload)
            assert not [s for s in secrets if f'"{s}"' in text], (identifier, text)
            assert payload["checkpoint"]["size"] == record.report.checkpoint_size
            assert payload["cnf"]["jwk"] == holder.export_public(as_dict=True)


def test_just_the_grades_of_one_skill(record: VerifiedRecord, holder: JWK) -> None:
    vc = _issue(record, credential_identifiers(record)["summary"][0], holder)
    verified = _verify(_present(vc, holder, {"skills": {"policy-advice": True}}))
    assert verified.kind == "summary"
    assert verified.claims["skills"] == {"policy-advice": {"contributions": 1, "grades": [3, 4, 5]}}
    assert "person" not in verified.claims
    assert "name" not in verified.claims
    assert verified.claims["counts"] == {}
    assert verified.claims["grades_by_role"] == {}
    assert verified.disclosed == 1


def test_a_contribution_with_its_evidence_checks_against_the_log(
    record: VerifiedRecord, holder: JWK, scenario: Scenario
) -> None:
    vc = _issue(record, credential_identifiers(record)["contribution"][0], holder)
    disclose = {"contribution": {"title": True}, "evidence": [True, True], "person": True}
    verified = _verify(_present(vc, holder, disclose))
    assert verified.claims["contribution"]["title"] == "Policy brief"
    assert verified.claims["person"] == "alice"
    assert len(verified.evidence()) == 2
    checked = verify_inclusion_evidence(
        verified, root_at=scenario.log.root, inclusion_proof=scenario.log.inclusion_proof
    )
    assert checked == 2
    # the same evidence against a log whose root differs is refused
    with pytest.raises(PresentationError) as e:
        verify_inclusion_evidence(
            verified, root_at=lambda size: bytes(32), inclusion_proof=scenario.log.inclusion_proof
        )
    assert e.value.code == "checkpoint_mismatch"

    def zeros(index: int, size: int) -> list[bytes]:
        return [bytes(32)] * len(scenario.log.inclusion_proof(index, size))

    with pytest.raises(InclusionError):
        verify_inclusion_evidence(verified, root_at=scenario.log.root, inclusion_proof=zeros)


def _refused(presentation: str, code: str, **changes: Any) -> None:
    with pytest.raises(PresentationError) as e:
        _verify(presentation, **changes)
    assert e.value.code == code, e.value.message


def test_one_endorsement_on_its_own(record: VerifiedRecord, holder: JWK) -> None:
    ids = credential_identifiers(record)["endorsement"]
    grades = []
    for identifier in ids:
        vc = _issue(record, identifier, holder)
        disclose = {"endorsement": {"role": True, "grade": True}, "contribution": {"title": True}}
        verified = _verify(_present(vc, holder, disclose))
        assert verified.kind == "endorsement"
        assert verified.claims["contribution"]["title"] == "Policy brief"
        assert set(verified.claims["endorsement"]) == {"role", "grade"}
        grades.append(
            (verified.claims["endorsement"]["role"], verified.claims["endorsement"]["grade"])
        )
    assert sorted(grades) == [("client", 3), ("manager", 4), ("peer", 5)]


def test_refusals(record: VerifiedRecord, holder: JWK) -> None:
    vc = _issue(record, credential_identifiers(record)["summary"][0], holder)
    good = _present(vc, holder, {"skills": {"policy-advice": True}})
    _verify(good)
    _refused(good, "wrong_nonce", nonce="n-2")
    _refused(good, "wrong_audience", audience="https://elsewhere.example")
    _refused(good, "stale_presentation", now=int(time.time()) + 600)
    jwt, disclosure, kb = good.split("~")
    salt, key, value = _json_part(disclosure)
    value["grades"] = [5, 5, 5]
    tampered = _b64(json.dumps([salt, key, value]).encode())
    _refused(f"{jwt}~{tampered}~{kb}", "bad_disclosure")
    _refused(f"{jwt}~{disclosure}~", "no_key_binding")
    other = _present(vc, JWK.generate(kty="EC", crv="P-256"), {"skills": {"policy-advice": True}})
    _refused(other, "bad_key_binding")
    foreign = _issue(record, vc.identifier, holder, operator=identity_for("another-ledger"))
    _refused(_present(foreign, holder, {}), "untrusted_issuer")
    expired = _issue(record, vc.identifier, holder, issued_at=int(time.time()) - 7200)
    _refused(_present(expired, holder, {}), "expired_credential")


def test_type_metadata_names_every_claim_of_its_credentials() -> None:
    for kind in ("contribution", "endorsement", "assignment", "summary"):
        meta = type_metadata(kind)
        assert meta["vct"] == f"https://trackrecord.dev/vct/{kind}/v1"
        paths = [c["path"] for c in meta["claims"]]
        assert ["person"] in paths
        assert ["checkpoint"] in paths


def test_cli_present_verify(tmp_path: Path, holder: JWK) -> None:
    from typer.testing import CliRunner

    from trackrecord.cli import create_app

    url = f"sqlite://{(tmp_path / 'c.db').resolve().as_posix()}"
    scenario = build_scenario(url)
    record = verified_record(export_bundle(scenario.log, "alice"), operator=OPERATOR)
    vc = _issue(record, credential_identifiers(record)["contribution"][0], holder)
    path = tmp_path / "presentation.txt"
    path.write_text(_present(vc, holder, {"evidence": [True, False]}), encoding="utf-8")
    args = ["--db", url, "present", "verify", str(path), "--audience", VERIFIER]
    result = CliRunner().invoke(create_app(), [*args, "--nonce", "n-1", "--inclusion"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["kind"] == "contribution"
    assert out["inclusion_checked"] == 1
    refused = CliRunner().invoke(create_app(), [*args, "--nonce", "n-2"])
    assert refused.exit_code == 3
    assert "[wrong_nonce]" in refused.stderr


def test_docs_wallet_md_bytes_are_true(record: VerifiedRecord, holder: JWK) -> None:
    """docs/wallet.md §2's header, disclosure and digest are what the code makes."""
    doc = (Path(__file__).parent.parent / "docs" / "wallet.md").read_text("utf-8")
    disclosure = re.search(r"^ +disclosure: (\S+)$", doc, re.M)
    decoded = re.search(r"^ +decoded: +(.+)$", doc, re.M)
    digest = re.search(r"^ +digest: +(\S+)$", doc, re.M)
    assert disclosure
    assert decoded
    assert digest
    assert _json_part(disclosure[1]) == json.loads(decoded[1])
    assert base64.urlsafe_b64decode(disclosure[1] + "==").decode() == decoded[1]
    assert _b64(hashlib.sha256(disclosure[1].encode("ascii")).digest()) == digest[1]
    header = re.search(r'^ +(\{"alg": "EdDSA".*\})$', doc, re.M)
    vc = _issue(record, credential_identifiers(record)["summary"][0], holder)
    jwt, *disclosures, _ = vc.issuance.split("~")
    assert header
    assert _json_part(jwt.split(".")[0]) == json.loads(header[1])
    # the reference implementation encodes a disclosure as the doc says: json.dumps defaults
    for d in disclosures:
        assert base64.urlsafe_b64decode(d + "==").decode() == json.dumps(_json_part(d))
    # every refusal code of the verifier is in the doc's table
    for code in set(re.findall(r"``(\w+)``", PresentationError.__doc__ or "")) - {"code"}:
        assert f"`{code}`" in doc, code


# -- the IETF Token Status List ----------------------------------------------------------------
def test_token_status_list_layout_is_the_drafts_example() -> None:
    """draft-ietf-oauth-status-list §4.1: statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 with one
    bit each are the bytes 0xB9 0xA3, whose ZLIB at level 9 is "eNrbuRgAAhcBXQ"."""
    set_at = [0, 3, 4, 5, 7, 8, 9, 13, 15]
    raw = token_status_bytes(set_at, bits=16)
    assert raw == bytes([0xB9, 0xA3])
    assert encode_lst(raw) == "eNrbuRgAAhcBXQ"
    assert decode_lst("eNrbuRgAAhcBXQ") == raw
    bomb = encode_lst(bytes(64 * 1024))
    with pytest.raises(PresentationError) as e:
        decode_lst(bomb, limit=1024)
    assert e.value.code == "bad_status"


def test_a_revoked_endorsements_credential_shows_as_revoked(
    record: VerifiedRecord, holder: JWK
) -> None:
    identifier = credential_identifiers(record)["endorsement"][0]
    vc = _issue(record, identifier, holder)
    status = _json_part(vc.issuance.split("~")[0].split(".")[1])["status"]["status_list"]
    endorsement = record.entries[identifier.split(":", 1)[1]]
    assert status["idx"] == endorsement.log_index
    assert status["uri"] == f"{ISSUER}/status-lists/0"

    def lists(revoked: set[int]) -> Any:
        def token(uri: str) -> str:
            return status_list_token(
                operator=OPERATOR,
                uri=uri,
                list_number=0,
                revoked=revoked,
                issued_at=int(time.time()),
            )

        return token

    presented = _present(vc, holder, {"endorsement": {"grade": True}})
    assert _verify(presented).status == "unchecked"
    assert _verify(presented, status_token=lists(set())).status == "valid"
    _refused(presented, "revoked", status_token=lists({endorsement.log_index}))

    # a status list signed by another key, or of another list, is refused
    def foreign(uri: str) -> str:
        return status_list_token(
            operator=identity_for("another-ledger"), uri=uri, list_number=0, revoked=(), issued_at=0
        )

    _refused(presented, "bad_status", status_token=foreign)
    _refused(presented, "bad_status", status_token=lambda uri: lists(set())(uri + "x"))
    summary = _issue(record, credential_identifiers(record)["summary"][0], holder)
    assert _verify(_present(summary, holder, {}), status_token=lists(set())).status == "none"
