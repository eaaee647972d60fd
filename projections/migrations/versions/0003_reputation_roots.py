"""Reputation from roots (issue 18): the managers an admin appointed, per-rater factors,
dense-clique factors; the reputation read model is replayed from the log.

The refresh step now writes ``rep_raters`` (trust, standing, discrimination, root) and
``rep_cliques`` in place of ``rep_standing``, and the projector keeps ``rep_managers``
from ``RoleGranted`` / ``RoleRevoked`` entries — which the old read model skipped, so its
facts cannot be completed in place. The revision creates the new tables, drops
``rep_standing``, empties the reputation read model's facts and sets its tracking record
back to 0: the next catch-up replays the log into it (as ``projections rebuild
reputation`` would). A database without the read models is left alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from projections.migrations.tables import create_missing, has_read_models, inspector, replay

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FACTS = ("rep_keys", "rep_targets", "rep_ratings", "rep_scores", "rep_refresh")


def upgrade() -> None:
    found = inspector()
    if not has_read_models(found):
        return
    if found.has_table("rep_standing"):
        op.drop_table("rep_standing")
    create_missing(
        found,
        "rep_managers",
        sa.Column("person", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(128), primary_key=True),
    )
    create_missing(
        found,
        "rep_raters",
        sa.Column("person", sa.String(64), primary_key=True),
        sa.Column("trust", sa.Float, nullable=False),
        sa.Column("standing", sa.Float, nullable=False),
        sa.Column("discrimination", sa.Float, nullable=False),
        sa.Column("root", sa.Integer, nullable=False),
    )
    create_missing(
        found,
        "rep_cliques",
        sa.Column("rater", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("factor", sa.Float, nullable=False),
    )
    replay(found, "reputation", _FACTS)


def downgrade() -> None:
    raise NotImplementedError("the reputation read model of 0002 is rebuilt, not restored")
