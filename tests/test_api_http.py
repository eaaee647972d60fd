"""The HTTP layer's own guarantees on a real server: login sessions, request limits, rate
limits, and problem documents (never a 5xx) for whatever a client sends."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.config import Bucket
from keys import Purpose
from tests.factories import identity_for
from tests.support.api_server import (
    UNLIMITED,
    FakeClock,
    Live,
    live_server,
    login,
    make_cast,
)


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, FakeClock]]:
    """A server (SQLite) whose sessions and rate limits run on a fake clock."""
    clock = FakeClock()
    config = dataclasses.replace(
        UNLIMITED,
        clock=clock,
        session_clock=clock,
        session_ttl=60,
        challenge_ttl=30,
        login_limit=Bucket(3, 0.1),
        write_limit=Bucket(5, 1.0),
        max_body=64 * 1024,
    )
    path = tmp_path_factory.mktemp("clocked") / "ledger.db"
    with live_server(f"sqlite://{Path(path).resolve().as_posix()}", config) as server:
        yield server, clock


def _signed(live: Live, person_key: object) -> dict[str, str]:
    ch = live.client.post("/auth/challenge").json()
    sig = person_key.sign(Purpose.CHALLENGE, ch["challenge"].encode())  # type: ignore[attr-defined]
    return {
        "key_id": person_key.key_id,  # type: ignore[attr-defined]
        "nonce": ch["nonce"],
        "signature": base64.b64encode(sig).decode(),
    }


def test_login_opens_a_session_by_token_and_cookie(live: Live) -> None:
    w = make_cast(live, "login")
    body = _signed(live, w["alice"].identity)
    response = live.client.post("/auth/session", json=body)
    assert response.status_code == 200
    session = response.json()
    assert session["person"] == w["alice"].id
    assert "trackrecord_session" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    who = live.client.get(
        "/auth/session", headers={"Authorization": f"Bearer {session['token']}"}
    ).json()
    assert who["person"] == w["alice"].id
    assert who["token"] is None
    with httpx.Client(base_url=live.url, cookies={"trackrecord_session": session["token"]}) as c:
        assert c.get("/auth/session").json()["person"] == w["alice"].id
        assert c.delete("/auth/session").status_code == 204
        assert live.problem(c.get("/auth/session"))["code"] == "session_expired"
    # The challenge was used once: it cannot open a second session.
    again = live.client.post("/auth/session", json=body)
    assert live.problem(again)["code"] == "bad_challenge"


def test_login_refusals(live: Live) -> None:
    w = make_cast(live, "refuse")
    wrong = _signed(live, w["alice"].identity)
    wrong["key_id"] = w["bob"].key_id  # alice's signature, bob's key
    response = live.client.post("/auth/session", json=wrong)
    assert response.status_code == 401
    assert live.problem(response)["code"] == "bad_signature"
    assert response.headers["www-authenticate"].startswith("Bearer")

    stranger = _signed(live, identity_for("never-registered"))
    assert live.problem(live.client.post("/auth/session", json=stranger))["code"] == "unknown_key"

    garbage = _signed(live, w["alice"].identity)
    garbage["signature"] = "not base64!"
    assert live.problem(live.client.post("/auth/session", json=garbage))["code"] == "bad_signature"

    unknown = {**_signed(live, w["alice"].identity), "nonce": "made-up"}
    assert live.problem(live.client.post("/auth/session", json=unknown))["code"] == "bad_challenge"

    for header in ("Basic abc", "Bearer", "Bearer no-such-token"):
        response = live.client.get("/auth/session", headers={"Authorization": header})
        assert response.status_code == 401, header
        live.problem(response)
    assert live.problem(live.client.get("/auth/session"))["code"] == "unauthenticated"


def test_a_rotated_key_ends_its_sessions(live: Live) -> None:
    w = make_cast(live, "rotate")
    alice = w["alice"]
    token = login(live, alice.identity)
    new = w.new_key(alice.id, 1)
    w.do(w.rotate(alice, new))
    response = live.client.get("/auth/session", headers={"Authorization": f"Bearer {token}"})
    assert live.problem(response)["code"] == "session_expired"


def test_expired_session_and_challenge(clocked: tuple[Live, FakeClock]) -> None:
    live, clock = clocked
    w = make_cast(live, "expiry")
    token = login(live, w["alice"].identity)
    bearer = {"Authorization": f"Bearer {token}"}
    assert live.client.get("/auth/session", headers=bearer).status_code == 200
    clock.now += 61
    response = live.client.get("/auth/session", headers=bearer)
    assert response.status_code == 401
    assert live.problem(response)["code"] == "session_expired"
    # ... also where a session is optional: an expired one is refused, not ignored.
    assert live.client.get("/entries", headers=bearer).status_code == 401

    body = _signed(live, w["alice"].identity)
    clock.now += 31
    assert live.problem(live.client.post("/auth/session", json=body))["code"] == "bad_challenge"


def test_logins_and_writes_are_rate_limited_per_key(clocked: tuple[Live, FakeClock]) -> None:
    live, clock = clocked
    w = make_cast(live, "limits")
    carol = w["carol"]
    statuses = [
        live.client.post("/auth/session", json=_signed(live, carol.identity)).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    limited = live.client.post("/auth/session", json=_signed(live, carol.identity))
    assert live.problem(limited)["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    clock.now += 10  # one token back at 0.1/s
    assert live.client.post("/auth/session", json=_signed(live, carol.identity)).status_code == 200

    writes = [
        live.client.post("/statements", json=w.claim(carol, title=f"W{n}").as_json()).status_code
        for n in range(6)
    ]
    assert writes == [201] * 5 + [429]
    # Another author's bucket is untouched.
    other = live.client.post("/statements", json=w.claim(w["dave"]).as_json())
    assert other.status_code == 201


def test_request_body_limits(clocked: tuple[Live, FakeClock]) -> None:
    live, _ = clocked
    size = live.size()
    big = b'{"statement": {}, "signature": "' + b"A" * (64 * 1024) + b'"}'
    response = live.client.post(
        "/statements", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert live.problem(response)["code"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"statement": {}, "signature": "'
        for _ in range(100):
            yield b"A" * 1024
        yield b'"}'

    response = live.client.post(
        "/statements", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert live.problem(response)["code"] == "request_too_large"
    assert live.size() == size


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/statements", b"{not json", 400, "malformed_json"),
        ("POST", "/statements", b"", 422, "invalid_request"),
        ("POST", "/statements", b"[]", 422, "invalid_request"),
        ("POST", "/statements", b'"text"', 422, "invalid_request"),
        ("POST", "/statements", b'{"statement": 1, "signature": "x"}', 422, "invalid_request"),
        ("POST", "/statements", b'{"statement": {}, "signature": 5}', 422, "invalid_request"),
        ("POST", "/statements", b'{"statement": {}, "signature": "x"}', 422, "missing_field"),
        ("POST", "/statements", b'{"statement": {"type": 1e999}, "signature": ""}', 422, None),
        ("POST", "/statements", b'{"a": "\\ud800"}', 422, None),
        ("POST", "/statements", b"\xff\xfe", 400, "malformed_json"),
        ("POST", "/statements/batch", b'{"statements": []}', 422, "invalid_request"),
        ("POST", "/statements/batch", b'{"statements": [1]}', 422, "invalid_request"),
        ("POST", "/auth/session", b'{"key_id": 1}', 422, "invalid_request"),
        ("POST", "/bundles/verify", b"not a bundle", 400, "bad_format"),
        ("POST", "/bundles/verify", b"{}", 200, None),
        ("GET", "/entries?limit=0", b"", 422, "invalid_request"),
        ("GET", "/entries?limit=abc", b"", 422, "invalid_request"),
        ("GET", "/entries?cursor=-5", b"", 400, "bad_cursor"),
        ("GET", "/entries?cursor=%C2%B3", b"", 400, "bad_cursor"),  # "³": isdigit(), not int
        ("GET", "/entries?cursor=" + "9" * 40, b"", 400, "bad_cursor"),
        ("GET", "/entries/99999999999999999999999", b"", 422, "invalid_request"),
        ("GET", "/proofs/inclusion?index=0&size=999999", b"", 422, "bad_size"),
        ("GET", "/checkpoints/abc", b"", 422, "invalid_request"),
        ("GET", "/assignments/not-a-uuid", b"", 422, "invalid_request"),
        ("GET", "/no/such/page", b"", 404, "not_found"),
        ("DELETE", "/statements", b"", 405, "method_not_allowed"),
    ],
)
def test_bad_requests_are_problem_documents(
    live: Live, method: str, path: str, body: bytes, status: int, code: str | None
) -> None:
    make_cast(live, "bad")
    response = live.client.request(
        method, path, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["ok"] is False
        return
    doc = live.problem(response)
    if code is not None:
        assert doc["code"] == code


def test_bad_signature_is_refused(live: Live) -> None:
    w = make_cast(live, "sig")
    raw = w.claim(w["alice"]).as_json()
    raw["signature"] = base64.b64encode(bytes(64)).decode()
    response = live.client.post("/statements", json=raw)
    assert response.status_code == 422
    assert live.problem(response)["code"] == "bad_signature"
    tampered = w.claim(w["alice"]).as_json()
    tampered["statement"]["body"]["skills"] = ["forgery"]
    assert live.problem(live.client.post("/statements", json=tampered))["code"] == "bad_signature"


def test_unexpected_content_types_and_methods(live: Live) -> None:
    response = live.client.post(
        "/statements", content=json.dumps({"x": 1}), headers={"Content-Type": "text/plain"}
    )
    assert 400 <= response.status_code < 500
    live.problem(response)
