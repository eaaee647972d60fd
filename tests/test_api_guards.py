"""Requests refused before an endpoint sees them (issue 15, item 9), on a real server:
cross-site writes that only the session cookie authenticates, and JSON bodies that name
a member of an object twice — in statements, batches, logins and bundles, and in the
offline verifier (``trackrecord verify``)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ledger.bundle import BundleError, verify_bundle
from tests.support.api_server import Live, issue_checkpoint, login, make_cast
from tests.support.cli import Cli

CROSS_SITE = [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    # Sec-Fetch-Site decides when a browser sends it, whatever the Origin says.
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1"},
]


def test_cross_site_writes_with_the_session_cookie_are_refused(live: Live) -> None:
    w = make_cast(live, "csrf")
    w.do(w.claim(w["alice"]))
    issue_checkpoint(live)
    token = login(live, w["alice"].identity)
    bundle = live.client.get(
        f"/people/{w['alice'].id}/bundle", headers={"Authorization": f"Bearer {token}"}
    ).content
    text_plain = {"Content-Type": "text/plain"}  # a cross-site form needs no preflight
    with httpx.Client(base_url=live.url, cookies={"trackrecord_session": token}) as browser:
        for headers in CROSS_SITE:
            imported = browser.post("/bundles/import", content=bundle, headers=text_plain | headers)
            assert live.problem(imported)["code"] == "cross_site", headers
            assert imported.status_code == 403
            logout = browser.delete("/auth/session", headers=headers)
            assert live.problem(logout)["code"] == "cross_site", headers
        assert browser.get("/auth/session").status_code == 200  # still logged in

        # The service's own pages (same origin), and clients that are not browsers (no
        # Origin, no Sec-Fetch-Site), reach the endpoint: it refuses a bundle of an origin
        # this ledger does not trust.
        host = live.url.removeprefix("http://")
        for headers in (
            {"Origin": live.url, "Sec-Fetch-Site": "same-origin"},
            {"Origin": f"http://{host}"},
            {"Sec-Fetch-Site": "none"},
            {},
        ):
            imported = browser.post("/bundles/import", content=bundle, headers=text_plain | headers)
            assert live.problem(imported)["code"] == "untrusted_key", headers
    # A bearer token is never added by another site: no check.
    bearer = {"Authorization": f"Bearer {token}", "Origin": "https://evil.example"}
    imported = live.client.post("/bundles/import", content=bundle, headers=text_plain | bearer)
    assert live.problem(imported)["code"] == "untrusted_key"
    assert live.client.delete("/auth/session", headers=bearer).status_code == 204


def _with_duplicate(text: str, before: str, member: str) -> str:
    """``text`` with ``member`` (``"name": value``) inserted before the first ``before``:
    the original member comes last, so a last-wins parser reads the original."""
    assert before in text
    return text.replace(before, member + before, 1)


def test_duplicate_member_names_are_refused(live: Live) -> None:
    w = make_cast(live, "dupes")
    alice = w["alice"]
    size = live.size()
    signed = json.dumps(w.claim(alice, title="Named twice").as_json())
    assert signed.startswith('{"statement": {"type": ')
    bodies = {
        "/statements": [
            _with_duplicate(signed, '"type": ', '"type": "AmbitionStated", '),
            _with_duplicate(signed, '"statement": ', '"signature": "AAAA", '),
        ],
        "/statements/batch": [
            '{"statements": [], '
            + signed.replace('{"statement"', '"statements": [{"statement"', 1)
            + "]}"
        ],
        "/auth/session": ['{"key_id": "a", "key_id": "b", "nonce": "n", "signature": "s"}'],
        "/bundles/verify": ['{"format": "x", "format": "y"}'],
    }
    for path, texts in bodies.items():
        for text in texts:
            refused = live.client.post(
                path, content=text, headers={"Content-Type": "application/json"}
            )
            problem = live.problem(refused)
            assert (refused.status_code, problem["code"]) == (400, "duplicate_member"), path
            assert "twice" in problem["detail"]
    assert live.size() == size
    # The statement itself, its members named once, is accepted.
    accepted = live.client.post(
        "/statements", content=signed, headers={"Content-Type": "application/json"}
    )
    assert accepted.status_code == 201, accepted.text


def test_bundles_with_duplicate_members_are_refused_offline(
    live: Live, tmp_path: Path, cli_keys: Path
) -> None:
    w = make_cast(live, "dupe-bundle")
    alice = w["alice"]
    w.do(w.claim(alice, title="Exported"))
    issue_checkpoint(live)
    headers = {"Authorization": f"Bearer {login(live, alice.identity)}"}
    bundle = live.client.get(f"/people/{alice.id}/bundle", headers=headers).text
    verify_bundle(bundle, trusted=None)  # as exported: valid
    doubled = _with_duplicate(bundle, '"person": ', f'"person": "{w["bob"].id}", ')
    with pytest.raises(BundleError, match="twice") as refused:
        verify_bundle(doubled, trusted=None)
    assert refused.value.code == "bad_format"
    # Uploaded as text (the bundle endpoints read the raw body), the verifier refuses it;
    # as JSON, the request is refused before.
    as_text = {"Content-Type": "text/plain"}
    uploaded = live.client.post("/bundles/verify", content=doubled.encode(), headers=as_text)
    assert live.problem(uploaded)["code"] == "bad_format"
    uploaded = live.client.post("/bundles/verify", content=doubled.encode())
    assert live.problem(uploaded)["code"] == "duplicate_member"

    path = tmp_path / "doubled.json"
    path.write_text(doubled, encoding="utf-8")
    result = Cli(live.database_url, cli_keys)("verify", str(path))
    assert result.exit_code != 0
    assert "twice" in result.output


@pytest.fixture
def cli_keys(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    return keys
