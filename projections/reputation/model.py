"""The reputation read model: endorsement facts kept incrementally, scores in a refresh step.

What is incremental and what is not:

- **incremental** (the projector, exactly once per entry): the endorsement
  facts — ``rep_ratings`` (one row per active endorsement or assignment
  completion) and the skills of contributions and assignments. A revoked
  endorsement or a withdrawn contribution deletes its facts.
- **refresh step** (:meth:`ReputationModel.refresh`): endorser standing is a
  personalised PageRank of the whole rating graph, and time decay depends on the
  moment asked about, so neither can be updated entry by entry. The refresh
  reads the facts into columns (:func:`load_columns`), scores them
  (:func:`~projections.reputation.columns.score_columns`, as :func:`score_all`
  does by name) and writes ``rep_raters``,
  ``rep_cliques`` and ``rep_scores`` (every employee × skill, as of a reference
  time) as a new generation, in short transactions, then publishes it with the log
  position and time it reflects in ``rep_refresh`` (:mod:`.generations`). It reads in a
  snapshot and computes outside any transaction, and no transaction of its writes is
  long, so appends and catch-up are never held up for long. The follower runs it
  periodically; ``rebuild`` runs it at the end.
- **on query** (:func:`projections.reputation.queries.explain`): one explained
  score, from the facts and the stored standing, for any reference time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import orjson
from sqlalchemy import Connection, Engine, bindparam, delete, select

from ledger.imported_ratings import ImportedRating

from ..base import ReadModel
from ..batch import Phase, WriteBatch
from ..db import REFRESH_LOCK, snapshot, writing, xact_lock
from ..entries import AcceptedEntry, EntryReader, ImportedBundles, json_list
from ..refresh import record_refresh, refreshed
from . import tables as t
from .columns import Columns, RatingColumns, ScoredColumns, score_columns
from .consensus import Consensus
from .formula import Rating, ReputationParams
from .generations import GenerationWriter, allocate, remove
from .standing import Standing

__all__ = [
    "RatingRow",
    "ReputationModel",
    "Scored",
    "group_imported",
    "group_ratings",
    "load_columns",
    "load_imported",
    "load_origins",
    "reciprocal_pairs",
    "score_all",
]

_Handler = Callable[["ReputationModel", AcceptedEntry, WriteBatch], None]
RatingRow = tuple[str, str, str, str, str, str, int, int, int]
"""A ``rep_ratings`` row with the rater resolved to a person:
(subject, id, kind, target, rater, role, grade, at, position)."""

_WITHDRAW_TARGET = delete(t.targets).where(t.targets.c.target == bindparam("b_id"))
_WITHDRAW_RATINGS = delete(t.ratings).where(
    t.ratings.c.subject == bindparam("b_person"), t.ratings.c.target == bindparam("b_id")
)
_REVOKE = delete(t.ratings).where(
    t.ratings.c.subject == bindparam("b_person"), t.ratings.c.id == bindparam("b_id")
)
_CHUNK = 5000
_LOG = logging.getLogger("projections")


class ReputationModel(ReadModel):
    """Explainable reputation per (employee, skill)."""

    name = "reputation"
    metadata = t.metadata
    params: ReputationParams = ReputationParams()
    refresh_tables: ClassVar[tuple[str, ...]] = (
        t.raters.name,
        t.cliques.name,
        t.consensus.name,
        t.scores.name,
        t.imported.name,
        t.origins.name,
        t.generation.name,
        t.refresh_state.name,
    )
    """The tables only :meth:`refresh` writes; ``refresh_state`` (last) records its moment
    and the published generation."""
    generation_tables: ClassVar[tuple[str, ...]] = tuple(x.name for x in t.GENERATION_TABLES)
    counter_tables: ClassVar[tuple[str, ...]] = (t.generation.name,)
    _handlers: ClassVar[dict[str, _Handler]]

    def handle(self, entry: AcceptedEntry, batch: WriteBatch) -> None:
        handler = self._handlers.get(entry.type)
        if handler is not None:
            handler(self, entry, batch)

    # -- handlers -------------------------------------------------------------------------
    def _key(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        batch.insert(t.keys, {"key_id": e.new_key_id, "person": e.subject})

    def _role(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        if e.body["role"] != "manager":
            return
        managers = batch.net_set(t.managers, "person", "scope")
        if e.type == "RoleGranted":
            managers.add(e.subject, e.body["scope"])
        else:
            managers.discard(e.subject, e.body["scope"])

    def _claimed(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        skills = list(dict.fromkeys(e.body["skills"]))
        batch.insert(t.targets, {"target": e.id, "skills": json_list(skills)})

    def _posted(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        skills = list(dict.fromkeys(e.body["skills"]))
        batch.insert(t.targets, {"target": e.subject, "skills": json_list(skills)})

    def _withdrawn(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        contribution = e.body["contribution"]
        batch.add(Phase.DELETE, "withdraw_target", _WITHDRAW_TARGET, {"b_id": contribution})
        params = {"b_person": e.subject, "b_id": contribution}
        batch.add(Phase.DELETE, "withdraw_ratings", _WITHDRAW_RATINGS, params)

    def _endorsed(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        self._rating(e, batch, "endorsement", e.subject, e.body["contribution"], e.body["role"])

    def _completed(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        self._rating(e, batch, "completion", e.body["assignee"], e.subject, "owner")

    def _rating(
        self, e: AcceptedEntry, batch: WriteBatch, kind: str, subject: str, target: str, role: str
    ) -> None:
        row = {
            "subject": subject,
            "id": e.id,
            "kind": kind,
            "target": target,
            "rater_key": e.author,
            "role": role,
            "grade": e.body["grade"],
            "at": e.occurred_at,
            "position": e.position,
        }
        batch.insert(t.ratings, row)

    def _revoked(self, e: AcceptedEntry, batch: WriteBatch) -> None:
        params = {"b_person": e.subject, "b_id": e.body["endorsement"]}
        batch.add(Phase.DELETE, "revoke", _REVOKE, params)

    # -- refresh step -----------------------------------------------------------------------
    def refreshed(self, conn: Connection) -> tuple[int, int] | None:
        """The mark of the last refresh, as stored: ``(position, at)``, or None before one."""
        return refreshed(conn, t.refresh_state)

    def published_generation(self, conn: Connection) -> int:
        return t.published(conn)

    def refresh(
        self, engine: Engine, *, at: int, log: EntryReader, imports: ImportedBundles
    ) -> None:
        """Recompute standing and every score as of Unix time ``at``, counting the
        ratings of the imported records (``imports``, read once for the refresh cycle from
        ``log``) at the declared trust in their origin.

        So that appends and catch-up go on meanwhile: the refresh takes a new generation
        number (:mod:`.generations`); the read model's position and its facts are read in
        one read transaction (:func:`snapshot`: one snapshot, no lock that stops a writer);
        standing and the scores are computed outside any transaction; the results are
        written under the new generation in short transactions (readers do not see them
        yet); then one small transaction publishes them, recording the position READ as
        the refresh's mark with the generation — entries applied meanwhile are newer than
        the mark, so :meth:`~projections.runner.Projector.refresh_due` finds them and a
        later refresh counts them; last, the generations before the one it replaced are
        removed, again in short transactions.
        The publication holds :data:`REFRESH_LOCK` (SQLite: its write lock), so two
        refreshes publish in turn: one that read an older position than the stored mark,
        or took an older generation than the published one, publishes nothing and removes
        its rows (it writes none if it finds so before writing).
        The ratings are held as columns (:mod:`.columns`), about 60 bytes each, and the rows
        written are made chunk by chunk from them.
        """
        imported = imports.ratings()
        generation = allocate(engine)
        with snapshot(engine) as conn:
            position = self.view.position(conn)
            managers = [p for (p,) in conn.execute(select(t.managers.c.person))]
            columns = load_columns(conn, managers, imported)
        scored = score_columns(
            columns, managers, at=at, params=self.params, origins=imports.weights
        )
        if self._superseded(engine, position, generation):
            return  # another process refreshed over newer facts meanwhile: nothing written
        standing, agreed = scored.standing, scored.consensus
        facts = (
            {
                "origin": r.origin,
                "id": r.id,
                "subject": r.subject,
                "kind": r.kind,
                "rater": r.rater,
                "role": r.role,
                "grade": r.grade,
                "at": r.at,
                "position": r.position,
                "skills": json_list(list(r.skills)),
            }
            for r in imported
        )
        trust = ({"origin": o, "weight": w} for o, w in sorted(imports.weights.items()))
        writer = GenerationWriter(engine, generation)
        for table, new_rows in (
            (t.raters, _rater_rows(columns.people, scored)),
            (t.cliques, _pair_rows(columns.people, standing.clique_pairs, factor=standing.clique)),
            (
                t.consensus,
                _pair_rows(
                    columns.people, agreed.pairs, agreement=agreed.agreement, cycle=agreed.cycle
                ),
            ),
            (t.scores, _score_rows(columns, scored)),
            (t.imported, facts),
            (t.origins, trust),
        ):
            writer.insert(table, new_rows)
        with writing(engine) as conn:  # the switch: readers read the new generation from here
            xact_lock(conn, REFRESH_LOCK)
            mark = t.refresh_state.c
            stored = conn.execute(select(mark.position, mark.generation)).first()
            newer = stored is not None and (stored[0] > position or stored[1] > generation)
            if not newer:
                record_refresh(
                    conn,
                    t.refresh_state,
                    position=position,
                    at=at,
                    counted=imports.counted,
                    log=log,
                    rounds=standing.rounds,
                    residual=standing.residual,
                    people=int(standing.in_graph.sum()),
                    generation=generation,
                )
        if newer:
            _LOG.info("reputation refresh at %d not published: a newer one is", position)
            remove(engine, below=generation, only=generation)
        else:
            remove(engine, below=generation, keep=None if stored is None else int(stored[1]))

    @staticmethod
    def _superseded(engine: Engine, position: int, generation: int) -> bool:
        """True if a refresh over newer facts than ``position`` (or one that took a later
        generation) is published already: this one then writes nothing."""
        with engine.connect() as conn:
            mark = t.refresh_state.c
            stored = conn.execute(select(mark.position, mark.generation)).first()
        if stored is None or (stored[0] <= position and stored[1] < generation):
            return False
        _LOG.info("reputation refresh at %d skipped: one at %d is stored", position, stored[0])
        return True


class Scored(NamedTuple):
    """What :func:`score_all` finds: the graph's :class:`Standing`, the :class:`Consensus`
    factors of the rating pairs and, per (employee, skill), ``(score, Σw, number of
    ratings)``."""

    standing: Standing
    consensus: Consensus
    scores: dict[tuple[str, str], tuple[float, float, int]]


def score_all(
    rows: Sequence[RatingRow],
    targets: Mapping[str, Sequence[str]],
    managers: Iterable[str],
    *,
    at: int,
    params: ReputationParams = ReputationParams(),
    imported: Sequence[ImportedRating] = (),
    origins: Mapping[str, float] | None = None,
) -> Scored:
    """Standing and every (employee, skill) score as of Unix time ``at``: the refresh step
    (:func:`~projections.reputation.columns.score_columns`) as a pure function of the facts
    it reads (``rows``, the skills of each target, the managers an admin appointed), by
    name. Deterministic: the same ratings in any order give bit-for-bit the same result.
    O(R log R) for R ratings plus the power iteration
    (:func:`~projections.reputation.standing.standing_arrays`).

    ``imported`` ratings (from other ledgers) count with the declared trust in their
    origin (``origins``) as standing; they do not enter this ledger's graph."""
    columns = Columns()
    managers = list(managers)
    for manager in managers:
        columns.person(manager)
    skills = columns.skillset
    for subject, rid, kind, target, rater, role, grade, when, position in rows:
        listed = skills(target, lambda key: targets.get(key, ()))
        columns.add(subject, rid, kind, rater, role, grade, when, position, listed)
    _add_imported(columns, imported)
    found = columns.done()
    scored = score_columns(found, managers, at=at, params=params, origins=origins)
    people, names = found.people, found.skills
    roots = frozenset(people[i] for i in scored.standing.roots.nonzero()[0].tolist())
    scores = {
        (people[p], names[k]): (score, weight, count)
        for part in scored.scores()
        for p, k, score, weight, count in zip(*(column.tolist() for column in part), strict=True)
    }
    return Scored(scored.standing.by_name(people, roots), scored.consensus.by_name(people), scores)


def load_columns(
    conn: Connection, managers: Iterable[str], imported: Sequence[ImportedRating]
) -> RatingColumns:
    """The active ratings as columns (:mod:`.columns`), with the skills of their targets,
    the ``managers`` (who count as people without ratings) and the ``imported`` ratings.
    The rows are streamed, not held."""
    r, k, g = t.ratings.c, t.keys.c, t.targets.c
    query = (
        select(r.subject, r.id, r.kind, k.person, r.role, r.grade, r.at, r.position, g.skills)
        .join_from(t.ratings, t.keys, k.key_id == r.rater_key)
        .outerjoin(t.targets, g.target == r.target)
        .execution_options(yield_per=_CHUNK)
    )
    columns = Columns(ties={x.position for x in imported})
    for manager in managers:
        columns.person(manager)
    skills, add = columns.skillset, columns.add
    for subject, rid, kind, rater, role, grade, at, position, listed in conn.execute(query):
        add(subject, rid, kind, rater, role, grade, at, position, skills(listed, _skill_list))
    _add_imported(columns, imported)
    return columns.done()


def _skill_list(listed: str | None) -> list[str]:
    return [] if listed is None else list(orjson.loads(listed))


def _add_imported(columns: Columns, imported: Iterable[ImportedRating]) -> None:
    for x in imported:
        skills = columns.skillset(x.skills, tuple)
        columns.add(
            x.subject, x.id, x.kind, x.rater, x.role, x.grade, x.at, x.position, skills, x.origin
        )


def load_ratings(conn: Connection, subjects: Iterable[str] | None = None) -> list[RatingRow]:
    """Active ratings, in log order, with the rater resolved to a person (of ``subjects``,
    or all)."""
    r, k = t.ratings.c, t.keys.c
    query = (
        select(r.subject, r.id, r.kind, r.target, k.person, r.role, r.grade, r.at, r.position)
        .join_from(t.ratings, t.keys, k.key_id == r.rater_key)
        .order_by(r.position)
    )
    if subjects is not None:
        query = query.where(r.subject.in_(sorted(set(subjects))))
    return [tuple(row) for row in conn.execute(query)]


def load_targets(conn: Connection, targets: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The skills of contributions and assignments (of ``targets``, or all)."""
    c = t.targets.c
    query = select(c.target, c.skills)
    if targets is not None:
        query = query.where(c.target.in_(sorted(set(targets))))
    return {target: orjson.loads(skills) for target, skills in conn.execute(query)}


def reciprocal_pairs(rows: Iterable[RatingRow]) -> set[tuple[str, str]]:
    """(rater, subject) pairs of active endorsements: ``(s, r)`` in it makes r→s reciprocal."""
    return {(r[4], r[0]) for r in rows if r[2] == "endorsement"}


def group_ratings(
    rows: Iterable[RatingRow],
    targets: Mapping[str, Sequence[str]],
    endorsed: set[tuple[str, str]],
    clique: Mapping[tuple[str, str], float],
    consensus: Consensus,
) -> dict[tuple[str, str], list[Rating]]:
    """Ratings per (employee, skill): each rating counts in every skill of its target.

    An endorsement is reciprocal when its subject endorses the rater too (``endorsed``
    holds (rater, subject) pairs); ``clique`` gives the pair's dense-clique factor,
    ``consensus`` its agreement and cycle factors."""
    groups: dict[tuple[str, str], list[Rating]] = defaultdict(list)
    for subject, rid, kind, target, rater, role, grade, at, position in rows:
        pair = (rater, subject)
        rating = Rating(
            rid,
            kind,
            rater,
            role,
            grade,
            at,
            position,
            reciprocal=(subject, rater) in endorsed,
            clique=clique.get(pair, 1.0),
            agreement=consensus.agreement.get(pair, 1.0),
            cycle=consensus.cycle.get(pair, 1.0),
        )
        for skill in targets.get(target, ()):
            groups[(subject, skill)].append(rating)
    return groups


def load_imported(conn: Connection, person: str, generation: int) -> list[ImportedRating]:
    """The imported ratings of ``person`` the refresh of ``generation`` (the published one:
    :func:`~.tables.published`) wrote, by origin and position."""
    c = t.imported.c
    query = (
        select(t.imported)
        .where(c.generation == generation, c.subject == person)
        .order_by(c.origin, c.position)
    )
    return [
        ImportedRating(
            r.origin,
            r.subject,
            r.id,
            r.kind,
            r.rater,
            r.role,
            r.grade,
            r.at,
            r.position,
            tuple(orjson.loads(r.skills)),
        )
        for r in conn.execute(query)
    ]


def load_origins(conn: Connection, generation: int) -> dict[str, float]:
    """The declared trust in each origin as of the refresh of ``generation``."""
    c = t.origins.c
    query = select(c.origin, c.weight).where(c.generation == generation)
    return {o: float(w) for o, w in conn.execute(query)}


def group_imported(imported: Iterable[ImportedRating]) -> dict[tuple[str, str], list[Rating]]:
    """Imported ratings per (employee, skill), each with its origin (never reciprocal,
    clique 1: the origin's graph is not seen here)."""
    groups: dict[tuple[str, str], list[Rating]] = defaultdict(list)
    for r in imported:
        rating = Rating(r.id, r.kind, r.rater, r.role, r.grade, r.at, r.position, origin=r.origin)
        for skill in r.skills:
            groups[(r.subject, skill)].append(rating)
    return groups


def _rater_rows(people: Sequence[str], scored: ScoredColumns) -> Iterator[dict[str, Any]]:
    """The ``rep_raters`` rows: every person of the graph, by name."""
    standing = scored.standing
    for part in _chunks(standing.in_graph.nonzero()[0]):
        yield from (
            {"person": people[p], "trust": trust, "standing": w, "discrimination": d, "root": root}
            for p, trust, w, d, root in zip(
                part.tolist(),
                standing.trust[part].tolist(),
                standing.weights[part].tolist(),
                scored.consensus.discrimination[part].tolist(),
                standing.roots[part].astype(int).tolist(),
                strict=True,
            )
        )


def _pair_rows(people: Sequence[str], pairs: Any, **values: Any) -> Iterator[dict[str, Any]]:
    """Rows ``rater, subject, **values`` of the sorted pair keys ``pairs`` (rater · n +
    subject), each value column an array aligned with them."""
    n = len(people)
    for start in range(0, len(pairs), _CHUNK):
        part = pairs[start : start + _CHUNK].tolist()
        columns = {name: v[start : start + _CHUNK].tolist() for name, v in values.items()}
        for i, key in enumerate(part):
            row = {"rater": people[key // n], "subject": people[key % n]}
            row.update((name, v[i]) for name, v in columns.items())
            yield row


def _score_rows(r: RatingColumns, scored: ScoredColumns) -> Iterator[dict[str, Any]]:
    """The ``rep_scores`` rows, sorted by person and skill, made part by part."""
    people, skills = r.people, r.skills
    for part in scored.scores():
        yield from (
            {"person": people[p], "skill": skills[k], "score": s, "weight": w, "ratings": c}
            for p, k, s, w, c in zip(*(column.tolist() for column in part), strict=True)
        )


def _chunks(values: Any) -> Iterator[Any]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


ReputationModel._handlers = {
    "IdentityRegistered": ReputationModel._key,
    "RoleGranted": ReputationModel._role,
    "RoleRevoked": ReputationModel._role,
    "KeyRotated": ReputationModel._key,
    "ContributionClaimed": ReputationModel._claimed,
    "ContributionWithdrawn": ReputationModel._withdrawn,
    "EndorsementGiven": ReputationModel._endorsed,
    "EndorsementRevoked": ReputationModel._revoked,
    "AssignmentPosted": ReputationModel._posted,
    "AssignmentCompleted": ReputationModel._completed,
}
