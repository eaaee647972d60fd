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
would be a dependency for one function). Cost O(R) for R active ratings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .formula import ReputationParams
from .standing import Standing

__all__ = ["Consensus", "PairRating", "consensus_factors", "lifting_cycles"]

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
    """The agreement and cycle factors of every rating pair (see the module text).

    ``reciprocal`` holds the (rater, subject) pairs of active endorsements: ``(e, r)`` in
    it makes r's ratings of e reciprocal. Deterministic: sums follow the sorted order of
    the pairs."""
    grades: dict[Pair, list[int]] = defaultdict(list)
    weight: dict[Pair, float] = {}
    roles = params.role_weights
    for rater, subject, grade, role in ratings:
        if rater == subject:
            continue
        pair = (rater, subject)
        grades[pair].append(grade)
        w = (
            roles.get(role, 0.0)
            * standing.weights.get(rater, 0.0)
            * standing.discrimination.get(rater, 1.0)
            * standing.clique.get(pair, 1.0)
            * (params.reciprocal_factor if (subject, rater) in reciprocal else 1.0)
        )
        weight[pair] = max(w, weight.get(pair, 0.0))
    by_subject: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for (rater, subject), given in sorted(grades.items()):
        by_subject[subject].append((rater, weight[(rater, subject)], sum(given) / len(given)))
    agreement: dict[Pair, float] = {}
    lifting: list[Pair] = []
    for subject, raters in by_subject.items():
        factors, lifts = _judge(raters, params)
        lifting.extend((raters[i][0], subject) for i in lifts)
        agreement.update(
            ((rater, subject), f)
            for (rater, _, _), f in zip(raters, factors, strict=True)
            if f < 1.0
        )
    component = lifting_cycles(lifting)
    cycle = {
        (r, s): params.cycle_factor
        for r, s in lifting
        if r in component and component[r] == component.get(s)
    }
    by_rater: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for (rater, subject), given in sorted(grades.items()):
        by_rater[rater].extend((g, agreement.get((rater, subject), 1.0)) for g in sorted(given))
    return Consensus(agreement, cycle, agreed_discrimination(by_rater, params))


def agreed_discrimination(
    by_rater: Mapping[str, list[tuple[int, float]]], params: ReputationParams
) -> dict[str, float]:
    """The discrimination factor of every rater from their grades, each ``(grade,
    agreement)``: ``(k0 + n · min(1, spread / spread_ref)) / (k0 + n)`` for n grades whose
    agreement-weighted mean absolute deviation from their agreement-weighted mean is
    ``spread``. A grade the others contradict (a spiteful 1) hardly widens the spread, so
    it does not make one who gives everyone else a 5 look discriminating."""
    k0, ref = params.discrimination_prior, params.discrimination_spread
    out = {}
    for rater, given in by_rater.items():
        n = len(given)
        total = sum(a for _, a in given)
        mean = sum(a * g for g, a in given) / total
        spread = sum(a * abs(g - mean) for g, a in given) / total
        out[rater] = (k0 + n * min(1.0, spread / ref)) / (k0 + n)
    return out


def _judge(
    raters: list[tuple[str, float, float]], params: ReputationParams
) -> tuple[list[float], list[int]]:
    """The agreement of each of ``raters`` (rater, weight, mean grade) of one person with
    the others, and the indexes of the lifting ratings among them."""
    m, mu, scale = params.prior_weight, params.prior_mean, params.agreement_scale
    total = sum(w for _, w, _ in raters)
    total_g = sum(w * g for _, w, g in raters)
    out: list[float] = []
    lifts: list[int] = []
    for i, (_, w, g) in enumerate(raters):
        others = max(0.0, total - w)
        score = (m * mu + total_g - w * g) / (m + others)
        d = others / (m + others) * abs(g - score)
        out.append(1.0 / (1.0 + (d / scale) ** 2))
        if g - score >= params.cycle_margin:
            lifts.append(i)
    return out, lifts


def lifting_cycles(edges: Iterable[Pair]) -> dict[str, int]:
    """The strongly connected component of every person in the directed graph ``edges``
    (Tarjan, iterative): an edge lies on a cycle exactly when both ends share one. People
    alone in their component are left out."""
    graph: dict[str, list[str]] = defaultdict(list)
    for r, s in edges:
        graph[r].append(s)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
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
