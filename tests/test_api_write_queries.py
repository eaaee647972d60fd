"""A signed write costs a bounded number of store calls, however long the log and however
many people it holds (issue 13): ``POST /statements`` checks its statement against the
rule state by key (read ahead in one query, :meth:`ledger.service.LedgerService.append`),
never by reading the log or a whole table. The store's calls made while answering (on
the request's worker thread) are counted for a claim and an endorsement, then again
after the ledger grew to more than twice its size with more people, and must not change;
only the Merkle nodes read to extend the tree may differ, as the log's size in binary
does, and stay within its height (O(log n), most of them kept in memory).
"""

from __future__ import annotations

import collections
import math

from ledger.statement import SignedStatement
from tests.support.api_server import UNLIMITED, Live, live_server, make_cast
from tests.support.store_calls import counted

# store calls per signed write besides Merkle nodes (measured: 3 and 4, a claim and an
# endorsement: Store.progress, the read-ahead's one or two queries, the append; 10 and 12
# before the catch-up's probes were one query and the rollback check stopped reading the
# state's size again, issue 13)
BOUND = 4


def writes(live: Live, signed: SignedStatement) -> collections.Counter[str]:
    """The store calls appending ``signed`` through ``POST /statements`` made, by name."""
    store = live.extra["app"].state.context.ledger.store
    with counted(store) as calls:
        response = live.client.post("/statements", json=signed.as_json())
    assert response.status_code == 201, response.text
    return calls


def test_a_signed_write_does_not_grow_with_the_ledger(database_url: str) -> None:
    with live_server(database_url, UNLIMITED) as live:
        w = make_cast(live, "writes")
        alice, carol = w["alice"], w["carol"]
        w.do(w.claim(alice, title="First report"))  # alice's record stream exists

        def costs(tag: str) -> list[collections.Counter[str]]:
            claim = w.claim(alice, title=f"Report {tag}")
            made = writes(live, claim)
            cid = claim.statement.id
            w.do(w.ask_review(alice, cid, (carol, "peer")))  # what lets carol read it
            endorsed = writes(live, w.endorse(carol, alice, cid, asked=False))
            return [made, endorsed]

        def besides_nodes(calls: list[collections.Counter[str]]) -> list[dict[str, int]]:
            return [{k: v for k, v in c.items() if k != "get_node"} for c in calls]

        before = costs("before")
        size = live.size()
        for i in range(6):  # more people, each with a record of their own
            other = make_cast(live, f"writes{i}")
            for j in range(3):
                claim = other.do(other.claim(other["alice"], title=f"Work {j}"))
                other.do(other.endorse(other["carol"], other["alice"], claim.statement.id))
        grown = live.size()
        assert grown >= 2 * size
        after = costs("after")
        assert besides_nodes(after) == besides_nodes(before)
        assert all(c["append"] == 1 for c in after)
        assert max(sum(c.values()) for c in besides_nodes(after)) <= BOUND, after
        height = math.ceil(math.log2(grown)) + 1
        assert all(c["get_node"] <= height for c in before + after), (before, after, height)
