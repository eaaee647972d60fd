"""The employee's record in an independent wallet, over real HTTP (docs/wallet.md).

A real uvicorn service (tests/support/api_server.py) runs with the operator's key over the
bundle scenario's ledger (tests/support/bundles.py). The wallet is node with OpenWallet's
@sd-jwt libraries (tests/support/wallet.mjs): it runs the OpenID4VCI pre-authorized code
flow from the offer the logged-in employee got, checks the credentials with its own
library, presents the grades of one skill with key binding, and makes the presentations
the verifier must refuse. The HTTP refusals of the issuer and the pages are checked here too.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segno
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from ledger import commands
from ledger.statement import Signer
from tests.factories import identity_for
from tests.support.api_server import BACKENDS, Backend, HttpLedger, Live, live_server, login
from tests.support.bundles import ORIGIN, Scenario, build_scenario

ROOT = Path(__file__).resolve().parent.parent
WALLET = ROOT / "tests" / "support" / "wallet.mjs"
SKILL = "policy-advice"


@pytest.fixture(scope="module", params=BACKENDS)
def scenario_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Scenario]]:
    with Backend.fresh(request, tmp_path_factory.mktemp("wallet")) as url:
        yield url, build_scenario(url)


@pytest.fixture(scope="module")
def served(scenario_url: tuple[str, Scenario]) -> Iterator[Live]:
    with live_server(scenario_url[0], operator=identity_for("operator")) as live:
        yield live


@pytest.fixture(scope="module")
def alice(served: Live, scenario_url: tuple[str, Scenario]) -> str:
    return login(served, scenario_url[1].ids["alice2"])  # her key after the rotation


def _offer(served: Live, token: str) -> dict[str, Any]:
    response = served.client.post(
        "/credential-offers", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    offer: dict[str, Any] = response.json()
    return offer


def _page_offer(served: Live, token: str) -> str:
    """The deep link the employee page's QR code shows (checked: the QR code encodes it)."""
    cookie = {"Cookie": f"trackrecord_session={token}"}
    page = served.client.post("/wallet/offer", headers={**cookie, "Origin": served.url})
    assert page.status_code == 200, page.text
    found = re.search(r'<a id="offer-link" href="([^"]+)"', page.text)
    svg = re.search(r"<svg.*?</svg>", page.text, re.S)
    assert found is not None
    assert svg is not None
    link = html.unescape(found[1])
    qr = segno.make(link, error="m").svg_inline(scale=4, title="Credential offer", dark="#000")
    assert svg[0] == qr
    return link


@pytest.fixture(scope="module")
def wallet_report(served: Live, alice: str) -> dict[str, Any]:
    if shutil.which("node") is None or not (ROOT / "tests/node/node_modules/@sd-jwt").is_dir():
        pytest.fail("node and tests/node's packages are missing: scripts/test installs them")
    link = _page_offer(served, alice)  # what the wallet scans on the employee's page
    assert link.startswith("openid-credential-offer://?credential_offer=")
    return _wallet(link, SKILL)


def _wallet(*args: str) -> dict[str, Any]:
    """Run the node wallet (tests/support/wallet.mjs) with ``args``; return its report."""
    done = subprocess.run(
        ["node", str(WALLET), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_the_wallet_receives_every_credential_and_its_library_accepts_them(
    wallet_report: dict[str, Any],
) -> None:
    kinds = sorted(i.split(":")[0] for i in wallet_report["credentials"])
    assert kinds == ["assignment", "contribution", *["endorsement"] * 3, "summary"]
    assert wallet_report["library_verified"] == 6
    assert wallet_report["configurations"] == [
        "assignment",
        "contribution",
        "endorsement",
        "summary",
    ]
    summary = next(v for k, v in wallet_report["claims"].items() if k.startswith("summary:"))
    assert summary["vct"] == "https://trackrecord.dev/vct/summary/v1"
    assert summary["person"] == "alice"
    assert summary["skills"][SKILL]["grades"] == [3, 4, 5]


def test_the_new_employer_sees_just_the_grades_of_one_skill(
    wallet_report: dict[str, Any],
) -> None:
    answer = wallet_report["presentation"]
    assert answer["status"] == 200, answer
    result = answer["result"]
    assert result["ok"] is True
    assert result["kind"] == "summary"
    assert result["disclosed"] == 1
    claims = result["claims"]
    assert claims["skills"] == {SKILL: {"contributions": 1, "grades": [3, 4, 5]}}
    assert "person" not in claims
    assert "name" not in claims
    assert claims["counts"] == {}
    assert claims["grades_by_role"] == {}


def test_the_disclosed_evidence_is_in_the_log(wallet_report: dict[str, Any]) -> None:
    answer = wallet_report["evidence"]
    assert answer["status"] == 200, answer
    assert answer["result"]["inclusion_checked"] == 2
    assert answer["result"]["claims"]["contribution"]["skills"] == [SKILL]


def test_the_verifier_and_the_issuer_refuse(wallet_report: dict[str, Any]) -> None:
    assert wallet_report["refusals"] == {
        "replayed_code": "invalid_grant",
        "replayed_c_nonce": "invalid_nonce",
        "replayed_nonce": "invalid_nonce",
        "tampered_disclosure": "bad_disclosure",
        "wrong_nonce": "wrong_nonce",
        "wrong_audience": "wrong_audience",
        "expired_presentation": "stale_presentation",
        "foreign_issuer": "untrusted_issuer",
    }


# -- the issuer's HTTP surface -----------------------------------------------------------------
def test_metadata(served: Live) -> None:
    meta = served.client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == served.url
    assert meta["credential_endpoint"] == f"{served.url}/credential"
    assert meta["nonce_endpoint"] == f"{served.url}/nonce"
    summary = meta["credential_configurations_supported"]["summary"]
    assert summary["format"] == "dc+sd-jwt"
    assert summary["vct"] == "https://trackrecord.dev/vct/summary/v1"
    server = served.client.get("/.well-known/oauth-authorization-server").json()
    assert server["token_endpoint"] == f"{served.url}/token"
    keys = served.client.get("/.well-known/jwt-vc-issuer").json()["jwks"]["keys"]
    assert keys[0]["kty"] == "OKP"
    assert keys[0]["crv"] == "Ed25519"
    vct = served.client.get("/vct/summary/v1")
    assert vct.status_code == 200
    assert vct.json()["vct"] == "https://trackrecord.dev/vct/summary/v1"
    assert served.client.get("/vct/nothing/v1").status_code == 404


def test_an_offer_needs_the_employees_session(served: Live) -> None:
    assert served.client.post("/credential-offers").status_code == 401


def _token(served: Live, code: str) -> Any:
    return served.client.post(
        "/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": code,
        },
    )


def _proof(key: JWK, *, aud: str, nonce: str, iat: int | None = None) -> str:
    jws = JWS(json.dumps({"aud": aud, "iat": iat or int(time.time()), "nonce": nonce}))
    header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": key.export_public(True)}
    jws.add_signature(key, alg="ES256", protected=json.dumps(header))
    return str(jws.serialize(compact=True))


def test_issuer_refusals(served: Live, alice: str) -> None:
    code = _offer(served, alice)["credential_offer"]["grants"][
        "urn:ietf:params:oauth:grant-type:pre-authorized_code"
    ]["pre-authorized_code"]
    bad = served.client.post("/token", data={"grant_type": "password"})
    assert bad.json()["error"] == "unsupported_grant_type"
    assert _token(served, "not-a-code").json()["error"] == "invalid_grant"
    answer = _token(served, code)
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    details = {d["credential_configuration_id"]: d for d in answer.json()["authorization_details"]}
    summary_id = details["summary"]["credential_identifiers"][0]
    key = JWK.generate(kty="EC", crv="P-256")

    def ask(body: dict[str, Any], bearer: str | None = token) -> Any:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return served.client.post("/credential", json=body, headers=headers)

    def nonce() -> str:
        value: str = served.client.post("/nonce").json()["c_nonce"]
        return value

    no_token = ask({"credential_identifier": summary_id}, bearer=None)
    assert no_token.status_code == 401
    assert no_token.json()["error"] == "invalid_token"
    proof = _proof(key, aud=served.url, nonce=nonce())
    unknown = ask({"credential_identifier": "summary:1", "proofs": {"jwt": [proof]}})
    assert unknown.json()["error"] == "unknown_credential_identifier"
    wrong_aud = _proof(key, aud="https://elsewhere.example", nonce=nonce())
    answer = ask({"credential_identifier": summary_id, "proofs": {"jwt": [wrong_aud]}})
    assert answer.json()["error"] == "invalid_proof"
    made_up = _proof(key, aud=served.url, nonce="made-up")
    answer = ask({"credential_identifier": summary_id, "proofs": {"jwt": [made_up]}})
    assert answer.json()["error"] == "invalid_nonce"
    good = ask({"credential_configuration_id": "summary", "proofs": {"jwt": [proof]}})
    assert good.status_code == 200, good.text
    assert good.json()["credentials"][0]["credential"].count("~") > 3


def test_the_employee_page_offers_a_qr_code(served: Live, alice: str) -> None:
    cookie = {"Cookie": f"trackrecord_session={alice}"}
    page = served.client.get("/employee", headers=cookie)
    assert 'action="/wallet/offer"' in page.text
    link = _page_offer(served, alice)
    offer = json.loads(
        urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["credential_offer"][0]
    )
    assert offer["credential_issuer"] == served.url
    # without a session the page offers nothing, only the way to log in
    anonymous = served.client.post("/wallet/offer", headers={"Origin": served.url})
    assert anonymous.status_code == 200
    assert "offer-link" not in anonymous.text


def test_the_verifier_page_refuses_a_made_up_presentation(served: Live) -> None:
    page = served.client.get("/verifier")
    assert page.status_code == 200
    assert 'id="nonce"' in page.text
    answer = served.client.post(
        "/verifier", data={"presentation": "a.b.c~x~y.z.w", "nonce": "made-up"}
    )
    assert answer.status_code == 200
    assert 'data-ok="false"' in answer.text
    assert "invalid_nonce" in answer.text


def test_the_verified_records_are_computed_once_per_person_and_checkpoint() -> None:
    from api.wallet import VerifiedRecords

    computed: list[tuple[str, int]] = []

    def compute(person: str, size: int) -> Any:
        computed.append((person, size))
        return object()

    records = VerifiedRecords(limit=2)
    first = records.get("alice", 10, lambda: compute("alice", 10))
    assert records.get("alice", 10, lambda: compute("alice", 10)) is first
    records.get("bob", 10, lambda: compute("bob", 10))
    records.get("alice", 11, lambda: compute("alice", 11))  # a new checkpoint: again
    records.get("alice", 10, lambda: compute("alice", 10))  # the least recently used left
    assert computed == [("alice", 10), ("bob", 10), ("alice", 11), ("alice", 10)]
    records.clear()
    records.get("alice", 11, lambda: compute("alice", 11))
    assert computed[-1] == ("alice", 11)
    assert len(computed) == 5


def test_the_grants_are_single_use_expire_and_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.wallet
    from api.errors import ApiError
    from api.wallet import WalletGrants
    from ledger.credentials import IssuanceError
    from projections.db import create_read_model_engine

    now = [1000.0]
    engine = create_read_model_engine(f"sqlite://{(tmp_path / 'g.db').resolve().as_posix()}")
    grants = WalletGrants(engine, clock=lambda: now[0], code_ttl=60)
    refused = IssuanceError("invalid_grant", "no")
    code = grants.issue("code", "alice")
    assert grants.use("code", code.secret, refusal=refused) == "alice"
    with pytest.raises(IssuanceError):
        grants.use("code", code.secret, refusal=refused)  # used up
    late = grants.issue("code", "alice")
    now[0] += 61
    with pytest.raises(IssuanceError):
        grants.use("code", late.secret, refusal=refused)  # expired
    with pytest.raises(IssuanceError):
        grants.use("token", grants.issue("code", "alice").secret, refusal=refused)  # other kind
    monkeypatch.setattr(api.wallet, "MAX_PENDING", 2)
    grants.issue("c_nonce")
    grants.issue("c_nonce")
    with pytest.raises(ApiError) as e:
        grants.issue("c_nonce")
    assert (e.value.status, e.value.code) == (503, "busy")
    engine.dispose()


def test_a_revoked_endorsement_shows_as_revoked_to_the_wallet_and_the_verifier(
    served: Live, scenario_url: tuple[str, Scenario], wallet_report: dict[str, Any]
) -> None:
    scenario = scenario_url[1]
    identifier, credential = next(
        (k, v) for k, v in wallet_report["credentials"].items() if k.startswith("endorsement:")
    )
    endorsement = identifier.split(":", 1)[1]
    endorser = wallet_report["claims"][identifier]["endorsement"]["endorser"]
    holder = json.dumps(wallet_report["holder"])

    def recheck() -> dict[str, Any]:
        return _wallet("--recheck", served.url, credential, holder)

    before = recheck()
    assert before["library"] == "valid"
    assert before["verifier"]["status"] == 200, before
    assert before["verifier"]["body"]["status"] == "valid"
    revoke = commands.revoke_endorsement(
        Signer(scenario.ids[endorser], ORIGIN), person="alice", endorsement=endorsement
    )
    HttpLedger(served).append(revoke)
    after = recheck()
    assert "Status is not valid" in after["library"]  # @sd-jwt read our list: bit set
    assert after["verifier"]["status"] == 422
    assert after["verifier"]["body"]["code"] == "revoked"
    # the list itself, as any verifier fetches it
    listed = served.client.get("/status-lists/0")
    assert listed.headers["content-type"] == "application/statuslist+jwt"
    claims = json.loads(base64.urlsafe_b64decode(listed.text.split(".")[1] + "=="))
    raw = zlib.decompress(base64.urlsafe_b64decode(claims["status_list"]["lst"] + "=="))
    idx = json.loads(base64.urlsafe_b64decode(credential.split("~")[0].split(".")[1] + "=="))[
        "status"
    ]["status_list"]["idx"]
    assert (raw[idx // 8] >> (idx % 8)) & 1 == 1
    assert served.client.get("/status-lists/1").status_code == 404
