"""A record or portfolio read costs a bounded number of store reads, however many entries
the person has (issue 13): the rows the visibility rules consult for a page of entries
are read ahead in two queries on a snapshot of the rule state
(:func:`ledger.entry_view.prefetch_views`), not one round trip per look-up, which on
PostgreSQL made a record of 18 entries cost 142 queries.

The server runs with its caches off (as ``bench.scale``'s figure (d) does), on SQLite
and on PostgreSQL; the store's reads made while answering (on the request's worker
thread, not the read models' background thread) are counted before and after the
person's record grows by five times, and must not change.
"""

from __future__ import annotations

import dataclasses

from tests.support.api_server import UNLIMITED, Live, live_server, login, make_cast
from tests.support.store_calls import counted

CACHES_OFF = dataclasses.replace(UNLIMITED, stream_cache_size=1, answer_cache_size=0)
BOUND = 24  # store reads per record or portfolio answer (measured: 9 to 19)


def reads(live: Live, path: str, token: str | None = None) -> int:
    """How many store reads answering ``GET path`` made (as ``token``'s session, if any)."""
    store = live.extra["app"].state.context.ledger.store
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # first once uncounted: the read models may still be catching up with the last
    # appends (a request does it itself then), which is not the cost of the answer
    assert live.client.get(path, headers=headers).status_code == 200
    with counted(store) as calls:
        response = live.client.get(path, headers=headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    return sum(calls.values())


def test_record_and_portfolio_reads_do_not_grow_with_the_record(database_url: str) -> None:
    with live_server(database_url, CACHES_OFF) as live:
        w = make_cast(live, "reads")
        alice, bob, carol, dave = w["alice"], w["bob"], w["carol"], w["dave"]

        def grow(n: int) -> None:
            """``n`` more entries of each kind a record holds, access refusals too."""
            for i in range(n):
                claim = w.do(w.claim(alice, title=f"Report {i}"))
                w.do(w.endorse(carol, alice, claim.statement.id))
                w.do(w.ambition(alice, goal=f"Lead team {i}"))
                request = w.do(w.request_access(dave, alice, "analytical"))
                w.do(w.refuse_access(alice, request.statement.id))

        grow(1)
        w.do(w.visibility(alice, "dossier", "on_request"))
        request = w.do(w.request_access(bob, alice, "dossier"))
        w.do(w.grant_access(alice, bob, "dossier", request=request.statement.id))
        token = login(live, bob.identity)
        paths = [f"/people/{alice.id}/record", f"/people/{alice.id}/portfolio"]
        before = {(p, t): reads(live, p, t) for p in paths for t in (None, token)}
        size = len(live.client.get(paths[0], params={"limit": 200}).json()["items"])
        grow(4)
        after = {(p, t): reads(live, p, t) for p in paths for t in (None, token)}
        grown = len(live.client.get(paths[0], params={"limit": 200}).json()["items"])
        assert grown >= size + 4 * 5  # the record grew by 20 entries at least
        assert after == before
        assert max(after.values()) <= BOUND, after
