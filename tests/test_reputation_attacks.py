"""Each attack of bench/reputation_attacks.py as a test of its goal on a small organisation.

The organisation is a demo year of 300 people (:mod:`bench.reputation_sim`), scored by
the read model's own refresh function; hypothesis draws the seed and the ring size.
Attackers come from below the 40th percentile of the honest ranking.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.reputation_sim import (
    World,
    inflater,
    ndcg_at,
    one_way_ring,
    rank_with,
    reciprocal_pair,
    ring,
    run_attack,
    servile,
    sybils,
    vindictive,
    world,
)
from projections.reputation import ReputationParams
from projections.reputation.standing import discrimination

P = ReputationParams()
PEOPLE = 300
seeds = st.sampled_from([3, 7, 11, 19, 23])
quick = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _world(seed: int, people: int = PEOPLE) -> World:
    return world(people, seed, P)


@quick
@given(seed=seeds, size=st.integers(2, 50))
def test_no_ring_lifts_its_members_above_the_honest_median(seed: int, size: int) -> None:
    outcome = run_attack(_world(seed), ring(_world(seed), size), P)
    assert outcome.after <= 50.0, outcome


@quick
@given(seed=seeds, size=st.integers(3, 50))
def test_no_one_way_ring_lifts_its_members_above_the_honest_median(seed: int, size: int) -> None:
    """A → B → … → A with 5s as peers: each 5 lifts someone the others score low, and the
    lifts close a cycle, so each counts a tenth (the cycle factor), besides its agreement."""
    outcome = run_attack(_world(seed), one_way_ring(_world(seed), size), P)
    assert outcome.after <= 50.0, outcome


@quick
@given(seed=seeds, k=st.integers(1, 40))
def test_a_sybil_cluster_moves_its_target_less_than_5_percentiles(seed: int, k: int) -> None:
    outcome = run_attack(_world(seed), sybils(_world(seed), k), P)
    assert abs(outcome.after - outcome.before) < 5.0, outcome
    assert outcome.displaced == 0


@quick
@given(seed=seeds)
def test_a_reciprocal_pair_moves_less_than_10_percentiles(seed: int) -> None:
    """Two people who endorse each other's work with 5s (three pieces each) stay where they
    were: each mutual rating counts a tenth, each repeat half the one before."""
    outcome = run_attack(_world(seed), reciprocal_pair(_world(seed)), P)
    assert abs(outcome.after - outcome.before) < 10.0, outcome
    assert outcome.after <= 50.0, outcome


@given(n=st.integers(1, 60), grades=st.lists(st.integers(1, 5), min_size=2, max_size=60))
def test_an_inflater_counts_less_the_more_people_they_give_the_same_grade(
    n: int, grades: list[int]
) -> None:
    """What contains an inflater: one who gives n people the same grade has discrimination
    k0/(k0+n), which falls with n, and less than one who gives the same number of grades
    with a spread."""
    flat = discrimination([("inflater", f"p{i}", 5, "endorsement") for i in range(n)], P)
    k0 = P.discrimination_prior
    assert flat["inflater"] == pytest.approx(k0 / (k0 + n))
    varied = discrimination([("fair", f"p{i}", g, "endorsement") for i, g in enumerate(grades)], P)[
        "fair"
    ]
    same_count = discrimination(
        [("inflater", f"p{i}", 5, "endorsement") for i in range(len(grades))], P
    )["inflater"]
    if len(set(grades)) > 1:
        assert varied > same_count
    else:
        assert varied == pytest.approx(same_count)


@quick
@given(seed=seeds)
def test_an_inflater_lifts_their_colleagues_less_than_10_percentiles(seed: int) -> None:
    """One who gives every colleague of their team a 5 moves the team's median by fewer than
    10 percentiles and pushes nobody honest out of the top 10.

    In an organisation of 600: at 300 a team of five has its median among the many people
    tied near the prior (3.0), where a rise of 0.08 passes 20 percentiles — with or
    without the consensus factors (seeds 2 and 10 move 13.2 and 10.0 without them,
    11.0 and 12.0 with them; seed 19 of this list 20.1 and 10.4)."""
    w = _world(seed, 600)
    outcome = run_attack(w, inflater(w), P)
    assert abs(outcome.after - outcome.before) < 10.0, outcome
    assert outcome.displaced == 0, outcome


@quick
@given(seed=seeds)
def test_a_servile_subordinate_lifts_their_manager_less_than_10_percentiles(seed: int) -> None:
    outcome = run_attack(_world(seed), servile(_world(seed)), P)
    assert outcome.after - outcome.before < 10.0, outcome


@quick
@given(seed=seeds)
def test_a_vindictive_rater_moves_their_rival_at_most_one_raters_bound(seed: int) -> None:
    """Whatever the consensus, spite is bounded per rater: one rater's 1s move a score at
    most max_rater_weight · 4 / (m + max_rater_weight) (docs/reputation.md). The score
    need not fall at all: the 1s widen the rater's spread, so their discrimination and the
    weight of their earlier (good) grades of the rival can rise — a second-order effect of
    the refresh (docs/reputation.md, "Standing")."""
    w = _world(seed)
    attack = vindictive(w)
    (rival,) = attack.aims
    after = rank_with(w, attack)
    bound = P.max_rater_weight * 4 / (P.prior_weight + P.max_rater_weight)
    assert w.baseline.scores[rival] - after.scores[rival] <= bound + 1e-12


ATTACKS = {
    "ring of 10": lambda w: ring(w, 10),
    "one-way ring of 10": lambda w: one_way_ring(w, 10),
    "sybil cluster of 20": lambda w: sybils(w, 20),
    "reciprocal pair": reciprocal_pair,
    "inflater": inflater,
    "servile subordinate": servile,
    "vindictive rater": vindictive,
}


def _honest_ndcg(w: World) -> float:
    relevance = {p: w.facts.quality[p] + 1 for p in w.honest}
    return ndcg_at(10, w.baseline.top(10, w.honest), relevance)


@quick
@given(seed=seeds, name=st.sampled_from(sorted(ATTACKS)))
def test_no_attack_degrades_the_honest_ranking(seed: int, name: str) -> None:
    """The issue's third goal, bounded for CI: on 300 people the honest top 10 is noisier
    than on the benchmark's 2,000 (NDCG@10 0.87 for seed 3 without any attack), so here no
    attack may lower the honest people's NDCG@10 by more than 0.02 (an inflater may swap one
    honest person in a top 10 that noisy); the absolute goal (0.9) and no displacement are
    asserted on 2,000 below (a few seconds: one organisation, one seed)."""
    w = _world(seed)
    outcome = run_attack(w, ATTACKS[name](w), P)
    assert outcome.ndcg >= _honest_ndcg(w) - 0.02, outcome


def test_the_honest_ranking_keeps_ndcg_0_9_with_and_without_each_attack() -> None:
    """The goal as the issue states it, on the benchmark's organisation (2,000 people,
    seed 7): honest NDCG@10 at least 0.9 without attacks and with each of them."""
    w = world(2000, 7, P)
    assert _honest_ndcg(w) >= 0.9
    for name, attack in ATTACKS.items():
        outcome = run_attack(w, attack(w), P)
        assert outcome.ndcg >= 0.9, (name, outcome)
        assert outcome.displaced == 0, (name, outcome)
