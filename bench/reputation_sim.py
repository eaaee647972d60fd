"""An adversarial simulation of reputation: a demo organisation, attacks added, scored.

The organisation is a demo year (:func:`trackrecord.demo.facts.demo_facts`): every
person has a planted quality (−1, 0, +1) and honest grades follow it with noise. An
attack adds the facts its attackers would cause (endorsements, contributions, fresh
identities) at the end of the year, and the whole is scored by the reputation read
model's own refresh function, :func:`projections.reputation.score_all`, on the facts the
projection would hold — not on signed ledgers (signing and appending 2,000 people's
year takes minutes; the facts are what the projection keeps of it, row for row).

People are ranked by their score over all their ratings (every target's skills read as
one skill ``*``, so a person has one score); unrated people score the prior, 3. Used
by ``bench/reputation_attacks.py`` and ``tests/test_reputation_attacks.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from projections.reputation import ReputationParams, score_all
from trackrecord.demo.facts import DemoFacts, RatingRow, demo_facts

__all__ = [
    "ATTACKS",
    "Attack",
    "Outcome",
    "Ranking",
    "World",
    "kendall_tau_b",
    "ndcg_at",
    "one_way_ring",
    "rank",
    "rank_with",
    "ring",
    "run_attack",
    "world",
]

ALL = "*"


@dataclass(frozen=True)
class World:
    """A scored honest organisation: its facts, the honest people, their ranking."""

    facts: DemoFacts
    honest: tuple[str, ...]
    baseline: Ranking
    seed: int


@dataclass(frozen=True)
class Ranking:
    """Scores of every person and their rank percentile among the honest people."""

    scores: dict[str, float]
    honest: tuple[str, ...]
    _sorted: np.ndarray = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = sorted(self.scores.get(p, 3.0) for p in self.honest)
        object.__setattr__(self, "_sorted", np.asarray(values, dtype=np.float64))

    def percentile(self, person: str) -> float:
        """100 × (honest people scoring below + half those scoring the same) / honest
        (scores within 10⁻¹² count as the same; the person is not counted against
        themself)."""
        mine = self.scores.get(person, 3.0)
        below = int(np.searchsorted(self._sorted, mine - 1e-12, side="left"))
        upto = int(np.searchsorted(self._sorted, mine + 1e-12, side="right"))
        same = upto - below - (1 if person in self._honest_set else 0)
        return 100.0 * (below + same / 2) / len(self.honest)

    @functools.cached_property
    def _honest_set(self) -> frozenset[str]:
        return frozenset(self.honest)

    def top(self, k: int, among: Sequence[str]) -> list[str]:
        """The ``k`` best of ``among`` (ties by id, so the order is deterministic)."""
        return sorted(among, key=lambda p: (-self.scores.get(p, 3.0), p))[:k]


@dataclass(frozen=True)
class Attack:
    """An attack on ``world``: the facts it adds, who it means to lift (or sink), and
    the direction (+1 lift, −1 sink)."""

    name: str
    rows: list[RatingRow]
    targets: dict[str, list[str]]
    attackers: tuple[str, ...]
    aims: tuple[str, ...]
    direction: int = 1
    sybils: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What an attack did: the aims' median percentile without and with it, how many
    honest people it pushed out of the top 10, and the honest ranking's quality."""

    attack: Attack
    before: float
    after: float
    displaced: int
    ndcg: float
    tau: float


def rank(facts: DemoFacts, honest: Sequence[str], params: ReputationParams) -> Ranking:
    """Score ``facts`` with the read model's refresh function, one score per person."""
    targets = {t: [ALL] for t in facts.targets}
    managers = [p for p, scopes in facts.managers.items() if scopes]
    scored = score_all(facts.rows, targets, managers, at=facts.end, params=params)
    scores = {p: s for (p, _), (s, _, _) in scored.scores.items()}
    return Ranking(scores, tuple(honest))


def world(
    people: int = 2000, seed: int = 7, params: ReputationParams = ReputationParams()
) -> World:
    """The demo organisation of ``people`` and ``seed``, scored without attacks."""
    facts = demo_facts(people, seed)
    honest = tuple(p for p in facts.quality if facts.team.get(p, -1) >= 0)
    return World(facts, honest, rank(facts, honest, params), seed)


def ndcg_at(k: int, ranked: Sequence[str], relevance: dict[str, int]) -> float:
    """NDCG@k of ``ranked`` with gains ``relevance`` (log2 discount)."""
    gains = [relevance[p] for p in ranked[:k]]
    ideal = sorted(relevance.values(), reverse=True)[:k]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 1.0


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b of two equally long sequences (ties counted as in τ-b). O(n²) in
    NumPy blocks: written here rather than adding SciPy for one statistic."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    concordant = tied_a = tied_b = total = 0.0
    for start in range(0, len(a), 256):
        da = np.sign(a[start : start + 256, None] - a[None, :])
        db = np.sign(b[start : start + 256, None] - b[None, :])
        concordant += float(np.sum(da * db))
        tied_a += float(np.sum(da == 0))
        tied_b += float(np.sum(db == 0))
        total += da.size
    n = len(a)  # the diagonal is tied in both; count unordered pairs
    pairs = (total - n) / 2
    untied_a = pairs - (tied_a - n) / 2
    untied_b = pairs - (tied_b - n) / 2
    if untied_a <= 0 or untied_b <= 0:
        return 0.0
    return concordant / 2 / math.sqrt(untied_a * untied_b)


def rank_with(w: World, attack: Attack, params: ReputationParams = ReputationParams()) -> Ranking:
    """The ranking of ``w`` with ``attack``'s facts added."""
    facts = dataclasses.replace(
        w.facts,
        rows=[*w.facts.rows, *attack.rows],
        targets={**w.facts.targets, **attack.targets},
        end=w.facts.end + len(attack.rows) + len(attack.targets) + 1,
    )
    return rank(facts, w.honest, params)


def run_attack(w: World, attack: Attack, params: ReputationParams) -> Outcome:
    """Score ``w`` with ``attack``'s facts added, and measure."""
    after = rank_with(w, attack, params)
    before_p = float(np.median([w.baseline.percentile(p) for p in attack.aims]))
    after_p = float(np.median([after.percentile(p) for p in attack.aims]))
    clean = [p for p in w.honest if p not in attack.attackers and p not in attack.aims]
    top_before = set(w.baseline.top(10, w.honest))
    top_after = after.top(10, [*w.honest, *attack.sybils])
    displaced = len(top_before - set(top_after))
    relevance = {p: w.facts.quality[p] + 1 for p in clean}
    ndcg = ndcg_at(10, after.top(10, clean), relevance)
    tau = kendall_tau_b([after.scores.get(p, 3.0) for p in clean], [relevance[p] for p in clean])
    return Outcome(attack, before_p, after_p, displaced, ndcg, tau)


# -- the attacks ------------------------------------------------------------------------------


class _Builder:
    """Adds facts after the end of the honest year, with fresh ids and positions."""

    def __init__(self, w: World, name: str) -> None:
        self.w, self.name = w, name
        self.rng = random.Random(f"{name}/{w.seed}")
        self.rows: list[RatingRow] = []
        self.targets: dict[str, list[str]] = {}
        self._serial = 0
        self._last = max((r[8] for r in w.facts.rows), default=0)

    def _next(self) -> tuple[int, int]:
        self._serial += 1
        return self.w.facts.end + self._serial, self._last + self._serial

    def claim(self, person: str) -> str:
        _, position = self._next()
        cid = f"{self.name}-c{position}"
        skills = self.w.facts.skills.get(person) or ("python",)
        self.targets[cid] = [skills[0]]
        return cid

    def endorse(self, rater: str, subject: str, target: str, grade: int, role: str) -> None:
        at, position = self._next()
        rid = f"{self.name}-e{position}"
        self.rows.append((subject, rid, "endorsement", target, rater, role, grade, at, position))

    def lower_half(self, k: int) -> list[str]:
        """``k`` honest people of the lower half of the honest ranking, drawn at random."""
        b = self.w.baseline
        pool = [p for p in self.w.honest if b.percentile(p) < 40 and p not in self.w.facts.managers]
        return self.rng.sample(sorted(pool), k)

    def done(
        self, attackers: Sequence[str], aims: Sequence[str], *, direction: int = 1,
        sybils: Sequence[str] = (),
    ) -> Attack:  # fmt: skip
        return Attack(
            self.name, self.rows, self.targets, tuple(attackers), tuple(aims), direction,
            tuple(sybils),
        )  # fmt: skip


def ring(w: World, size: int) -> Attack:
    """``size`` people of the lower half each claim a piece of work, and every one of them
    endorses every other's with a 5 as a peer."""
    b = _Builder(w, f"ring{size}")
    members = b.lower_half(size)
    work = {m: b.claim(m) for m in members}
    for rater in members:
        for subject in members:
            if rater != subject:
                b.endorse(rater, subject, work[subject], 5, "peer")
    return b.done(members, members)


def one_way_ring(w: World, size: int) -> Attack:
    """``size`` people of the lower half each claim a piece of work, and each endorses the
    next one's with a 5 as a peer, the last the first's: a cycle without a mutual pair."""
    b = _Builder(w, f"cycle{size}")
    members = b.lower_half(size)
    work = {m: b.claim(m) for m in members}
    for rater, subject in zip(members, [*members[1:], members[0]], strict=True):
        b.endorse(rater, subject, work[subject], 5, "peer")
    return b.done(members, members)


def sybils(w: World, k: int) -> Attack:
    """``k`` fresh identities (registered, nothing else) endorse one target's work with a 5
    as clients, three times each, and endorse each other."""
    b = _Builder(w, f"sybil{k}")
    (target,) = b.lower_half(1)
    fakes = [f"sybil{k}-{i}" for i in range(k)]
    work = [b.claim(target) for _ in range(3)]
    fake_work = {f: b.claim(f) for f in fakes}
    for f in fakes:
        for t in work:
            b.endorse(f, target, t, 5, "client")
        for g in fakes:
            if g != f:
                b.endorse(f, g, fake_work[g], 5, "peer")
    return b.done([target, *fakes], [target], sybils=fakes)


def reciprocal_pair(w: World) -> Attack:
    """Two people of the lower half endorse each other's work with 5s, three pieces each."""
    b = _Builder(w, "pair")
    x, y = b.lower_half(2)
    for rater, subject in ((x, y), (y, x)):
        for _ in range(3):
            b.endorse(rater, subject, b.claim(subject), 5, "peer")
    return b.done([x, y], [x, y])


def _team(w: World, person: str) -> list[str]:
    team = w.facts.team[person]
    return sorted(p for p in w.honest if w.facts.team[p] == team and p != person)


def _latest_work(w: World, b: _Builder, person: str) -> str:
    """``person``'s latest contribution that has a rating, or a new one."""
    for row in reversed(w.facts.rows):
        if row[0] == person and row[2] == "endorsement":
            return row[3]
    return b.claim(person)


def inflater(w: World) -> Attack:
    """One person gives every colleague of their team a 5 on their latest work."""
    b = _Builder(w, "inflater")
    (who,) = b.lower_half(1)
    mates = _team(w, who)
    for m in mates:
        b.endorse(who, m, _latest_work(w, b, m), 5, "peer")
    return b.done([who], mates)


def servile(w: World) -> Attack:
    """A subordinate endorses only their manager: a 5 on each of five pieces of work."""
    b = _Builder(w, "servile")
    managers = sorted(p for p, s in w.facts.managers.items() if s and p in w.honest)
    boss = min(managers, key=lambda p: (w.baseline.percentile(p), p))
    (who,) = _team(w, boss)[:1] or b.lower_half(1)
    for _ in range(5):
        b.endorse(who, boss, b.claim(boss), 5, "peer")
    return b.done([who], [boss])


def vindictive(w: World) -> Attack:
    """A colleague gives their rival a 1 on each of the rival's five latest pieces of work."""
    b = _Builder(w, "vindictive")
    upper = sorted(p for p in w.honest if w.baseline.percentile(p) > 75 and _team(w, p))
    rival = b.rng.choice(upper)
    who = b.rng.choice(_team(w, rival))
    works = [r[3] for r in w.facts.rows if r[0] == rival and r[2] == "endorsement"]
    for t in list(dict.fromkeys(reversed(works)))[:5] or [b.claim(rival)]:
        b.endorse(who, rival, t, 1, "peer")
    return b.done([who], [rival], direction=-1)


ATTACKS: tuple[tuple[str, Callable[[World], Attack]], ...] = (
    *((f"ring of {k}", lambda w, k=k: ring(w, k)) for k in (2, 5, 10, 20, 50)),  # type: ignore[misc]
    *((f"one-way ring of {k}", lambda w, k=k: one_way_ring(w, k)) for k in (3, 10, 50)),  # type: ignore[misc]
    ("sybil cluster of 20", lambda w: sybils(w, 20)),
    ("reciprocal pair", reciprocal_pair),
    ("inflater", inflater),
    ("servile subordinate", servile),
    ("vindictive rater", vindictive),
)
"""Every attack of the benchmark, by the name its row shows."""
