"""The test infrastructure itself: database URL fixtures and the shared PostgreSQL server."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests import pgcluster

_DBNAME = re.compile(r"t_[0-9a-f]{16}")
_seen_databases: set[str] = set()


def _sqlite_path(url: str) -> Path:
    assert url.startswith("sqlite:///")
    assert not url.startswith("sqlite:////"), "sqlite://<absolute path>, three slashes"
    return Path(url.removeprefix("sqlite://"))


def _database_names(server_url: str) -> set[str]:
    with psycopg.connect(server_url) as conn:
        rows = conn.execute("select datname from pg_database").fetchall()
    return {name for (name,) in rows}


def test_sqlite_url_points_into_writable_tmp_dir(sqlite_url: str, tmp_path: Path) -> None:
    path = _sqlite_path(sqlite_url)
    assert path.is_absolute()
    assert path.parent == tmp_path.resolve()
    assert not path.exists()
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (x integer)")
        conn.execute("insert into t values (1)")
    assert path.is_file()
    assert os.access(path.parent, os.W_OK)


def test_database_url_is_fresh_and_empty(database_url: str) -> None:
    if database_url.startswith("sqlite:"):
        assert not _sqlite_path(database_url).exists()
        return
    parts = urlsplit(database_url)
    assert parts.scheme == "postgresql"
    assert (parts.username, parts.hostname) == ("postgres", "127.0.0.1")
    assert parts.port is not None
    dbname = parts.path.removeprefix("/")
    assert _DBNAME.fullmatch(dbname)
    assert dbname not in _seen_databases
    _seen_databases.add(dbname)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute("select current_database()").fetchone() == (dbname,)
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("create table leftover (x integer)")  # must not be seen by any other test


@pytest.mark.postgres
def test_fresh_databases_are_distinct_and_dropped(postgres_server_url: str) -> None:
    with (
        pgcluster.fresh_database(postgres_server_url) as first,
        pgcluster.fresh_database(postgres_server_url) as second,
    ):
        assert first != second
        names = {urlsplit(url).path.removeprefix("/") for url in (first, second)}
        assert names <= _database_names(postgres_server_url)
        with psycopg.connect(first, autocommit=True) as conn:
            conn.execute("create table only_in_first (x integer)")
        with psycopg.connect(second) as conn:
            found = conn.execute("select to_regclass('only_in_first')").fetchone()
            assert found == (None,)
    assert not names & _database_names(postgres_server_url)


@pytest.mark.postgres
def test_server_accepts_many_connections(postgres_server_url: str) -> None:
    with psycopg.connect(postgres_server_url) as conn:
        setting = conn.execute("show max_connections").fetchone()
        version = conn.execute("show server_version_num").fetchone()
    assert setting is not None
    assert int(setting[0]) >= 100
    assert version is not None
    assert int(version[0]) >= 130000, "DROP DATABASE ... WITH (FORCE) needs PostgreSQL 13"


def test_missing_postgres_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgcluster, "_BIN_GLOB", "/nonexistent/postgresql/*/bin")
    with pytest.raises(pgcluster.ClusterError, match="Run scripts/test"):
        pgcluster.find_bindir()


def test_no_module_imports_a_test_module() -> None:
    """Shared helpers live in tests/support; a test module is never imported by another
    module (it would run its fixtures' and helpers' import side effects twice and tie
    unrelated suites together)."""
    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"^\s*(from|import)\s+tests\.test_\w+", re.MULTILINE)
    offenders = [
        str(path.relative_to(root))
        for folder in ("tests", "bench")
        for path in sorted((root / folder).rglob("*.py"))
        if pattern.search(path.read_text())
    ]
    assert offenders == []
