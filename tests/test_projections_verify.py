"""The read models verified against a rebuild from the log (issue 15, item 6a).

An edited read-model row (a forged title in ``pf_contributions``) used to be served as is
while the audit passed and ``projections status`` showed nothing behind. ``trackrecord
projections verify`` (and ``trackrecord audit``, which runs it) rebuilds every read model
aside and names each row that differs, with its table and key; on both backends.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from projections import EntryReader, verify
from projections.portfolio import tables as pf
from projections.reputation import tables as rep
from projections.verify import ReadModelMismatch, verify_read_models
from tests.factories import random_statements
from tests.support.cli import app_with_projections
from tests.support.projections import AT, LedgerEnv, ledger_env


def _filled(env: LedgerEnv, *, upto: int | None = None) -> None:
    _, statements = random_statements(random.Random(33), 40, seed="verify")
    env.append(statements[:upto])
    env.projector.catch_up()
    env.projector.refresh(at=AT)


def _run(url: str, tmp_path: Path, *args: str) -> Result:
    env = {"TRACKRECORD_KEYS": str(tmp_path / "keys"), "COLUMNS": "200"}
    return CliRunner().invoke(app_with_projections(), ["--db", url, *args], env=env)


def _forge_a_title(env: LedgerEnv) -> str:
    with env.engine.begin() as conn:
        row = conn.execute(
            select(pf.contributions.c.id, pf.contributions.c.personal).where(
                pf.contributions.c.personal.is_not(None)
            )
        ).first()
        assert row is not None
        personal = json.loads(row.personal)
        personal["title"] = "Forged: saved the ministry single-handedly"
        conn.execute(
            update(pf.contributions)
            .where(pf.contributions.c.id == row.id)
            .values(personal=json.dumps(personal))
        )
    return str(row.id)


def test_honest_read_models_verify(database_url: str) -> None:
    with ledger_env(database_url) as env:
        _filled(env)
        verify_read_models(EntryReader(env.store), env.engine)


def test_read_models_behind_the_log_and_refreshed_earlier_verify(database_url: str) -> None:
    """Compared as the live read models stand: at their position, refreshed when they were."""
    with ledger_env(database_url) as env:
        _, statements = random_statements(random.Random(33), 40, seed="verify")
        env.append(statements[:25])
        env.projector.catch_up()
        env.projector.refresh(at=AT)
        env.projector.catch_up(["portfolio"])  # nothing new: the ledger has not moved
        env.append(statements[25:])
        env.projector.catch_up(["reputation"], max_entries=5)  # behind, refresh older
        verify_read_models(EntryReader(env.store), env.engine)


def test_a_forged_title_is_named_with_its_table_and_row(database_url: str) -> None:
    with ledger_env(database_url) as env:
        _filled(env)
        forged = _forge_a_title(env)
        with pytest.raises(ReadModelMismatch) as info:
            verify_read_models(EntryReader(env.store), env.engine)
    (difference,) = info.value.differences
    assert (difference.read_model, difference.table) == ("portfolio", "pf_contributions")
    assert difference.key["id"] == forged
    assert "personal differ" in difference.describe()


def test_a_deleted_and_an_added_row_are_named(sqlite_url: str) -> None:
    with ledger_env(sqlite_url) as env:
        _filled(env)
        with env.engine.begin() as conn:
            victim = conn.execute(select(rep.scores).limit(1)).one()._asdict()
            conn.execute(
                rep.scores.delete().where(
                    rep.scores.c.person == victim["person"], rep.scores.c.skill == victim["skill"]
                )
            )
            conn.execute(rep.scores.insert().values({**victim, "skill": "forged-skill"}))
        with pytest.raises(ReadModelMismatch) as info:
            verify_read_models(EntryReader(env.store), env.engine)
    found = {
        (d.table, d.key["skill"], d.live is None, d.rebuilt is None) for d in info.value.differences
    }
    assert found == {
        ("rep_scores", victim["skill"], True, False),
        ("rep_scores", "forged-skill", False, True),
    }


def test_a_changed_a_missing_and_an_extra_row_are_found_across_chunks(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both sides are streamed into the scratch file a chunk at a time and compared there in
    key order: with chunks of one row every table spans many chunks, and each kind of
    difference is still named with its table and key, and only those."""
    monkeypatch.setattr(verify, "_CHUNK", 1)
    with ledger_env(database_url) as env:
        _filled(env)
        with env.engine.begin() as conn:
            rows = conn.execute(select(rep.scores).order_by(rep.scores.c.person)).all()
            assert len(rows) >= 4 * verify._CHUNK  # the table spans several chunks
            changed, missing = rows[1]._asdict(), rows[-2]._asdict()
            conn.execute(
                update(rep.scores)
                .where(rep.scores.c.person == changed["person"])
                .where(rep.scores.c.skill == changed["skill"])
                .values(score=changed["score"] + 0.25)
            )
            conn.execute(
                rep.scores.delete()
                .where(rep.scores.c.person == missing["person"])
                .where(rep.scores.c.skill == missing["skill"])
            )
            conn.execute(rep.scores.insert().values({**missing, "skill": "forged-skill"}))
        with pytest.raises(ReadModelMismatch) as info:
            verify_read_models(EntryReader(env.store), env.engine)
    found = {
        (d.table, d.key["person"], d.key["skill"], d.live is None, d.rebuilt is None)
        for d in info.value.differences
    }
    assert found == {
        ("rep_scores", changed["person"], changed["skill"], False, False),
        ("rep_scores", missing["person"], missing["skill"], True, False),
        ("rep_scores", missing["person"], "forged-skill", False, True),
    }
    assert info.value.count == 3
    (nudged,) = (d for d in info.value.differences if d.live and d.rebuilt)
    assert "score differ" in nudged.describe()


def test_the_cli_verify_and_the_audit_report_the_forged_row(
    database_url: str, tmp_path: Path
) -> None:
    with ledger_env(database_url) as env:
        _filled(env)
        assert _run(database_url, tmp_path, "projections", "verify").exit_code == 0
        passed = _run(database_url, tmp_path, "audit", "--json")
        assert passed.exit_code == 0, passed.output
        forged = _forge_a_title(env)

        verified = _run(database_url, tmp_path, "projections", "verify", "--json")
        audited = _run(database_url, tmp_path, "audit", "--json")
        told = _run(database_url, tmp_path, "audit")
    assert verified.exit_code == 3, verified.output
    assert told.exit_code == 3, told.output
    # not an entry: no "stream: None", and the rows as JSON, not Python's repr
    assert "✗ audit FAILED:" in told.stdout
    assert "None" not in told.stdout
    assert "{'" not in told.stdout
    assert "read_model_mismatch" in told.stdout
    assert f'"id": "{forged}"' in told.stdout
    assert json.loads(verified.stdout)["rows"][0]["key"]["id"] == forged
    assert audited.exit_code == 3, audited.output
    failure = json.loads(audited.stdout)["failure"]
    assert failure["code"] == "read_model_mismatch"
    assert failure["evidence"]["table"] == "pf_contributions"
    assert failure["evidence"]["rows"][0]["key"]["id"] == forged


def _nudge_a_score(env: LedgerEnv, factor: float) -> dict[str, object]:
    with env.engine.begin() as conn:
        victim = conn.execute(select(rep.scores).limit(1)).one()._asdict()
        conn.execute(
            update(rep.scores)
            .where(rep.scores.c.person == victim["person"], rep.scores.c.skill == victim["skill"])
            .values(score=victim["score"] * factor)
        )
    return victim


def test_a_score_in_its_last_bits_is_the_same_and_a_changed_one_is_named(sqlite_url: str) -> None:
    """A refresh sums in the order it reads its rows, so a rebuild may differ in the 16th
    digit (seen at 10^6 entries): that is not a difference; a score moved by a thousandth
    of its value is."""
    with ledger_env(sqlite_url) as env:
        _filled(env)
        _nudge_a_score(env, 1 + 4e-16)
        verify_read_models(EntryReader(env.store), env.engine)
        victim = _nudge_a_score(env, 1.001)
        with pytest.raises(ReadModelMismatch) as info:
            verify_read_models(EntryReader(env.store), env.engine)
    (difference,) = info.value.differences
    assert difference.table == "rep_scores"
    assert difference.key["person"] == victim["person"]
    assert info.value.count == 1
