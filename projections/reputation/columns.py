"""The refresh step's ratings as columns: NumPy arrays, with people and skills numbered.

A refresh reads every active rating. Held as Python objects (a tuple of strings per
rating, a :class:`~projections.reputation.formula.Rating` per rating and skill, dicts
keyed by name pairs) that cost about 2 KB per rating: 650 MiB for the 340,000 ratings of
a ledger of 10^6 entries. Here a rating is a row of integer columns (subject and rater
numbered in the sorted order of their names, grade, kind, role, time, log position, the
set of skills it counts in), about 60 bytes, and the formula runs on whole columns
(:func:`score_columns`); only the names of people, skills and roles are strings, once
each.

Numbering people in the sorted order of their names makes every sort over numbers the
sort over names, so sums run in the same order whatever order the rows were read in, and
the results are bit-for-bit the same for the same ratings (docs/reputation.md).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from .consensus import GraphConsensus, consensus_arrays
from .formula import SECONDS_PER_DAY, ReputationParams
from .standing import GraphStanding, standing_arrays

if TYPE_CHECKING:  # NumPy is imported by the refresh that uses it, not by a service's start
    from .standing import Bools as _Bools
    from .standing import Floats as _Floats
    from .standing import Ints as _Ints

__all__ = [
    "SCORED_PER_PART",
    "Columns",
    "RatingColumns",
    "ScoredColumns",
    "Scores",
    "score_columns",
]

SCORED_PER_PART = 1 << 16
"""How many ratings :meth:`ScoredColumns.scores` scores at once (their subjects' all)."""

_Key = TypeVar("_Key", bound=Hashable)


class Columns:
    """Collects ratings one by one into compact columns; :meth:`done` numbers the names.

    ``ties`` holds the log positions at which ratings of several ledgers may meet (those
    of the imported ratings): the id of a rating at such a position is kept, since the
    formula orders ratings by (position, id). None keeps every id.
    """

    def __init__(self, *, ties: Collection[int] | None = None) -> None:
        self._people: dict[str, int] = {}
        self._foreign: dict[tuple[str, str], int] = {}  # (origin, rater) of imported ratings
        self._origins: dict[str, int] = {}
        self._skills: dict[str, int] = {}
        self._roles: dict[str, int] = {}
        self._sets: dict[Hashable, int] = {(): 0}
        self._set_skills: list[tuple[int, ...]] = [()]
        self._ties = ties
        self._ids: dict[int, str] = {}
        self.subject = array("q")
        self.rater = array("q")
        self.origin = array("q")  # 0: this ledger, k: the k-th origin of imported ratings
        self.grade = array("q")
        self.endorsement = array("b")
        self.role = array("q")
        self.at = array("q")
        self.position = array("q")
        self.sets = array("q")

    def person(self, name: str) -> int:
        """The (provisional) number of the person ``name``, who counts even without ratings."""
        number = self._people.get(name)
        if number is None:
            number = self._people[name] = len(self._people)
        return number

    def skillset(self, key: _Key, skills: Callable[[_Key], Iterable[str]]) -> int:
        """The number of the list of skills known as ``key``; ``skills(key)`` lists them
        the first time (a target's JSON text is a good key: few distinct lists recur)."""
        number = self._sets.get(key)
        if number is None:
            names = self._skills
            numbers = tuple(names.setdefault(s, len(names)) for s in skills(key))
            number = self._sets[key] = len(self._set_skills)
            self._set_skills.append(numbers)
        return number

    def add(
        self,
        subject: str,
        rid: str,
        kind: str,
        rater: str,
        role: str,
        grade: int,
        at: int,
        position: int,
        skillset: int,
        origin: str = "",
    ) -> None:
        """One rating (of this ledger, or imported from ``origin``) in the skills of
        ``skillset`` (:meth:`skillset`)."""
        if self._ties is None or position in self._ties:
            self._ids[len(self.subject)] = rid
        self.subject.append(self.person(subject))
        if origin:
            origins = self._origins
            self.origin.append(origins.setdefault(origin, len(origins)) + 1)
            foreign = self._foreign
            self.rater.append(foreign.setdefault((origin, rater), len(foreign)))
        else:
            self.origin.append(0)
            self.rater.append(self.person(rater))
        self.grade.append(grade)
        self.endorsement.append(kind == "endorsement")
        self.role.append(self._roles.setdefault(role, len(self._roles)))
        self.at.append(at)
        self.position.append(position)
        self.sets.append(skillset)

    def done(self) -> RatingColumns:
        """The columns, with people, skills and roles numbered in the sorted order of their
        names."""
        import numpy as np

        def numbering(found: dict[str, int]) -> tuple[list[str], _Ints]:
            names = sorted(found)
            renumber = np.empty(len(names), dtype=np.int64)
            renumber[[found[name] for name in names]] = np.arange(len(names))
            return names, renumber

        def column(values: array[int]) -> _Ints:
            return np.frombuffer(values, dtype=np.int64).copy()

        people, by_person = numbering(self._people)
        skills, by_skill = numbering(self._skills)
        roles, by_role = numbering(self._roles)
        foreign = sorted(self._foreign)
        by_foreign = np.empty(len(foreign), dtype=np.int64)
        by_foreign[[self._foreign[k] for k in foreign]] = np.arange(len(foreign)) + len(people)
        origin = column(self.origin)
        rater = column(self.rater)
        local = origin == 0
        rater[local] = by_person[rater[local]]
        rater[~local] = by_foreign[rater[~local]]
        sizes = [len(s) for s in self._set_skills]
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        members = np.fromiter(
            (k for s in self._set_skills for k in s), dtype=np.int64, count=int(offsets[-1])
        )
        origin_names = sorted(self._origins, key=self._origins.__getitem__)
        columns = RatingColumns(
            people=people,
            skills=skills,
            roles=roles,
            origins=origin_names,
            foreign=len(foreign),
            subject=by_person[column(self.subject)],
            rater=rater,
            origin=origin,
            grade=column(self.grade),
            endorsement=np.frombuffer(self.endorsement, dtype=np.int8).astype(np.bool_),
            role=by_role[column(self.role)],
            at=column(self.at),
            position=column(self.position),
            skillset=column(self.sets),
            set_offsets=offsets,
            set_skills=by_skill[members] if len(members) else members,
            ids=self._ids,
        )
        return columns


@dataclass(frozen=True)
class RatingColumns:
    """Ratings as columns (:class:`Columns`): person ``i`` is ``people[i]``, skill ``k``
    ``skills[k]``, role ``j`` ``roles[j]``. ``rater`` holds a person for a rating of this
    ledger (``origin`` 0) and ``len(people) + k`` for the k-th of the ``foreign`` raters
    (origin, name) of imported ratings, whose origin is ``origins[origin − 1]``. The
    skills of a rating are ``set_skills[set_offsets[s] : set_offsets[s + 1]]`` for its
    ``skillset`` s; ``ids`` the ids kept by row (:class:`Columns`)."""

    people: list[str]
    skills: list[str]
    roles: list[str]
    origins: list[str]
    foreign: int
    subject: _Ints
    rater: _Ints
    origin: _Ints
    grade: _Ints
    endorsement: _Bools
    role: _Ints
    at: _Ints
    position: _Ints
    skillset: _Ints
    set_offsets: _Ints
    set_skills: _Ints
    ids: Mapping[int, str]

    def number(self, person: str) -> int:
        """The number of a person of :attr:`people`."""
        i = bisect.bisect_left(self.people, person)
        if i == len(self.people) or self.people[i] != person:
            raise KeyError(person)
        return i


class Scores(NamedTuple):
    """Scores per (subject, skill), sorted: the ``score``, total ``weight`` and number of
    ``ratings`` of each."""

    subject: _Ints
    skill: _Ints
    score: _Floats
    weight: _Floats
    ratings: _Ints


@dataclass(frozen=True)
class ScoredColumns:
    """What :func:`score_columns` finds: the graph's standing and consensus factors, and
    the scores (:meth:`scores`), computed part by part."""

    standing: GraphStanding
    consensus: GraphConsensus
    ratings: RatingColumns
    params: ReputationParams
    factors: tuple[_Floats, _Floats, _Floats, _Floats]
    """Per rating: role · standing · discrimination · clique · decay, and the reciprocity,
    agreement and cycle factors (the weight's factors but the repeat, in its order)."""

    def scores(self, *, part: int = SCORED_PER_PART) -> Iterator[Scores]:
        """The scores of every (subject, skill) with a rating, in order, for the subjects
        of about ``part`` ratings at a time: what is held at once is bounded by ``part``,
        not by the ledger's size."""
        import numpy as np

        r = self.ratings
        by_subject = np.argsort(r.subject, kind="stable")
        subjects = r.subject[by_subject]
        tie = _ties(r)
        start = 0
        while start < len(by_subject):
            end = min(start + part, len(by_subject))
            if end < len(by_subject):  # end at a subject boundary, after at least one subject
                end = int(np.searchsorted(subjects, subjects[end - 1], side="right"))
            yield self._score(by_subject[start:end], tie)
            start = end

    def _score(self, rows: _Ints, ties: _Ints) -> Scores:
        """The scores of the subjects of the ratings ``rows`` (all their ratings)."""
        import numpy as np

        r, params = self.ratings, self.params
        base, reciprocity, agreement, cycle = self.factors
        # each rating once per skill it counts in
        per_rating = np.diff(r.set_offsets)[r.skillset[rows]]
        row = np.repeat(rows, per_rating)
        first = np.repeat(np.cumsum(per_rating) - per_rating, per_rating)
        skill = r.set_skills[r.set_offsets[r.skillset[row]] + np.arange(len(row)) - first]
        width = max(1, len(r.skills))
        group = r.subject[row] * width + skill
        tie, position, rater = ties[row], r.position[row], r.rater[row]
        # the n-th rating (0-based, by position and id) of one rater in a group counts repeat^n
        by_rater = np.lexsort((tie, position, rater, group))
        rank = np.arange(len(row))
        starts = np.ones(len(row), dtype=np.bool_)
        g, who = group[by_rater], rater[by_rater]
        starts[1:] = (g[1:] != g[:-1]) | (who[1:] != who[:-1])
        rank -= np.maximum.accumulate(np.where(starts, rank, 0))
        repeats = np.empty(len(row))
        repeats[by_rater] = np.power(params.repeat_factor, rank.astype(np.float64))
        # summed per group in the order of the formula: by position and id
        order = np.lexsort((tie, position, group))
        row, group, repeats = row[order], group[order], repeats[order]
        weight = base[row] * repeats * reciprocity[row] * agreement[row] * cycle[row]
        groups, index, counts = np.unique(group, return_inverse=True, return_counts=True)
        total = np.bincount(index, weights=weight, minlength=len(groups)).astype(np.float64)
        graded = np.bincount(index, weights=weight * r.grade[row], minlength=len(groups))
        m, mu = params.prior_weight, params.prior_mean
        return Scores(
            subject=groups // width,
            skill=groups % width,
            score=(m * mu + graded) / (m + total),
            weight=total,
            ratings=counts,
        )


def score_columns(
    r: RatingColumns,
    managers: Iterable[str],
    *,
    at: int,
    params: ReputationParams = ReputationParams(),
    origins: Mapping[str, float] | None = None,
) -> ScoredColumns:
    """Standing, consensus and the factors of every rating's weight as of Unix time ``at``
    from the ratings ``r`` (see :func:`projections.reputation.model.score_all`); the
    scores follow from them (:meth:`ScoredColumns.scores`). ``managers`` and the owners of
    completed assignments are the roots of trust; an imported rating counts with the
    declared trust in its origin (``origins``) as standing. The ``managers`` must be
    people of ``r`` (:meth:`Columns.person`)."""
    import numpy as np

    n = len(r.people)
    local = np.flatnonzero(r.origin == 0)
    raters, subjects = r.rater[local], r.subject[local]
    endorsement, grades = r.endorsement[local], r.grade[local]
    completions = raters[~endorsement]
    roots = np.union1d(completions, np.array([r.number(m) for m in managers], dtype=np.int64))
    standing = standing_arrays(n, raters, subjects, grades, endorsement, roots, params)
    role_weight = np.array([params.role_weights.get(role, 0.0) for role in r.roles])[r.role]
    consensus = consensus_arrays(raters, subjects, grades, role_weight[local], standing, params)
    keys = raters * n + subjects
    agreement, cycle = np.ones(len(r.rater)), np.ones(len(r.rater))
    agreement[local], cycle[local] = consensus.factors_of(keys)
    clique, reciprocity = np.ones(len(r.rater)), np.ones(len(r.rater))
    clique[local] = standing.clique_of(keys)
    reciprocity[local] = np.where(
        standing.reciprocal(raters, subjects), params.reciprocal_factor, 1.0
    )
    rater_standing = np.zeros(len(r.rater))
    rater_standing[local] = standing.weights[raters]
    trust_in = np.array([(origins or {}).get(o, 0.0) for o in ["", *r.origins]])
    imported = r.origin != 0
    rater_standing[imported] = trust_in[r.origin[imported]]
    discrimination = np.ones(len(r.rater))
    discrimination[local] = consensus.discrimination[raters]
    age = np.maximum(0.0, at - r.at) / (params.half_life_days * SECONDS_PER_DAY)
    base = role_weight * rater_standing * discrimination * clique * np.power(0.5, age)
    return ScoredColumns(standing, consensus, r, params, (base, reciprocity, agreement, cycle))


def _ties(r: RatingColumns) -> _Ints:
    """Each rating's rank by id among the ratings at its log position (0 when alone)."""
    import numpy as np

    tie = np.zeros(len(r.position), dtype=np.int64)
    _, where, counts = np.unique(r.position, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(counts[where] > 1)
    if len(shared):
        keyed = sorted(
            (p, r.ids.get(i, ""), i)
            for p, i in zip(r.position[shared].tolist(), shared.tolist(), strict=True)
        )
        previous, rank = None, 0
        for p, _, i in keyed:
            rank = rank + 1 if p == previous else 0
            tie[i], previous = rank, p
    return tie
