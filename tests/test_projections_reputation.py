"""The reputation formula's properties, its standing computation, and the read model end to end."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.catalogue import Part
from projections.reputation import (
    Raters,
    Rating,
    ReputationParams,
    compute_standing,
    explain,
    reputation,
    score_all,
    score_ratings,
    weigh,
)
from projections.reputation import tables as rep
from projections.reputation.formula import SECONDS_PER_DAY
from projections.reputation.model import RatingRow, group_ratings, reciprocal_pairs
from tests.factories import DEPT, OTHER_DEPT, World, standard_cast
from tests.support.projections import AT, LedgerEnv, ledger_env

P = ReputationParams()
YEAR = 365 * SECONDS_PER_DAY
RATERS = [f"r{i}" for i in range(8)]


@st.composite
def ratings(draw: st.DrawFn, *, max_size: int = 12, raters: list[str] = RATERS) -> list[Rating]:
    """Ratings in log order, given up to two years before ``AT``."""
    n = draw(st.integers(0, max_size))
    out = []
    for i in range(n):
        out.append(
            Rating(
                id=f"id{i}",
                kind=draw(st.sampled_from(["endorsement", "completion"])),
                rater=draw(st.sampled_from(raters)),
                role=draw(st.sampled_from(["manager", "peer", "client", "owner"])),
                grade=draw(st.integers(1, 5)),
                at=AT - draw(st.integers(0, 2 * YEAR)),
                position=i + 1,
                reciprocal=draw(st.booleans()),
            )
        )
    return out


standings = st.dictionaries(st.sampled_from(RATERS), st.floats(0.0, 1.0), max_size=len(RATERS))


def score(rs: list[Rating], standing: dict[str, float], at: int = AT) -> float:
    return score_ratings("p", "s", rs, Raters(standing), at=at).score


@given(rs=ratings(), standing=standings)
def test_scores_are_bounded_by_the_scale(rs: list[Rating], standing: dict[str, float]) -> None:
    assert 1.0 <= score(rs, standing) <= 5.0


@given(rs=ratings(), standing=standings, new=ratings(max_size=1))
def test_a_new_good_grade_never_lowers_a_score(
    rs: list[Rating], standing: dict[str, float], new: list[Rating]
) -> None:
    assume(new)
    before = score(rs, standing)
    extra = new[0]._replace(id="new", position=len(rs) + 1)
    assume(extra.grade >= before)
    after = score([*rs, extra], standing)
    assert after >= before - 1e-12
    # A rater without standing adds nothing; one whose weight floating point can still add
    # (not, say, a drawn standing of 1e-238) lifts the score.
    if extra.grade == 5 and before < 5 and weigh([extra], Raters(standing), at=AT)[0].weight > 1e-9:
        assert after > before


@given(rs=ratings(), standing=standings, later=st.integers(0, 10 * YEAR))
def test_scores_decay_towards_the_prior(
    rs: list[Rating], standing: dict[str, float], later: int
) -> None:
    now = score(rs, standing, AT)
    then = score(rs, standing, AT + later)
    assert abs(then - P.prior_mean) <= abs(now - P.prior_mean) + 1e-12
    # a score within rounding of the prior (a drawn standing so small that its ratings add
    # ~1e-16) cannot come any closer in floating point: the strict decay is asked of the rest
    if (
        rs
        and later >= 2 * int(P.half_life_days) * SECONDS_PER_DAY
        and abs(now - P.prior_mean) > 1e-9
    ):
        assert abs(then - P.prior_mean) < abs(now - P.prior_mean)


@given(rs=ratings(max_size=30, raters=["solo"]), standing=standings)
def test_one_rater_alone_moves_a_score_little(rs: list[Rating], standing: dict[str, float]) -> None:
    bound = 2 * P.max_rater_weight / (P.prior_weight + P.max_rater_weight)  # 0.8
    assert abs(score(rs, standing) - P.prior_mean) <= bound + 1e-12


@given(rs=ratings(max_size=16), standing=standings, who=st.sampled_from(RATERS))
def test_removing_one_rater_changes_a_score_at_most_1_6(
    rs: list[Rating], standing: dict[str, float], who: str
) -> None:
    without = [r for r in rs if r.rater != who]
    bound = 4 * P.max_rater_weight / (P.prior_weight + P.max_rater_weight)  # 1.6
    assert abs(score(rs, standing) - score(without, standing)) <= bound + 1e-12


def test_one_five_does_not_beat_twenty_fours() -> None:
    def rated(grades: list[int]) -> float:
        rs = [
            Rating(f"id{i}", "endorsement", f"r{i}", "manager", g, AT, i + 1)
            for i, g in enumerate(grades)
        ]
        return score(rs, {f"r{i}": 1.0 for i in range(len(grades))})

    assert rated([5]) < rated([4] * 20)
    assert rated([5]) == pytest.approx((3 * 3 + 1 * 5) / (3 + 1))
    assert score([Rating("x", "endorsement", "nobody", "manager", 5, AT, 1)], {}) == 3.0


rating_rows = st.lists(
    st.tuples(
        st.sampled_from(RATERS),  # rater
        st.sampled_from(RATERS),  # subject
        st.sampled_from(["manager", "peer", "client", "owner"]),
        st.integers(1, 5),
        st.integers(0, 2 * YEAR),  # age at AT
        st.integers(0, 6),  # target
    ),
    max_size=40,
)
TARGETS = {f"t{i}": ["a", "b", "a"][: i % 4] for i in range(6)}  # t0 counts in no skill


def _graph_rows(drawn: list[tuple[str, str, str, int, int, int]]) -> list[RatingRow]:
    return [
        (
            s,
            f"id{i}",
            "completion" if role == "owner" else "endorsement",
            f"t{t}",
            r,
            role,
            g,
            AT - age,
            i + 1,
        )
        for i, (r, s, role, g, age, t) in enumerate(drawn)
    ]


@given(drawn=rating_rows, managers=st.sets(st.sampled_from(RATERS), max_size=2))
def test_the_refresh_scores_like_the_explanation(
    drawn: list[tuple[str, str, str, int, int, int]], managers: set[str]
) -> None:
    """Every score the refresh computes on columns is the explained score of the formula
    (weigh, combine) from the same ratings and the same standing and consensus."""
    rows = _graph_rows(drawn)
    scored = score_all(rows, TARGETS, managers, at=AT)
    raters = Raters(scored.standing.weights, scored.consensus.discrimination)
    endorsed = reciprocal_pairs(rows)
    groups = group_ratings(rows, TARGETS, endorsed, scored.standing.clique, scored.consensus)
    assert set(scored.scores) == set(groups)
    for (person, skill), found in groups.items():
        explained = score_ratings(person, skill, found, raters, at=AT)
        score, weight, count = scored.scores[(person, skill)]
        assert math.isclose(score, explained.score, rel_tol=1e-12)
        assert math.isclose(weight, explained.weight, rel_tol=1e-12, abs_tol=1e-300)
        assert count == len(explained.ratings)


@given(drawn=rating_rows, seed=st.randoms(use_true_random=False))
def test_the_same_ratings_in_any_order_give_bit_for_bit_the_same_refresh(
    drawn: list[tuple[str, str, str, int, int, int]], seed: random.Random
) -> None:
    rows = _graph_rows(drawn)
    shuffled = list(rows)
    seed.shuffle(shuffled)
    first = score_all(rows, TARGETS, ["r0"], at=AT)
    again = score_all(shuffled, TARGETS, ["r0"], at=AT)
    assert again.scores == first.scores
    assert again.standing == first.standing
    assert again.consensus == first.consensus


def _rows(edges: list[tuple[str, str, int, str]]) -> tuple[list, dict[str, list[str]]]:
    """Rating rows (one contribution per rating, skill ``s``) for ``score_all``."""
    rows = []
    for i, (rater, subject, grade, role) in enumerate(edges):
        kind = "completion" if role == "owner" else "endorsement"
        rows.append((subject, f"id{i}", kind, f"t{i}", rater, role, grade, AT, i + 1))
    return rows, {f"t{i}": ["s"] for i in range(len(edges))}


@given(k=st.integers(2, 12), grade=st.integers(4, 5), others=st.integers(0, 5))
def test_a_ring_of_mutual_fives_gains_less_than_independent_managers(
    k: int, grade: int, others: int
) -> None:
    """Ring members (each rated once by their manager) endorse each other; managers
    endorse an outsider with the same grades."""
    ring = [f"ring{i}" for i in range(k)]
    managers = [f"mgr{i}" for i in range(k - 1)]
    edges = [(a, b, grade, "peer") for a in ring for b in ring if a != b]
    edges += [(managers[0], member, 3, "manager") for member in ring]
    edges += [(m, "outsider", grade, "manager") for m in managers]
    edges += [(managers[0], f"colleague{i}", 4, "manager") for i in range(others)]
    rows, targets = _rows(edges)
    scores = score_all(rows, targets, managers, at=AT).scores
    in_ring = scores[("ring0", "s")][0]
    from_managers = scores[("outsider", "s")][0]
    assert in_ring < from_managers
    # the whole ring counts about as one rater, however large: below one manager's 5
    one_five = (P.prior_weight * P.prior_mean + 5) / (P.prior_weight + 1)
    assert in_ring < one_five


@given(
    edges=st.lists(
        st.tuples(
            st.sampled_from(RATERS),
            st.sampled_from(RATERS),
            st.integers(1, 5),
            st.sampled_from(["endorsement", "completion"]),
        ),
        max_size=40,
    ),
    roots=st.sets(st.sampled_from(RATERS), max_size=3),
)
def test_standing_is_a_bounded_distribution(
    edges: list[tuple[str, str, int, str]], roots: set[str]
) -> None:
    edges = [e for e in edges if e[0] != e[1]]
    result = compute_standing(edges, roots)
    if not roots:
        assert all(w == 0.0 for w in result.weights.values())  # no roots, no trust
        return
    assert math.isclose(sum(result.trust.values()), 1.0, rel_tol=1e-9)
    assert all(0.0 <= w <= 1.0 for w in result.weights.values())
    assert all(0.0 < d <= 1.0 for d in result.discrimination.values())
    assert all(0.0 < c < 1.0 for c in result.clique.values())
    assert 1 <= result.rounds <= P.max_rounds
    assert compute_standing(list(reversed(edges)), roots).weights == result.weights


def test_a_closed_ring_gets_no_trust_from_outside() -> None:
    edges = [("a", "b", 5, "endorsement"), ("b", "a", 5, "endorsement")]
    edges += [("m", "c", 5, "endorsement")]
    result = compute_standing(edges, {"m"})
    assert result.trust["a"] == 0.0
    assert result.weights["a"] == 0.0
    assert result.weights["m"] == 1.0
    assert result.weights["c"] > 0.9  # rated by the root


def test_an_endorser_who_gives_everyone_a_five_counts_less() -> None:
    inflating = [("x", f"p{i}", 5, "endorsement") for i in range(10)]
    judging = [("y", f"p{i}", 2 + i % 4, "endorsement") for i in range(10)]
    d = compute_standing([*inflating, *judging], {"x", "y"}).discrimination
    assert d["y"] == 1.0
    assert d["x"] == pytest.approx(P.discrimination_prior / (P.discrimination_prior + 10))


def test_a_dense_clique_counts_as_about_one_rater() -> None:
    for k in (3, 6, 20):
        members = [f"m{i}" for i in range(k)]
        edges = [(a, b, 5, "endorsement") for a in members for b in members if a != b]
        clique = compute_standing(edges, {"m0"}).clique
        assert sum(clique[(r, "m0")] for r in members[1:]) == pytest.approx(1.0)


# -- the read model end to end -------------------------------------------------------------------


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[World, LedgerEnv]]:
    with ledger_env(database_url, batch_size=100) as env:
        w = World(env.service, seed="reputation")
        w.do_all(standard_cast(w))  # bob manages minbzk/dgo
        yield w, env


def test_scores_explain_themselves_and_match_the_refresh(world: tuple[World, LedgerEnv]) -> None:
    w, env = world
    alice, bob, carol, dave = w["alice"], w["bob"], w["carol"], w["dave"]
    work = w.do(w.claim(alice, skills=["python", "sql"])).statement.id
    w.do(w.endorse(bob, alice, work, grade=5, role="manager"))
    w.do(w.endorse(carol, alice, work, grade=4, role="peer"))
    w.do(w.endorse(dave, alice, work, grade=2, role="client"))
    back = w.do(w.claim(carol, skills=["python"])).statement.id
    w.do(w.endorse(alice, carol, back, grade=5, role="peer"))  # carol and alice: reciprocal
    a = w.do(w.post(bob)).statement.subject
    w.do(w.assign(bob, a, alice))
    w.do(w.complete(bob, a, alice, grade=5))
    env.projector.catch_up()
    env.projector.refresh(at=AT)
    with env.engine.connect() as conn:
        explained = explain(conn, "alice", "python", at=AT)
        stored = {(r.person, r.skill): r.score for r in conn.execute(select(rep.scores))}
        for (person, skill), value in stored.items():
            assert explain(conn, person, skill, at=AT).score == pytest.approx(value, abs=1e-12)
    by_rater = {(x.rating.rater, x.rating.kind): x for x in explained.ratings}
    assert set(by_rater) == {
        ("bob", "endorsement"),
        ("carol", "endorsement"),
        ("dave", "endorsement"),
        ("bob", "completion"),
    }
    assert by_rater[("carol", "endorsement")].reciprocity == P.reciprocal_factor
    assert by_rater[("bob", "endorsement")].reciprocity == 1.0
    assert by_rater[("bob", "completion")].repeat == P.repeat_factor  # bob's second rating
    assert explained.score == pytest.approx(
        (3 * 3 + sum(x.weight * x.rating.grade for x in explained.ratings))
        / (3 + sum(x.weight for x in explained.ratings))
    )
    assert explained.standing_position == env.store.max_position()


def test_revoked_and_withdrawn_stop_counting_and_time_decays(
    world: tuple[World, LedgerEnv],
) -> None:
    w, env = world
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    kept = w.do(w.claim(alice, skills=["python"])).statement.id
    gone = w.do(w.claim(alice, skills=["python"])).statement.id
    revoked = w.do(w.endorse(carol, alice, kept, grade=1)).statement.id
    w.do(w.endorse(bob, alice, kept, grade=5, role="manager"))
    w.do(w.endorse(carol, alice, gone, grade=1))
    w.do(w.endorse(bob, carol, w.do(w.claim(carol, skills=["sql"])).statement.id, role="manager"))
    env.projector.catch_up()
    env.projector.refresh(at=AT)
    with env.engine.connect() as conn:
        before = explain(conn, "alice", "python", at=AT)
    w.do(w.revoke_endorsement(carol, alice, revoked))
    w.do(w.withdraw(alice, gone))
    env.projector.catch_up()
    env.projector.refresh(at=AT)
    with env.engine.connect() as conn:
        after = explain(conn, "alice", "python", at=AT)
        later = explain(conn, "alice", "python", at=AT + 4 * YEAR)
    assert len(before.ratings) == 3
    assert [x.rating.rater for x in after.ratings] == ["bob"]
    assert after.score > before.score
    assert P.prior_mean < later.score < after.score


def test_the_explanation_follows_the_analytical_parts_visibility(
    world: tuple[World, LedgerEnv],
) -> None:
    w, env = world
    alice, bob = w["alice"], w["bob"]
    work = w.do(w.claim(alice, skills=["python"])).statement.id
    w.do(w.endorse(bob, alice, work, grade=5, role="manager"))
    env.projector.catch_up()
    with env.engine.connect() as conn:
        assert reputation(conn, "alice", "python", viewer=None, at=AT) is None
        assert reputation(conn, "alice", "python", viewer="dave", at=AT) is None
        # the manager of her department: not until she grants him the analytical part
        assert reputation(conn, "alice", "python", viewer="bob", at=AT) is None
    w.do(w.grant_access(alice, bob, Part.ANALYTICAL.value))
    env.projector.catch_up()
    with env.engine.connect() as conn:
        for viewer in ("alice", "bob"):  # the owner; the viewer she granted it to
            seen = reputation(conn, "alice", "python", viewer=viewer, at=AT)
            assert seen is not None
            assert len(seen.ratings) == 1
        assert reputation(conn, "alice", "python", viewer="dave", at=AT) is None
    w.do(w.visibility(alice, Part.ANALYTICAL.value, "public"))
    env.projector.catch_up()
    with env.engine.connect() as conn:
        assert reputation(conn, "alice", "python", viewer=None, at=AT) is not None


def test_a_manager_ring_in_the_ledger_gains_less(world: tuple[World, LedgerEnv]) -> None:
    """Two peers who praise each other score below a colleague praised by two managers."""
    w, env = world
    alice, bob, carol, dave = w["alice"], w["bob"], w["carol"], w["dave"]
    w.do_all([w.register("erin", department=OTHER_DEPT), w.grant(dave, "manager", DEPT)])
    erin = w["erin"]
    a = w.do(w.claim(alice, skills=["python"])).statement.id
    c = w.do(w.claim(carol, skills=["python"])).statement.id
    e = w.do(w.claim(erin, skills=["python"])).statement.id
    w.do(w.endorse(carol, alice, a, grade=5))
    w.do(w.endorse(alice, carol, c, grade=5))
    w.do(w.grant(dave, "manager", OTHER_DEPT))
    w.do(w.grant(bob, "manager", OTHER_DEPT))
    w.do(w.endorse(bob, erin, e, grade=5, role="manager"))
    w.do(w.endorse(dave, erin, e, grade=5, role="manager"))
    env.projector.catch_up()
    env.projector.refresh(at=AT)
    with env.engine.connect() as conn:
        ring = explain(conn, "alice", "python", at=AT).score
        managed = explain(conn, "erin", "python", at=AT).score
    assert ring < managed
