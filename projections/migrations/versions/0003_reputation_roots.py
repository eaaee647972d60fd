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

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FACTS = ("rep_keys", "rep_targets", "rep_ratings", "rep_scores", "rep_refresh")


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table("rep_ratings"):
        return
    if inspector.has_table("rep_standing"):
        op.drop_table("rep_standing")
    if not inspector.has_table("rep_managers"):
        op.create_table(
            "rep_managers",
            sa.Column("person", sa.String(64), primary_key=True),
            sa.Column("scope", sa.String(128), primary_key=True),
            sqlite_with_rowid=False,
        )
    if not inspector.has_table("rep_raters"):
        op.create_table(
            "rep_raters",
            sa.Column("person", sa.String(64), primary_key=True),
            sa.Column("trust", sa.Float, nullable=False),
            sa.Column("standing", sa.Float, nullable=False),
            sa.Column("discrimination", sa.Float, nullable=False),
            sa.Column("root", sa.Integer, nullable=False),
            sqlite_with_rowid=False,
        )
    if not inspector.has_table("rep_cliques"):
        op.create_table(
            "rep_cliques",
            sa.Column("rater", sa.String(64), primary_key=True),
            sa.Column("subject", sa.String(64), primary_key=True),
            sa.Column("factor", sa.Float, nullable=False),
            sqlite_with_rowid=False,
        )
    for table in _FACTS:
        if inspector.has_table(table):
            op.execute(sa.text(f"DELETE FROM {table}"))
    if inspector.has_table("projection_tracking"):
        op.execute(
            sa.text("UPDATE projection_tracking SET position = 0 WHERE read_model = 'reputation'")
        )


def downgrade() -> None:
    raise NotImplementedError("the reputation read model of 0002 is rebuilt, not restored")
