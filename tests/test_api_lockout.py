"""A stranger cannot lock anyone out (issue 15, item 4): on a real server with the
production rate limits, a flood of junk logins and unsigned writes naming a victim's key
spends only the flood's own budget; the victim still logs in and writes.

uvicorn takes the client address from ``X-Forwarded-For`` when the connection comes from
127.0.0.1 (a reverse proxy on the same host, its default ``forwarded_allow_ips``), so the
tests play several clients from one loopback socket."""

from __future__ import annotations

import base64
import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.config import ApiConfig
from keys import Identity, Purpose
from tests.factories import World
from tests.support.api_server import FakeClock, Live, live_server, make_cast

#: the production limits, on a clock that stands still (no bucket refills during a test)
PRODUCTION = dataclasses.replace(ApiConfig(), clock=FakeClock())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("lockout") / "ledger.db"
    with live_server(f"sqlite://{Path(path).resolve().as_posix()}", PRODUCTION) as live:
        yield live


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _login_body(live: Live, identity: Identity, address: str) -> dict[str, str]:
    ch = live.client.post("/auth/challenge", headers=_from(address)).json()
    signature = identity.sign(Purpose.CHALLENGE, ch["challenge"].encode())
    return {
        "key_id": identity.key_id,
        "nonce": ch["nonce"],
        "signature": base64.b64encode(signature).decode(),
    }


def test_junk_logins_naming_a_key_do_not_lock_its_holder_out(server: Live) -> None:
    w = make_cast(server, "lockout-login")
    victim, stranger = w["alice"], w["dave"]
    attacker = "198.51.100.7"
    junk_statuses = Counter()
    for n in range(60):
        # The stranger's own valid challenge, signed with the stranger's key, naming the
        # victim's key id; and made-up challenges with no signature at all.
        if n % 2:
            body = _login_body(server, stranger.identity, attacker)
            body["key_id"] = victim.key_id
        else:
            body = {"key_id": victim.key_id, "nonce": f"made-up-{n}", "signature": "A" * 88}
        response = server.client.post("/auth/session", json=body, headers=_from(attacker))
        junk_statuses[response.status_code] += 1
    # The junk spent its sender's refusals (30), then was refused at once.
    assert junk_statuses == {401: PRODUCTION.refusal_limit.capacity, 429: 30}
    refused = server.client.post(
        "/auth/session",
        json={"key_id": victim.key_id, "nonce": "x", "signature": "A" * 88},
        headers=_from(attacker),
    )
    assert server.problem(refused)["code"] == "rate_limited"

    # The victim, from their own address, logs in as often as their key's budget allows.
    for _ in range(PRODUCTION.login_limit.capacity - 1):
        body = _login_body(server, victim.identity, "203.0.113.10")
        response = server.client.post("/auth/session", json=body, headers=_from("203.0.113.10"))
        assert response.status_code == 200, response.text
        assert response.json()["person"] == victim.id


def _forged(w: World, victim_name: str, signer_name: str, n: int) -> dict[str, object]:
    """A statement naming ``victim``'s key as author, signed by ``signer``'s key."""
    claim = w.claim(w[victim_name], title=f"forged {n}").as_json()
    other = w.claim(w[signer_name], title=f"forged {n}").as_json()
    claim["signature"] = other["signature"]
    return claim


def test_junk_writes_naming_a_key_do_not_block_its_holder(server: Live) -> None:
    w = make_cast(server, "lockout-write")
    victim = w["carol"]
    attacker = "198.51.100.8"
    size = server.size()
    statuses = Counter()
    for n in range(70):
        response = server.client.post(
            "/statements", json=_forged(w, "carol", "dave", n), headers=_from(attacker)
        )
        statuses[response.status_code] += 1
    batch = {"statements": [_forged(w, "carol", "dave", 100 + n) for n in range(3)]}
    response = server.client.post("/statements/batch", json=batch, headers=_from(attacker))
    statuses[response.status_code] += 1
    assert statuses == {422: PRODUCTION.refusal_limit.capacity, 429: 41}
    assert server.size() == size  # nothing forged was written

    for n in range(5):
        response = server.client.post(
            "/statements",
            json=w.claim(victim, title=f"real {n}").as_json(),
            headers=_from("203.0.113.11"),
        )
        assert response.status_code == 201, response.text
    assert server.size() == size + 5
