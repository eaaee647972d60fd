"""How often people searches found each person: one number per person, nothing else.

A person's employee page shows how often searches found them, beside the explanation of
their opt-in (issue 17). The service counts it here, in the table
``api_search_appearances`` beside the sessions' (:mod:`api.sessions`): a row per person
found at least once, with the number of searches whose answer listed them.

What it does not keep, by design (docs/privacy.md §10): who searched, what for, when, or
in which ring — a search adds one to the count of each person it lists and nothing else,
so neither the person nor anyone reading the table learns who looked for them. It is not
a read model: it is not derived from the log (a rebuild keeps it, ``projections verify``
does not compare it) and not part of anyone's record. An erasure deletes the person's row
(:meth:`SearchAppearances.forget`).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ledger.store.base import SCHEMA_LOCK
from projections.db import writing, xact_lock

__all__ = ["SearchAppearances"]

_metadata = MetaData()
_appearances = Table(
    "api_search_appearances",
    _metadata,
    Column("person", String(64), primary_key=True),
    Column("found", BigInteger, nullable=False),  # searches whose answer listed them
)


class SearchAppearances:
    """The count of searches that found each person, in the ledger's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with writing(engine) as conn:
            xact_lock(conn, SCHEMA_LOCK)
            _metadata.create_all(conn)

    def count(self, people: Collection[str]) -> None:
        """Add one to the count of each of ``people`` (the people one search listed)."""
        if not people:
            return
        rows = [{"person": p, "found": 1} for p in sorted(set(people))]
        with writing(self.engine) as conn:
            module = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = module.insert(_appearances)
            upsert = stmt.on_conflict_do_update(
                index_elements=[_appearances.c.person],
                set_={"found": _appearances.c.found + stmt.excluded.found},
            )
            conn.execute(upsert, rows)

    def found(self, person: str) -> int:
        """How many searches listed ``person`` (0 if none did)."""
        with self.engine.connect() as conn:
            query = select(_appearances.c.found).where(_appearances.c.person == person)
            return int(conn.execute(query).scalar() or 0)

    def forget(self, people: Collection[str]) -> None:
        """Delete the counts of ``people`` (erased: nothing of them is kept)."""
        if people:
            with writing(self.engine) as conn:
                conn.execute(delete(_appearances).where(_appearances.c.person.in_(sorted(people))))
