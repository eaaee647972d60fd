"""A reviewer reads the contribution they were asked to review in the portfolio (issue 17):
the portfolio read model keeps whom each ``ReviewRequested`` names (``pf_reviewers``).

The old read model skipped review requests, so its facts cannot be completed in place. The
revision creates the table, empties the portfolio read model's facts and sets its tracking
record back to 0: the next catch-up replays the log into it (as ``projections rebuild
portfolio`` would). A database without the read models is left alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from projections.migrations.tables import create_missing, has_read_models, inspector, replay

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FACTS = (
    "pf_people",
    "pf_keys",
    "pf_grants",
    "pf_contributions",
    "pf_endorsements",
    "pf_ambitions",
    "pf_assignments",
    "pf_assignment_people",
)


def upgrade() -> None:
    found = inspector()
    if not has_read_models(found, "pf_people"):
        return
    create_missing(
        found,
        "pf_reviewers",
        sa.Column("person", sa.String(64), primary_key=True),
        sa.Column("contribution", sa.String(36), primary_key=True),
        sa.Column("reviewer", sa.String(64), primary_key=True),
    )
    replay(found, "portfolio", _FACTS)


def downgrade() -> None:
    op.drop_table("pf_reviewers")
