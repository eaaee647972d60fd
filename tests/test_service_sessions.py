"""Logins across service processes (issue 13): a challenge issued by one process is
answered at another, once; a session opened at one is honoured, and ended, at all.

Two services (two applications, each with its own :class:`api.context.AppContext`, on real
uvicorn servers) share one database, as ``trackrecord serve --workers 2`` does.
"""

from __future__ import annotations

import base64

from keys import Purpose
from tests.support.api_server import live_server, login, make_cast


def test_a_login_holds_across_service_processes(database_url: str) -> None:
    with live_server(database_url) as one, live_server(database_url) as other:
        alice = make_cast(one, "multi")["alice"].identity
        # a challenge from one process, answered at the other, and only once
        ch = one.client.post("/auth/challenge").json()
        signature = alice.sign(Purpose.CHALLENGE, ch["challenge"].encode())
        body = {
            "key_id": alice.key_id,
            "nonce": ch["nonce"],
            "signature": base64.b64encode(signature).decode(),
        }
        opened = other.client.post("/auth/session", json=body)
        assert opened.status_code == 200, opened.text
        again = one.client.post("/auth/session", json=body)
        assert one.problem(again)["code"] == "bad_challenge"
        # the session is known to both processes; ended at one, it is over at both
        bearer = {"Authorization": f"Bearer {opened.json()['token']}"}
        for live in (one, other):
            assert live.client.get("/auth/session", headers=bearer).status_code == 200
        token = login(one, alice)
        bearer = {"Authorization": f"Bearer {token}"}
        assert other.client.get("/auth/session", headers=bearer).status_code == 200
        assert other.client.delete("/auth/session", headers=bearer).status_code in (200, 204)
        for live in (one, other):
            response = live.client.get("/auth/session", headers=bearer)
            assert live.problem(response)["code"] == "session_expired"
