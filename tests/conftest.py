"""Shared fixtures: database URLs for every storage backend, hypothesis profiles.

URL formats (fixed by the project): ``sqlite:///absolute/path.db`` (``sqlite://`` followed
by an absolute path) and ``postgresql://user[:password]@host:port/dbname``.

The helpers test modules share live in ``tests/support`` (test modules never import each
other); its fixtures (``live``, ``chromium``) are registered here through ``pytest_plugins``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ledger.vault import SERVICE_KEY_ENV
from tests import pgcluster

# Before any test module imports them: the support modules' asserts report like a test's.
pytest.register_assert_rewrite("tests.support")
pytest_plugins = ["tests.support.api_server", "tests.support.browser"]

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", parent=settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_PG_STATE = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    # Only the controlling process owns the shared PostgreSQL state; xdist workers
    # (which have ``workerinput``) inherit its path through the environment.
    if not hasattr(config, "workerinput"):
        config.stash[_PG_STATE] = pgcluster.open_shared_state()
        # One service key for the whole run (workers and subprocesses inherit it), so
        # that no test writes the default ~/.trackrecord/service.key of a PostgreSQL
        # ledger; tests/test_vault.py covers the default locations.
        if not os.environ.get(SERVICE_KEY_ENV):
            key_dir = Path(tempfile.mkdtemp(prefix="trackrecord-test-key-"))
            os.environ[SERVICE_KEY_ENV] = str(key_dir / "service.key")
            config.add_cleanup(lambda: shutil.rmtree(key_dir, ignore_errors=True))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    state = terminalreporter.config.stash.get(_PG_STATE, None)
    cluster = pgcluster.started_cluster(state) if state is not None else None
    if cluster is not None:
        terminalreporter.write_line(
            f"PostgreSQL {cluster.version} test cluster on port {cluster.port}: "
            f"started in {cluster.start_seconds:.2f} s"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_PG_STATE, None)
    if state is not None:
        pgcluster.close_shared_state(state)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """Base URL of the session's PostgreSQL server (its ``postgres`` database)."""
    try:
        return pgcluster.shared_server_url()
    except pgcluster.ClusterError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)  # outside ``except``: no chained traceback


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not yet existing SQLite database file in this test's tmp_path."""
    return _sqlite_url(tmp_path)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database, once per storage backend."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    with pgcluster.fresh_database(server_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], AbstractContextManager[str]]:
    """Hands out an empty database per hypothesis example, on one backend (a test's
    ``database_url`` is one database for all of its examples)."""
    if request.param == "sqlite":
        count = itertools.count()

        @contextmanager
        def sqlite_url() -> Iterator[str]:
            yield f"sqlite://{tmp_path / f'ledger-{next(count)}.db'}"

        return sqlite_url
    server_url: str = request.getfixturevalue("postgres_server_url")
    return lambda: pgcluster.fresh_database(server_url)


def _sqlite_url(directory: Path) -> str:
    return f"sqlite://{(directory / 'ledger.db').resolve().as_posix()}"
