"""Index the expiry of login challenges and sessions.

Every login challenge issued and every session started deletes the expired ones
(``DELETE ... WHERE expires <= now``); without an index that scans the whole table,
whose size grows with the people logged in. The tables are the service's (api/sessions.py,
which declares the same indexes for a database it creates); a ledger that has never been
served has none yet, and gets them with their indexes when it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_INDEXES = {
    "api_login_challenges": "ix_api_login_challenges_expires",
    "api_sessions": "ix_api_sessions_expires",
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, index in _INDEXES.items():
        if inspector.has_table(table) and index not in {
            i["name"] for i in inspector.get_indexes(table)
        }:
            op.create_index(index, table, ["expires"])


def downgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, index in _INDEXES.items():
        if inspector.has_table(table):
            op.drop_index(index, table_name=table)
