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

Summation follows the sorted order of the people, so the result is the same for the same
set of ratings, whatever order they were read in. Cost: O(R) to build the graph for R
active ratings, O(R) per power-iteration round, at most ``max_rounds`` rounds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from .formula import ReputationParams

if TYPE_CHECKING:  # NumPy is imported by the refresh that uses it, not by a service's start
    import numpy as np
    import numpy.typing as npt

    _Floats: TypeAlias = npt.NDArray[np.float64]
    _Ints: TypeAlias = npt.NDArray[np.int64]

__all__ = ["Edge", "Standing", "compute_standing", "mutual_partners"]

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


def mutual_partners(edges: Iterable[Edge]) -> dict[str, set[str]]:
    """Who endorses whom both ways: person -> the people they share a mutual endorsement with."""
    endorsed = {(r, s) for r, s, _, kind in edges if kind == "endorsement" and r != s}
    out: dict[str, set[str]] = defaultdict(set)
    for r, s in endorsed:
        if (s, r) in endorsed:
            out[r].add(s)
    return out


def clique_factors(edges: Iterable[Edge]) -> dict[tuple[str, str], float]:
    """``1 / (1 + m)`` per mutual pair (r, s), m = people both share a mutual endorsement
    with; pairs with m = 0 are left out (factor 1)."""
    mutual = mutual_partners(edges)
    out: dict[tuple[str, str], float] = {}
    for r, partners in mutual.items():
        for s in partners:
            m = len(partners & mutual[s])
            if m:
                out[(r, s)] = 1.0 / (1.0 + m)
    return out


def discrimination(
    edges: Iterable[Edge], params: ReputationParams = ReputationParams()
) -> dict[str, float]:
    """The discrimination factor of every rater (see the module text)."""
    grades: dict[str, list[int]] = defaultdict(list)
    for rater, _, grade, _ in edges:
        grades[rater].append(grade)
    k0, ref = params.discrimination_prior, params.discrimination_spread
    out = {}
    for rater, given in grades.items():
        n = len(given)
        mean = sum(given) / n
        spread = sum(abs(g - mean) for g in given) / n
        out[rater] = (k0 + n * min(1.0, spread / ref)) / (k0 + n)
    return out


def compute_standing(
    edges: Iterable[Edge],
    roots: Iterable[str],
    params: ReputationParams = ReputationParams(),
) -> Standing:
    """Standing from ``edges`` (one per active rating) and the pre-trusted ``roots``.

    Roots that rate nobody still count (they are in the graph as seeds). The iteration
    runs on NumPy arrays (``bincount`` is the sparse product ``Cᵀ t``). The edges are
    sorted first, so every sum runs in one order and the same ratings give bit-for-bit
    the same standing whatever order they were read in (floating-point addition is not
    associative: a rebuild reading the rows in another order must not differ in the last
    digit).
    """
    import numpy as np

    edges = sorted(e for e in edges if e[0] != e[1])
    clique = clique_factors(edges)
    endorsed = {(r, s) for r, s, _, kind in edges if kind == "endorsement"}
    root_set = frozenset(roots)
    names = sorted({*(e[0] for e in edges), *(e[1] for e in edges), *root_set})
    n = len(names)
    seeds = sorted(root_set)
    if n == 0 or not seeds:
        zero = dict.fromkeys(names, 0.0)
        return Standing(zero, dict(zero), discrimination(edges, params), clique, root_set)
    index = {name: i for i, name in enumerate(names)}
    src = np.fromiter((index[e[0]] for e in edges), dtype=np.int64, count=len(edges))
    dst = np.fromiter((index[e[1]] for e in edges), dtype=np.int64, count=len(edges))
    given = np.fromiter(
        (
            (g - 1)
            / 4
            * clique.get((r, s), 1.0)
            * (params.reciprocal_factor if (s, r) in endorsed else 1.0)
            for r, s, g, _ in edges
        ),
        dtype=np.float64,
        count=len(edges),
    )
    pair, local = np.unique(src * n + dst, return_inverse=True)
    values = np.bincount(local, weights=given, minlength=len(pair))
    keep = values > 0.0
    pair, values = pair[keep], values[keep]
    src, dst = pair // n, pair % n
    out = np.bincount(src, weights=values, minlength=n)
    shares = values / out[src]
    p = np.zeros(n)
    p[[index[name] for name in seeds]] = 1.0 / len(seeds)
    t, rounds, residual = _iterate(p, out == 0.0, src, dst, shares, params)
    reached = int(np.count_nonzero(t > 0.0))
    weight = np.minimum(1.0, (reached * t) ** params.standing_power)
    weight[[index[name] for name in seeds]] = 1.0  # pre-trusted: their own ratings count fully
    return Standing(
        trust=dict(zip(names, t.tolist(), strict=True)),
        weights=dict(zip(names, weight.tolist(), strict=True)),
        discrimination=discrimination(edges, params),
        clique=clique,
        roots=root_set,
        rounds=rounds,
        residual=residual,
    )


def _iterate(
    p: _Floats,
    dangling: npt.NDArray[np.bool_],
    src: _Ints,
    dst: _Ints,
    shares: _Floats,
    params: ReputationParams,
) -> tuple[_Floats, int, float]:
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
