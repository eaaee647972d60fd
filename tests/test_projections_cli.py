"""``trackrecord projections rebuild|follow|status`` in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from projections.portfolio import tables as pf
from tests.factories import random_statements
from tests.support.cli import app_with_projections
from tests.support.projections import LedgerEnv, ledger_env


def _run(url: str, tmp_path: Path, *args: str) -> Result:
    env = {"TRACKRECORD_KEYS": str(tmp_path / "keys"), "COLUMNS": "200"}
    return CliRunner().invoke(app_with_projections(), ["--db", url, "projections", *args], env=env)


def _filled(env: LedgerEnv) -> int:
    _, statements = random_statements(random.Random(21), 25, seed="cli")
    env.append(statements)
    return sum(1 for s in statements if s.statement.type == "ContributionClaimed")


def test_rebuild_replays_the_log_with_a_rate(database_url: str, tmp_path: Path) -> None:
    with ledger_env(database_url) as env:
        claims = _filled(env)
        result = _run(database_url, tmp_path, "rebuild")
        assert result.exit_code == 0, result.output
        assert "rebuilt all read models: 25 entries" in result.stdout
        assert "entries/s" in result.stdout
        with env.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(pf.contributions)).scalar()
        withdrawn = sum(1 for c in env.service.state.contributions.values() if c.withdrawn)
        assert count == claims - withdrawn
        one = _run(database_url, tmp_path, "rebuild", "portfolio")
        assert one.exit_code == 0, one.output
        assert "rebuilt portfolio" in one.stdout


def test_follow_and_status(database_url: str, tmp_path: Path) -> None:
    with ledger_env(database_url) as env:
        _filled(env)
        before = _run(database_url, tmp_path, "status")
        assert before.exit_code == 0, before.output
        assert "25" in before.stdout  # every read model is 25 positions behind
        result = _run(database_url, tmp_path, "follow", "--stop-after", "1", "--interval", "0.05")
        assert result.exit_code == 0, result.output
        assert "applied 25 entries" in result.stderr
        last = env.store.max_position()
        assert env.projector.positions() == dict.fromkeys(env.projector.models, last)


def test_an_unknown_read_model_is_a_usage_error(sqlite_url: str, tmp_path: Path) -> None:
    with ledger_env(sqlite_url):
        result = _run(sqlite_url, tmp_path, "rebuild", "dossiers")
    assert result.exit_code == 1
    assert "unknown_read_model" in result.stderr
