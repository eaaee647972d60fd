"""A service's start does not recompute the reputation snapshots (issue 13).

The refresh scores every person of the ledger: run before the first answer, it made a
service's start grow with the ledger (0.7 s of CPU at 10^4 entries, once any entry had
come in since the last refresh). :meth:`api.readmodels.ReadModels.start` now leaves a
due refresh to its background thread, ``refresh_every`` seconds after the start; only read
models never refreshed (no snapshots to serve) are refreshed at start.
"""

from __future__ import annotations

import random
import time

from api.readmodels import ReadModels
from tests.factories import random_statements
from tests.support.projections import ledger_env


def test_start_leaves_a_due_refresh_to_the_background_thread(sqlite_url: str) -> None:
    _, statements = random_statements(random.Random(13), 40, seed="start")
    with ledger_env(sqlite_url) as env:
        env.append(statements[:20])
        env.projector.catch_up()
        env.projector.refresh(at=int(time.time()) - 3600)  # an hour ago, by another process
        env.append(statements[20:])
        mark = env.projector.refreshed()
        models = ReadModels(env.store, log_size=lambda: env.service.state.size, interval=3600)
        try:
            models.start()
            assert models.projector.refresh_due(every=30)  # due, yet not done at start
            assert models.projector.refreshed() == mark
            end = env.store.max_position()
            assert set(models.projector.positions().values()) == {end}  # caught up
        finally:
            models.close()

        following = ReadModels(
            env.store, log_size=lambda: env.service.state.size, interval=0.05, refresh_every=1
        )
        try:
            following.start()
            deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
            while following.projector.refreshed() == mark and time.monotonic() < deadline:
                time.sleep(0.05)
            assert following.projector.refreshed() != mark  # the background thread did it
            assert not following.projector.refresh_due(every=1)
        finally:
            following.close()


def test_read_models_never_refreshed_are_refreshed_at_start(sqlite_url: str) -> None:
    _, statements = random_statements(random.Random(14), 20, seed="fresh")
    with ledger_env(sqlite_url) as env:
        env.append(statements)
        models = ReadModels(env.store, log_size=lambda: env.service.state.size, interval=3600)
        try:
            models.start()
            marks = models.projector.refreshed()
            assert marks
            assert None not in marks.values()
        finally:
            models.close()
