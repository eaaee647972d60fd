"""The reputation refresh writes a new generation of its results in short transactions and
publishes it in one small one (projections/reputation/generations.py): an append never
waits for the whole swap, readers see one complete refresh's results throughout, a refresh
that dies half-way leaves nothing a reader sees, and two refreshes publish in turn."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from projections.reputation import generations
from projections.reputation import model as rep_model
from projections.reputation import tables as rep
from projections.reputation.queries import explain, snapshot_scores
from projections.verify import verify_read_models
from tests.factories import World, standard_cast
from tests.support.projections import AT, LedgerEnv, ledger_env

_WAIT_S = 10.0
"""How long an append may take while the refresh is held (well under a second when nothing
holds the write lock)."""
_ASKED = [("alice", "python"), ("carol", "sql"), ("alice", "sql"), ("carol", "python")]
_PEOPLE = ("alice", "bob", "carol", "dave")


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[World, LedgerEnv]]:
    """Ratings among alice, bob (manager of minbzk/dgo), carol and dave, caught up."""
    with ledger_env(database_url, batch_size=100) as env:
        w = World(env.service, seed="generations")
        w.do_all(standard_cast(w))
        python = w.do(w.claim(w["alice"], skills=["python", "sql"])).statement.id
        sql = w.do(w.claim(w["carol"], skills=["sql", "python"])).statement.id
        w.do(w.endorse(w["bob"], w["alice"], python, grade=5, role="manager"))
        w.do(w.endorse(w["bob"], w["carol"], sql, grade=3, role="manager"))
        w.do(w.endorse(w["carol"], w["alice"], python, grade=4, role="peer"))
        w.do(w.endorse(w["alice"], w["carol"], sql, grade=5, role="peer"))
        env.projector.catch_up()
        yield w, env


def _more_ratings(w: World, env: LedgerEnv) -> None:
    """Ratings that change the scores of the next refresh."""
    work = w.do(w.claim(w["alice"], skills=["sql"])).statement.id
    w.do(w.endorse(w["bob"], w["alice"], work, grade=2, role="manager"))
    w.do(w.endorse(w["carol"], w["alice"], work, grade=1, role="peer"))
    env.projector.catch_up()


def _answers(env: LedgerEnv) -> tuple[list[Any], dict[str, Any]]:
    """What readers are told: explained scores and the refreshed score snapshots."""
    with env.engine.connect() as conn:
        explained = [explain(conn, person, skill, at=AT) for person, skill in _ASKED]
        return explained, {p: snapshot_scores(conn, p) for p in _PEOPLE}


def _rows_of(env: LedgerEnv, generation: int) -> int:
    with env.engine.connect() as conn:
        return sum(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.generation == generation)
            ).scalar_one()
            for table in rep.GENERATION_TABLES
        )


def _allocated(env: LedgerEnv) -> int:
    with env.engine.connect() as conn:
        return int(conn.execute(select(rep.generation.c.allocated)).scalar_one())


def _published(env: LedgerEnv) -> int:
    with env.engine.connect() as conn:
        return rep.published(conn)


def test_an_append_completes_while_the_refresh_is_held_between_two_chunk_writes(
    world: tuple[World, LedgerEnv], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh is held after writing ``rep_raters`` and before ``rep_cliques``: an
    append (and its catch-up) goes through meanwhile. (Run against the refresh that swapped
    everything in one transaction, this fails on SQLite: the append waits for its write
    lock.)"""
    w, env = world
    holding, release = threading.Event(), threading.Event()
    pairs: Callable[..., Any] = rep_model._pair_rows
    calls = itertools.count()

    def held(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        if next(calls) == 0:  # rep_cliques: rep_raters is written
            holding.set()
            assert release.wait(4 * _WAIT_S), "the test never released the refresh"
        yield from pairs(*args, **kwargs)

    monkeypatch.setattr(rep_model, "_pair_rows", held)
    before = env.store.max_position()
    with ThreadPoolExecutor(max_workers=2) as pool:
        refreshing = pool.submit(env.projector.refresh, ["reputation"], at=AT)
        try:
            assert holding.wait(_WAIT_S)
            appended = pool.submit(_more_ratings, w, env)
            appended.result(timeout=_WAIT_S)  # TimeoutError: the append waited
        finally:
            release.set()
        refreshing.result(timeout=4 * _WAIT_S)
    assert env.store.max_position() > before
    assert env.projector.positions(["reputation"]) == {"reputation": env.store.max_position()}


def test_readers_see_one_complete_generation_throughout_a_refresh(
    world: tuple[World, LedgerEnv], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between every two of the refresh's transactions (rows written two at a time), the
    answers are those before the refresh until it publishes, then those after it: never a
    mixture, never an emptied table."""
    w, env = world
    env.projector.refresh(["reputation"], at=AT)
    _more_ratings(w, env)
    before = _answers(env)
    assert all(before[1][p] for p in ("alice", "carol"))  # scores to lose, were they emptied
    seen: list[tuple[list[Any], dict[str, Any]]] = []
    monkeypatch.setattr(generations, "WRITE_ROWS", 2)
    monkeypatch.setattr(generations, "pause", lambda took: seen.append(_answers(env)))
    env.projector.refresh(["reputation"], at=AT)
    after = _answers(env)
    assert after != before
    assert len(seen) > 10
    switched = next(i for i, answers in enumerate(seen) if answers != before)
    assert switched > 0  # the new generation was written while readers read the old one
    assert all(answers == after for answers in seen[switched:])  # then the new one only
    assert _published(env) == 2


def test_a_refresh_that_dies_half_way_is_not_seen_and_the_next_one_removes_it(
    world: tuple[World, LedgerEnv], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, env = world
    env.projector.refresh(["reputation"], at=AT)
    _more_ratings(w, env)
    before = _answers(env)
    steps = itertools.count()

    def dies(took: float) -> None:
        if next(steps) == 3:
            raise RuntimeError("the process died")

    monkeypatch.setattr(generations, "WRITE_ROWS", 2)
    monkeypatch.setattr(generations, "pause", dies)
    with pytest.raises(RuntimeError, match="died"):
        env.projector.refresh(["reputation"], at=AT)
    dead = _allocated(env)
    assert _rows_of(env, dead) > 0  # part of a generation, never published
    assert _published(env) == dead - 1
    assert _answers(env) == before
    verify_read_models(env.projector.log, env.engine)  # the live read model is as it was

    monkeypatch.setattr(generations, "pause", lambda took: None)
    env.projector.refresh(["reputation"], at=AT)
    assert _published(env) == dead + 1
    assert _rows_of(env, dead) == 0
    assert _rows_of(env, dead - 1) > 0  # the one it replaced stays until the next refresh
    assert _answers(env) != before
    verify_read_models(env.projector.log, env.engine)
    env.projector.refresh(["reputation"], at=AT + 1)
    assert _rows_of(env, dead - 1) == 0


def test_two_refreshes_publish_in_turn_and_the_older_generation_is_not_published(
    world: tuple[World, LedgerEnv], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh held while it writes its generation; another (as another service process
    would) refreshes meanwhile and publishes a later generation. The first then publishes
    nothing and removes what it wrote."""
    w, env = world
    env.projector.refresh(["reputation"], at=AT)
    _more_ratings(w, env)
    holding, release = threading.Event(), threading.Event()
    steps = itertools.count()

    def held(took: float) -> None:
        if next(steps) == 1:  # the first refresh, two chunks written
            holding.set()
            assert release.wait(4 * _WAIT_S), "the test never released the refresh"

    monkeypatch.setattr(generations, "WRITE_ROWS", 2)
    monkeypatch.setattr(generations, "pause", held)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(env.projector.refresh, ["reputation"], at=AT + 1)
        try:
            assert holding.wait(_WAIT_S)
            older = _allocated(env)
            assert _rows_of(env, older) > 0
            env.projector.refresh(["reputation"], at=AT + 2)  # the other process's
            newer = _answers(env)
        finally:
            release.set()
        first.result(timeout=4 * _WAIT_S)
    assert _published(env) == older + 1
    assert env.projector.refreshed()["reputation"] == (env.store.max_position(), AT + 2)
    assert _rows_of(env, older) == 0
    assert _answers(env) == newer
    verify_read_models(env.projector.log, env.engine)
