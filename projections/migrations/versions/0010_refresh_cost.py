"""How long each read model's last refresh step took (issue 13): ``projection_refresh``
(read model, seconds), so every process over the database spaces the refreshes by the
same measure (``projections.runner.REFRESH_SPACING`` times the last one's duration).

The table starts empty: until a refresh has run, refreshes are spaced by
``refresh_every`` alone, as before. A database without the read models is left alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from projections.migrations.tables import create_missing, has_read_models, inspector

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    found = inspector()
    if not has_read_models(found):
        return
    create_missing(
        found,
        "projection_refresh",
        sa.Column("read_model", sa.String(64), primary_key=True),
        sa.Column("seconds", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("projection_refresh")
