"""Attacks on a running service (issue 15): lock-outs by strangers, leaks through matching.

**Lock-out.** Each round, a stranger floods a real server (uvicorn, the production rate
limits) from an address of its own with junk logins and unsigned writes naming a fresh
victim's key id — the attack that used to spend the victim's budget — and then the
victim, from their address, logs in and writes. A round passes when both succeed.

**Matching leaks.** Each round the candidate signs random visibility settings for the
four parts of her portfolio (a contribution with the needed skill in each part, a
completed assignment, endorsements, the ambition to develop a needed skill); four
viewers ask for the candidates of an open assignment and the manager opens the manager
page. A read passes when it shows nothing the access rule hides from that viewer
(:func:`tests.support.visibility.candidate_leaks`, the check of the test suite).
"""

from __future__ import annotations

import base64
import contextlib
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from api.config import ApiConfig
from keys import Identity, Purpose
from ledger.catalogue import Part, Visibility
from tests import pgcluster
from tests.support.api_server import Live, live_server, make_cast, refresh_reputation
from tests.support.visibility import Scene, candidate_leaks, manager_page_leaks, visible_parts

from .report import Tally, timed

__all__ = ["run_leaks", "run_lockout"]

Say = Callable[[str], None]
JUNK_LOGINS = 40
JUNK_WRITES = 70


def _login_body(live: Live, identity: Identity, address: str) -> dict[str, str]:
    ch = live.client.post("/auth/challenge", headers={"X-Forwarded-For": address}).json()
    signature = identity.sign(Purpose.CHALLENGE, ch["challenge"].encode())
    return {
        "key_id": identity.key_id,
        "nonce": ch["nonce"],
        "signature": base64.b64encode(signature).decode(),
    }


def run_lockout(rounds: int, *, say: Say) -> Tally:
    """``rounds`` junk floods naming a victim's key, each followed by the victim's login
    and write; count the victims locked out."""
    tally = Tally(
        "Attack: lock-out by junk naming a key",
        "sqlite",
        "victims in / rounds",
        shown=("locked_out",),
    )
    path = Path(tempfile.mkdtemp(prefix="bench-lockout-")) / "ledger.db"
    with timed(tally), live_server(f"sqlite://{path.resolve().as_posix()}", ApiConfig()) as live:
        for n in range(rounds):
            w = make_cast(live, f"lock{n}")
            victim, stranger = w["alice"], w["dave"]
            attacker = {"X-Forwarded-For": f"198.51.100.{n % 250 + 1}"}
            for _ in range(JUNK_LOGINS):
                junk = {"key_id": victim.key_id, "nonce": "made-up", "signature": "A" * 88}
                answer = live.client.post("/auth/session", json=junk, headers=attacker)
                tally.note("junk refused 429" if answer.status_code == 429 else "junk refused 401")
            for k in range(JUNK_WRITES):
                forged = w.claim(victim, title=f"forged {k}").as_json()
                forged["signature"] = w.claim(stranger, title=f"forged {k}").as_json()["signature"]
                answer = live.client.post("/statements", json=forged, headers=attacker)
                tally.note("junk refused 429" if answer.status_code == 429 else "junk refused 422")
            own = f"203.0.113.{n % 250 + 1}"
            logged_in = live.client.post(
                "/auth/session",
                json=_login_body(live, victim.identity, own),
                headers={"X-Forwarded-For": own},
            )
            wrote = live.client.post(
                "/statements",
                json=w.claim(victim, title="real").as_json(),
                headers={"X-Forwarded-For": own},
            )
            if (logged_in.status_code, wrote.status_code) == (200, 201):
                tally.ok()
            else:
                tally.fail(
                    "locked_out",
                    f"round {n}: login {logged_in.status_code}, write {wrote.status_code}",
                )
    say(f"lock-out: {tally.tried} rounds")
    return tally


@contextlib.contextmanager
def _database(server_url: str | None) -> Iterator[str]:
    """A fresh database: on the PostgreSQL server at ``server_url``, else an SQLite file."""
    if server_url is None:
        path = Path(tempfile.mkdtemp(prefix="bench-leaks-")) / "ledger.db"
        yield f"sqlite://{path.resolve().as_posix()}"
        return
    with pgcluster.fresh_database(server_url) as url:
        yield url


def run_leaks(server_url: str | None, backend: str, rounds: int, *, seed: int, say: Say) -> Tally:
    """``rounds`` random visibility settings, each read by four viewers; count the leaks."""
    tally = Tally(
        "Attack: matching and manager-page leaks", backend, "reads / reads", shown=("leak",)
    )
    rng = random.Random(seed)
    with timed(tally), _database(server_url) as url, live_server(url) as live:
        scene = Scene.build(live, "leak")
        refresh_reputation(live)
        for n in range(rounds):
            chosen = {p.value: rng.choice(list(Visibility)).value for p in Part}
            scene.set_visibility(chosen)
            for viewer, token in scene.tokens.items():
                if viewer == "owner":
                    continue
                found = scene.candidates(live, token)
                listed = [c for c in found if c["person"] == scene.owner]
                visible = visible_parts(chosen, viewer)
                problems = candidate_leaks(listed[0], visible) if listed else []
                if bool(listed) != ("free" in visible):
                    problems.append(
                        f"listed: {bool(listed)}, free part visible: {'free' in visible}"
                    )
                if problems:
                    tally.fail("leak", f"round {n}, {viewer}, {chosen}: {problems[0]}")
                else:
                    tally.ok()
            manager = scene.tokens["manager"]
            assert manager is not None
            with httpx.Client(base_url=live.url, cookies={"trackrecord_session": manager}) as b:
                page = b.get("/manager").text
            listed_ids = set(re.findall(r'data-contribution="([^"]+)"', page))
            problems = manager_page_leaks(scene, listed_ids, visible_parts(chosen, "manager"))
            if problems:
                tally.fail("leak", f"round {n}, manager page, {chosen}: {problems[0]}")
            else:
                tally.ok()
    say(f"leaks {backend}: {tally.tried} reads")
    return tally
