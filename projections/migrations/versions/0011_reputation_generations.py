"""The reputation refresh writes generations (issue 13): its result tables (``rep_raters``,
``rep_cliques``, ``rep_consensus``, ``rep_scores``, ``rep_imported``, ``rep_origins``) get a
``generation`` column, first in their keys; the refresh mark (``rep_refresh``) records the
published one; ``rep_generation`` counts the numbers handed out
(:mod:`projections.reputation.generations`).

The rows the last refresh wrote become generation 1, published by the mark, and the counter
starts at 1: the scores stay readable, and ``projections verify`` passes, without a refresh.
The downgrade keeps the published generation's rows only. A database without the read
models is left alone; a table already at this revision (created from the current
definitions) is left as it is.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine.reflection import Inspector

from projections.migrations.tables import has_read_models, inspector

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _columns() -> dict[str, list[sa.Column[Any]]]:
    """The result tables' columns as they stood at revision 0010 (key columns first)."""
    return {
        "rep_raters": [
            sa.Column("person", sa.String(64), primary_key=True),
            sa.Column("trust", sa.Float, nullable=False),
            sa.Column("standing", sa.Float, nullable=False),
            sa.Column("discrimination", sa.Float, nullable=False),
            sa.Column("root", sa.Integer, nullable=False),
        ],
        "rep_cliques": [
            sa.Column("rater", sa.String(64), primary_key=True),
            sa.Column("subject", sa.String(64), primary_key=True),
            sa.Column("factor", sa.Float, nullable=False),
        ],
        "rep_consensus": [
            sa.Column("rater", sa.String(64), primary_key=True),
            sa.Column("subject", sa.String(64), primary_key=True),
            sa.Column("agreement", sa.Float, nullable=False),
            sa.Column("cycle", sa.Float, nullable=False),
        ],
        "rep_scores": [
            sa.Column("person", sa.String(64), primary_key=True),
            sa.Column("skill", sa.String(48), primary_key=True),
            sa.Column("score", sa.Float, nullable=False),
            sa.Column("weight", sa.Float, nullable=False),
            sa.Column("ratings", sa.Integer, nullable=False),
        ],
        "rep_imported": [
            sa.Column("origin", sa.String(255), primary_key=True),
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("subject", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("rater", sa.String(64), nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("grade", sa.Integer, nullable=False),
            sa.Column("at", sa.BigInteger, nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Column("skills", sa.Text, nullable=False),
        ],
        "rep_origins": [
            sa.Column("origin", sa.String(255), primary_key=True),
            sa.Column("weight", sa.Float, nullable=False),
        ],
    }


def _rebuild(
    found: Inspector,
    name: str,
    columns: list[sa.Column[Any]],
    *,
    copied: list[str],
    select: str,
    indexes: tuple[tuple[str, list[str]], ...] = (),
    rowid: bool = False,
) -> None:
    """Replace table ``name`` by one of ``columns`` (``WITHOUT ROWID`` on SQLite unless
    ``rowid``) and ``indexes``, holding ``select`` (SQL over the old table, called ``old``)
    into the ``copied`` columns."""
    old = f"{name}_before_0011"
    key = found.get_pk_constraint(name).get("name")
    for index in found.get_indexes(name):  # index names are per schema: free them
        op.drop_index(str(index["name"]), table_name=name)
    op.rename_table(name, old)
    if key and op.get_bind().dialect.name == "postgresql":  # so is the key's (rep_x_pkey)
        op.execute(sa.text(f'ALTER TABLE {old} DROP CONSTRAINT "{key}"'))
    op.create_table(name, *columns, sqlite_with_rowid=rowid)
    for made, on in indexes:
        op.create_index(made, name, on)
    op.execute(sa.text(f"INSERT INTO {name} ({', '.join(copied)}) {select.format(old=old)}"))
    op.drop_table(old)


def upgrade() -> None:
    found = inspector()
    if not has_read_models(found):
        return
    for name, columns in _columns().items():
        if not found.has_table(name) or "generation" in _names(found, name):
            continue
        names = [c.name for c in columns]
        generation = sa.Column("generation", sa.BigInteger, primary_key=True)
        _rebuild(
            found, name, [generation, *columns], copied=["generation", *names],
            select=f"SELECT 1, {', '.join(names)} FROM {{old}}",
            indexes=(("rep_imported_subject", ["generation", "subject"]),)
            if name == "rep_imported" else (),
        )  # fmt: skip
    if "generation" not in _names(found, "rep_refresh"):
        _mark_with_generation(found)
    if not found.has_table("rep_generation"):
        op.create_table(
            "rep_generation",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("allocated", sa.BigInteger, nullable=False),
            sqlite_with_rowid=False,
        )
        op.execute(sa.text("INSERT INTO rep_generation (id, allocated) VALUES (1, 1)"))


def _mark_with_generation(found: Inspector) -> None:
    """``rep_refresh.generation`` (last), 1 in the mark there is."""
    if op.get_bind().dialect.name == "postgresql":  # its id is SERIAL: the table stays
        op.add_column(
            "rep_refresh",
            sa.Column("generation", sa.BigInteger, nullable=False, server_default="1"),
        )
        op.alter_column("rep_refresh", "generation", server_default=None)
        return
    # SQLite keeps a column's default in the table's SQL: the table is rebuilt instead
    names = _names(found, "rep_refresh")
    generation = sa.Column("generation", sa.BigInteger, nullable=False)
    _rebuild(
        found, "rep_refresh", [*_mark_columns(), generation], copied=[*names, "generation"],
        select=f"SELECT {', '.join(names)}, 1 FROM {{old}}", rowid=True,  # as mark_table makes it
    )  # fmt: skip


def _mark_columns() -> list[sa.Column[Any]]:
    """``rep_refresh``'s columns as they stood at revision 0010."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("rounds", sa.Integer, nullable=False),
        sa.Column("residual", sa.Float, nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("inputs", sa.Text, nullable=True),
        sa.Column("inputs_mac", sa.String(64), nullable=True),
    ]


def _names(found: Inspector, table: str) -> list[str]:
    return [str(c["name"]) for c in found.get_columns(table)]


def downgrade() -> None:
    found = inspector()
    if not has_read_models(found):
        return
    found_published = op.get_bind().execute(sa.text("SELECT generation FROM rep_refresh"))
    published = int(found_published.scalar() or 0)
    for name, columns in _columns().items():
        names = [c.name for c in columns]
        _rebuild(
            found, name, columns, copied=names,
            select=f"SELECT {', '.join(names)} FROM {{old}} WHERE generation = {published}",
            indexes=(("ix_rep_imported_subject", ["subject"]),) if name == "rep_imported" else (),
        )  # fmt: skip
    op.execute(sa.text("ALTER TABLE rep_refresh DROP COLUMN generation"))
    op.drop_table("rep_generation")
