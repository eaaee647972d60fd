"""What the other raters say: the agreement and cycle factors of each rating pair.

Both are computed in the refresh step from the whole graph of active ratings and the
standing found there (docs/reputation.md, "Consensus"), per pair (rater r, employee e):

* what **the others** say of e: the raters of e other than r, each counting once with the
  weight of their ratings before consensus, ``w = role · standing · discrimination ·
  clique · reciprocity`` (their strongest role), and the mean ``ḡ`` of their grades of e:
  their **score** ``S = (m · μ0 + Σ w ḡ) / (m + Σ w)`` — the Bayesian mean of the
  formula, what e would score from the others alone (no decay, no repeats) — and its
  **confidence** ``c = Σ w / (m + Σ w)`` (0 when nobody else rated e);
* **agreement**: ``1 / (1 + (d / scale)²)`` with ``d = c · |ḡ_r − S|``, ḡ_r the mean of r's
  grades of e. A grade near what confident others say counts fully; one far from it counts
  less — a 5 the others do not see, or a spiteful 1. A lone rating, or one of a person
  nobody else rates with weight, is not judged (c = 0). One round of the re-weighting of
  "iterative filtering" (Laureti et al. 2006; Zhou et al. 2011), per pair instead of per
  rater so that one bought grade among honest ones is still seen;
* **cycle**: a **lifting** rating — at least ``cycle_margin`` above the others' score S
  (so a 5 lifts someone the others score 3.75 or less, and anyone nobody else rates) —
  that lies on a directed cycle of lifting ratings (A lifts B, B lifts C, …, someone
  lifts A) gets ``cycle_factor``: the one-way ring (A → B → … → A) and a reciprocal pair
  of bought 5s are such cycles. Honest lifts rarely close a cycle: each is an outlier of
  its own.

The cycles are the strongly connected components of the graph of lifting ratings
(Tarjan's algorithm, written out iteratively: a recursion of the depth of a 50-ring is
fine, but not of an organisation's; NumPy has no graph algorithms and SciPy or networkx
would be a dependency for one function).

The refresh computes all of it on NumPy arrays (:func:`consensus_arrays`), people as
integers; :func:`consensus_factors` is the same on names. Cost O(R log R) for R active
ratings (one sort), the cycle search O(L) in Python for the L lifting pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .formula import ReputationParams
from .standing import GraphStanding, Standing, lookup

if TYPE_CHECKING:  # NumPy is imported by the refresh that uses it, not by a service's start
    from .standing import Bools as _Bools
    from .standing import Floats as _Floats
    from .standing import Ints as _Ints

__all__ = [
    "Consensus",
    "GraphConsensus",
    "PairRating",
    "consensus_arrays",
    "consensus_factors",
    "lifting_cycles",
]

_Node = TypeVar("_Node", str, int)
_TRIM_ROUNDS = 32

PairRating = tuple[str, str, int, str]
"""One active rating as the consensus sees it: ``(rater, subject, grade, role)``."""

Pair = tuple[str, str]


@dataclass(frozen=True)
class Consensus:
    """The factors of rating pairs ``(rater, subject)`` below 1 (absent: 1): ``agreement``
    and ``cycle``."""

    agreement: Mapping[Pair, float] = field(default_factory=dict)
    cycle: Mapping[Pair, float] = field(default_factory=dict)
    discrimination: Mapping[str, float] = field(default_factory=dict)


def consensus_factors(
    ratings: Iterable[PairRating],
    standing: Standing,
    reciprocal: set[Pair],
    params: ReputationParams = ReputationParams(),
) -> Consensus:
    """The agreement and cycle factors of every rating pair (see the module text), by
    name: :func:`consensus_arrays` for tests and simulations.

    ``reciprocal`` holds the (rater, subject) pairs of active endorsements: ``(e, r)`` in
    it makes r's ratings of e reciprocal."""
    import numpy as np

    ratings = list(ratings)
    names = sorted({*(r[0] for r in ratings), *(r[1] for r in ratings)})
    index = {name: i for i, name in enumerate(names)}
    n = len(names)

    def keys(pairs: Iterable[Pair]) -> _Ints:
        found = [index[r] * n + index[s] for r, s in pairs if r in index and s in index]
        return np.unique(np.array(found, dtype=np.int64))

    clique = sorted(
        (index[r] * n + index[s], f)
        for (r, s), f in standing.clique.items()
        if r in index and s in index
    )
    graph = GraphStanding(
        n=n,
        in_graph=np.ones(n, dtype=np.bool_),
        roots=np.zeros(n, dtype=np.bool_),
        trust=np.zeros(n),
        weights=np.array([standing.weights.get(p, 0.0) for p in names], dtype=np.float64),
        discrimination=np.array(
            [standing.discrimination.get(p, 1.0) for p in names], dtype=np.float64
        ),
        rated=np.zeros(n, dtype=np.bool_),
        clique_pairs=np.array([k for k, _ in clique], dtype=np.int64),
        clique=np.array([f for _, f in clique], dtype=np.float64),
        endorsed=keys(reciprocal),
    )
    roles = sorted({r[3] for r in ratings})
    role_index = {role: i for i, role in enumerate(roles)}
    found = consensus_arrays(
        np.array([index[r[0]] for r in ratings], dtype=np.int64),
        np.array([index[r[1]] for r in ratings], dtype=np.int64),
        np.array([r[2] for r in ratings], dtype=np.int64),
        np.array([params.role_weights.get(role, 0.0) for role in roles])[
            np.array([role_index[r[3]] for r in ratings], dtype=np.int64)
        ],
        graph,
        params,
    )
    return found.by_name(names)


@dataclass(frozen=True)
class GraphConsensus:
    """:class:`Consensus` as arrays over people numbered ``0 … n − 1``: the sorted pair
    keys ``rater · n + subject`` with a factor below 1 and their ``agreement`` and
    ``cycle`` factors (1 where the other is below 1), the ``discrimination`` factor of
    every person (1 for those who rate nobody else) and which people it was ``judged``
    for."""

    n: int
    pairs: _Ints
    agreement: _Floats
    cycle: _Floats
    discrimination: _Floats
    judged: _Bools

    def factors_of(self, pairs: _Ints) -> tuple[_Floats, _Floats]:
        """The agreement and cycle factors of each pair key in ``pairs`` (1 where none)."""
        return (
            lookup(self.pairs, self.agreement, pairs, 1.0),
            lookup(self.pairs, self.cycle, pairs, 1.0),
        )

    def by_name(self, names: Sequence[str]) -> Consensus:
        """These factors as a :class:`Consensus` of the people called ``names``."""
        import numpy as np

        n = self.n
        pairs = [(names[k // n], names[k % n]) for k in self.pairs.tolist()]
        agreement = self.agreement.tolist()
        cycle = self.cycle.tolist()
        discrimination = self.discrimination.tolist()
        return Consensus(
            agreement={p: a for p, a in zip(pairs, agreement, strict=True) if a < 1.0},
            cycle={p: c for p, c in zip(pairs, cycle, strict=True) if c < 1.0},
            discrimination={
                names[i]: discrimination[i] for i in np.flatnonzero(self.judged).tolist()
            },
        )


def consensus_arrays(
    raters: _Ints,
    subjects: _Ints,
    grades: _Ints,
    role_weights: _Floats,
    standing: GraphStanding,
    params: ReputationParams = ReputationParams(),
) -> GraphConsensus:
    """The agreement and cycle factors of every rating pair and the discrimination factor
    of every rater (see the module text), from one rating per active rating (``raters[i]``
    rated ``subjects[i]`` with ``grades[i]`` in a role of weight ``role_weights[i]``) and
    the graph's ``standing``. Deterministic: every sum follows the sorted order of the
    pairs (and of the grades within a pair)."""
    import numpy as np

    n = standing.n
    other = raters != subjects
    raters, subjects, grades = raters[other], subjects[other], grades[other]
    role_weights = role_weights[other]
    keys = raters * n + subjects
    order = np.lexsort((grades, keys))
    keys, raters, subjects, grades = keys[order], raters[order], subjects[order], grades[order]
    weight = (
        role_weights[order]
        * standing.weights[raters]
        * standing.discrimination[raters]
        * standing.clique_of(keys)
        * np.where(standing.reciprocal(raters, subjects), params.reciprocal_factor, 1.0)
    )
    pairs, first, counts = np.unique(keys, return_index=True, return_counts=True)
    pair = np.repeat(np.arange(len(pairs)), counts)  # the pair of each rating
    pair_weight = np.maximum.reduceat(weight, first) if len(first) else weight
    mean = np.bincount(pair, weights=grades, minlength=len(pairs)) / np.maximum(counts, 1)
    rater_of, subject_of = pairs // n, pairs % n
    by_subject = np.lexsort((rater_of, subject_of))  # each subject's raters in order
    agreement, lifting = np.ones(len(pairs)), np.zeros(len(pairs), dtype=np.bool_)
    agreement[by_subject], lifting[by_subject] = _judge(
        subject_of[by_subject], pair_weight[by_subject], mean[by_subject], n, params
    )
    lifts = _maybe_on_cycles(n, np.flatnonzero(lifting), rater_of, subject_of)
    component = lifting_cycles(
        zip(rater_of[lifts].tolist(), subject_of[lifts].tolist(), strict=True)
    )
    cycle = np.ones(len(pairs))
    for i, r, s in zip(
        lifts.tolist(), rater_of[lifts].tolist(), subject_of[lifts].tolist(), strict=True
    ):
        if r in component and component[r] == component.get(s):
            cycle[i] = params.cycle_factor
    discrimination, judged = agreed_discrimination(n, raters, grades, agreement[pair], params)
    below = (agreement < 1.0) | (cycle < 1.0)
    return GraphConsensus(n, pairs[below], agreement[below], cycle[below], discrimination, judged)


def _maybe_on_cycles(n: int, edges: _Ints, sources: _Ints, targets: _Ints) -> _Ints:
    """Those of ``edges`` (indexes into ``sources`` → ``targets``) that may lie on a cycle:
    an edge u → v does only if u has an edge in and v one out. Removing the others layer by
    layer (at most ``_TRIM_ROUNDS`` times) leaves the cycle search with few: honest lifts
    are mostly chains."""
    import numpy as np

    for _ in range(_TRIM_ROUNDS):
        entered, left = np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_)
        entered[targets[edges]] = True
        left[sources[edges]] = True
        keep = entered[sources[edges]] & left[targets[edges]]
        if keep.all():
            break
        edges = edges[keep]
    return edges


def agreed_discrimination(
    n: int, raters: _Ints, grades: _Ints, agreement: _Floats, params: ReputationParams
) -> tuple[_Floats, _Bools]:
    """The discrimination factor of every rater from their grades, each ``grades[i]`` with
    its ``agreement[i]`` (sorted by rater): ``(k0 + n · min(1, spread / spread_ref)) /
    (k0 + n)`` for n grades whose agreement-weighted mean absolute deviation from their
    agreement-weighted mean is ``spread``. A grade the others contradict (a spiteful 1)
    hardly widens the spread, so it does not make one who gives everyone else a 5 look
    discriminating. Returns the factors (1 for people who rate nobody else) and which
    people rate someone."""
    import numpy as np

    count = np.bincount(raters, minlength=n)
    judged = count > 0
    total = np.bincount(raters, weights=agreement, minlength=n)
    total[~judged] = 1.0
    mean = np.bincount(raters, weights=agreement * grades, minlength=n) / total
    deviation = agreement * np.abs(grades - mean[raters])
    spread = np.bincount(raters, weights=deviation, minlength=n) / total
    k0, ref = params.discrimination_prior, params.discrimination_spread
    factor = (k0 + count * np.minimum(1.0, spread / ref)) / (k0 + count)
    return np.where(judged, factor, 1.0), judged


def _judge(
    subjects: _Ints, weights: _Floats, means: _Floats, n: int, params: ReputationParams
) -> tuple[_Floats, _Bools]:
    """The agreement of each rating pair (sorted by subject, then rater: its weight and
    mean grade) with the others who rate the same subject, and whether it lifts."""
    import numpy as np

    m, mu, scale = params.prior_weight, params.prior_mean, params.agreement_scale
    total = np.bincount(subjects, weights=weights, minlength=n)[subjects]
    total_g = np.bincount(subjects, weights=weights * means, minlength=n)[subjects]
    others = np.maximum(0.0, total - weights)
    score = (m * mu + total_g - weights * means) / (m + others)
    d = others / (m + others) * np.abs(means - score)
    return 1.0 / (1.0 + (d / scale) ** 2), means - score >= params.cycle_margin


def lifting_cycles(edges: Iterable[tuple[_Node, _Node]]) -> dict[_Node, int]:
    """The strongly connected component of every person in the directed graph ``edges``
    (Tarjan, iterative): an edge lies on a cycle exactly when both ends share one. People
    alone in their component are left out."""
    graph: dict[_Node, list[_Node]] = defaultdict(list)
    for r, s in edges:
        graph[r].append(s)
    index: dict[_Node, int] = {}
    low: dict[_Node, int] = {}
    on_stack: set[_Node] = set()
    stack: list[_Node] = []
    component: dict[_Node, int] = {}
    found = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on_stack.add(v)
            successors = graph.get(v, [])
            if i < len(successors):
                work.append((v, i + 1))
                w = successors[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                members = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    members.append(w)
                    if w == v:
                        break
                if len(members) > 1:
                    found += 1
                    component.update(dict.fromkeys(members, found))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return component
