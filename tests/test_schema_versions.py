"""The SQLAlchemy-managed tables' schema versions, by Alembic (projections/schema.py), on
every backend: a fresh database is stamped with the newest revision; one written before
Alembic (no ``alembic_version``, the indexes of revision 0002 missing) is upgraded when
the read models are opened, and says so."""

from __future__ import annotations

import sqlalchemy as sa

from api.sessions import SessionStore
from ledger.store import open_store
from projections import open_projector
from projections.db import create_read_model_engine
from projections.reputation.queries import rated_skills, snapshot_scores
from projections.schema import HEAD, downgrade, head_revision, schema_revision

_INDEXES = {
    "api_login_challenges": "ix_api_login_challenges_expires",
    "api_sessions": "ix_api_sessions_expires",
}


def test_revision_0008_adds_the_consensus_factors_and_makes_a_refresh_due(
    database_url: str,
) -> None:
    """Revision 0008 (issue 18): ``rep_consensus`` is created in a database at 0007 as a
    fresh one defines it, and the last reputation refresh mark is removed, so the scores of
    the formula without the consensus factors are recomputed before use; the facts and the
    read models' positions stay."""
    engine = _open(database_url)
    try:
        fresh = _definitions(engine, ("rep_consensus",))
        _assert_a_reputation_refresh_is_due(
            engine, database_url, "0007", "DROP TABLE rep_consensus"
        )
        assert _definitions(engine, ("rep_consensus",)) == fresh
    finally:
        engine.dispose()


def test_revision_0009_makes_a_reputation_refresh_due(database_url: str) -> None:
    """Revision 0009 (issue 18): the discrimination factor weighs each grade by its
    agreement, so the last reputation refresh mark is removed and the scores are
    recomputed before use; the facts and the read models' positions stay."""
    engine = _open(database_url)
    try:
        _assert_a_reputation_refresh_is_due(engine, database_url, "0008")
    finally:
        engine.dispose()


def test_revision_0010_adds_the_refresh_durations(database_url: str) -> None:
    """Revision 0010 (issue 13): ``projection_refresh`` (how long each read model's last
    refresh took) is created in a database at 0009 as a fresh one defines it; the read
    models' positions and refresh marks stay."""
    engine = _open(database_url)
    try:
        fresh = _definitions(engine, ("projection_refresh",))
        positions = _reopened_from(
            engine, database_url, "0009", "DROP TABLE projection_refresh",
            "INSERT INTO rep_refresh (id, position, at, rounds, residual, people) "
            "VALUES (1, 7, 0, 1, 0.0, 0)",
        )  # fmt: skip
        assert _definitions(engine, ("projection_refresh",)) == fresh
        assert positions["reputation"] == 7
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM rep_refresh")).scalar_one() == 1
    finally:
        engine.dispose()


_GENERATIONS = (
    "rep_raters", "rep_cliques", "rep_consensus", "rep_scores", "rep_imported", "rep_origins",
    "rep_refresh", "rep_generation",
)  # fmt: skip


def test_revision_0011_keeps_the_last_refresh_as_its_first_generation(database_url: str) -> None:
    """Revision 0011 (issue 13): the refresh's result tables get their ``generation`` (first
    in the key), the mark the published one, and ``rep_generation`` is created, each as a
    fresh database defines it; the rows of the last refresh become generation 1, published,
    so readers see the same scores without a refresh (none is due)."""
    engine = _open(database_url)
    try:
        fresh = _definitions(engine, _GENERATIONS)
        positions = _reopened_from(
            engine, database_url, "0010",
            "INSERT INTO rep_refresh (id, position, at, rounds, residual, people) "
            "VALUES (1, 7, 0, 1, 0.0, 0)",
            "INSERT INTO rep_scores VALUES ('alice', 'audit', 3.9, 1.0, 2)",
            "INSERT INTO rep_raters VALUES ('bob', 1.0, 1.0, 0.8, 1)",
            "INSERT INTO rep_imported VALUES "
            "('o.example/l', 'r1', 'alice', 'endorsement', 'x', 'peer', 4, 0, 3, '[\"audit\"]')",
        )  # fmt: skip
        assert _definitions(engine, _GENERATIONS) == fresh
        assert positions["reputation"] == 7
        with engine.connect() as conn:
            assert snapshot_scores(conn, "alice") == {"audit": (3.9, 1.0, 2)}
            assert rated_skills(conn, "alice") == ["audit"]
            rows = conn.execute(sa.text("SELECT generation, person FROM rep_raters")).all()
            assert [tuple(r) for r in rows] == [(1, "bob")]
            counter = conn.execute(sa.text("SELECT id, allocated FROM rep_generation")).all()
            assert [tuple(r) for r in counter] == [(1, 1)]
            assert conn.execute(sa.text("SELECT generation FROM rep_refresh")).scalar_one() == 1
    finally:
        engine.dispose()


def test_revision_0011_downgrades_to_the_published_generation(database_url: str) -> None:
    """Revision 0011's downgrade keeps the published generation's rows (not the one it
    replaced, nor one being written) in the tables as revision 0010 had them; upgrading
    again gives the tables a fresh database has, the same rows as generation 1."""
    engine = _open(database_url)
    try:
        fresh = _definitions(engine, _GENERATIONS)
        with engine.begin() as conn:
            for statement in (
                "INSERT INTO rep_refresh (id, position, at, rounds, residual, people, "
                "generation) VALUES (1, 7, 0, 1, 0.0, 0, 5)",
                "INSERT INTO rep_generation VALUES (1, 6)",
                "INSERT INTO rep_scores VALUES (4, 'alice', 'audit', 1.0, 1.0, 1)",  # replaced
                "INSERT INTO rep_scores VALUES (5, 'alice', 'audit', 3.9, 1.0, 2)",  # published
                "INSERT INTO rep_scores VALUES (6, 'alice', 'audit', 2.0, 1.0, 1)",  # written
                "INSERT INTO rep_origins VALUES (5, 'o.example/l', 0.5)",
            ):
                conn.execute(sa.text(statement))
            downgrade(conn, "0010")
        inspector = sa.inspect(engine)
        for table in _GENERATIONS[:-1]:
            assert "generation" not in {c["name"] for c in inspector.get_columns(table)}
        assert not inspector.has_table("rep_generation")
        with engine.connect() as conn:
            scores = conn.execute(sa.text("SELECT * FROM rep_scores")).all()
            assert [tuple(r) for r in scores] == [("alice", "audit", 3.9, 1.0, 2)]
            origins = conn.execute(sa.text("SELECT * FROM rep_origins")).all()
            assert [tuple(r) for r in origins] == [("o.example/l", 0.5)]
        _reopened_from(engine, database_url, "0010")
        assert _definitions(engine, _GENERATIONS) == fresh
        with engine.connect() as conn:
            assert snapshot_scores(conn, "alice") == {"audit": (3.9, 1.0, 2)}
    finally:
        engine.dispose()


def _assert_a_reputation_refresh_is_due(
    engine: sa.Engine, url: str, revision: str, *statements: str
) -> None:
    """From ``revision`` (after ``statements``) with a reputation refresh mark and a fact,
    the upgrade removes the mark (a refresh is due) and keeps the fact and positions."""
    positions = _reopened_from(
        engine, url, revision, *statements, "INSERT INTO rep_keys VALUES ('k1', 'alice')",
        "INSERT INTO rep_refresh (id, position, at, rounds, residual, people) "
        "VALUES (1, 7, 0, 1, 0.0, 0)",
        "INSERT INTO rep_scores VALUES ('alice', 'audit', 3.9, 1.0, 2)",
        "INSERT INTO rep_raters VALUES ('bob', 1.0, 1.0, 0.8, 1)",
    )  # fmt: skip
    assert positions["reputation"] == 7
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM rep_refresh")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM rep_keys")).scalar_one() == 1
        # what the older formula computed goes with its mark: kept without it, a rebuild
        # (projections verify, the audit) that refreshes only where the mark says would
        # report every score as a difference until the next refresh
        for table in ("rep_scores", "rep_raters"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def _indexes(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {t: {str(i["name"]) for i in inspector.get_indexes(t)} for t in _INDEXES}


def _definitions(engine: sa.Engine, tables: tuple[str, ...]) -> dict[str, object]:
    """How ``tables`` are defined, as the database reports it: columns (name, type,
    nullable, default), primary key, indexes, and on SQLite the table's SQL (``WITHOUT
    ROWID``)."""
    inspector = sa.inspect(engine)
    out: dict[str, object] = {}
    for t in tables:
        columns = [
            (c["name"], str(c["type"]), c["nullable"], c.get("default"))
            for c in inspector.get_columns(t)
        ]
        indexes = sorted(
            (tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(t)
        )
        primary = inspector.get_pk_constraint(t)["constrained_columns"]
        out[t] = (columns, primary, indexes)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            for t in tables:
                sql = conn.execute(
                    sa.text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:t"),
                    {"t": t},
                ).scalar_one()
                out[f"{t} rowid"] = "WITHOUT ROWID" in sql
    return out


def _open(url: str) -> sa.Engine:
    """Open the read models and the service's session tables, as ``serve`` does."""
    store = open_store(url)
    try:
        engine = create_read_model_engine(url)
        open_projector(store, engine=engine)
        SessionStore(engine, service="t", challenge_ttl=60, session_ttl=60, clock=lambda: 0.0)
        return engine
    finally:
        store.close()


def _reopened_from(engine: sa.Engine, url: str, revision: str, *statements: str) -> dict[str, int]:
    """Set the database back to how ``revision`` left it (``statements``, then that
    revision, every read model applied up to 7), open the read models again, check the
    upgrade says it went from ``revision`` to the newest; return the positions."""
    with engine.begin() as conn:
        if revision < "0011":  # the tables as they stood before the generations
            downgrade(conn, "0010")
        for statement in statements:
            conn.execute(sa.text(statement))
        conn.execute(sa.text(f"UPDATE alembic_version SET version_num = '{revision}'"))
        conn.execute(sa.text("UPDATE projection_tracking SET position = 7 WHERE read_model <> ''"))
    store = open_store(url)
    try:
        projector = open_projector(store, engine=engine)
        assert projector.schema_change is not None
        change = projector.schema_change
        assert (change.before, change.after) == (revision, head_revision())
        return projector.positions()
    finally:
        store.close()


def test_a_fresh_database_is_at_the_newest_revision(database_url: str) -> None:
    engine = _open(database_url)
    try:
        with engine.connect() as conn:
            assert schema_revision(conn) == head_revision() == HEAD
        for table, index in _INDEXES.items():
            assert index in _indexes(engine)[table]
    finally:
        engine.dispose()


def test_tables_written_before_alembic_are_upgraded_on_open(database_url: str) -> None:
    engine = _open(database_url)
    try:
        with engine.begin() as conn:  # the previous version's schema
            conn.execute(sa.text("DROP TABLE alembic_version"))
            for index in _INDEXES.values():
                conn.execute(sa.text(f"DROP INDEX {index}"))
        assert all(index not in _indexes(engine)[t] for t, index in _INDEXES.items())
        store = open_store(database_url)
        try:
            change = open_projector(store, engine=engine).schema_change
        finally:
            store.close()
        assert change is not None
        assert (change.before, change.after, change.fresh) == (None, head_revision(), False)
        with engine.connect() as conn:
            assert schema_revision(conn) == head_revision()
        for table, index in _INDEXES.items():
            assert index in _indexes(engine)[table]
        store = open_store(database_url)
        try:  # once upgraded, opening again changes nothing
            again = open_projector(store, engine=engine).schema_change
        finally:
            store.close()
        assert again is not None
        assert not again.changed
    finally:
        engine.dispose()


def test_the_reputation_read_model_of_revision_0002_is_replayed(database_url: str) -> None:
    """Revision 0003 (issue 18): ``rep_standing`` gives way to ``rep_raters`` and
    ``rep_cliques``, ``rep_managers`` is new, and the reputation read model is set back to
    position 0 with its facts emptied, so the next catch-up replays the log into it."""
    engine = _open(database_url)
    added = ("rep_managers", "rep_raters", "rep_cliques")
    fresh = _definitions(engine, added)
    try:
        positions = _reopened_from(
            engine, database_url, "0002",
            "DROP TABLE rep_managers", "DROP TABLE rep_raters", "DROP TABLE rep_cliques",
            "CREATE TABLE rep_standing (person VARCHAR(64) PRIMARY KEY)",
            "INSERT INTO rep_keys VALUES ('k1', 'alice')",
        )  # fmt: skip
        tables = set(sa.inspect(engine).get_table_names())
        assert {"rep_managers", "rep_raters", "rep_cliques"} <= tables
        assert _definitions(engine, added) == fresh  # as a fresh database has them
        assert "rep_standing" not in tables
        assert positions["reputation"] == 0
        assert positions["matching"] == 7  # the others are untouched (0006 replays the portfolio)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM rep_keys")).scalar_one() == 0
    finally:
        engine.dispose()


def test_revision_0004_adds_the_imported_ratings_tables(database_url: str) -> None:
    """Revision 0004 (issue 14): the refresh step's ``rep_imported`` and ``rep_origins``
    are created in a database at 0003; the read models' positions stay."""
    engine = _open(database_url)
    fresh = _definitions(engine, ("rep_imported", "rep_origins"))
    try:
        positions = _reopened_from(
            engine, database_url, "0003", "DROP TABLE rep_imported", "DROP TABLE rep_origins"
        )
        assert _definitions(engine, ("rep_imported", "rep_origins")) == fresh
        assert positions["reputation"] == 7
    finally:
        engine.dispose()


def test_revision_0005_records_what_a_refresh_counted(database_url: str) -> None:
    """Revision 0005 (issue 14): ``rep_refresh`` gets ``inputs`` and ``inputs_mac`` in a
    database at 0004; positions stay. (A refresh written before kept them NULL until
    revision 0008, which removes that refresh mark: the formula changed, so a refresh is
    due.)"""
    engine = _open(database_url)
    try:
        positions = _reopened_from(
            engine, database_url, "0004", "DROP TABLE rep_refresh",
            "CREATE TABLE rep_refresh (id INTEGER PRIMARY KEY, position BIGINT NOT NULL, "
            "at BIGINT NOT NULL, rounds INTEGER NOT NULL, residual FLOAT NOT NULL, "
            "people INTEGER NOT NULL)",
            "INSERT INTO rep_refresh VALUES (1, 7, 0, 1, 0.0, 0)",
        )  # fmt: skip
        columns = {c["name"] for c in sa.inspect(engine).get_columns("rep_refresh")}
        assert {"inputs", "inputs_mac"} <= columns
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM rep_refresh")).scalar_one() == 0
        assert positions["reputation"] == 7
    finally:
        engine.dispose()


def test_revision_0006_replays_the_portfolio_with_its_reviewers(database_url: str) -> None:
    """Revision 0006 (issue 17): ``pf_reviewers`` (whom each review request names) is
    created in a database at 0005, and the portfolio read model, which skipped review
    requests, is set back to position 0 with its facts emptied; the others stay."""
    engine = _open(database_url)
    try:
        positions = _reopened_from(
            engine, database_url, "0005",
            "DROP TABLE pf_reviewers", "INSERT INTO pf_keys VALUES ('k1', 'alice')",
        )  # fmt: skip
        assert "pf_reviewers" in set(sa.inspect(engine).get_table_names())
        assert positions["portfolio"] == 0
        assert positions["reputation"] == 7
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM pf_keys")).scalar_one() == 0
    finally:
        engine.dispose()


def test_revision_0007_adds_the_imported_evidence_of_matching(database_url: str) -> None:
    """Revision 0007 (issue 14): the matching refresh step's ``mt_imported``,
    ``mt_refresh`` and ``mt_skills.imported`` (0 in the rows already there) are added to a
    database at 0006; the read models' positions and rows stay."""
    engine = _open(database_url)
    try:
        positions = _reopened_from(
            engine, database_url, "0006", "DROP TABLE mt_imported", "DROP TABLE mt_refresh",
            "ALTER TABLE mt_skills DROP COLUMN imported",
            "INSERT INTO mt_skills VALUES "
            "('alice', 'python', 'minbzk', 'minbzk/cio', 'public', 0, 1, 0)",
        )  # fmt: skip
        assert {"mt_imported", "mt_refresh"} <= set(sa.inspect(engine).get_table_names())
        assert positions["matching"] == 7
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT evidence, imported FROM mt_skills")).one()
        assert (row.evidence, row.imported) == (1, 0.0)
    finally:
        engine.dispose()
