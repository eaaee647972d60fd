"""The matching read model: supply (people, skills, hours) and demand (open assignments).

Handlers record plain writes; :meth:`MatchingModel.finish` then maintains
the derived search index ``mt_skills`` by deltas, in the batch's transaction:

1. committed hours are recomputed for people whose assignments changed;
2. withdrawn contributions are read back (their skills) and deleted;
3. the skills of completed assignments are read;
4. per (person, skill): Δevidence = claims + completions − withdrawals, and
   the ambition flag; each is upserted with the person's current columns;
   rows left with no evidence and no ambition are deleted;
5. people whose columns changed (transfer, opt-in, hours) get them copied
   into their ``mt_skills`` rows again.

The result is a function of the log alone, whatever the batch boundaries.

**Refresh step** (:meth:`MatchingModel.refresh`): the evidence in records imported from
other ledgers is not in the log, so, as the reputation's refresh does with their
ratings, it counts the imported records and the declared trust in their origins (read
once per refresh cycle for both, :meth:`projections.entries.EntryReader.imported_bundles`,
and recorded with the refresh, :mod:`projections.refresh`) and writes ``mt_imported``
and ``mt_skills.imported`` (docs/reputation.md, "Imported evidence in matching") in one
transaction, holding the tracking record's lock. Rows it made keep their
``imported`` weight through later batches (the deltas above never touch it, and a row
is deleted only with no evidence, ambition or imported weight left) until the next
refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ledger.catalogue import Part
from ledger.imported_ratings import ImportedEvidence

from ..access import DEFAULT_VISIBILITY, OPT_IN_PART
from ..base import ReadModel
from ..batch import Phase, WriteBatch, executemany
from ..db import writing
from ..entries import AcceptedEntry, EntryReader, ImportedBundles, json_list
from ..erasure import PersonalColumn, by_author_key
from ..refresh import record_refresh, refreshed
from . import tables as t

__all__ = ["MatchingModel"]

_Handler = Callable[["MatchingModel", AcceptedEntry, "_Batch"], None]
_CHUNK = 500

_TRANSFER = (
    update(t.people)
    .where(t.people.c.person == bindparam("b_person"))
    .values(organisation=bindparam("b_organisation"), department=bindparam("b_department"))
)
_OPT_IN = (
    update(t.people)
    .where(t.people.c.person == bindparam("b_person"))
    .values(visibility=bindparam("b_visibility"))
)
_REVOKE_GRANT = delete(t.grants).where(
    t.grants.c.person == bindparam("b_person"), t.grants.c.id == bindparam("b_id")
)
_CLOSE = update(t.assignments).where(t.assignments.c.id == bindparam("b_id")).values(open=False)
_UNLIST = delete(t.open_skills).where(t.open_skills.c.assignment == bindparam("b_id"))
_FINISH_ONE = (
    update(t.assignees)
    .where(
        t.assignees.c.assignment == bindparam("b_assignment"),
        t.assignees.c.person == bindparam("b_person"),
    )
    .values(active=False)
)
_FINISH_ALL = (
    update(t.assignees)
    .where(t.assignees.c.assignment == bindparam("b_assignment"))
    .values(active=False)
)
_COPIED = ("organisation", "department", "visibility", "committed")
_INSERT_IMPORTED = insert(t.imported)


def _upsert(dialect: str) -> Executable:
    """Add evidence to a (person, skill) row, or create it with the person's columns.

    An existing row keeps its copied columns: they are copied again for every
    person whose columns changed (step 5), which spares the index updates.
    """
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(t.skills)
    current, new = t.skills.c, stmt.excluded
    greatest = func.greatest if dialect == "postgresql" else func.max
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=[current.person, current.skill],
        set_={
            "evidence": current.evidence + new.evidence,
            "ambition": greatest(current.ambition, new.ambition),
        },
    )
    return upsert


_UPSERTS = {name: _upsert(name) for name in ("sqlite", "postgresql")}


class _Batch(WriteBatch):
    """A write batch plus the deltas of the skill index."""

    def __init__(self) -> None:
        super().__init__()
        self.evidence: dict[tuple[str, str], int] = {}
        self.ambitions: set[tuple[str, str]] = set()
        self.withdrawn: list[tuple[str, str]] = []
        self.completed: list[tuple[str, str]] = []
        self.hours: set[str] = set()
        self.cancelled: set[str] = set()
        self.changed: set[str] = set()

    def add_evidence(self, person: str, skills: Iterable[str], delta: int) -> None:
        """Count ``delta`` more evidence of each of ``skills`` for ``person``."""
        for skill in skills:
            key = (person, skill)
            self.evidence[key] = self.evidence.get(key, 0) + delta


class MatchingModel(ReadModel):
    """Who can do which assignment: skills, opt-in, rings and available hours."""

    name = "matching"
    metadata = t.metadata
    # An assignment's title and description are its poster's content.
    personal_columns: ClassVar[tuple[PersonalColumn, ...]] = (by_author_key(t.assignments, t.keys),)
    refresh_tables: ClassVar[tuple[str, ...]] = (t.imported.name, t.refresh_state.name)
    """The tables only :meth:`refresh` writes; ``refresh_state`` (last) records its moment."""
    _handlers: ClassVar[dict[str, _Handler]]

    def new_batch(self) -> WriteBatch:
        return _Batch()

    def handle(self, entry: AcceptedEntry, batch: WriteBatch) -> None:
        handler = self._handlers.get(entry.type)
        if handler is not None:
            assert isinstance(batch, _Batch)
            handler(self, entry, batch)

    # -- handlers -------------------------------------------------------------------------
    def _registered(self, e: AcceptedEntry, batch: _Batch) -> None:
        row = {
            "person": e.subject,
            "organisation": e.body["organisation"],
            "department": e.body["department"],
            "visibility": DEFAULT_VISIBILITY[OPT_IN_PART].value,
            "committed": 0,
        }
        batch.insert(t.people, row)
        self._key(e, batch)

    def _key(self, e: AcceptedEntry, batch: _Batch) -> None:
        batch.insert(t.keys, {"key_id": e.new_key_id, "person": e.subject})

    def _access_granted(self, e: AcceptedEntry, batch: _Batch) -> None:
        body = e.body
        if body["part"] != Part(OPT_IN_PART).value:
            return
        until = body.get("until")
        batch.insert(
            t.grants, {"person": e.subject, "id": e.id, "viewer": body["viewer"], "until": until}
        )

    def _access_revoked(self, e: AcceptedEntry, batch: _Batch) -> None:
        # A grant of another part has no row here: deleting nothing is harmless.
        params = {"b_person": e.subject, "b_id": e.body["grant"]}
        batch.add(Phase.DELETE, "revoke_grant", _REVOKE_GRANT, params)

    def _transferred(self, e: AcceptedEntry, batch: _Batch) -> None:
        params = {
            "b_person": e.subject,
            "b_organisation": e.body["organisation"],
            "b_department": e.body["department"],
        }
        batch.add(Phase.DERIVE, "transfer", _TRANSFER, params)
        batch.changed.add(e.subject)

    def _visibility(self, e: AcceptedEntry, batch: _Batch) -> None:
        if e.body["part"] != Part(OPT_IN_PART).value:
            return
        params = {"b_person": e.subject, "b_visibility": e.body["visibility"]}
        batch.add(Phase.DERIVE, "opt_in", _OPT_IN, params)
        batch.changed.add(e.subject)

    def _claimed(self, e: AcceptedEntry, batch: _Batch) -> None:
        skills = list(dict.fromkeys(e.body["skills"]))
        batch.insert(
            t.contributions, {"person": e.subject, "id": e.id, "skills": json_list(skills)}
        )
        batch.add_evidence(e.subject, skills, 1)

    def _ambition(self, e: AcceptedEntry, batch: _Batch) -> None:
        for skill in e.body["skills"]:
            batch.ambitions.add((e.subject, skill))

    def _withdrawn(self, e: AcceptedEntry, batch: _Batch) -> None:
        batch.withdrawn.append((e.subject, e.body["contribution"]))

    def _posted(self, e: AcceptedEntry, batch: _Batch) -> None:
        body = e.body
        skills = list(dict.fromkeys(body["skills"]))
        row = {
            "id": e.subject,
            "owner_key": e.author,
            "organisation": body["organisation"],
            "department": body["department"],
            "skills": json_list(skills),
            "skill_count": len(skills),
            "hours_per_week": body["hours_per_week"],
            "ring": body["ring"],
            "open": True,
            "personal": e.personal_json(),
            "position": e.position,
        }
        batch.insert(t.assignments, row)
        for skill in skills:
            batch.insert(t.open_skills, {"assignment": e.subject, "skill": skill})

    def _assigned(self, e: AcceptedEntry, batch: _Batch) -> None:
        person = e.body["assignee"]
        batch.insert(t.assignees, {"assignment": e.subject, "person": person, "active": True})
        batch.add(Phase.DERIVE, "close", _CLOSE, {"b_id": e.subject})
        batch.add(Phase.DELETE, "unlist", _UNLIST, {"b_id": e.subject})
        batch.hours.add(person)

    def _completed(self, e: AcceptedEntry, batch: _Batch) -> None:
        person = e.body["assignee"]
        params = {"b_assignment": e.subject, "b_person": person}
        batch.add(Phase.DERIVE, "finish_one", _FINISH_ONE, params)
        batch.completed.append((person, e.subject))
        batch.hours.add(person)

    def _cancelled(self, e: AcceptedEntry, batch: _Batch) -> None:
        batch.add(Phase.DERIVE, "close", _CLOSE, {"b_id": e.subject})
        batch.add(Phase.DELETE, "unlist", _UNLIST, {"b_id": e.subject})
        batch.add(Phase.DERIVE, "finish_all", _FINISH_ALL, {"b_assignment": e.subject})
        batch.cancelled.add(e.subject)

    # -- the derived skill index ------------------------------------------------------------
    def finish(self, conn: Connection, batch: WriteBatch) -> None:
        """Maintain committed hours and ``mt_skills`` for what the batch changed."""
        assert isinstance(batch, _Batch)
        hours = set(batch.hours)
        for chunk in _chunks(sorted(batch.cancelled)):
            query = select(t.assignees.c.person).where(t.assignees.c.assignment.in_(chunk))
            hours.update(p for (p,) in conn.execute(query))
        for chunk in _chunks(sorted(hours)):
            conn.execute(_recompute_committed(chunk))
        self._withdraw(conn, batch)
        self._complete(conn, batch)
        touched = {person for person, _ in batch.evidence} | {p for p, _ in batch.ambitions}
        self._apply_deltas(conn, batch, sorted(touched))
        for chunk in _chunks(sorted(batch.changed | hours)):
            conn.execute(_copy_person_columns(chunk))

    def _withdraw(self, conn: Connection, batch: _Batch) -> None:
        c = t.contributions.c
        for chunk in _chunks(batch.withdrawn):
            key = tuple_(c.person, c.id)
            for person, skills in conn.execute(select(c.person, c.skills).where(key.in_(chunk))):
                batch.add_evidence(person, orjson.loads(skills), -1)
            conn.execute(delete(t.contributions).where(key.in_(chunk)))

    def _complete(self, conn: Connection, batch: _Batch) -> None:
        a = t.assignments.c
        ids = sorted({assignment for _, assignment in batch.completed})
        skills: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            rows = conn.execute(select(a.id, a.skills).where(a.id.in_(chunk)))
            skills.update((i, orjson.loads(s)) for i, s in rows)
        for person, assignment in batch.completed:
            batch.add_evidence(person, skills.get(assignment, ()), 1)

    def _apply_deltas(self, conn: Connection, batch: _Batch, persons: list[str]) -> None:
        p = t.people.c
        columns: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(persons):
            rows = conn.execute(
                select(p.person, *(p[n] for n in _COPIED)).where(p.person.in_(chunk))
            )
            columns.update((r.person, {n: r._mapping[n] for n in _COPIED}) for r in rows)
        keys = sorted(set(batch.evidence) | batch.ambitions)
        upserts = [
            {
                "person": person,
                "skill": skill,
                **columns[person],
                "evidence": batch.evidence.get((person, skill), 0),
                "ambition": int((person, skill) in batch.ambitions),
                "imported": 0.0,
            }
            for person, skill in keys
            if batch.evidence.get((person, skill), 0) or (person, skill) in batch.ambitions
        ]
        if upserts:
            executemany(conn, _UPSERTS[conn.dialect.name], upserts)
        for chunk in _chunks(persons):
            conn.execute(_delete_empty(chunk))

    # -- refresh step: imported evidence --------------------------------------------------------
    def refreshed(self, conn: Connection) -> tuple[int, int] | None:
        """The mark of the last refresh, as stored: ``(position, at)``, or None before one."""
        return refreshed(conn, t.refresh_state)

    def refresh(
        self, engine: Engine, *, at: int, log: EntryReader, imports: ImportedBundles
    ) -> None:
        """Write the evidence of the imported records (``imports``, read once for the
        refresh cycle from ``log``), weighed by the declared trust in their origin, to
        ``mt_imported`` and ``mt_skills.imported`` (one transaction; ``at`` is recorded as
        the refresh's moment, with what it counted and its MAC, so ``projections verify``
        rebuilds it from the same imports). Holds the tracking record's lock, so no batch
        changes ``mt_skills`` meanwhile."""
        evidence = imports.evidence()
        with writing(engine) as conn:
            position = self.view.position(conn, lock=True)
            i, s = t.imported.c, t.skills.c
            known = _known_people(conn, {e.subject for e in evidence})
            rows = _imported_rows(evidence, imports.weights, known)
            best: dict[tuple[str, str], float] = {}
            for r in rows:
                key = (r["person"], r["skill"])
                best[key] = max(best.get(key, 0.0), r["weight"])
            # the rows the last refresh gave an imported weight (mt_imported says which:
            # no scan of mt_skills, which has no index on it)
            earlier = sorted(
                (person, skill)
                for person, skill in conn.execute(
                    select(i.person, i.skill).where(i.weight > 0).distinct()
                )
            )
            conn.execute(delete(t.imported))
            executemany(conn, _INSERT_IMPORTED, rows)
            pair = tuple_(s.person, s.skill)
            for chunk in _chunks(earlier):
                conn.execute(update(t.skills).where(pair.in_(chunk)).values(imported=0.0))
            self._add_imported(conn, {k: w for k, w in best.items() if w > 0})
            for chunk in _chunks(sorted({person for person, _ in earlier})):
                conn.execute(_delete_empty(chunk))
            record_refresh(
                conn, t.refresh_state, position=position, at=at, counted=imports.counted, log=log
            )

    def _add_imported(self, conn: Connection, best: dict[tuple[str, str], float]) -> None:
        """Set ``imported`` of each (person, skill) in ``best`` to its weight, creating the
        row (with the person's current columns) for a skill they have only from elsewhere."""
        p = t.people.c
        persons = sorted({person for person, _ in best})
        columns: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(persons):
            found = conn.execute(
                select(p.person, *(p[n] for n in _COPIED)).where(p.person.in_(chunk))
            )
            columns.update((r.person, {n: r._mapping[n] for n in _COPIED}) for r in found)
        upserts = [
            {"person": person, "skill": skill, **columns[person], "evidence": 0, "ambition": 0,
             "imported": weight}
            for (person, skill), weight in sorted(best.items())
        ]  # fmt: skip
        executemany(conn, _SET_IMPORTED[conn.dialect.name], upserts)


def _known_people(conn: Connection, people: Iterable[str]) -> set[str]:
    """Those of ``people`` the read model knows (registered on this ledger)."""
    p = t.people.c
    found: set[str] = set()
    for chunk in _chunks(sorted(people)):
        found.update(x for (x,) in conn.execute(select(p.person).where(p.person.in_(chunk))))
    return found


def _imported_rows(
    evidence: Sequence[ImportedEvidence], weights: dict[str, float], known: set[str]
) -> list[dict[str, Any]]:
    """``mt_imported`` rows: per (person, skill, origin, part), how much evidence and the
    declared trust in the origin (0 when it is no longer trusted); of people known here."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for e in evidence:
        if e.subject not in known:
            continue
        for skill in e.skills:
            key = (e.subject, skill, e.origin, e.part.value)
            counts[key] = counts.get(key, 0) + 1
    return [
        {"person": person, "skill": skill, "origin": origin, "part": part, "evidence": n,
         "weight": weights.get(origin, 0.0)}
        for (person, skill, origin, part), n in sorted(counts.items())
    ]  # fmt: skip


def _delete_empty(persons: list[str]) -> Executable:
    """Delete the ``mt_skills`` rows of ``persons`` with no evidence, ambition or imported
    evidence left."""
    s = t.skills.c
    return delete(t.skills).where(
        s.person.in_(persons), s.evidence <= 0, s.ambition == 0, s.imported == 0
    )


def _set_imported(dialect: str) -> Executable:
    """Set the imported weight of a (person, skill) row, or create the row with it."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(t.skills)
    current = t.skills.c
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=[current.person, current.skill],
        set_={"imported": stmt.excluded.imported},
    )
    return upsert


_SET_IMPORTED = {name: _set_imported(name) for name in ("sqlite", "postgresql")}


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _recompute_committed(persons: list[str]) -> Executable:
    x, a = t.assignees.c, t.assignments.c
    hours = (
        select(func.coalesce(func.sum(a.hours_per_week), 0))
        .select_from(t.assignees.join(t.assignments, a.id == x.assignment))
        .where(x.person == t.people.c.person, x.active.is_(True))
        .scalar_subquery()
    )
    return update(t.people).where(t.people.c.person.in_(persons)).values(committed=hours)


def _copy_person_columns(persons: list[str]) -> Executable:
    p = t.people.c
    values = {
        name: select(p[name]).where(p.person == t.skills.c.person).scalar_subquery()
        for name in _COPIED
    }
    return update(t.skills).where(t.skills.c.person.in_(persons)).values(values)


MatchingModel._handlers = {
    "IdentityRegistered": MatchingModel._registered,
    "KeyRotated": MatchingModel._key,
    "AccessGranted": MatchingModel._access_granted,
    "AccessRevoked": MatchingModel._access_revoked,
    "EmployeeTransferred": MatchingModel._transferred,
    "VisibilityChanged": MatchingModel._visibility,
    "ContributionClaimed": MatchingModel._claimed,
    "ContributionWithdrawn": MatchingModel._withdrawn,
    "AmbitionStated": MatchingModel._ambition,
    "AssignmentPosted": MatchingModel._posted,
    "AssignmentAssigned": MatchingModel._assigned,
    "AssignmentCompleted": MatchingModel._completed,
    "AssignmentCancelled": MatchingModel._cancelled,
}
