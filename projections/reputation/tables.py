"""The reputation read model's tables (prefix ``rep_``).

Incremental (kept by the projector, entry by entry): ``rep_keys``,
``rep_targets`` (the skills of each contribution and assignment, as a JSON
list), ``rep_managers`` (the manager roles an admin granted and nobody
revoked: the roots of trust with the owners of completed assignments) and
``rep_ratings`` — the endorsement facts, one row per active endorsement or
assignment completion. Derived (written by the refresh step from the facts):
``rep_raters`` (trust, standing and discrimination per person), ``rep_cliques``
(the dense-clique factor of each endorsement pair below 1), ``rep_consensus`` (the
agreement and cycle factors of each rating pair with one below 1), ``rep_scores`` and
``rep_refresh``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

from ..refresh import mark_table

__all__ = [
    "cliques",
    "consensus",
    "keys",
    "managers",
    "metadata",
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
    Column("rater", String(64), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("factor", Float, nullable=False),
    sqlite_with_rowid=False,
)

consensus = Table(
    "rep_consensus",
    metadata,
    Column("rater", String(64), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("agreement", Float, nullable=False),
    Column("cycle", Float, nullable=False),
    sqlite_with_rowid=False,
)

scores = Table(
    "rep_scores",
    metadata,
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
    Column("origin", String(255), primary_key=True),  # the ledger the rating was given on
    Column("id", String(64), primary_key=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("rater", String(64), nullable=False),  # a person of the origin ledger
    Column("role", String(16), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),  # its log index on the origin ledger
    Column("skills", Text, nullable=False),  # JSON list
    sqlite_with_rowid=False,
)

origins = Table(
    "rep_origins",
    metadata,
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
