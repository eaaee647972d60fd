"""Concurrency: many clients, two service processes, one database — no fork, no duplicate,
every conflict a clear 409, never a 5xx.

Two real service processes (:class:`tests.support.crash.Service`) serve the same database,
so appends race across processes as well as across threads. At once:

* writer threads, half on each process, claim contributions on their own records
  (different streams) and endorse contributions on alice's record (one shared stream);
* pairs of clients send *the same* signed statement to both processes at the same moment:
  exactly one is accepted (201), the other refused as ``409 replayed_id``;
* pairs of clients send two different endorsements of the same contribution by the same
  person: exactly one 201, the other ``409 duplicate_endorsement``;
* clients post batches, which land whole, at consecutive log indexes;
* readers read portfolios and reputations from both processes while all this goes on:
  every read answers 200 (the read models are caught up by one process at a time).

Afterwards the service processes are stopped and :func:`tests.support.crash.check_ledger`
checks the database: every acknowledged entry at its log index with its hash, no
statement id twice, every stream a gapless chain, the audit passes, the checkpoints both
processes signed verify and extend each other, the read models (followed by both
processes at once) equal a rebuild — and the log holds exactly the setup plus what was
acknowledged: nothing was written that a client was not told about.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from tests.support.concurrency import Race, concurrency_run, send_at_once
from tests.support.crash import Load

CONFLICT_CODES = frozenset({"replayed_id", "duplicate_endorsement", "conflict"})


# -- the CI-sized test ------------------------------------------------------------------------


def test_concurrent_clients_never_fork_duplicate_or_fail(database_url: str, tmp_path: Path) -> None:
    run = concurrency_run(database_url, tmp_path, readers=4)
    load, findings = run.load, run.findings
    # reads while both processes write: every one answered, none a 5xx (issue 13); each
    # process catches the read models up under one lock, so they never race for them
    assert run.reads.answers, "the readers read nothing"
    assert run.reads.failed() == [], run.server_logs[-4000:]
    # the ledger holds exactly what was acknowledged, unforked, whatever the answers were
    assert findings.problems() == {}
    assert len({a.log_index for a in load.acked}) == len(load.acked)
    assert findings.entries == run.setup_entries + len(load.acked)
    assert findings.checkpoints > 0
    assert load.server_errors == [], run.server_logs[-4000:]
    assert load.refusals == {}, load.refusals
    for outcome in run.race.outcomes:  # each race: exactly one 201, the rest a clear 409
        statuses = sorted(s for s, _ in outcome)
        assert statuses == [201, 409], outcome
        assert {c for s, c in outcome if s == 409} <= CONFLICT_CODES - {"conflict"}, outcome
    for indexes in run.batches:  # a batch lands whole, at consecutive log indexes
        assert indexes == list(range(indexes[0], indexes[0] + len(indexes)))


class _RendezvousHandler(BaseHTTPRequestHandler):
    """Answers a POST only while another POST is being handled at the same time.

    Each POST waits at a two-party barrier: it opens only when both requests are inside
    the server together. Requests sent one after the other break it (at its timeout,
    which only a failing run waits for) and are answered 500, so the check does not
    depend on how fast a loaded machine schedules the two threads.
    """

    rendezvous: ClassVar[threading.Barrier]

    def do_GET(self) -> None:  # the stdlib's name
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        try:
            self.rendezvous.wait()
        except threading.BrokenBarrierError:
            self._answer(500, b'{"code": "not_concurrent"}')
            return
        self._answer(
            201, b'{"statement_id": "x", "log_index": 0, "entry_hash": "", "stream": "", "seq": 1}'
        )

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_race_helper_really_sends_at_once() -> None:
    """Without this, the races above could pass by running one request after the other."""
    _RendezvousHandler.rendezvous = threading.Barrier(2, timeout=30)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RendezvousHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        race, load = Race(), Load()
        send_at_once([url, url], "/x", [{}, {}], load, race)
    finally:
        server.shutdown()
        server.server_close()
    assert not _RendezvousHandler.rendezvous.broken
    assert load.server_errors == []
    assert race.outcomes == [[(201, ""), (201, "")]]
