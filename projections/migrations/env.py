"""Alembic's environment for the SQLAlchemy-managed tables (projections/schema.py).

Run only through :func:`projections.schema.upgrade`, which hands over the connection
(in its transaction, holding the schema lock) as ``config.attributes["connection"]``:
there is no alembic.ini and no URL here.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():  # joins the caller's transaction
    context.run_migrations()
