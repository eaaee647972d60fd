"""Rater standing: trust that flows from roots, per-rater discrimination, dense cliques.

Everything a rating's weight needs from the whole graph of active ratings, in one pass
(docs/reputation.md, "Standing"):

* **clique** of an endorsement r → s: ``1 / (1 + m)`` where ``m`` counts the people with
  whom *both* r and s endorse each other (mutual endorsements). A ring of k people who all
  endorse each other gives each member k − 1 ratings of clique ``1/(k − 1)``: the whole
  ring counts as one rater, however large it grows.
* **discrimination** of a rater: ``(k0 + n · min(1, spread / spread_ref)) / (k0 + n)`` for
  n ratings whose grades lie ``spread`` (mean absolute deviation) from their own mean. One
  who gives everyone a 5 counts less, the more ratings they give; a rater of one or two
  people is not judged on so little. This is the spread as given, which the consensus
  weights use; the discrimination *factor* of a rating weighs each grade by its
  agreement with the others (:func:`projections.reputation.consensus.agreed_discrimination`).
* **trust**: personalised PageRank seeded at the **roots** (managers an admin appointed,
  owners of completed assignments). Each rater passes trust along their ratings in
  proportion to ``(g − 1)/4 · clique · reciprocity`` (normalised per rater, so one who
  rates everyone passes each a thin share). Trust never enters a group that no one
  outside rates: a clique or a sybil cluster without an inbound rating from someone with
  trust keeps none, however large it is.
* **standing** of a rater: ``min(1, (N · t_r)^standing_power)`` (power 1 by default) with
  N the people the trust reaches (``N · t`` is 1 for a person of average trust among
  them, so fresh identities that nobody rates do not dilute it); zero trust, zero
  weight; a root's standing is 1.

The work is done on NumPy arrays (:func:`standing_arrays`), people numbered in the sorted
order of their names (:class:`projections.reputation.columns.People`): the refresh of a
large ledger holds a few numbers per rating, not Python objects. The edges are sorted
first (by rater, subject, grade, kind) and every sum runs in that order, so the same set
of ratings gives bit-for-bit the same result whatever order they were read in.
:func:`compute_standing` is the same computation on names, for tests and simulations.
Cost: O(R log R) to sort the R active ratings, O(R) per power-iteration round, at most
``max_rounds`` rounds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from .formula import ReputationParams

if TYPE_CHECKING:  # NumPy is imported by the refresh that uses it, not by a service's start
    import numpy as np
    import numpy.typing as npt

    Floats: TypeAlias = npt.NDArray[np.float64]
    Ints: TypeAlias = npt.NDArray[np.int64]
    Bools: TypeAlias = npt.NDArray[np.bool_]
    """The arrays of the refresh (here and in :mod:`.consensus`, :mod:`.columns`)."""

__all__ = [
    "Edge",
    "GraphStanding",
    "Standing",
    "compute_standing",
    "discrimination",
    "standing_arrays",
]

Edge = tuple[str, str, int, str]
"""One active rating as the graph sees it: ``(rater, subject, grade, kind)``."""


@dataclass(frozen=True)
class Standing:
    """What the graph says about raters.

    ``trust`` per person (sums to 1 over the graph when there are roots, else empty);
    ``weights`` the standing factor per person; ``discrimination`` per rater; ``clique``
    the factor of each endorsement pair ``(rater, subject)`` below 1 (absent: 1);
    ``roots`` the pre-trusted people in the graph; the power iteration's rounds and
    last residual.
    """

    trust: Mapping[str, float]
    weights: Mapping[str, float]
    discrimination: Mapping[str, float] = field(default_factory=dict)
    clique: Mapping[tuple[str, str], float] = field(default_factory=dict)
    roots: frozenset[str] = frozenset()
    rounds: int = 0
    residual: float = 0.0


@dataclass(frozen=True)
class GraphStanding:
    """:class:`Standing` as arrays over people numbered ``0 … n − 1``.

    ``in_graph`` marks the people of the graph (an end of a rating of someone else, or a
    root): the others have no trust entry. ``trust`` and ``weights`` are 0 and
    ``discrimination`` 1 where absent; ``rated`` marks the raters with a discrimination.
    ``clique_pairs`` holds the sorted pair keys ``rater · n + subject`` with a factor
    below 1, ``clique`` those factors; ``endorsed`` the sorted keys of the endorsement
    pairs (a rater endorsing themselves included)."""

    n: int
    in_graph: Bools
    roots: Bools
    trust: Floats
    weights: Floats
    discrimination: Floats
    rated: Bools
    clique_pairs: Ints
    clique: Floats
    endorsed: Ints
    rounds: int = 0
    residual: float = 0.0

    def clique_of(self, pairs: Ints) -> Floats:
        """The clique factor of each pair key in ``pairs`` (1 where none is stored)."""
        return lookup(self.clique_pairs, self.clique, pairs, 1.0)

    def reciprocal(self, raters: Ints, subjects: Ints) -> Bools:
        """Whether each ``subjects[i]`` endorses ``raters[i]``."""
        return contains(self.endorsed, subjects * self.n + raters)

    def by_name(self, names: Sequence[str], roots: frozenset[str]) -> Standing:
        """This standing as a :class:`Standing` of the people called ``names`` (person ``i``
        is ``names[i]``) with the pre-trusted ``roots``."""
        import numpy as np

        n, trust, weights = self.n, self.trust.tolist(), self.weights.tolist()
        people = np.flatnonzero(self.in_graph).tolist()
        raters = np.flatnonzero(self.rated).tolist()
        discrimination = self.discrimination.tolist()
        pairs = self.clique_pairs.tolist()
        return Standing(
            trust={names[i]: trust[i] for i in people},
            weights={names[i]: weights[i] for i in people},
            discrimination={names[i]: discrimination[i] for i in raters},
            clique={
                (names[k // n], names[k % n]): f
                for k, f in zip(pairs, self.clique.tolist(), strict=True)
            },
            roots=roots,
            rounds=self.rounds,
            residual=self.residual,
        )


def lookup(keys: Ints, values: Floats, wanted: Ints, default: float) -> Floats:
    """``values[i]`` for each of ``wanted`` equal to ``keys[i]`` (``keys`` sorted, unique),
    ``default`` for the others."""
    import numpy as np

    out = np.full(len(wanted), default)
    if len(keys):
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        found = keys[at] == wanted
        out[found] = values[at[found]]
    return out


def contains(keys: Ints, wanted: Ints) -> Bools:
    """Whether each of ``wanted`` is among ``keys`` (sorted, unique)."""
    import numpy as np

    if not len(keys):
        return np.zeros(len(wanted), dtype=np.bool_)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    found: Bools = keys[at] == wanted
    return found


def standing_arrays(
    n: int,
    raters: Ints,
    subjects: Ints,
    grades: Ints,
    endorsement: Bools,
    roots: Ints,
    params: ReputationParams = ReputationParams(),
) -> GraphStanding:
    """Standing over people ``0 … n − 1`` from one edge per active rating (``raters[i]``
    rated ``subjects[i]`` with ``grades[i]``, an endorsement or a completion) and the
    pre-trusted ``roots``. Roots that rate nobody still count (they are in the graph as
    seeds); a rating of oneself is no edge."""
    import numpy as np

    endorsed = np.unique(raters[endorsement] * n + subjects[endorsement])
    keep = raters != subjects
    order = np.lexsort((endorsement[keep], grades[keep], subjects[keep], raters[keep]))
    src = raters[keep][order]
    dst = subjects[keep][order]
    given_grades = grades[keep][order]
    clique_pairs, clique = _clique(n, endorsed)
    in_graph = np.zeros(n, dtype=np.bool_)
    in_graph[src] = True
    in_graph[dst] = True
    root_mask = np.zeros(n, dtype=np.bool_)
    root_mask[roots] = True
    in_graph |= root_mask
    discrimination, rated = _discrimination(n, src, given_grades, params)
    keys = src * n + dst
    trust, weights = np.zeros(n), np.zeros(n)
    rounds, residual = 0, 0.0
    seeds = np.flatnonzero(root_mask)
    if len(seeds):
        reciprocal = contains(endorsed, dst * n + src)
        given = (
            (given_grades - 1)
            / 4
            * lookup(clique_pairs, clique, keys, 1.0)
            * np.where(reciprocal, params.reciprocal_factor, 1.0)
        )
        pair, local = np.unique(keys, return_inverse=True)
        values = np.bincount(local, weights=given, minlength=len(pair))
        positive = values > 0.0
        pair, values = pair[positive], values[positive]
        src, dst = pair // n, pair % n
        out = np.bincount(src, weights=values, minlength=n)
        shares = values / out[src]
        p = np.zeros(n)
        p[seeds] = 1.0 / len(seeds)
        trust, rounds, residual = _iterate(p, out == 0.0, src, dst, shares, params)
        reached = int(np.count_nonzero(trust > 0.0))
        weights = np.minimum(1.0, (reached * trust) ** params.standing_power)
        weights[seeds] = 1.0  # pre-trusted: their own ratings count fully
    return GraphStanding(
        n=n,
        in_graph=in_graph,
        roots=root_mask,
        trust=trust,
        weights=weights,
        discrimination=discrimination,
        rated=rated,
        clique_pairs=clique_pairs,
        clique=clique,
        endorsed=endorsed,
        rounds=rounds,
        residual=residual,
    )


def _clique(n: int, endorsed: Ints) -> tuple[Ints, Floats]:
    """The sorted mutual pair keys with m > 0 (see the module text) and their factors.

    Mutual endorsements are few next to the ratings: the common partners of each mutual
    pair are counted with sets of integers."""
    import numpy as np

    raters, subjects = endorsed // n, endorsed % n
    distinct = raters != subjects
    raters, subjects = raters[distinct], subjects[distinct]
    mutual = contains(endorsed, subjects * n + raters)
    raters, subjects = raters[mutual], subjects[mutual]
    partners: dict[int, set[int]] = defaultdict(set)
    for r, s in zip(raters.tolist(), subjects.tolist(), strict=True):
        partners[r].add(s)
    keys: list[int] = []
    factors: list[float] = []
    for r, s in zip(raters.tolist(), subjects.tolist(), strict=True):  # sorted by key
        m = len(partners[r] & partners[s])
        if m:
            keys.append(r * n + s)
            factors.append(1.0 / (1.0 + m))
    return np.array(keys, dtype=np.int64), np.array(factors, dtype=np.float64)


def _discrimination(
    n: int, raters: Ints, grades: Ints, params: ReputationParams
) -> tuple[Floats, Bools]:
    """The discrimination factor of every rater (1 for people who rate nobody else) and
    which people rate someone; ``raters`` sorted, sums in that order."""
    import numpy as np

    count = np.bincount(raters, minlength=n)
    rated = count > 0
    given = np.maximum(count, 1)
    mean = np.bincount(raters, weights=grades, minlength=n) / given
    spread = np.bincount(raters, weights=np.abs(grades - mean[raters]), minlength=n) / given
    k0, ref = params.discrimination_prior, params.discrimination_spread
    factor = (k0 + count * np.minimum(1.0, spread / ref)) / (k0 + count)
    return np.where(rated, factor, 1.0), rated


def compute_standing(
    edges: Iterable[Edge],
    roots: Iterable[str],
    params: ReputationParams = ReputationParams(),
) -> Standing:
    """Standing from ``edges`` (one per active rating) and the pre-trusted ``roots``, by
    name: :func:`standing_arrays` for tests and simulations."""
    import numpy as np

    edges = list(edges)
    root_set = frozenset(roots)
    names = sorted({*(e[0] for e in edges), *(e[1] for e in edges), *root_set})
    index = {name: i for i, name in enumerate(names)}
    found = standing_arrays(
        len(names),
        np.array([index[e[0]] for e in edges], dtype=np.int64),
        np.array([index[e[1]] for e in edges], dtype=np.int64),
        np.array([e[2] for e in edges], dtype=np.int64),
        np.array([e[3] == "endorsement" for e in edges], dtype=np.bool_),
        np.array(sorted(index[r] for r in root_set), dtype=np.int64),
        params,
    )
    return found.by_name(names, root_set)


def discrimination(
    edges: Iterable[Edge], params: ReputationParams = ReputationParams()
) -> dict[str, float]:
    """The discrimination factor of every rater of ``edges``, by name (see the module text)."""
    return dict(compute_standing(edges, (), params).discrimination)


def _iterate(
    p: Floats,
    dangling: npt.NDArray[np.bool_],
    src: Ints,
    dst: Ints,
    shares: Floats,
    params: ReputationParams,
) -> tuple[Floats, int, float]:
    import numpy as np

    a = params.damping
    n = len(p)
    t = p.copy()
    residual = 0.0
    rounds = 0
    while rounds < params.max_rounds:
        rounds += 1
        flow = np.bincount(dst, weights=t[src] * shares, minlength=n)
        lost = float(t[dangling].sum())
        new = (1.0 - a) * (flow + lost * p) + a * p
        residual = float(np.abs(new - t).sum())
        t = new
        if residual < params.tolerance:
            break
    return t, rounds, residual
