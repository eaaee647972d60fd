"""Imported evidence counts in matching (issue 14): the matching read model's refresh step
writes the evidence of imported records (``mt_imported``), the highest declared trust
among the origins with evidence of each skill (``mt_skills.imported``) and its moment
(``mt_refresh``, with what it counted and its MAC, as ``rep_refresh`` since 0005), so a
person whose history is only imported is found.

The column starts at 0 and the tables empty; the next refresh (due at once: the matching
read model has no refresh mark yet) fills them. A database without the read models is
left alone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("mt_skills"):
        return
    if "imported" not in {c["name"] for c in inspector.get_columns("mt_skills")}:
        op.add_column(
            "mt_skills", sa.Column("imported", sa.Float, nullable=False, server_default="0")
        )
    if not inspector.has_table("mt_imported"):
        op.create_table(
            "mt_imported",
            sa.Column("person", sa.String(64), primary_key=True),
            sa.Column("skill", sa.String(48), primary_key=True),
            sa.Column("origin", sa.String(255), primary_key=True),
            sa.Column("part", sa.String(16), primary_key=True),
            sa.Column("evidence", sa.Integer, nullable=False),
            sa.Column("weight", sa.Float, nullable=False),
            sqlite_with_rowid=False,
        )
    if not inspector.has_table("mt_refresh"):
        op.create_table(
            "mt_refresh",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Column("at", sa.BigInteger, nullable=False),
            sa.Column("inputs", sa.Text, nullable=True),
            sa.Column("inputs_mac", sa.String(64), nullable=True),
        )


def downgrade() -> None:
    op.drop_table("mt_refresh")
    op.drop_table("mt_imported")
    op.drop_column("mt_skills", "imported")
