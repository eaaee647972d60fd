"""The portfolio read model's tables (prefix ``pf_``).

Access grants (``pf_grants``) are kept while not revoked; whether one is
still active (its ``until`` day) is decided when a query runs. A review request
lets each person it names read that one contribution for good (``pf_reviewers``,
as ``ledger.access.may_read_contribution``).

Personal fields are stored as JSON objects ``{field: value}`` with ``null``
for a withheld disclosure; skills as JSON arrays. Keys of people are kept so
that an endorser is named by person, not by signing key.

Rows that belong to one person have the person first in their primary key,
so a portfolio is read by key prefix and no table needs a secondary index,
which keeps the rebuild fast. Tables of small rows are ``WITHOUT ROWID`` on
SQLite (one B-tree instead of two); tables that hold personal text keep their
rowid, because SQLite stores large rows badly in a clustered index (2.7×
slower inserts measured for rows of 200-900 bytes).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

from ..sealed import SealedText

__all__ = [
    "ambitions",
    "assignment_people",
    "assignments",
    "contributions",
    "endorsements",
    "grants",
    "keys",
    "metadata",
    "people",
    "reviewers",
]

metadata = MetaData()

people = Table(
    "pf_people",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("organisation", String(64), nullable=False),
    Column("department", String(129), nullable=False),
    Column("personal", SealedText, nullable=False),
    Column("vis_dossier", String(16), nullable=False),
    Column("vis_analytical", String(16), nullable=False),
    Column("vis_ambitions", String(16), nullable=False),
    Column("vis_free", String(16), nullable=False),
    Column("position", BigInteger, nullable=False),
)

keys = Table(
    "pf_keys",
    metadata,
    Column("key_id", String(48), primary_key=True),
    Column("person", String(64), nullable=False),
    sqlite_with_rowid=False,
)

grants = Table(
    "pf_grants",
    metadata,
    Column("person", String(64), primary_key=True),  # the owner who granted
    Column("id", String(36), primary_key=True),  # the AccessGranted statement id
    Column("viewer", String(64), nullable=False),
    Column("part", String(16), nullable=False),
    Column("until", String(10)),  # last day (UTC) it gives access; null: no end
    sqlite_with_rowid=False,
)

reviewers = Table(
    "pf_reviewers",
    metadata,
    Column("person", String(64), primary_key=True),  # the owner who asked
    Column("contribution", String(36), primary_key=True),
    Column("reviewer", String(64), primary_key=True),  # named by a ReviewRequested
    sqlite_with_rowid=False,
)

contributions = Table(
    "pf_contributions",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("part", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("skills", Text, nullable=False),
    Column("period_start", String(10), nullable=False),
    Column("period_end", String(10)),
    Column("evidence_sha256", String(64)),
    Column("personal", SealedText, nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("position", BigInteger, nullable=False),
)

endorsements = Table(
    "pf_endorsements",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("contribution", String(36), nullable=False),
    Column("endorser_key", String(48), nullable=False),
    Column("role", String(16), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("personal", SealedText, nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("position", BigInteger, nullable=False),
)

ambitions = Table(
    "pf_ambitions",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("skills", Text, nullable=False),
    Column("personal", SealedText, nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("position", BigInteger, nullable=False),
)

assignments = Table(
    "pf_assignments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner_key", String(48), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("department", String(129), nullable=False),
    Column("skills", Text, nullable=False),
    Column("hours_per_week", Integer, nullable=False),
    Column("personal", SealedText, nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("position", BigInteger, nullable=False),
)

assignment_people = Table(
    "pf_assignment_people",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("assignment", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("outcome", String(32)),
    Column("grade", Integer),
    Column("personal", SealedText, nullable=False),
    Column("position", BigInteger, nullable=False),
)
