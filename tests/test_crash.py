"""Crashes: a real service process, killed with SIGKILL under load, loses nothing it acknowledged.

:class:`~tests.support.crash.Service` runs :func:`api.app.create_app` under uvicorn in a
subprocess on a loopback port, with the operator's key (so it signs checkpoints as the log
grows, every 0.3 s) and no rate limits. :class:`~tests.support.crash.Writer` threads POST
signed statements built with :mod:`ledger.commands` — each writer claims contributions on
its own record (its own stream) and endorses contributions on alice's record (a stream all
writers share) — and keep what the service acknowledged (201). A request that dies with
the server is *in doubt*: after the restart the writer sends the very same signed
statement again, and the answer is either 201 (it had not been written) or 409
``replayed_id`` (it had): the client resumes without losing or duplicating anything.

Each round: the load runs, the process is killed at a random moment, and while it is down
:func:`~tests.support.crash.check_ledger` opens the database itself and checks that every
acknowledged entry is there at its log index with its hash, that no statement id appears
twice and no stream forked or has a gap, that the audit passes, and that every stored
checkpoint verifies under the operator's key and extends the ones a monitor saw before the
crash; then the service is restarted and the writers resume. After the last kill the read
models, whose follower was killed mid-batch as often as the service, must also equal a
fresh rebuild.

The CI run kills each backend's service three times; ``bench/reliability`` runs the
long version with the same classes (:mod:`tests.support.crash`).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.crash import crash_rounds

# -- the CI-sized test ------------------------------------------------------------------------


def test_kill_9_under_load_loses_no_acknowledged_entry(database_url: str, tmp_path: Path) -> None:
    run = crash_rounds(database_url, tmp_path, kills=3, seed=7)
    load = run.load
    for r, findings in enumerate(run.rounds):
        assert findings.problems() == {}, f"round {r}: {findings.problems()}"
        assert findings.acked <= findings.entries
    final = run.rounds[-1]
    assert final.checkpoints > 0
    assert load.acked, "the load made no progress"
    assert load.in_doubt >= 1, "no request was cut off by a kill"
    assert load.server_errors == []
    assert load.refusals == {}, load.refusals
    assert len({a.log_index for a in load.acked}) == len(load.acked)
