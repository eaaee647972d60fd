"""A command that only reads never creates a ledger (issue 13).

Pointed at a database URL where no ledger exists, every command other than ``init``
and ``demo`` exits with :attr:`ExitCode.STORE` and the message ``no ledger at ...``,
and leaves everything as it was: no directory, no database file, no service key
file (SQLite), no table (PostgreSQL).
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from ledger.errors import NoLedger
from ledger.store import open_store
from ledger.vault import SERVICE_KEY_ENV
from tests.support.cli import Cli
from trackrecord.cli import ExitCode

#: every command that does not write to the ledger, with the arguments it needs
READ_ONLY = [
    ("audit",),
    ("show", "alice"),
    ("log",),
    ("export", "alice", "--out", "OUT/alice.bundle.json"),
    ("checkpoint",),
    ("proof", "inclusion", "0"),
    ("proof", "consistency", "1", "2"),
    ("imported",),
    ("trust",),
    ("monitor", "--state", "OUT/monitor.json"),
    ("credentials", "export", "alice", "--out", "OUT/credentials"),
    ("keys", "show", "alice"),
    ("access", "list", "alice"),
    ("assignment", "show", "a1b2c3"),
    ("service-key", "show"),
    ("projections", "status"),
    ("projections", "rebuild"),
    ("serve", "--port", "1"),
]


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with the bytes of the files (None for directories)."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def _args(command: tuple[str, ...], out: Path) -> list[str]:
    return [a.replace("OUT", str(out)) for a in command]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_command_on_a_missing_sqlite_ledger_creates_nothing(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    cli = Cli(f"sqlite://{tmp_path}/new/dir/ledger.db", tmp_path / "keys")
    before = _tree(tmp_path)
    # No service key from the environment: its default place, beside the database file,
    # must stay empty too.
    result = cli(*_args(command, tmp_path / "out"), env={SERVICE_KEY_ENV: None})
    assert result.exit_code == ExitCode.STORE, result.output
    assert "no ledger at sqlite://" in result.output
    assert "trackrecord init" in result.output
    assert _tree(tmp_path) == before


def test_a_file_that_is_no_ledger_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    for name, content in (("empty.db", b""), ("notes.db", b"not a database\n")):
        path = tmp_path / name
        path.write_bytes(content)
        cli = Cli(f"sqlite://{path}", tmp_path / "keys")
        result = cli("audit", env={SERVICE_KEY_ENV: None})
        assert result.exit_code == ExitCode.STORE, result.output
        assert "no ledger at" in result.output
        assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "notes.db"]


def test_a_ledger_named_with_four_slashes_is_found(tmp_path: Path) -> None:
    """``sqlite:////abs/ledger.db`` (SQLAlchemy's spelling of an absolute path) names the
    same ledger as ``sqlite:///abs/ledger.db``: a read finds it, not "no ledger"."""
    path = tmp_path / "ledger.db"
    Cli(f"sqlite://{path}", tmp_path / "keys").ok(
        "init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator"
    )
    before = _tree(tmp_path)
    four = Cli(f"sqlite:///{path}", tmp_path / "keys")
    assert four.json("show", "op")["person"] == "op"
    assert _tree(tmp_path) == before


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


@pytest.mark.postgres
@pytest.mark.parametrize("command", [("audit",), ("show", "alice"), ("projections", "status")])
def test_read_only_command_on_an_empty_postgres_database_creates_no_table(
    command: tuple[str, ...], postgres_server_url: str, tmp_path: Path
) -> None:
    from tests import pgcluster

    with pgcluster.fresh_database(postgres_server_url) as url:
        result = Cli(url, tmp_path / "keys")(*command)
        assert result.exit_code == ExitCode.STORE, result.output
        assert "no ledger at postgresql://" in result.output
        assert _tables(url) == []


def test_open_store_without_create_refuses_and_with_create_makes_the_ledger(
    database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(NoLedger):
        open_store(database_url, create=False)
    open_store(database_url).close()  # creates the tables (and the key file if needed)
    store = open_store(database_url, create=False)
    try:
        assert store.max_position() == 0
    finally:
        store.close()


def test_an_existing_ledger_without_its_service_key_is_refused_without_a_new_key(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SERVICE_KEY_ENV, str(tmp_path / "keys" / "service.key"))
    open_store(sqlite_url).close()
    os.unlink(tmp_path / "keys" / "service.key")
    with pytest.raises(Exception, match="no service key at"):
        open_store(sqlite_url, create=False)
    assert not (tmp_path / "keys" / "service.key").exists()
