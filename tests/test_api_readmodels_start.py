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
            # each read model's refresh step stores its own mark, one after the other
            while time.monotonic() < deadline and any(
                now == mark[name] for name, now in following.projector.refreshed().items()
            ):
                time.sleep(0.05)
            now = following.projector.refreshed()
            assert all(now[name] != mark[name] for name in mark)  # the background thread did it
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


def test_a_catch_up_for_an_older_log_size_applies_nothing_and_skips_nothing(
    sqlite_url: str,
) -> None:
    """Two requests read the log's size, then catch up in the opposite order: the one with
    the older size finds its entries applied (no second catch-up, nor a third for the
    newer size once the applied size went back), and nothing is skipped or applied twice."""
    _, statements = random_statements(random.Random(15), 30, seed="older")
    with ledger_env(sqlite_url) as env:
        env.append(statements[:20])
        older = env.service.state.size
        env.append(statements[20:])
        newer = env.service.state.size
        models = ReadModels(env.store, log_size=lambda: env.service.state.size, interval=3600)
        runs: list[int] = []
        catch_up = models.projector.catch_up

        def counted() -> object:
            done = catch_up()
            runs.append(done.applied)
            return done

        models.projector.catch_up = counted  # type: ignore[method-assign,assignment]
        try:
            models.catch_up(newer)
            models.catch_up(older)
            models.catch_up(newer)
            assert runs == [env.store.count_nodes(0)]  # every entry, once
            end = env.store.max_position()
            assert set(models.projector.positions().values()) == {end}
        finally:
            models.close()
