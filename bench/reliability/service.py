"""The service under faults and load, long versions of tests/test_crash.py and
tests/test_concurrency.py (same classes, more kills, more clients, more races).

**Crash.** Writers append signed statements over HTTP while the service process is
killed with SIGKILL at random moments, ``kills`` times; after each kill the database is
checked (every acknowledged entry present at its index with its hash, no duplicate
statement id, no fork or gap, audit, checkpoints against a monitor) and, after the last,
the read models against a rebuild.

**Concurrency.** Two service processes on one database; writers on own and shared
streams, simultaneous identical submissions and conflicting endorsements, batches; every
answer must be 201 or a clear 409, never a 5xx, and the log must hold exactly what was
acknowledged.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tests import pgcluster
from tests.support.concurrency import concurrency_run
from tests.support.crash import Findings, crash_rounds

from .report import Tally, timed

__all__ = ["database", "run_concurrency", "run_crash"]

Say = Callable[[str], None]


@contextlib.contextmanager
def database(backend: str, server_url: str | None, directory: Path) -> Iterator[str]:
    """A fresh database URL on ``backend`` (PostgreSQL: on ``server_url``)."""
    if backend == "sqlite":
        yield f"sqlite://{(directory / 'ledger.db').resolve().as_posix()}"
        return
    assert server_url is not None
    with pgcluster.fresh_database(server_url) as url:
        yield url


def _problems(tally: Tally, findings: Findings, where: str) -> None:
    for kind in ("duplicates", "forks", "audit", "checkpoint_problems", "read_models"):
        items = getattr(findings, kind)
        if items:
            tally.problem(kind, f"{where}: {items[0]}", count=len(items))


def run_crash(backend: str, server_url: str | None, kills: int, *, seed: int, say: Say) -> Tally:
    """Kill the service ``kills`` times under load; count acknowledged entries found."""
    tally = Tally(
        "Crash: kill -9 under load",
        backend,
        "acked appends found / acked",
        shown=("lost", "forks", "server_error"),
    )
    with timed(tally), tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        work = Path(tmp)
        with database(backend, server_url, work) as url:

            def progress(r: int, findings: Findings) -> None:
                say(f"crash on {backend}: kill {r + 1} of {kills}, {findings.acked:,} acked")

            run = crash_rounds(url, work, kills=kills, seed=seed, on_round=progress)
    final = run.rounds[-1]
    lost, moved = len(final.lost), len(final.moved)
    for _ in range(final.acked - lost - moved):
        tally.ok()
    if lost:
        tally.fail("lost", final.lost[0], count=lost)
    if moved:
        tally.fail("moved", final.moved[0], count=moved)
    for r, findings in enumerate(run.rounds):
        _problems(tally, findings, f"after kill {r + 1}")
    load = run.load
    if load.server_errors:
        tally.problem("server_error", load.server_errors[0], count=len(load.server_errors))
    for code, n in load.refusals.items():
        tally.problem("refused", code, count=n)
    tally.note("kills", kills)
    tally.note("requests cut off and sent again", load.in_doubt)
    tally.note("of which already written (409 replayed_id)", len(load.resumed_committed))
    tally.note("checkpoints verified", final.checkpoints)
    return tally


def run_concurrency(
    backend: str,
    server_url: str | None,
    *,
    writers: int,
    per_writer: int,
    races: int,
    batches: int,
    say: Say,
) -> Tally:
    """Many clients against two service processes on one database; count clear answers."""
    tally = Tally(
        "Concurrency: 2 processes, many clients",
        backend,
        "201 or clear 409 / requests",
        shown=("server_error", "forks", "duplicates"),
    )
    with timed(tally), tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        work = Path(tmp)
        with database(backend, server_url, work) as url:
            run = concurrency_run(
                url, work, writers=writers, per_writer=per_writer, races=races, batches=batches
            )
    load = run.load
    for _ in load.acked:
        tally.ok()
    for outcome in run.race.outcomes:
        statuses = sorted(s for s, _ in outcome)
        for status, code in outcome:
            if status == 409:
                tally.ok()
                tally.note(f"409 {code}")
        if statuses != [201, 409]:
            tally.problem("race_not_one_winner", str(outcome))
    for errors in load.server_errors:
        tally.fail("server_error", errors)
    for code, n in load.refusals.items():
        tally.fail("refused", code, count=n)
    if load.conflicts:
        tally.note("409 conflict, retried by the client", load.conflicts)
    for indexes in run.batches:
        if indexes != list(range(indexes[0], indexes[0] + len(indexes))):
            tally.problem("batch_split", str(indexes))
    f = run.findings
    if f.lost:
        tally.problem("lost", f.lost[0], count=len(f.lost))
    if f.entries != run.setup_entries + len(load.acked):
        tally.problem("unacknowledged_writes", f"{f.entries} entries")
    _problems(tally, f, "after the run")
    say(f"concurrency on {backend}: {tally.tried:,} requests")
    return tally
