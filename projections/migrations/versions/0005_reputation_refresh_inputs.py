"""What a reputation refresh counted besides the log (issue 14): ``rep_refresh`` gets
``inputs`` (the imported records and trust weights it counted, JSON) and ``inputs_mac``
(their MAC under the ledger's row key), so ``projections verify`` rebuilds a refresh with
what it counted while a newer import or weight waits for the next refresh.

A refresh written before leaves both NULL until the next refresh; verify compares it as
before. A database without the read models is left alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from projections.migrations.tables import has_read_models, inspector

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    found = inspector()
    if not has_read_models(found, "rep_refresh"):
        return
    present = {c["name"] for c in found.get_columns("rep_refresh")}
    with op.batch_alter_table("rep_refresh") as batch:
        if "inputs" not in present:
            batch.add_column(sa.Column("inputs", sa.Text, nullable=True))
        if "inputs_mac" not in present:
            batch.add_column(sa.Column("inputs_mac", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rep_refresh") as batch:
        batch.drop_column("inputs_mac")
        batch.drop_column("inputs")
