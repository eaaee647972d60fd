"""The consensus factors of reputation: agreement with what the others say, lifting cycles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.reputation import ReputationParams, compute_standing, score_all
from projections.reputation.consensus import PairRating, consensus_factors, lifting_cycles
from tests.support.projections import AT

P = ReputationParams()
PEOPLE = [f"p{i}" for i in range(7)]


def _consensus(ratings: list[PairRating], roots: set[str]) -> tuple[dict, dict]:
    edges = [
        (r, s, g, "completion" if role == "owner" else "endorsement") for r, s, g, role in ratings
    ]
    standing = compute_standing(edges, roots)
    endorsed = {(r, s) for r, s, _, role in ratings if role != "owner"}
    found = consensus_factors(ratings, standing, endorsed)
    return dict(found.agreement), dict(found.cycle)


def _managers_rate(subject: str, grade: int, k: int = 6) -> list[PairRating]:
    return [(f"m{i}", subject, grade, "manager") for i in range(k)]


def test_a_lone_rating_is_not_judged() -> None:
    agreement, cycle = _consensus([("m0", "e", 5, "manager")], {"m0"})
    assert agreement == {}
    assert cycle == {}


def test_a_grade_far_from_what_confident_others_say_counts_less() -> None:
    """Six managers say 2; a seventh's 5 (a bought grade) and 1 (spite against a 4) count
    less, a grade near what the others say (the managers' own) nearly fully."""
    ratings = [*_managers_rate("e", 2), ("m9", "e", 5, "manager")]
    ratings += [*_managers_rate("f", 4), ("m9", "f", 1, "manager")]
    agreement, _ = _consensus(ratings, {f"m{i}" for i in range(10)})
    assert agreement[("m9", "e")] < 0.3
    assert agreement[("m9", "f")] < 0.3
    assert agreement[("m0", "e")] > 0.7  # m9's 5 and the prior move what the others say
    assert all(0.0 < a < 1.0 for a in agreement.values())
    unanimous, _ = _consensus(_managers_rate("e", 2), {f"m{i}" for i in range(6)})
    # what the others say is shrunk toward 3 as the score is: six who agree still count 0.9
    assert all(a > 0.9 for a in unanimous.values())


def test_a_one_way_ring_of_lifts_is_a_cycle_and_a_chain_is_not() -> None:
    """Each ring member is rated 2 by the managers; each lifts the next to 5 and the last
    the first. The same lifts without the closing one are no cycle."""
    ring = ["a", "b", "c", "d"]
    honest = [row for member in ring for row in _managers_rate(member, 2)]
    lifts = [(r, s, 5, "peer") for r, s in zip(ring, [*ring[1:], ring[0]], strict=True)]
    roots = {f"m{i}" for i in range(6)}
    _, cycle = _consensus([*honest, *lifts], roots)
    assert cycle == {(r, s): P.cycle_factor for r, s, _, _ in lifts}
    _, chain = _consensus([*honest, *lifts[:-1]], roots)
    assert chain == {}


def test_a_cycle_with_one_deserved_grade_is_no_lifting_cycle() -> None:
    """A 5 to someone the others rate 5 lifts nobody: the cycle through it is not counted."""
    honest = [*_managers_rate("a", 2), *_managers_rate("b", 2), *_managers_rate("c", 5)]
    lifts = [("a", "b", 5, "peer"), ("b", "c", 5, "peer"), ("c", "a", 5, "peer")]
    _, cycle = _consensus([*honest, *lifts], {f"m{i}" for i in range(6)})
    assert cycle == {}


def test_the_factors_reach_the_scores() -> None:
    """In score_all a lifting cycle's ratings carry their cycle factor, and the ring member
    scores less than with the same 5 from a rater outside any cycle."""
    ring = ["a", "b", "c"]
    edges = [row for member in [*ring, "x"] for row in _managers_rate(member, 2)]
    edges += [(r, s, 5, "peer") for r, s in (("a", "b"), ("b", "c"), ("c", "a"), ("y", "x"))]
    edges += _managers_rate("y", 2)
    rows = [
        (s, f"id{i}", "endorsement", f"t{i}", r, role, g, AT, i + 1)
        for i, (r, s, g, role) in enumerate(edges)
    ]
    scored = score_all(rows, {f"t{i}": ["s"] for i in range(len(rows))}, ["m0"], at=AT)
    assert scored.consensus.cycle.get(("c", "a")) == P.cycle_factor
    assert ("y", "x") not in scored.consensus.cycle
    assert scored.scores[("a", "s")][0] < scored.scores[("x", "s")][0]


def _reaches(edges: list[tuple[str, str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        v = todo.pop()
        for r, s in edges:
            if r == v and s not in seen:
                if s == goal:
                    return True
                seen.add(s)
                todo.append(s)
    return start == goal and any(r == start and s == start for r, s in edges)


@given(st.lists(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE)), max_size=25))
def test_an_edge_is_in_a_lifting_cycle_exactly_when_its_ends_reach_each_other(
    edges: list[tuple[str, str]],
) -> None:
    edges = [(r, s) for r, s in edges if r != s]
    component = lifting_cycles(edges)
    for r, s in edges:
        on_cycle = _reaches(edges, s, r)
        assert (r in component and component[r] == component.get(s)) == on_cycle


def test_a_spiteful_one_does_not_make_an_inflater_look_discriminating() -> None:
    """x gives twenty people a 5, as their managers do (who give twenty others a 2), and a
    rival the managers rate 5 a 1. Unweighted, that one 1 would lift x's discrimination
    from 2/23 to 0.75; weighed by its agreement with the others it hardly counts."""
    people = [f"q{i}" for i in range(20)]
    edges = [row for p in [*people, "rival"] for row in _managers_rate(p, 5)]
    edges += [row for i in range(20) for row in _managers_rate(f"low{i}", 2)]  # they judge
    edges += [("x", p, 5, "peer") for p in people] + [("x", "rival", 1, "peer")]
    rows = [
        (s, f"id{i}", "endorsement", f"t{i}", r, role, g, AT, i + 1)
        for i, (r, s, g, role) in enumerate(edges)
    ]
    managers = [f"m{i}" for i in range(6)]
    scored = score_all(rows, {f"t{i}": ["s"] for i in range(len(rows))}, managers, at=AT)
    flat = P.discrimination_prior / (P.discrimination_prior + 21)
    assert scored.standing.discrimination["x"] > 0.6  # the spread of the grades as given
    assert scored.consensus.discrimination["x"] < 0.2  # 0.19, near 2/23 (twenty-one 5s)
    assert scored.consensus.discrimination["x"] >= flat
    assert scored.consensus.agreement[("x", "rival")] < 0.3
