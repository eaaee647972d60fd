"""A checkpoint's heads tree hashed and stored in a short-lived child process, the operator's
key staying in the service, and checkpoints on demand issued only when needed and shared by
the requests at the same time (issue 13; :mod:`ledger.tree_child`, :mod:`api.checkpointer`).

With real child processes on both backends: a checkpoint whose tree a child stored is byte
for byte the one issued in process (tree, root, note, every export); a child killed in the
middle publishes nothing and the next round succeeds; a child is handed no secret of the
service. The on-demand checkpoints are counted (``Checkpointer.issued``), never timed.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import random
import resource
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import ledger.transparency
from api.checkpointer import CHECKPOINT_SPACING, Checkpointer
from api.errors import ApiError
from keys import Identity
from ledger.bundle import load_bundle, verify_bundle
from ledger.child_process import ChildFailed
from ledger.service import LedgerService
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests.factories import World, random_statements, standard_world
from tests.support.api_server import UNLIMITED, live_server, login, make_cast, operator_member
from tests.support.child_processes import await_child, await_waiting, writes_held
from tests.support.heads_tree import (
    TreeRows,
    export_by,
    operator_key,
    stored_rows,
    tree_rows,
    uses_tree,
)

_CHILD = b"ledger.tree_child_main"
_WAIT = 60.0  # seconds: a bound on waiting for another thread, never reached when it works
_RECORDED = "2026-12-07T00:00:00Z"  # the entries' time, the same in two ledgers
_SIGNED = "2026-12-07T00:10:00Z"  # the checkpoints' time, the same in two ledgers
# what the child's tree waits for on PostgreSQL: its first leaves' insert
_HOLD_TREE = "LOCK TABLE ledger_heads_leaves IN SHARE MODE"


@contextmanager
def _ledger(url: str) -> Iterator[TransparencyLog]:
    store = open_store(url)
    try:
        yield TransparencyLog(LedgerService(store, clock=lambda: _RECORDED))
    finally:
        store.close()


def _sorted(rows: TreeRows) -> TreeRows:
    return TreeRows(sorted(rows.leaves), sorted(rows.nodes))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_a_tree_a_child_stored_gives_the_checkpoint_and_exports_of_one_in_process(
    fresh_url: Callable[[], AbstractContextManager[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ledgers of the same entries: the checkpoint whose tree a child stored (through
    the service's checkpointer) has the tree rows, root and note of the one issued in
    process, byte for byte, and so has every person's export from it."""
    world, statements = random_statements(random.Random(13), 40, seed="tree-child")
    monkeypatch.setattr(ledger.transparency, "utc_timestamp", lambda: _SIGNED)
    with (
        fresh_url() as here_url,
        fresh_url() as there_url,
        _ledger(here_url) as here,
        _ledger(there_url) as there,
    ):
        for log in (here, there):
            log.service.append_batch(statements)
        size = here.size()
        assert here.root(size) == there.root(size)
        key = operator_key(world, here.service)
        in_process = here.issue_checkpoint(key)
        before = _children_cpu()
        checkpointer = Checkpointer(there, key, origin=there.origin, interval=0.0, issue_in="child")
        in_child = checkpointer.ensure_fresh()
        assert _children_cpu() > before  # a child ran (and was reaped)
        assert in_child is not None
        assert in_child.size == in_process.size == size
        assert in_child.note == in_process.note
        assert _sorted(stored_rows(there, size)) == _sorted(stored_rows(here, size))
        assert _sorted(stored_rows(there, size)) == _sorted(tree_rows(there))
        for person in sorted(world.people):
            bundle = export_by(there, person, size, "tree")
            assert bundle == export_by(here, person, size, "tree"), person
            if bundle is not None:
                assert uses_tree(there, person, size), person
                verify_bundle(load_bundle(bundle), trusted=[there.verifier_at(size)])


@contextmanager
def _world(url: str) -> Iterator[tuple[TransparencyLog, World]]:
    with _ledger(url) as log:
        world = standard_world(log.service)
        for person in ("alice", "bob"):
            world.do(world.claim(world[person]))
        yield log, world


class _Clock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _in_background(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``work`` on a thread; its result (or what it raised) lands in the list."""
    done: list[Any] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # handed to the test thread
            done.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def test_a_child_killed_mid_issue_publishes_nothing_and_the_next_round_succeeds(
    database_url: str,
) -> None:
    """The tree child is killed (SIGKILL: the OOM killer's signal) while it waits to store
    its tree: the issue fails (503 ``busy`` for a request), no checkpoint is published, the
    latest one and its bundles serve on; the rounds space the failed attempt like an issue,
    and the next round publishes the log's checkpoint with its whole tree."""
    with _world(database_url) as (log, world):
        operator = world.operator.identity
        first = log.issue_checkpoint(operator).size
        before = {p: export_by(log, p, first, "tree") for p in ("alice", "bob")}
        world.do(world.claim(world["bob"], title="after the first checkpoint"))
        clock = _Clock()
        checkpointer = Checkpointer(
            log, operator, origin=log.origin, interval=0.0, issue_in="child", clock=clock
        )
        with writes_held(database_url, _HOLD_TREE):
            thread, done = _in_background(checkpointer.ensure_fresh)
            child = await_child(os.getpid(), _CHILD)
            await_waiting(database_url, child)
            os.kill(child, signal.SIGKILL)
            thread.join(_WAIT)
        (failed,) = done
        assert isinstance(failed, ApiError), failed
        assert (failed.status, failed.code) == (503, "busy")
        assert isinstance(failed.__cause__, ChildFailed)
        assert "killed by SIGKILL" in str(failed.__cause__)
        assert log.store.checkpoint_sizes()[-1] == first
        assert log.checkpoint().size == first
        assert {p: export_by(log, p, first, "tree") for p in ("alice", "bob")} == before

        assert checkpointer.round() is None  # spaced like an issue that took as long
        clock.now += CHECKPOINT_SPACING * 10**6
        signed = checkpointer.round()
        assert signed is not None
        assert signed.size == log.size() > first
        assert checkpointer.issued == 2
        assert _sorted(stored_rows(log, signed.size)) == _sorted(tree_rows(log))
        assert log.store.heads_width(first) == 0  # superseded: deleted
        for person in ("alice", "bob"):
            assert uses_tree(log, person, signed.size)
            rebuilt = export_by(log, person, signed.size, "rebuilt")
            assert export_by(log, person, signed.size, "tree") == rebuilt


def _secret_forms(identity: Identity) -> list[bytes]:
    seed = identity.seed
    return [seed, seed.hex().encode(), base64.b64encode(seed), base64.urlsafe_b64encode(seed)]


def test_a_tree_child_is_handed_no_key_and_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child's command line and environment (read from /proc while it runs) hold
    neither the operator's key, in any spelling, nor the database URL, nor any of the
    service's secret settings (``serve --workers`` hands its workers the keystore's
    passphrase in the environment); of the ``TRACKRECORD_*`` variables only the service
    key file's path. Then the issue completes, signed by the service."""
    url = f"sqlite://{tmp_path / 'ledger.db'}"
    passphrase = "correct horse battery staple 31"
    monkeypatch.setenv("TRACKRECORD_PASSPHRASE", passphrase)
    monkeypatch.setenv("TRACKRECORD_OIDC_CLIENT_SECRET", "oidc-secret-7")
    monkeypatch.setenv("TRACKRECORD_SERVE_OPTIONS", '{"smtp": {"password": "smtp-secret-5"}}')
    with _world(url) as (log, world):
        operator = world.operator.identity
        checkpointer = Checkpointer(
            log, operator, origin=log.origin, interval=0.0, issue_in="child"
        )
        with writes_held(url, _HOLD_TREE):
            thread, done = _in_background(checkpointer.ensure_fresh)
            child = await_child(os.getpid(), _CHILD)
            await_waiting(url, child)
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            environ = Path(f"/proc/{child}/environ").read_bytes()
        thread.join(_WAIT)
        (signed,) = done
        assert not isinstance(signed, BaseException), signed
        assert signed is not None
        assert signed.size == log.size()
    told = command + b"\0" + environ
    for secret in [*_secret_forms(operator), passphrase.encode(), url.encode()]:
        assert secret not in told
    for secret in (b"oidc-secret-7", b"smtp-secret-5"):
        assert secret not in told
    names = [item.split(b"=", 1)[0] for item in environ.split(b"\0") if item]
    assert [n for n in names if n.startswith(b"TRACKRECORD_")] == [b"TRACKRECORD_SERVICE_KEY"]
    assert command.split(b"\0")[1:] == [b"-P", b"-m", _CHILD, b""]


# -- checkpoints on demand -----------------------------------------------------------------


class _Gate:
    """Holds the first call of a wrapped function until opened (the caller runs on
    another thread), telling the test when it is held."""

    def __init__(self) -> None:
        self.calls = 0
        self.held = threading.Event()
        self.open = threading.Event()

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any) -> Any:
            self.calls += 1
            if self.calls == 1:
                self.held.set()
                assert self.open.wait(_WAIT), "the test never opened the gate"
            return function(*args)

        return held


def _await(condition: Callable[[], bool], what: str) -> None:
    event = threading.Event()
    for _ in range(int(_WAIT / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError(what)


def test_a_checkpoint_on_demand_is_issued_only_when_needed_and_shared(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No checkpoint is issued for a person the latest one covers (others' entries came
    since); requests at the same time share one issue; requests whose entries came after
    the issue under way read the log share the next one."""
    with _world(database_url) as (log, world):
        checkpointer = Checkpointer(
            log, world.operator.identity, origin=log.origin, interval=3600.0
        )
        first = checkpointer.ensure_fresh()
        assert first is not None
        assert checkpointer.issued == 1
        world.do(world.claim(world["bob"], title="bob's, after the checkpoint"))
        assert log.size_covering("alice") == first.size  # nothing of hers since
        assert checkpointer.ensure_covers(log.size_covering("alice")) is None
        assert log.size_covering("bob") == log.size() == first.size + 1
        assert checkpointer.issued == 1

        # four requests for bob at once: one issue, held (once it read the log, before its
        # tree is stored) until the three others wait for it
        gate = _Gate()
        monkeypatch.setattr(log.store, "put_heads_rows", gate.wrap(log.store.put_heads_rows))
        needed = log.size_covering("bob")
        requests = [_in_background(lambda: checkpointer.ensure_covers(needed)) for _ in range(4)]
        assert gate.held.wait(_WAIT)
        _await(lambda: checkpointer.waiting() == 3, "the other requests did not wait for it")
        gate.open.set()
        for thread, _ in requests:
            thread.join(_WAIT)
        answers = [done[0] for _, done in requests]
        assert checkpointer.issued == 2
        assert sum(a is not None for a in answers) == 4  # each got the shared checkpoint
        assert {a.size for a in answers} == {first.size + 1}

        # an issue under way for alice; carol's and dave's entries come after it read the
        # log: their four requests wait for it, then share the next issue
        gate = _Gate()
        monkeypatch.setattr(log.store, "put_heads_rows", gate.wrap(log.store.put_heads_rows))
        world.do(world.claim(world["alice"], title="alice's"))
        alice, _ = _in_background(lambda: checkpointer.ensure_covers(log.size_covering("alice")))
        assert gate.held.wait(_WAIT)
        for person in ("carol", "dave"):
            world.do(world.claim(world[person], title=f"{person}'s, during the issue"))

        def request(person: str) -> Callable[[], Any]:
            return lambda: checkpointer.ensure_covers(log.size_covering(person))

        later = [_in_background(request(p)) for p in ("carol", "dave", "carol", "dave")]
        _await(lambda: checkpointer.waiting() == 4, "the later requests did not wait")
        gate.open.set()
        alice.join(_WAIT)
        for thread, _ in later:
            thread.join(_WAIT)
        assert checkpointer.issued == 4  # alice's, then one for the four later requests
        assert log.store.checkpoint_sizes()[-1] == log.size()
        assert log.size_covering("carol") == log.size_covering("dave") == log.size()


def test_bundle_downloads_issue_a_checkpoint_only_when_the_owner_has_new_entries(
    database_url: str, tmp_path: Path
) -> None:
    """Through the service run with the operator's key: a bundle download issues a
    checkpoint only when the latest one does not hold all of its owner's entries, and
    downloads at the same time issue at most one between them."""
    config = dataclasses.replace(UNLIMITED, checkpoint_interval=3600.0)
    with live_server(
        database_url, config, operator=operator_member().identity, keys_dir=tmp_path / "keys"
    ) as live:
        checkpointer = live.extra["app"].state.context.checkpointer
        w = make_cast(live, "cover")
        alice, bob = w["alice"], w["bob"]
        mine = {"Authorization": f"Bearer {login(live, alice.identity)}"}

        def bundle_size() -> int:
            answer = live.client.get(f"/people/{alice.id}/bundle", headers=mine)
            assert answer.status_code == 200, answer.text
            return verify_bundle(answer.text, trusted=None).checkpoint_size

        size = bundle_size()
        issued = checkpointer.issued
        assert size == live.size()
        w.do(w.claim(bob, title="bob's"))
        assert bundle_size() == size  # nothing of alice's since: no checkpoint
        assert checkpointer.issued == issued
        w.do(w.claim(alice, title="alice's"))

        def download() -> int:
            with httpx.Client(base_url=live.url, timeout=60, headers=mine) as client:
                answer = client.get(f"/people/{alice.id}/bundle")
                assert answer.status_code == 200, answer.text
                return verify_bundle(answer.text, trusted=None).checkpoint_size

        downloads = [_in_background(download) for _ in range(4)]
        for thread, _ in downloads:
            thread.join(_WAIT)
        assert [done[0] for _, done in downloads] == [live.size()] * 4
        assert checkpointer.issued == issued + 1
