"""What the revisions in ``versions/`` share: the read models' tables are there or not, and
a table a revision adds is created only where it is missing.

A revision runs on a database whose read models may not exist yet (the ledger's service
tables only: it is left alone, and opening the read models later creates the current
tables from their definitions), or whose newest tables already exist (created from the
current definitions by a version that stamped an older revision): so each revision
checks before it creates, and creates what it adds exactly as the models define it
(``WITHOUT ROWID`` on SQLite, like every read-model table).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine.reflection import Inspector

__all__ = ["create_missing", "forget_refresh", "has_read_models", "inspector", "replay"]


def inspector() -> Inspector:
    """An inspector of the database the running revision upgrades."""
    return sa.inspect(op.get_bind())


def has_read_models(found: Inspector, table: str = "rep_ratings") -> bool:
    """True if the read models' tables exist (``table`` is one of them): a database without
    them is left alone by a revision."""
    return found.has_table(table)


def create_missing(found: Inspector, name: str, *columns: sa.Column[object]) -> None:
    """Create the table ``name`` with ``columns`` (``WITHOUT ROWID`` on SQLite) unless it
    exists."""
    if not found.has_table(name):
        op.create_table(name, *columns, sqlite_with_rowid=False)


def replay(found: Inspector, read_model: str, tables: tuple[str, ...]) -> None:
    """Empty ``read_model``'s ``tables`` and set its tracking record back to 0: the next
    catch-up replays the log into it (as ``projections rebuild READ_MODEL`` would)."""
    for table in tables:
        if found.has_table(table):
            op.execute(sa.text(f"DELETE FROM {table}"))
    if found.has_table("projection_tracking"):
        op.execute(
            sa.text(
                "UPDATE projection_tracking SET position = 0 WHERE read_model = :name"
            ).bindparams(name=read_model)
        )


# What the reputation refresh alone writes, its mark (``rep_refresh``) last; as they
# stood at revision 0009 (a migration names the tables of its own time, never the model's).
REPUTATION_REFRESH_TABLES = (
    "rep_raters",
    "rep_cliques",
    "rep_consensus",
    "rep_scores",
    "rep_imported",
    "rep_origins",
    "rep_refresh",
)


def forget_refresh(found: Inspector, tables: tuple[str, ...]) -> None:
    """Empty what a read model's refresh step alone writes (``tables``, its mark last): the
    step is then due at once (``Projector.refresh_due``), and what it stored by an older
    formula is neither shown nor compared until it is recomputed. Keeping those rows
    without their mark would make ``projections verify`` (and so ``trackrecord audit``)
    report them, since a rebuild refreshes only where the live mark says it did. The facts
    stay; nothing is replayed."""
    for table in tables:
        if found.has_table(table):
            op.execute(sa.text(f"DELETE FROM {table}"))
