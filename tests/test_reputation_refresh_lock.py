"""The reputation refresh computes outside any transaction: appends and catch-up go on
meanwhile, its mark is the position it read, and an older refresh never overwrites a newer."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from projections.reputation import model as rep_model
from projections.reputation import tables as rep
from tests.factories import World, standard_cast
from tests.support.projections import AT, LedgerEnv, ledger_env

_WAIT_S = 10.0
"""How long a write may take while the refresh computes (it takes well under a second
when nothing holds the write lock; the old refresh held it for as long as it computed)."""


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[World, LedgerEnv]]:
    with ledger_env(database_url, batch_size=100) as env:
        w = World(env.service, seed="refresh-lock")
        w.do_all(standard_cast(w))  # bob manages minbzk/dgo
        work = w.do(w.claim(w["alice"], skills=["python"])).statement.id
        w.do(w.endorse(w["bob"], w["alice"], work, grade=5, role="manager"))
        env.projector.catch_up()
        yield w, env


@contextmanager
def _refresh_held(env: LedgerEnv, monkeypatch: pytest.MonkeyPatch, *, at: int) -> Iterator[None]:
    """For the block, a reputation refresh as of ``at`` on another thread, held while it
    computes (its first scoring waits; later refreshes score freely); finished after."""
    computing, release = threading.Event(), threading.Event()
    score: Callable[..., Any] = rep_model.score_columns
    calls = itertools.count()

    def held(*args: Any, **kwargs: Any) -> Any:
        if next(calls) == 0:
            computing.set()
            assert release.wait(4 * _WAIT_S), "the test never released the refresh"
        return score(*args, **kwargs)

    monkeypatch.setattr(rep_model, "score_columns", held)
    with ThreadPoolExecutor(max_workers=1) as pool:
        refreshing = pool.submit(env.projector.refresh, ["reputation"], at=at)
        try:
            assert computing.wait(_WAIT_S)
            yield
        finally:
            release.set()
        refreshing.result(timeout=4 * _WAIT_S)


def _mark(env: LedgerEnv) -> tuple[int, int] | None:
    with env.engine.connect() as conn:
        return env.projector.models["reputation"].refreshed(conn)  # type: ignore[attr-defined, no-any-return]


def _endorse_and_catch_up(w: World, env: LedgerEnv) -> int:
    """One more endorsement appended through the ledger service and applied to the read
    models, within ``_WAIT_S`` (on a thread of its own); the log position it got."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(_endorse, w, env).result(timeout=_WAIT_S)  # TimeoutError: blocked
    finally:
        pool.shutdown(wait=False)  # a blocked one finishes once the refresh is released


def _endorse(w: World, env: LedgerEnv) -> int:
    work = w.do(w.claim(w["carol"], skills=["sql"])).statement.id
    w.do(w.endorse(w["alice"], w["carol"], work, grade=4, role="peer"))
    env.projector.catch_up()
    return env.store.max_position()


def test_appends_and_catch_up_go_on_while_the_refresh_computes(
    world: tuple[World, LedgerEnv], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, env = world
    read = env.store.max_position()
    with _refresh_held(env, monkeypatch, at=AT):
        moved = _endorse_and_catch_up(w, env)
    assert moved > read
    # The results reflect the facts as read: the mark is that position, behind the read
    # model, so the refresh is due again and the next one counts the new endorsement.
    assert _mark(env) == (read, AT)
    assert env.projector.positions(["reputation"]) == {"reputation": moved}
    env.projector.refresh(["matching"], at=AT)  # so only the reputation refresh is behind
    assert env.projector.refresh_due(every=0, at=AT + 10**6)
    with env.engine.connect() as conn:
        sql = select(func.count()).select_from(rep.scores).where(rep.scores.c.skill == "sql")
        assert conn.execute(sql).scalar_one() == 0
    env.projector.refresh(["reputation"], at=AT + 1)
    assert _mark(env) == (moved, AT + 1)
    assert not env.projector.refresh_due(every=0, at=AT + 10**6)
    with env.engine.connect() as conn:
        assert conn.execute(sql).scalar_one() == 1


def test_a_refresh_over_older_facts_does_not_overwrite_a_newer_one(
    world: tuple[World, LedgerEnv], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, env = world
    read = env.store.max_position()
    with _refresh_held(env, monkeypatch, at=AT):  # the older refresh
        moved = _endorse_and_catch_up(w, env)
        env.projector.refresh(["reputation"], at=AT + 1)  # another process's, say
        newer = _mark(env)
        with env.engine.connect() as conn:
            scores = sorted(tuple(r) for r in conn.execute(select(rep.scores)))
    assert moved > read
    assert newer == (moved, AT + 1)
    assert _mark(env) == newer
    with env.engine.connect() as conn:
        assert sorted(tuple(r) for r in conn.execute(select(rep.scores))) == scores
