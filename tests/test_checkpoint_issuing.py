"""Issuing a checkpoint does not hold up appends, and a checkpoint is published only with
its whole heads tree (issue 13; docs/store.md §6, docs/operations.md "Checkpoints").

``TransparencyLog.issue_checkpoint`` reads the size and the stream heads by one statement,
hashes the heads tree with no lock or transaction held, stores its rows in chunks of short
transactions and only then stores the checkpoint, which publishes the tree. These tests
hold or break an issue between two of those chunks, on SQLite (one write lock) and
PostgreSQL, with the chunks made small so that a small ledger's tree has several.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import ledger.heads
import ledger.transparency
from api.checkpointer import CHECKPOINT_SPACING, Checkpointer, checkpoint_due
from ledger import export
from ledger.bundle import dump_bundle
from ledger.export import export_bundle
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests.factories import World, standard_world
from tests.support.heads_tree import tree_rows

_WAIT = 30.0  # seconds: a bound on waiting for another thread, never reached when it works


@contextmanager
def _log(url: str) -> Iterator[tuple[TransparencyLog, World]]:
    store = open_store(url)
    try:
        log = TransparencyLog(LedgerService(store))
        world = standard_world(log.service)
        for person in ("alice", "bob"):
            world.do(world.claim(world[person]))
        yield log, world
    finally:
        store.close()


def _bundles(log: TransparencyLog, size: int) -> dict[str, str]:
    return {p: dump_bundle(export_bundle(log, p, size=size)) for p in ("alice", "bob")}


def _rebuilt(log: TransparencyLog, size: int) -> dict[str, str]:
    """The bundles of the tree built again from every stream's head (no stored tree)."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(export, "_from_tree", lambda *_: None)
        return _bundles(log, size)


def _uses_tree(log: TransparencyLog, size: int) -> bool:
    found = log.store.get_checkpoint(size)
    assert found is not None
    return export._from_tree(log, size, found[1], "alice") is not None


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trees of a few rows a transaction: the standard world's tree then has many."""
    monkeypatch.setattr(ledger.transparency, "TREE_CHUNK", 4)


class _Hold:
    """Blocks the ``at``-th call of a wrapped function until released (the caller runs on
    another thread), telling the test when it is held."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.calls = 0
        self.held = threading.Event()
        self.release = threading.Event()

    def wrap(self, function: Any) -> Any:
        def held(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.at:
                self.held.set()
                assert self.release.wait(_WAIT), "the test never released the issue"
            return function(*args, **kwargs)

        return held


def _issue_in_background(log: TransparencyLog, world: World) -> tuple[threading.Thread, list[Any]]:
    issued: list[Any] = []

    def issue() -> None:
        try:
            issued.append(log.issue_checkpoint(world.operator.identity))
        except BaseException as exc:  # handed to the test thread, which fails on it
            issued.append(exc)

    thread = threading.Thread(target=issue, name="issuing", daemon=True)
    thread.start()
    return thread, issued


def _append_while_held(log: TransparencyLog, world: World, hold: _Hold) -> int:
    """Append a claim while the issue is held; return its log index. Fails if the append
    does not complete within :data:`_WAIT` seconds while the issue is held."""
    assert hold.held.wait(_WAIT), "the issue never reached the point it is held at"
    appended: list[int] = []
    claim = world.claim(world["alice"], title="during the issue")
    writer = threading.Thread(target=lambda: appended.append(log.service.append(claim).log_index))
    writer.start()
    writer.join(_WAIT / 3)
    done_while_held = bool(appended)
    hold.release.set()  # whatever happened: let the issue go on
    writer.join(_WAIT)
    assert done_while_held, "the append waited for the issue"
    return appended[0]


def _issue_held(log: TransparencyLog, world: World, hold: _Hold) -> int:
    """Issue a checkpoint on another thread, append while ``hold`` holds it, let it finish;
    return its size, checked to be the log's size before the append (the moment the
    issue read), not after it."""
    size = log.size()
    thread, issued = _issue_in_background(log, world)
    assert _append_while_held(log, world, hold) == size
    thread.join(_WAIT)
    (signed,) = issued
    if isinstance(signed, BaseException):
        raise signed
    assert signed.size == size
    return size


def test_an_append_completes_while_an_issue_is_held_between_two_tree_chunks(
    database_url: str, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between two chunks of its tree the issue holds no lock and no transaction: an append
    (to the same store, in the same process) completes meanwhile; the checkpoint is then
    published at the size it read, with its whole tree, and exports read it."""
    with _log(database_url) as (log, world):
        hold = _Hold(at=2)
        monkeypatch.setattr(log.store, "put_heads_rows", hold.wrap(log.store.put_heads_rows))
        size = _issue_held(log, world, hold)
        assert hold.calls > 2  # the tree took several chunks
        assert log.store.heads_width(size) == len(_leaves_at(log, size))
        assert _uses_tree(log, size)
        assert _bundles(log, size) == _rebuilt(log, size)


def _leaves_at(log: TransparencyLog, size: int) -> list[Any]:
    """The leaves of the heads tree of ``size`` entries (from the log's replay)."""
    return sorted(log.heads_at(size))


def test_an_append_completes_while_an_issue_hashes_the_heads_tree(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heads are hashed with no lock held: an append in the same process completes
    while the issue is held in the middle of hashing them (earlier code hashed them under
    the service's lock, and every append of the process waited: 4-5 s at 10^6 entries)."""
    with _log(database_url) as (log, world):
        hold = _Hold(at=3)
        monkeypatch.setattr(ledger.heads, "head_leaf_data", hold.wrap(ledger.heads.head_leaf_data))
        _issue_held(log, world, hold)


def test_a_checkpoint_interrupted_mid_tree_is_never_served_and_the_next_issue_succeeds(
    database_url: str, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An issue that stops between two chunks of its tree (a crash, a lost connection)
    stored no checkpoint: the latest one is still the one before, with its tree and its
    bundles. The next issue completes the same size's tree (the rows written already are
    the same) and publishes it; the older tree is deleted."""
    with _log(database_url) as (log, world):
        first = log.issue_checkpoint(world.operator.identity).size
        before = _bundles(log, first)
        world.do(world.claim(world["bob"], title="after the first checkpoint"))
        size = log.size()
        writes = log.store.put_heads_rows
        calls = [0]

        def broken(*args: Any) -> None:
            calls[0] += 1
            if calls[0] == 3:
                raise ConnectionError("the database went away")
            writes(*args)

        monkeypatch.setattr(log.store, "put_heads_rows", broken)
        with pytest.raises(ConnectionError):
            log.issue_checkpoint(world.operator.identity)
        monkeypatch.undo()
        assert log.store.get_checkpoint() is not None
        assert log.checkpoint().size == first  # the interrupted one is not served
        assert log.store.checkpoint_sizes()[-1] == first
        assert log.store.heads_width(size) > 0  # part of its tree was written
        assert _uses_tree(log, first)
        assert _bundles(log, first) == before

        assert log.issue_checkpoint(world.operator.identity).size == size
        assert log.store.heads_width(size) == len(tree_rows(log).leaves)
        assert log.store.heads_width(first) == 0  # superseded: deleted
        assert _uses_tree(log, size)
        assert _bundles(log, size) == _rebuilt(log, size)


def test_a_checkpoint_is_published_once_per_size_and_never_after_a_larger_one(
    database_url: str,
) -> None:
    """Two processes issuing at once: the first checkpoint of a size is the one stored, and
    one of a smaller size is not stored after a larger one; each is told the latest."""
    with _log(database_url) as (log, _):
        size = log.size()
        assert log.store.publish_checkpoint(size, "first") == (size, "first")
        assert log.store.publish_checkpoint(size, "second") == (size, "first")
        assert log.store.publish_checkpoint(size - 1, "older") == (size, "first")
        assert log.store.checkpoint_sizes() == [size]


@pytest.mark.parametrize(
    ("age", "took", "due"),
    [
        (None, 0.0, True),  # no checkpoint yet
        (9.9, 0.0, False),  # younger than the interval
        (10.0, 0.0, True),
        (10.0, 0.5, True),  # a cheap issue: the interval decides
        (45.0, 4.6, False),  # 4.6 s at 10^6 entries: 46 s apart, about 10 % of a core
        (46.0, 4.6, True),
    ],
)
def test_a_round_signs_once_the_latest_checkpoint_is_ten_times_as_old_as_issuing_took(
    age: float | None, took: float, due: bool
) -> None:
    assert CHECKPOINT_SPACING == 10.0
    assert checkpoint_due(age=age, interval=10.0, took=took) is due


def test_a_round_waits_for_the_spacing_after_the_latest_checkpoint(database_url: str) -> None:
    """The checkpointer's round signs only once the latest stored checkpoint (by any
    process) is old enough: a checkpoint just signed, the log grown since, an hour's
    interval or a costly last issue: nothing; neither due: a new checkpoint."""
    with _log(database_url) as (log, world):
        first = log.issue_checkpoint(world.operator.identity).size
        world.do(world.claim(world["bob"], title="after the first checkpoint"))
        hourly = Checkpointer(log, world.operator.identity, origin=log.origin, interval=3600.0)
        assert hourly.round() is None
        costly = Checkpointer(log, world.operator.identity, origin=log.origin, interval=0.0)
        costly.took = 3600.0
        assert costly.round() is None
        assert log.store.checkpoint_sizes()[-1] == first
        due = Checkpointer(log, world.operator.identity, origin=log.origin, interval=0.0)
        signed = due.round()
        assert signed is not None
        assert signed.size == first + 1
        assert due.took > 0
