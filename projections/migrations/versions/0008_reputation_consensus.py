"""The consensus factors of reputation (issue 18): the refresh step writes
``rep_consensus`` (the agreement and cycle factors of each rating pair with one below 1),
and every score counts them.

The revision creates the table and removes the last refresh mark (``rep_refresh``): a
reputation refresh is then due at once (``Projector.refresh_due``), so the stored scores
and standing — computed by the formula without these factors — are recomputed before
they are used again, and ``projections verify`` compares like with like. The facts the
projector keeps are unchanged, so nothing is replayed. A database without the read
models is left alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from projections.migrations.tables import (
    REPUTATION_REFRESH_TABLES,
    create_missing,
    forget_refresh,
    has_read_models,
    inspector,
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    found = inspector()
    if not has_read_models(found):
        return
    create_missing(
        found,
        "rep_consensus",
        sa.Column("rater", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("agreement", sa.Float, nullable=False),
        sa.Column("cycle", sa.Float, nullable=False),
    )
    forget_refresh(found, REPUTATION_REFRESH_TABLES)


def downgrade() -> None:
    op.drop_table("rep_consensus")
