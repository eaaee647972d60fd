"""The matching read model's tables (prefix ``mt_``).

``mt_skills`` is the search index: one row per (person, skill) with the
person's ring coordinates (organisation, department), opt-in (the free part's
visibility) and committed hours copied in, so that a ring query is one
indexed range scan (``mt_skills_ring``: skill, visibility, organisation,
department) that never visits people who did not opt in. ``mt_open_skills``
lists the skills of open assignments only (rows go when an assignment is
assigned or cancelled), for the reverse query.
It is derived, maintained by deltas at the end of each batch: +1 evidence
per skill of a claimed contribution or a completed assignment, −1 per skill
of a withdrawn contribution (``mt_contributions`` remembers their skills), the
ambition flag from stated ambitions, and the person's columns copied again
from ``mt_people`` whenever they change.

Imported evidence (records brought from other ledgers, docs/reputation.md "Imported
evidence in matching") is not in the log: the refresh step
(:meth:`~projections.matching.model.MatchingModel.refresh`) writes it to
``mt_imported`` (per person, skill, origin and portfolio part: how many contributions
and completed assignments, and the declared trust in the origin), sets
``mt_skills.imported`` to the highest trust among the origins with evidence of the skill
(creating the row for a skill the person has only from elsewhere), and records its
moment in ``mt_refresh``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from ..refresh import mark_table
from ..sealed import SealedText

__all__ = [
    "assignees",
    "assignments",
    "contributions",
    "grants",
    "imported",
    "keys",
    "metadata",
    "open_skills",
    "people",
    "refresh_state",
    "skills",
]

metadata = MetaData()

keys = Table(
    "mt_keys",
    metadata,
    Column("key_id", String(48), primary_key=True),
    Column("person", String(64), nullable=False),
    sqlite_with_rowid=False,
)

people = Table(
    "mt_people",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("organisation", String(64), nullable=False),
    Column("department", String(129), nullable=False),
    Column("visibility", String(16), nullable=False),  # of the free part: the opt-in
    Column("committed", Integer, nullable=False),  # hours/week on active assignments
    sqlite_with_rowid=False,
)

grants = Table(  # grants of the free part (the opt-in) not revoked, see projections.access
    "mt_grants",
    metadata,
    Column("person", String(64), primary_key=True),  # the owner who granted
    Column("id", String(36), primary_key=True),  # the AccessGranted statement id
    Column("viewer", String(64), nullable=False),
    Column("until", String(10)),
    Index("mt_grants_viewer", "viewer"),
    sqlite_with_rowid=False,
)

contributions = Table(
    "mt_contributions",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("skills", Text, nullable=False),  # JSON list
    sqlite_with_rowid=False,
)

assignments = Table(
    "mt_assignments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("owner_key", String(48), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("department", String(129), nullable=False),
    Column("skills", Text, nullable=False),
    Column("skill_count", Integer, nullable=False),
    Column("hours_per_week", Integer, nullable=False),
    Column("ring", String(16), nullable=False),
    Column("open", Boolean, nullable=False),
    Column("personal", SealedText, nullable=False),
    Column("position", BigInteger, nullable=False),
)

open_skills = Table(
    "mt_open_skills",
    metadata,
    Column("assignment", String(36), primary_key=True),
    Column("skill", String(48), primary_key=True),
    Index("mt_open_skills_skill", "skill", "assignment"),
    sqlite_with_rowid=False,
)

assignees = Table(
    "mt_assignees",
    metadata,
    Column("assignment", String(36), primary_key=True),
    Column("person", String(64), primary_key=True),
    Column("active", Boolean, nullable=False),
    Index("mt_assignees_person", "person"),
    sqlite_with_rowid=False,
)

skills = Table(
    "mt_skills",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("skill", String(48), primary_key=True),
    Column("organisation", String(64), nullable=False),
    Column("department", String(129), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("committed", Integer, nullable=False),
    Column("evidence", Integer, nullable=False),  # contributions and completions
    Column("ambition", Integer, nullable=False),  # 1 if stated as a skill to develop
    # the highest declared trust among the origins with imported evidence of the skill
    # (0: none, or none trusted); written by the refresh step only
    Column("imported", Float, nullable=False, default=0.0, server_default="0"),
    Index("mt_skills_ring", "skill", "visibility", "organisation", "department"),
    sqlite_with_rowid=False,
)

imported = Table(  # written by the refresh step only
    "mt_imported",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("skill", String(48), primary_key=True),
    Column("origin", String(255), primary_key=True),  # the ledger the evidence was recorded on
    Column("part", String(16), primary_key=True),  # the portfolio part it belongs to
    Column("evidence", Integer, nullable=False),  # contributions and completed assignments
    Column("weight", Float, nullable=False),  # the declared trust in the origin (0: none)
    sqlite_with_rowid=False,
)

refresh_state = mark_table("mt_refresh", metadata)
