"""A ledger with its projector on one database, table snapshots, and a reference.

:class:`LedgerEnv` is a ledger store, its service and a projector on one database URL;
:func:`ledger_env` gives one on an emptied database (a fresh start for each hypothesis
example). :func:`snapshot` reads every read-model row; :func:`check_against_reference`
compares the read models with what the rules' own :class:`~ledger.state.LedgerState`
says they must hold.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, select

from ledger.app import Ledger
from ledger.state import LedgerState
from ledger.statement import SignedStatement
from ledger.store import open_store
from projections import (
    Projector,
    create_read_model_engine,
    open_projector,
)
from projections.matching import tables as mt
from projections.portfolio import tables as pf
from projections.reputation import tables as rep
from tests.factories import TickClock

__all__ = [
    "AT",
    "READ_MODEL_TABLES",
    "LedgerEnv",
    "check_against_reference",
    "ledger_env",
    "reset_database",
    "snapshot",
]

AT = 1_800_000_000  # a fixed reference time (2027-01-15) for reputation refreshes


class LedgerEnv:
    """A ledger store, its service and a projector, all on one database URL."""

    def __init__(self, url: str, *, batch_size: int = 3) -> None:
        self.url = url
        self.store = open_store(url)
        self.ledger = Ledger(self.store, clock=TickClock())
        self.service = self.ledger.service
        self.engine = create_read_model_engine(url)
        self.projector = self.new_projector(batch_size=batch_size)

    def new_projector(self, *, batch_size: int = 3) -> Projector:
        """A fresh projector (as after a restart of the process)."""
        return open_projector(self.store, engine=self.engine, batch_size=batch_size)

    def append(self, statements: Sequence[SignedStatement]) -> None:
        for start in range(0, len(statements), 500):
            self.service.append_batch(statements[start : start + 500])

    def close(self) -> None:
        self.engine.dispose()
        self.store.close()


def reset_database(url: str) -> None:
    """Remove every table of the database at ``url`` (a fresh start for the next example)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.path + suffix).unlink(missing_ok=True)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@contextmanager
def ledger_env(url: str, *, batch_size: int = 3) -> Iterator[LedgerEnv]:
    """A :class:`LedgerEnv` on an emptied database, closed and emptied again afterwards."""
    reset_database(url)
    env = LedgerEnv(url, batch_size=batch_size)
    try:
        yield env
    finally:
        env.close()
        reset_database(url)


READ_MODEL_TABLES = {
    "portfolio": pf.metadata.sorted_tables,
    "reputation": rep.metadata.sorted_tables,
    "matching": mt.metadata.sorted_tables,
}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read-model table, sorted: equal snapshots mean equal read models.

    Of the reputation refresh's results, what readers read: the published generation's
    rows, without the generation numbers (they count refreshes) and the counter."""
    out = {}
    generational = {table.name for table in rep.GENERATION_TABLES}
    with engine.connect() as conn:
        published = rep.published(conn)
        for tables in READ_MODEL_TABLES.values():
            for table in tables:
                if table is rep.generation:
                    continue
                shown = [c for c in table.columns if c.name != "generation"]
                query = select(*shown)
                if table.name in generational:
                    query = query.where(table.c.generation == published)
                rows = [tuple(r) for r in conn.execute(query)]
                out[table.name] = sorted(rows, key=repr)
    return out


def check_against_reference(engine: Engine, state: LedgerState) -> None:
    """Compare the read models with what the rules' state says they must hold."""
    live_contributions = {c.id for c in state.contributions.values() if not c.withdrawn}
    live_endorsements = {
        e.id
        for e in state.endorsements.values()
        if not e.revoked and e.contribution in live_contributions
    }
    with engine.connect() as conn:
        ids = {r.id for r in conn.execute(select(pf.contributions.c.id))}
        assert ids == live_contributions
        ids = {r.id for r in conn.execute(select(pf.endorsements.c.id))}
        assert ids == live_endorsements
        ratings = {
            r.id
            for r in conn.execute(
                select(rep.ratings.c.id).where(rep.ratings.c.kind == "endorsement")
            )
        }
        assert ratings == live_endorsements
        people = {r.person: r for r in conn.execute(select(pf.people))}
        assert set(people) == set(state.people)
        for person in state.people.values():
            assert people[person.id].department == person.department
        grants = {
            (r.person, r.id, r.viewer, r.part, r.until) for r in conn.execute(select(pf.grants))
        }
        assert grants == {
            (g.owner, g.id, g.viewer, g.part, g.until)
            for g in state.access_grants.values()
            if not g.revoked
        }
        free = {(r.person, r.id, r.viewer, r.until) for r in conn.execute(select(mt.grants))}
        assert free == {(o, i, v, u) for o, i, v, p, u in grants if p == "free"}
        _check_matching(conn, state, live_contributions)


def _check_matching(conn: Any, state: LedgerState, live: set[str]) -> None:
    hours = {r.id: r.hours_per_week for r in conn.execute(select(mt.assignments))}
    committed: dict[str, int] = dict.fromkeys(state.people, 0)
    expected_skills: dict[tuple[str, str], int] = {}
    for c in state.contributions.values():
        if c.id in live:
            for skill in set(c.skills):
                expected_skills[(c.owner, skill)] = expected_skills.get((c.owner, skill), 0) + 1
    for a in state.assignments.values():
        for person in a.assignees - a.completed:
            if a.status in ("open", "assigned"):
                committed[person] += hours[a.id]
        for person in a.completed:
            for skill in set(a.skills):
                expected_skills[(person, skill)] = expected_skills.get((person, skill), 0) + 1
    rows = {r.person: r for r in conn.execute(select(mt.people))}
    assert {p: r.committed for p, r in rows.items()} == committed
    skills = {(r.person, r.skill): r for r in conn.execute(select(mt.skills))}
    evidence = {k: r.evidence for k, r in skills.items() if r.evidence}
    assert evidence == expected_skills
    for (person, _), r in skills.items():
        assert (r.department, r.visibility, r.committed) == (
            rows[person].department,
            rows[person].visibility,
            rows[person].committed,
        )
    opened = {
        r.id for r in conn.execute(select(mt.assignments).where(mt.assignments.c.open.is_(True)))
    }
    assert opened == {a.id for a in state.assignments.values() if a.status == "open"}
