"""The reputation read model's tables (prefix ``rep_``).

Incremental (kept by the projector, entry by entry): ``rep_keys``,
``rep_targets`` (the skills of each contribution and assignment, as a JSON
list), ``rep_managers`` (the manager roles an admin granted and nobody
revoked: the roots of trust with the owners of completed assignments) and
``rep_ratings`` — the endorsement facts, one row per active endorsement or
assignment completion. Derived (written by the refresh step from the facts):
``rep_raters`` (trust, standing and discrimination per person), ``rep_cliques``
(the dense-clique factor of each endorsement pair below 1), ``rep_consensus`` (the
agreement and cycle factors of each rating pair with one below 1), ``rep_scores``,
``rep_imported`` and ``rep_origins`` (what the refresh counted from other ledgers), and
``rep_refresh``, its mark.

The derived tables hold *generations* (:data:`GENERATION_TABLES`): each refresh writes its
rows under a new generation number (``rep_generation`` hands them out) in short
transactions, then publishes it in ``rep_refresh.generation`` in one tiny one. Readers read
the published generation's rows only (:func:`published`), so they see one complete
refresh's results, never a mixture and never a table emptied mid-refresh
(docs/reputation.md, "What is stored, what is computed when").
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from ..refresh import mark_table

__all__ = [
    "GENERATION_TABLES",
    "cliques",
    "consensus",
    "generation",
    "imported",
    "keys",
    "managers",
    "metadata",
    "origins",
    "published",
    "raters",
    "ratings",
    "refresh_state",
    "scores",
    "targets",
]

metadata = MetaData()

keys = Table(
    "rep_keys",
    metadata,
    Column("key_id", String(48), primary_key=True),
    Column("person", String(64), nullable=False),
    Index("rep_keys_person", "person"),
    sqlite_with_rowid=False,
)

targets = Table(
    "rep_targets",
    metadata,
    Column("target", String(36), primary_key=True),  # contribution or assignment id
    Column("skills", Text, nullable=False),  # JSON list
    sqlite_with_rowid=False,
)

ratings = Table(
    "rep_ratings",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),  # endorsement | completion
    Column("target", String(36), nullable=False),  # contribution or assignment id
    Column("rater_key", String(48), nullable=False),
    Column("role", String(16), nullable=False),  # manager | peer | client | owner
    Column("grade", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),  # Unix seconds, min(issued_at, recorded_at)
    Column("position", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

managers = Table(
    "rep_managers",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("scope", String(128), primary_key=True),  # the department
    sqlite_with_rowid=False,
)

raters = Table(
    "rep_raters",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("person", String(64), primary_key=True),
    Column("trust", Float, nullable=False),
    Column("standing", Float, nullable=False),
    Column("discrimination", Float, nullable=False),
    Column("root", Integer, nullable=False),  # 1: pre-trusted
    sqlite_with_rowid=False,
)

cliques = Table(
    "rep_cliques",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("rater", String(64), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("factor", Float, nullable=False),
    sqlite_with_rowid=False,
)

consensus = Table(
    "rep_consensus",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("rater", String(64), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("agreement", Float, nullable=False),
    Column("cycle", Float, nullable=False),
    sqlite_with_rowid=False,
)

scores = Table(
    "rep_scores",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("person", String(64), primary_key=True),
    Column("skill", String(48), primary_key=True),
    Column("score", Float, nullable=False),
    Column("weight", Float, nullable=False),
    Column("ratings", Integer, nullable=False),
    sqlite_with_rowid=False,
)

imported = Table(
    "rep_imported",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("origin", String(255), primary_key=True),  # the ledger the rating was given on
    Column("id", String(64), primary_key=True),
    Column("subject", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("rater", String(64), nullable=False),  # a person of the origin ledger
    Column("role", String(16), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),  # its log index on the origin ledger
    Column("skills", Text, nullable=False),  # JSON list
    Index("rep_imported_subject", "generation", "subject"),
    sqlite_with_rowid=False,
)

origins = Table(
    "rep_origins",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("origin", String(255), primary_key=True),
    Column("weight", Float, nullable=False),  # the declared trust in it, as of the refresh
    sqlite_with_rowid=False,
)

refresh_state = mark_table(
    "rep_refresh",
    metadata,
    Column("rounds", Integer, nullable=False),
    Column("residual", Float, nullable=False),
    Column("people", Integer, nullable=False),
)
# The published generation, last (revision 0011 added it to the existing table).
refresh_state.append_column(Column("generation", BigInteger, nullable=False))

generation = Table(
    "rep_generation",
    metadata,
    Column("id", Integer, primary_key=True),  # its one row: 1
    Column("allocated", BigInteger, nullable=False),  # the last generation handed out
    sqlite_with_rowid=False,
)
"""The generation counter: each refresh takes the next number before it writes."""

GENERATION_TABLES = (raters, cliques, consensus, scores, imported, origins)
"""The refresh's result tables, whose rows belong to a generation (their key's first column)."""


def published(conn: Connection) -> int:
    """The generation readers read: the last refresh's (0 before any refresh, a generation
    no row has). A reader that makes several statements reads it once and uses it in each,
    so its answer is of one refresh even if another is published meanwhile (that refresh
    keeps the rows it replaced until the next one: :meth:`~projections.reputation.model.
    ReputationModel.refresh`)."""
    found = conn.execute(select(refresh_state.c.generation)).scalar_one_or_none()
    return 0 if found is None else int(found)
