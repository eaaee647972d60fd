"""Baseline: the SQLAlchemy-managed tables as the versions before Alembic created them.

A database without an ``alembic_version`` table but with the read models' tracking
table was written by such a version: it is at this revision by definition, and the
revisions after it bring it up to date. Nothing to do here.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
