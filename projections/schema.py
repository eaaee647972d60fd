"""The schema versions of the SQLAlchemy-managed tables, by Alembic.

The read models' tables and their tracking table (:mod:`projections`) and the
service's own tables (login challenges, sessions, onboarding: :mod:`api`) are
SQLAlchemy tables in the ledger's database. Their schema version is Alembic's
``alembic_version`` table; the revisions are ``projections/migrations/versions/``
(shipped in the package). The ledger's own tables (entries, Merkle nodes, rule
state, entry positions: :mod:`ledger.store`) are the event store's, not versioned here.

:func:`upgrade` runs when the read models are opened
(:meth:`projections.runner.Projector.setup`, in its transaction, holding the schema
lock, so processes starting together upgrade once) and from ``trackrecord migrate``:

- a fresh database (no tracking table yet) gets the current tables from the models'
  definitions and is stamped with the newest revision;
- a database at an older revision (or without ``alembic_version``: written before
  Alembic, revision 0001 by definition) is upgraded to the newest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from .tracking import tracking_table

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used, not here: importing it costs some 0.2 s, which
# every CLI command would pay (the CLI imports the read models) for a check that only
# opening the read models needs.

__all__ = ["HEAD", "SchemaChange", "head_revision", "schema_revision", "upgrade"]

#: the newest revision in migrations/versions, raised with each new one (the schema test
#: checks it is Alembic's head): a database at it is recognised without importing Alembic
HEAD = "0011"

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    """The newest schema revision this version knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package ships its revisions
    return head


def schema_revision(conn: Connection) -> str | None:
    """The revision the database's tables are at (None: no ``alembic_version`` yet)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class SchemaChange:
    """What :func:`upgrade` did: the revision before (None: none recorded) and after, and
    whether the database was fresh (its tables created at the newest revision)."""

    before: str | None
    after: str
    fresh: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade(conn: Connection, *, fresh: bool | None = None) -> SchemaChange:
    """Bring the SQLAlchemy-managed tables to the newest revision, in ``conn``'s
    transaction (the caller holds the schema lock). ``fresh``: whether the caller is about
    to create the tables from their current definitions (by default: the tracking table
    does not exist yet), so that only the revision is recorded."""
    if _at_head(conn):
        return SchemaChange(HEAD, HEAD, fresh=False)
    from alembic import command

    before = schema_revision(conn)
    head = head_revision()
    if fresh is None:
        fresh = before is None and not inspect(conn).has_table(tracking_table.name)
    if fresh:
        command.stamp(_config(conn), head)
    elif before != head:
        command.upgrade(_config(conn), head)
    return SchemaChange(before, head, fresh)


def downgrade(conn: Connection, revision: str) -> None:
    """Bring the SQLAlchemy-managed tables down to ``revision`` with the revisions'
    ``downgrade`` steps, in ``conn``'s transaction. For running an earlier version on a
    copy of a ledger (``bench.scale``'s reference): a version refuses tables of a
    revision it does not know."""
    from alembic import command

    command.downgrade(_config(conn), revision)


def _at_head(conn: Connection) -> bool:
    """True if the database records revision :data:`HEAD` (one query, no Alembic)."""
    if not inspect(conn).has_table("alembic_version"):
        return False
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return found == [HEAD]
