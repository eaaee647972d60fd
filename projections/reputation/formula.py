"""The reputation formula: pure functions, no I/O (documented in docs/reputation.md).

For one employee and one skill, each rating *i* (an endorsement of a
contribution tagged with the skill, or an assignment completion whose
assignment needs it) gets a weight

    w_i = role(ρ_i) · standing(r_i) · discrimination(r_i) · clique_i · decay(T − t_i)
          · repeat_i · reciprocity_i · agreement_i · cycle_i

and the score is the Bayesian (shrunk) mean

    score = (m · μ0 + Σ w_i · g_i) / (m + Σ w_i)

with prior mean μ0 = 3 (the middle of the uniform five-grade scale) and prior
weight m = 3. The score is a convex combination of μ0 and grades in [1, 5],
so it lies in [1, 5]; every factor is at most 1 and one rater's repeats add up
to at most Σ_j 0.5^j = 2, so a single rater moves a score at most
2·4/(m+2) = 1.6 away from what the others say. Standing and clique come from
the whole graph (:mod:`.standing`); agreement, cycle and discrimination (each
grade weighed by its agreement) from what the other raters say of the same
person (:mod:`.consensus`); an imported
rating (from another ledger) has the receiving ledger's declared trust in its
origin as its standing, and discrimination, clique, agreement and cycle 1 (the
graph there is not seen here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "FACTORS",
    "SECONDS_PER_DAY",
    "Raters",
    "Rating",
    "ReputationParams",
    "Score",
    "WeightedRating",
    "combine",
    "decay",
    "score_ratings",
    "weigh",
]

SECONDS_PER_DAY = 86_400
FACTORS = (
    "role",
    "standing",
    "discrimination",
    "clique",
    "decay",
    "repeat",
    "reciprocity",
    "agreement",
    "cycle",
)
"""The factors of a rating's weight, as :class:`WeightedRating` names them."""


@dataclass(frozen=True)
class ReputationParams:
    """The constants of the formula (the defaults are the documented ones)."""

    prior_mean: float = 3.0
    prior_weight: float = 3.0
    half_life_days: float = 730.0
    role_weights: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {"manager": 1.0, "owner": 1.0, "client": 0.8, "peer": 0.6}
        )
    )
    repeat_factor: float = 0.5
    reciprocal_factor: float = 0.1
    discrimination_prior: float = 2.0
    discrimination_spread: float = 0.5
    standing_power: float = 1.0
    agreement_scale: float = 0.75
    cycle_margin: float = 1.25
    cycle_factor: float = 0.1
    damping: float = 0.15
    max_rounds: int = 40
    tolerance: float = 1e-9

    @property
    def max_rater_weight(self) -> float:
        """The most weight all ratings of one rater can have together: 1 / (1 − repeat)."""
        return 1.0 / (1.0 - self.repeat_factor)


class Rating(NamedTuple):
    """One rating of an employee in a skill.

    ``kind`` is ``endorsement`` or ``completion``; ``role`` is the endorser's
    role (``manager``, ``peer``, ``client``) or ``owner`` for a completion;
    ``at`` is when it was given (Unix seconds); ``reciprocal`` says whether the
    employee also endorsed this rater; ``clique`` is the dense-clique factor of the
    pair (:func:`projections.reputation.standing.clique_factors`); ``origin`` is
    the ledger an imported rating was given on ("" for this ledger); ``agreement``
    and ``cycle`` are the pair's consensus factors
    (:func:`projections.reputation.consensus.consensus_factors`).
    """

    id: str
    kind: str
    rater: str
    role: str
    grade: int
    at: int
    position: int
    reciprocal: bool = False
    clique: float = 1.0
    origin: str = ""
    agreement: float = 1.0
    cycle: float = 1.0


@dataclass(frozen=True)
class Raters:
    """What the last refresh knows of raters: ``standing`` and ``discrimination`` per
    person of this ledger (absent: standing 0, discrimination 1), and ``origins``, the
    declared trust in each origin ledger of imported ratings (absent: 0)."""

    standing: Mapping[str, float] = field(default_factory=dict)
    discrimination: Mapping[str, float] = field(default_factory=dict)
    origins: Mapping[str, float] = field(default_factory=dict)


class WeightedRating(NamedTuple):
    """A rating with each factor of its weight, so a score can explain itself."""

    rating: Rating
    role: float
    standing: float
    discrimination: float
    clique: float
    decay: float
    repeat: float
    reciprocity: float
    agreement: float
    cycle: float

    @property
    def weight(self) -> float:
        """The product of the factors."""
        return (
            self.role
            * self.standing
            * self.discrimination
            * self.clique
            * self.decay
            * self.repeat
            * self.reciprocity
            * self.agreement
            * self.cycle
        )


@dataclass(frozen=True)
class Score:
    """An explained reputation score of ``person`` in ``skill`` as of Unix time ``at``.

    ``weight`` is the total weight of the ratings; ``ratings`` lists them with
    their factors; ``standing_position`` is the log position of the standing
    snapshot used (None: no refresh ran yet, so no rater has standing).
    """

    person: str
    skill: str
    score: float
    weight: float
    at: int
    prior_mean: float
    prior_weight: float
    ratings: tuple[WeightedRating, ...]
    standing_position: int | None = None

    @property
    def confidence(self) -> float:
        """How much the ratings, not the prior, decide the score: Σw / (m + Σw), in [0, 1)."""
        return self.weight / (self.prior_weight + self.weight)


def decay(age_seconds: float, half_life_days: float) -> float:
    """``2^(−age / half-life)``; ratings from the future (age < 0) count as new."""
    return float(0.5 ** (max(0.0, age_seconds) / (half_life_days * SECONDS_PER_DAY)))


def weigh(
    ratings: Iterable[Rating],
    raters: Raters,
    *,
    at: int,
    params: ReputationParams = ReputationParams(),
) -> tuple[WeightedRating, ...]:
    """Weigh ``ratings`` of one employee in one skill; return them in log order.

    Repeats: the n-th rating (0-based, log order) by the same rater gets
    ``repeat_factor ** n``, so a new rating never lowers the weight of earlier ones.
    """
    seen: dict[tuple[str, str], int] = {}
    out = []
    for r in sorted(ratings, key=lambda x: (x.position, x.id)):
        n = seen.get((r.origin, r.rater), 0)
        seen[(r.origin, r.rater)] = n + 1
        standing, discriminates = _rater_factors(r, raters)
        out.append(
            WeightedRating(
                rating=r,
                role=params.role_weights.get(r.role, 0.0),
                standing=standing,
                discrimination=discriminates,
                clique=r.clique,
                decay=decay(at - r.at, params.half_life_days),
                repeat=params.repeat_factor**n,
                reciprocity=params.reciprocal_factor if r.reciprocal else 1.0,
                agreement=r.agreement,
                cycle=r.cycle,
            )
        )
    return tuple(out)


def _rater_factors(r: Rating, raters: Raters) -> tuple[float, float]:
    """``(standing, discrimination)`` of the rater of ``r``."""
    if r.origin:
        return raters.origins.get(r.origin, 0.0), 1.0
    return raters.standing.get(r.rater, 0.0), raters.discrimination.get(r.rater, 1.0)


def combine(
    weighted: Iterable[WeightedRating], params: ReputationParams = ReputationParams()
) -> tuple[float, float]:
    """The Bayesian mean of weighted grades and their total weight: ``(score, Σw)``."""
    total = 0.0
    weighted_sum = 0.0
    for w in weighted:
        weight = w.weight
        total += weight
        weighted_sum += weight * w.rating.grade
    score = (params.prior_weight * params.prior_mean + weighted_sum) / (params.prior_weight + total)
    return score, total


def score_ratings(
    person: str,
    skill: str,
    ratings: Iterable[Rating],
    raters: Raters,
    *,
    at: int,
    params: ReputationParams = ReputationParams(),
    standing_position: int | None = None,
) -> Score:
    """The explained :class:`Score` of ``person`` in ``skill`` from ``ratings``."""
    weighted = weigh(ratings, raters, at=at, params=params)
    score, total = combine(weighted, params)
    return Score(
        person=person,
        skill=skill,
        score=score,
        weight=total,
        at=at,
        prior_mean=params.prior_mean,
        prior_weight=params.prior_weight,
        ratings=weighted,
        standing_position=standing_position,
    )
