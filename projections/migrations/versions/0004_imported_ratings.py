"""Imported ratings count in reputation (issue 14): the refresh step writes the ratings of
imported records (``rep_imported``) and the declared trust in each origin
(``rep_origins``), so an explanation reads them beside the ledger's own.

Both tables are written only by the refresh step: the revision creates them empty and the
next refresh fills them. A database without the read models is left alone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from projections.migrations.tables import create_missing, has_read_models, inspector

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    found = inspector()
    if not has_read_models(found):
        return
    create_missing(
        found,
        "rep_imported",
        sa.Column("origin", sa.String(255), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rater", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("grade", sa.Integer, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("skills", sa.Text, nullable=False),
    )
    create_missing(
        found,
        "rep_origins",
        sa.Column("origin", sa.String(255), primary_key=True),
        sa.Column("weight", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rep_origins")
    op.drop_table("rep_imported")
