"""The discrimination factor of reputation weighs each grade by its agreement with the
other raters (issue 18): a spiteful 1 no longer makes an inflater look discriminating.

The facts and tables are unchanged; the revision removes the last refresh mark
(``rep_refresh``), so a reputation refresh is due at once (``Projector.refresh_due``) and
the stored scores and discrimination factors are recomputed with the new formula before
they are used again. A database without the read models is left alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from projections.migrations.tables import REPUTATION_REFRESH_TABLES, forget_refresh, inspector

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    forget_refresh(inspector(), REPUTATION_REFRESH_TABLES)


def downgrade() -> None:
    """Nothing to undo: the next refresh writes the mark again."""
