"""Read models kept live equal read models rebuilt from scratch; exactly-once tracking.

The ledger with its projector on one database, the table snapshots and the reference
implementation of what the read models must hold are in :mod:`tests.support.projections`.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from ledger.statement import SignedStatement
from projections import (
    READ_MODEL_NAMES,
    Projector,
    ProjectorBusy,
    TrackingConflict,
    UnknownReadModel,
    writing,
)
from projections.db import CATCH_UP_LOCK, exclusive
from projections.matching import tables as mt
from projections.portfolio import tables as pf
from projections.reputation import tables as rep
from projections.runner import REFRESH_SPACING, trim_heap
from projections.tracking import refresh_cost_table, tracking_table
from tests.factories import random_statements
from tests.support.projections import AT, check_against_reference, ledger_env, snapshot


class SimulatedCrash(RuntimeError):
    """Raised inside a projector's transaction to simulate a crash mid-batch."""


def crash_on_batch(projector: Projector, model: str, nth: int) -> None:
    """Make ``projector`` raise inside its ``nth`` write transaction, after ``model`` wrote."""
    target = projector.models[model]
    calls = {"n": 0}
    real_write = target.write

    def write(conn: Any, batch: Any) -> None:
        real_write(conn, batch)
        calls["n"] += 1
        if calls["n"] == nth:
            raise SimulatedCrash(f"crash after {model} wrote batch {nth}")

    target.write = write  # type: ignore[method-assign]


# -- the properties ---------------------------------------------------------------------------

_RUN = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "size": st.integers(8, 45),
        "cuts": st.lists(st.integers(1, 44), max_size=4),
        "batch": st.integers(1, 9),
        "stops": st.lists(st.integers(1, 12), max_size=3),
        "crash": st.none()
        | st.tuples(st.sampled_from(["portfolio", "reputation", "matching"]), st.integers(1, 3)),
    }
)


def _survive(projector: Projector, *, max_entries: int | None = None) -> bool:
    """Catch up; return False if the (simulated) crash happened."""
    try:
        projector.catch_up(max_entries=max_entries)
    except SimulatedCrash:
        return False
    return True


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run=_RUN)
def test_live_read_models_equal_rebuilt_ones(database_url: str, run: dict[str, Any]) -> None:
    """Entries applied live, in random batches, with stops and a crash, give the same tables
    as a rebuild from position 0; both agree with the reference built from the rules' state."""
    world, statements = random_statements(
        random.Random(run["seed"]), run["size"], seed=str(run["seed"])
    )
    with ledger_env(database_url, batch_size=run["batch"]) as env:
        cuts = sorted({c for c in run["cuts"] if c < len(statements)} | {len(statements)})
        stops = list(run["stops"])
        start = 0
        projector = env.projector
        if run["crash"] is not None:
            crash_on_batch(projector, *run["crash"])
        for cut in cuts:
            env.append(statements[start:cut])
            start = cut
            if stops:  # stop after some entries: a restart resumes from the tracking records
                _survive(projector, max_entries=stops.pop())
                projector = env.new_projector(batch_size=run["batch"])
            if not _survive(projector):
                projector = env.new_projector(batch_size=run["batch"])
                projector.catch_up()
        projector.refresh(at=AT)
        live = snapshot(env.engine)
        last = env.store.max_position()
        assert projector.positions() == dict.fromkeys(projector.models, last)
        check_against_reference(env.engine, world.state)
        # A fresh projector rebuilds: the crash planted in the first one may not have
        # fired yet (too few batches), and would fire inside the rebuild instead.
        projector = env.new_projector(batch_size=run["batch"])
        projector.rebuild()
        projector.refresh(at=AT)
        assert snapshot(env.engine) == live


def test_rebuild_of_one_read_model_leaves_the_others(database_url: str) -> None:
    _, statements = random_statements(random.Random(5), 30, seed="one")
    with ledger_env(database_url, batch_size=7) as env:
        env.append(statements)
        env.projector.catch_up()
        before = snapshot(env.engine)
        with writing(env.engine) as conn:  # damage two read models behind the projector's back
            conn.execute(pf.contributions.delete())
            conn.execute(mt.skills.delete())
        env.projector.rebuild(["portfolio"])
        after = snapshot(env.engine)
        assert after["pf_contributions"] == before["pf_contributions"]
        assert after["mt_skills"] == []
        env.projector.rebuild(["matching"])
        assert snapshot(env.engine)["mt_skills"] == before["mt_skills"]


def test_each_entry_is_applied_once_across_restarts(database_url: str) -> None:
    """The tracking record moves with the rows: a rolled-back batch leaves both unchanged."""
    _, statements = random_statements(random.Random(11), 25, seed="once")
    with ledger_env(database_url, batch_size=4) as env:
        env.append(statements)
        crash_on_batch(env.projector, "matching", 2)
        with pytest.raises(SimulatedCrash):
            env.projector.catch_up()
        positions = env.projector.positions()
        assert len(set(positions.values())) == 1  # one transaction moved all three, or none
        with env.engine.connect() as conn:
            contributions = conn.execute(select(pf.contributions)).all()
        applied = positions["portfolio"]
        claimed = {
            s.statement.id
            for s in statements[:applied]
            if s.statement.type == "ContributionClaimed"
        }
        assert {r.id for r in contributions} <= claimed
        env.new_projector(batch_size=4).catch_up()
        assert env.new_projector().catch_up().applied == 0


def test_a_second_projector_cannot_apply_the_same_entries_again(database_url: str) -> None:
    _, statements = random_statements(random.Random(2), 12, seed="race")
    with ledger_env(database_url) as env:
        env.append(statements)
        first = env.projector
        second = env.new_projector()
        stale = second.positions()  # the second projector read its positions...
        first.catch_up()  # ...then the first applied everything
        entries = second.log.read(after=0, limit=5)
        models = second.select(None)
        with pytest.raises(TrackingConflict) as caught:
            second._apply(models, dict(stale), entries)
        assert caught.value.expected == 0
        assert second.catch_up().applied == 0  # it re-reads its positions and finds nothing to do


def test_tracking_recorder_follows_the_library_contract(database_url: str) -> None:
    _, statements = random_statements(random.Random(3), 10, seed="contract")
    with ledger_env(database_url) as env:
        env.append(statements)
        view = env.projector.models["portfolio"].view
        assert view.max_tracking_id("ledger") is None
        env.projector.catch_up()
        last = env.store.max_position()
        assert view.max_tracking_id("ledger") == last
        assert view.has_tracking_id("ledger", last)
        env.projector.wait(last, timeout=1)
        with pytest.raises(TimeoutError):
            view.wait("ledger", last + 1, timeout=0.2)
        with env.engine.connect() as conn:
            rows = {tuple(r) for r in conn.execute(select(tracking_table))}
        assert rows == {(name, "ledger", last) for name in ("portfolio", "reputation", "matching")}


def test_process_event_applies_one_entry_exactly_once(database_url: str) -> None:
    from eventsourcing.persistence import Tracking

    _, statements = random_statements(random.Random(4), 8, seed="single")
    with ledger_env(database_url) as env:
        env.append(statements)
        model = env.projector.models["portfolio"]
        for entry in env.projector.log.read(after=0, limit=100):
            model.process_event(entry, Tracking("ledger", entry.position))
            model.process_event(entry, Tracking("ledger", entry.position))  # a replay: skipped
        reference = snapshot(env.engine)
        env.projector.rebuild(["portfolio"])
        rebuilt = snapshot(env.engine)
        assert {k: v for k, v in rebuilt.items() if k.startswith("pf_")} == {
            k: v for k, v in reference.items() if k.startswith("pf_")
        }


def test_follow_keeps_read_models_current_and_stops(database_url: str) -> None:
    world, statements = random_statements(random.Random(8), 30, seed="follow")
    with ledger_env(database_url, batch_size=50) as env:
        env.append(statements[:10])
        stop = threading.Event()
        seen: list[int] = []
        follower = threading.Thread(
            target=env.projector.follow,
            args=(stop,),
            kwargs={
                "interval": 0.02,
                "refresh_every": 0.0,
                "on_catch_up": lambda r: seen.append(r.applied),
            },
        )
        follower.start()
        try:
            env.append(statements[10:])
            env.projector.wait(env.store.max_position(), timeout=20)
        finally:
            stop.set()
            follower.join(timeout=20)
        assert not follower.is_alive()
        assert sum(seen) == len(statements)
        check_against_reference(env.engine, world.state)
        with env.engine.connect() as conn:
            refreshed = conn.execute(select(rep.refresh_state.c.position)).scalar_one()
        assert refreshed == env.store.max_position()


def test_unknown_read_model_is_refused(database_url: str) -> None:
    with ledger_env(database_url) as env, pytest.raises(UnknownReadModel):
        env.projector.rebuild(["dossiers"])


def test_read_models_never_store_what_the_log_does_not_say(sqlite_url: str) -> None:
    """Personal fields are stored as disclosed; a withheld one is stored as withheld (null)."""
    _world, statements = random_statements(random.Random(9), 12, seed="withheld")
    claim = next(s for s in statements if s.statement.type == "ContributionClaimed")
    withheld = SignedStatement(
        claim.statement, claim.signature, tuple(d for d in claim.disclosures if d.field != "title")
    )
    statements = [withheld if s is claim else s for s in statements]
    with ledger_env(sqlite_url) as env:
        env.append(statements)
        env.projector.catch_up()
        with env.engine.connect() as conn:
            row = conn.execute(
                select(pf.contributions).where(pf.contributions.c.id == claim.statement.id)
            ).one()
        stored = json.loads(row.personal)
        assert stored["title"] is None
        assert stored["description"] == claim.disclosed()["description"]


def test_refresh_is_due_only_after_new_entries_and_once_per_interval(database_url: str) -> None:
    """What every service process asks before it recomputes the reputation snapshots: the
    stored mark is shared, so one process's refresh spares the others theirs (issue 13)."""
    _, statements = random_statements(random.Random(8), 40, seed="due")
    with ledger_env(database_url) as env:
        env.append(statements[:20])
        env.projector.catch_up()
        assert env.projector.refresh_due(every=30, at=AT)  # never refreshed
        env.projector.refresh(at=AT)
        other = env.new_projector()  # another process over the same database
        assert not other.refresh_due(every=30, at=AT + 3600)  # nothing new since
        env.append(statements[20:])
        other.catch_up()
        assert not other.refresh_due(every=30, at=AT + 29)  # refreshed 29 s ago
        assert other.refresh_due(every=30, at=AT + 30)
        other.refresh(at=AT + 30)
        assert not env.projector.refresh_due(every=30, at=AT + 3600)
        assert env.projector.refreshed() == other.refreshed()


def test_trim_heap_gives_freed_memory_back() -> None:
    """What a refresh frees goes back to the operating system (glibc's ``malloc_trim``, on
    the Linux this runs on): 50 MB of blocks below the mmap threshold, freed beneath one
    still held, stay in the process's resident memory until trimmed."""

    def resident_mib() -> int:
        with open("/proc/self/status") as status:
            line = next(x for x in status if x.startswith("VmRSS:"))
        return int(line.split()[1]) // 1024

    blocks = [bytearray(100_000) for _ in range(500)]
    held = bytearray(100_000)
    del blocks
    freed = resident_mib()
    assert trim_heap()
    assert resident_mib() < freed - 40
    assert len(held) == 100_000


def test_a_refresh_is_due_no_sooner_than_ten_times_its_duration(database_url: str) -> None:
    """Every process spaces the refreshes by the duration the last one recorded, whoever ran
    it: a refresh that took 20 s is due again 200 s after it, not after ``every`` (issue 13)."""
    _, statements = random_statements(random.Random(8), 40, seed="spacing")
    with ledger_env(database_url) as env:
        env.append(statements[:20])
        env.projector.catch_up()
        env.projector.refresh(at=AT)
        took = env.projector.refresh_seconds()
        assert set(took) == {"reputation", "matching"}
        assert all(s >= 0 for s in took.values())
        with env.engine.begin() as conn:  # as if the refresh had taken 20 s
            conn.execute(update(refresh_cost_table).values(seconds=20.0))
        other = env.new_projector()  # another process over the same database
        env.append(statements[20:])
        other.catch_up()
        assert REFRESH_SPACING * 20.0 == 200.0
        assert not other.refresh_due(every=30, at=AT + 199)
        assert other.refresh_due(every=30, at=AT + 200)
        with env.engine.begin() as conn:  # a quick refresh: ``every`` bounds it again
            conn.execute(update(refresh_cost_table).values(seconds=0.5))
        assert not other.refresh_due(every=30, at=AT + 29)
        assert other.refresh_due(every=30, at=AT + 30)


def test_each_refresh_step_is_spaced_by_its_own_duration(database_url: str) -> None:
    """A quick step that is due (matching) does not make a slow one (reputation) run with
    it: at 10^6 entries the service refreshed reputation (8 s) every 30 s, because the
    matching step (9 ms) was due and the cycle ran every step (issue 13)."""
    _, statements = random_statements(random.Random(9), 40, seed="spacing-each")
    with ledger_env(database_url) as env:
        env.append(statements[:20])
        env.projector.catch_up()
        env.projector.refresh(at=AT)
        with env.engine.begin() as conn:
            conn.execute(update(refresh_cost_table).values(seconds=0.01))
            conn.execute(
                update(refresh_cost_table)
                .where(refresh_cost_table.c.read_model == "reputation")
                .values(seconds=20.0)
            )
        env.append(statements[20:])
        env.projector.catch_up()
        before = env.projector.refreshed()
        assert env.projector.due_refreshes(every=30, at=AT + 35) == ["matching"]
        env.projector.refresh(["matching"], at=AT + 35)
        after = env.projector.refreshed()
        assert after["reputation"] == before["reputation"]
        assert after["matching"] == (env.store.max_position(), AT + 35)
        assert env.projector.due_refreshes(every=30, at=AT + 199) == []
        assert env.projector.due_refreshes(every=30, at=AT + 200) == ["reputation"]


@pytest.mark.postgres
def test_one_process_at_a_time_catches_up_on_postgres(postgres_server_url: str) -> None:
    """A second projector waits for the catch-up lock, then finds the entries applied; one
    that waits too long is told so (ProjectorBusy) and applies nothing."""
    from tests import pgcluster

    _, statements = random_statements(random.Random(9), 20, seed="lock")
    with pgcluster.fresh_database(postgres_server_url) as url, ledger_env(url) as env:
        env.append(statements)
        first, second = env.projector, env.new_projector()
        with exclusive(env.engine, CATCH_UP_LOCK, timeout=5):  # another process catching up
            second.lock_wait = 0.2
            with pytest.raises(ProjectorBusy):
                second.catch_up()
            assert second.positions() == dict.fromkeys(READ_MODEL_NAMES, 0)
            results: list[Any] = []
            second.lock_wait = 30
            waiting = threading.Thread(target=lambda: results.append(second.catch_up()))
            waiting.start()
            first.lock_wait = 0.2
            with pytest.raises(ProjectorBusy):
                first.catch_up()
        waiting.join(30)
        assert [r.applied for r in results] == [len(statements)]
        assert first.catch_up().applied == 0
