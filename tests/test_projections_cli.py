"""``trackrecord projections rebuild|follow|status`` in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from projections.portfolio import tables as pf
from tests.factories import World, random_statements, standard_cast
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


def test_reputation_explains_every_factor_as_of_a_date(sqlite_url: str, tmp_path: Path) -> None:
    """``trackrecord reputation PERSON --skill S --at DATE``: the explained score as of
    DATE; a rating given later does not count; a bad date is a usage error."""
    with ledger_env(sqlite_url) as env:
        w = World(env.service, seed="rep-cli")
        w.do_all(standard_cast(w))
        alice, bob = w["alice"], w["bob"]
        work = w.do(w.claim(alice, skills=["python"])).statement.id
        w.do(w.endorse(bob, alice, work, grade=5, role="manager"))
        env.projector.catch_up()
        env.projector.refresh(at=2_000_000_000)

        def run(*args: str, who: str | None = "alice") -> Result:
            keys = {"TRACKRECORD_KEYS": str(tmp_path / "keys"), "COLUMNS": "200"}
            reader = [] if who is None else ["--as", who]
            argv = ["--db", sqlite_url, *reader, "reputation", *args]
            return CliRunner().invoke(app_with_projections(), argv, env=keys)

        now = run("alice", "--skill", "python", "--json")
        assert now.exit_code == 0, now.output
        (score,) = json.loads(now.stdout)
        (rating,) = score["ratings"]
        factors = ("role", "standing", "discrimination", "clique", "decay", "repeat")
        assert all(f in rating for f in (*factors, "reciprocity", "agreement", "cycle"))
        assert rating["rating"]["rater"] == "bob"
        assert rating["weight"] > 0
        assert score["score"] > 3.0
        then = run("alice", "--at", "2001-01-01", "--json")
        assert then.exit_code == 0, then.output
        assert json.loads(then.stdout) == []  # nothing rated yet then
        table = run("alice")
        assert "alice in python" in table.stdout
        assert "bob (manager)" in table.stdout
        bad = run("alice", "--at", "yesterday")
        assert bad.exit_code == 1
        assert "bad_date" in bad.stderr
        nobody = run("nobody")
        assert nobody.exit_code == 6

        # as the API: only who may read alice's analytical part (on_request) sees it
        for reader in (None, "bob"):  # anyone without a session; a manager without a grant
            assert json.loads(run("alice", "--json", who=reader).stdout) == []
            assert "reputation withheld" in run("alice", who=reader).stdout
            refused = run("alice", "--skill", "python", who=reader)
            assert refused.exit_code == 2, refused.output
            assert "not_visible" in refused.stderr
        w.do(w.grant_access(alice, bob, "analytical"))
        (granted,) = json.loads(run("alice", "--skill", "python", "--json", who="bob").stdout)
        assert granted["score"] == pytest.approx(score["score"])  # "now" moved on a little
        assert run("alice", "--json", who=None).stdout.strip() == "[]"
