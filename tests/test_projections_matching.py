"""Matching: ranked, explained candidates ring by ring, honouring opt-in and hours; and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import commands
from ledger.access import may_read, today_utc
from ledger.catalogue import Part, Ring, Visibility
from ledger.errors import NotFound
from projections.matching import (
    AssignmentSpec,
    Match,
    assignments_for,
    candidates,
    candidates_for_assignment,
)
from tests.factories import DEPT, OTHER_DEPT, World, standard_cast
from tests.support.projections import LedgerEnv, ledger_env

ELSEWHERE = "minfin/begroting"
POOL = ("alice", "carol", "dave", "erin", "frank", "hank", "ivan")


class Market:
    """bob (manager of minbzk/dgo) needs python and sql, 8 h/week, searched government-wide;
    hank's free part is on request and she granted it to bob, ivan's is on request only."""

    def __init__(self, env: LedgerEnv) -> None:
        self.env = env
        w = self.w = World(env.service, seed="matching")
        w.do_all(standard_cast(w))
        w.do_all(
            [
                w.register("erin", organisation="minfin", department=ELSEWHERE),
                w.register("frank"),
                w.register("gina"),
                w.register("hank"),
                w.register("ivan", department=OTHER_DEPT),
            ]
        )
        skills = {
            "alice": ["python", "sql"],
            "carol": ["python"],
            "dave": ["python", "sql"],
            "erin": ["python", "sql"],
            "frank": ["python", "sql"],
            "gina": ["python", "sql"],
            "hank": ["sql"],
            "ivan": ["python", "sql"],
        }
        for person, tags in skills.items():
            w.do(w.claim(w[person], skills=tags))
        carol = w["carol"]
        w.do(
            commands.state_ambition(
                carol.signer, person="carol", goal="SQL", skills=["sql"], **w.opts()
            )
        )
        for person in ("alice", "carol", "dave", "erin", "gina"):
            self.opt_in(person, Visibility.PUBLIC)
        self.opt_in("hank", Visibility.ON_REQUEST)
        self.opt_in("ivan", Visibility.ON_REQUEST)
        bob = w["bob"]
        asked = w.do(w.request_access(bob, w["hank"], "free")).statement.id
        self.hank_grant = w.do(w.grant_access(w["hank"], bob, "free", request=asked)).statement.id
        self.busy = self.post(hours=30, skills=["budgeting"])
        w.do(w.assign(bob, self.busy, w["gina"]))
        self.main = self.post(hours=8, skills=["python", "sql"])
        env.projector.catch_up()

    def post(
        self, *, hours: int, skills: list[str], ring: str = "government", department: str = DEPT
    ) -> str:
        w = self.w
        signed = w.post(w["bob"], department=department)
        raw = commands.post_assignment(
            w["bob"].signer,
            assignment=signed.statement.subject,
            organisation=department.split("/")[0],
            department=department,
            title="Dashboard",
            skills=skills,
            hours_per_week=hours,
            ring=ring,
            **w.opts(),
        )
        return w.do(raw).statement.subject

    def opt_in(self, person: str, visibility: Visibility) -> None:
        self.w.do(self.w.visibility(self.w[person], "free", visibility.value))

    def candidates(self, assignment: str, **kw: object) -> list[Match]:
        self.env.projector.catch_up()
        with self.env.engine.connect() as conn:
            return candidates_for_assignment(conn, assignment, **kw)  # type: ignore[arg-type]


@pytest.fixture
def market(database_url: str) -> Iterator[Market]:
    with ledger_env(database_url, batch_size=100) as env:
        yield Market(env)


def _who(matches: list[Match]) -> list[tuple[str, Ring]]:
    return [(m.person, m.ring) for m in matches]


def test_candidates_are_searched_ring_by_ring_and_explained(market: Market) -> None:
    found = market.candidates(market.main)
    assert _who(found) == [
        ("alice", Ring.DEPARTMENT),
        ("carol", Ring.DEPARTMENT),  # python, and sql as an ambition
        ("hank", Ring.DEPARTMENT),  # on request: she granted bob her free part
        ("dave", Ring.ORGANISATION),
        ("erin", Ring.GOVERNMENT),
    ]
    alice, carol = found[0], found[1]
    assert alice.score == pytest.approx(0.75)  # both skills at the prior reputation 3
    assert carol.score == pytest.approx((0.75 + 0.5 * 0.75) / 2)
    assert [s.skill for s in carol.skills] == ["python", "sql"]
    assert carol.skills[1].ambition
    assert carol.skills[1].evidence == 0
    assert alice.available_hours == 36
    assert alice.reasons[0].text == f"ring: own department ({DEPT})"
    assert any("python (1× evidence" in reason.text for reason in alice.reasons)
    assert found[2].missing == ("python",)


def test_opt_in_is_required(market: Market) -> None:
    found = {m.person for m in market.candidates(market.main)}
    assert "frank" not in found  # never opted in: the free part is private by default
    assert "ivan" not in found  # on request, and granted to nobody
    market.opt_in("frank", Visibility.PUBLIC)
    market.opt_in("alice", Visibility.PRIVATE)
    found = {m.person for m in market.candidates(market.main)}
    assert "frank" in found
    assert "alice" not in found
    w = market.w
    w.do(w.revoke_access(w["hank"], market.hank_grant))
    assert "hank" not in {m.person for m in market.candidates(market.main)}


def test_a_grant_that_ran_out_no_longer_opts_in(market: Market) -> None:
    w = market.w
    w.do(w.grant_access(w["ivan"], w["bob"], "free", until="2999-12-31"))
    assert "ivan" in {m.person for m in market.candidates(market.main)}
    later = market.candidates(market.main, today="3000-01-01")
    assert "ivan" not in {m.person for m in later}
    assert "hank" in {m.person for m in later}  # her grant has no end


def test_hours_committed_elsewhere_are_honoured(market: Market) -> None:
    assert "gina" not in {m.person for m in market.candidates(market.main)}  # 36 - 30 < 8
    w = market.w
    w.do(w.complete(w["bob"], market.busy, w["gina"]))
    assert "gina" in {m.person for m in market.candidates(market.main)}
    big = market.post(hours=40, skills=["python"])
    assert market.candidates(big) == []  # nobody has 40 free hours in a 36-hour week


def test_rings_stop_where_the_assignment_says_and_at_the_limit(market: Market) -> None:
    local = market.post(hours=8, skills=["python", "sql"], ring="department")
    assert {ring for _, ring in _who(market.candidates(local))} == {Ring.DEPARTMENT}
    assert _who(market.candidates(market.main, limit=2)) == [
        ("alice", Ring.DEPARTMENT),
        ("carol", Ring.DEPARTMENT),
    ]


def test_assigned_people_and_the_owner_are_not_proposed(market: Market) -> None:
    w = market.w
    w.do(w.assign(w["bob"], market.main, w["alice"]))
    found = {m.person for m in market.candidates(market.main)}
    assert "alice" not in found
    assert "bob" not in found


def test_an_anonymous_search_sees_only_public_opt_ins(market: Market) -> None:
    spec = AssignmentSpec(("python", "sql"), 8, "minbzk", DEPT, Ring.GOVERNMENT)
    with market.env.engine.connect() as conn:
        found = candidates(conn, spec, searcher=None, limit=20)
    assert {m.person for m in found} == {"alice", "carol", "dave", "erin"}


def test_open_assignments_that_fit_an_employee(market: Market) -> None:
    local = market.post(hours=8, skills=["python"], ring="department")
    big = market.post(hours=40, skills=["python"])
    market.env.projector.catch_up()
    with market.env.engine.connect() as conn:
        for_alice = {a.assignment: a for a in assignments_for(conn, "alice")}
        for_erin = {a.assignment for a in assignments_for(conn, "erin")}
        for_gina = {a.assignment for a in assignments_for(conn, "gina")}
        with pytest.raises(NotFound):
            assignments_for(conn, "nobody")
    assert set(for_alice) == {market.main, local}  # not the 40-hour one, not the assigned one
    assert big not in for_alice
    assert for_alice[local].fit == 1.0
    assert for_alice[market.main].fit == 1.0
    assert for_alice[local].ring is Ring.DEPARTMENT
    assert for_erin == {market.main}  # the department-only one is not for another organisation
    assert for_gina == set()  # 6 free hours: nothing fits


_CHOICES = st.fixed_dictionaries({p: st.sampled_from(list(Visibility)) for p in POOL})


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(choices=_CHOICES)
def test_matching_honours_opt_in_rings_and_order(
    market: Market, choices: dict[str, Visibility]
) -> None:
    for person, visibility in choices.items():
        market.opt_in(person, visibility)
    found = market.candidates(market.main, limit=50)
    state = market.w.state
    people = state.people
    expected = {p for p in choices if may_read(state, p, "bob", Part.FREE)}  # bob searches
    assert {m.person for m in found} == expected
    order = [Ring.DEPARTMENT, Ring.ORGANISATION, Ring.GOVERNMENT]
    for m in found:
        person = people[m.person]
        ring = (
            Ring.DEPARTMENT
            if person.department == DEPT
            else Ring.ORGANISATION
            if person.organisation == "minbzk"
            else Ring.GOVERNMENT
        )
        assert m.ring is ring
    keys = [(order.index(m.ring), -m.score) for m in found]
    assert keys == sorted(keys)


def test_the_opt_in_sql_decides_every_combination_as_the_ledger_does(market: Market) -> None:
    """Who may find a candidate is who may read their free part (``ledger.access.may_read``):
    every visibility × searcher relation (anonymous, no grant, an active grant, a revoked
    one, one that ran out, a grant of another part only), checked on the matching SQL."""
    w, today = market.w, today_utc()
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    chosen = {
        "alice": Visibility.PUBLIC,
        "carol": Visibility.ON_REQUEST,
        "dave": Visibility.PRIVATE,
    }
    relation = {
        None: "anonymous",
        "stranger": "no grant",
        "bob": "active grant",
        "operator": "revoked grant",
        "gina": "grant that runs out today",
        "erin": "grant of another part",
    }
    for person, visibility in chosen.items():
        market.opt_in(person, Visibility.ON_REQUEST)  # grants need it
        owner = w[person]
        w.do(w.grant_access(owner, w["bob"], "free"))
        revoked = w.do(w.grant_access(owner, w.operator, "free")).statement.id
        w.do(w.revoke_access(owner, revoked))
        w.do(w.grant_access(owner, w["gina"], "free", until=today))
        w.do(w.grant_access(owner, w["erin"], "dossier"))
        market.opt_in(person, visibility)
    market.env.projector.catch_up()
    spec = AssignmentSpec(
        skills=("python", "sql"),
        hours_per_week=8,
        organisation="minbzk",
        department=DEPT,
        ring=Ring.GOVERNMENT,
    )
    state, seen = w.state, set()
    with market.env.engine.connect() as conn:
        for day in (today, tomorrow):
            for searcher, how in relation.items():
                found = candidates(conn, spec, searcher=searcher, limit=50, today=day)
                names = {m.person for m in found}
                for person, visibility in chosen.items():
                    allowed = may_read(state, person, searcher, Part.FREE, today=day)
                    assert (person in names) == allowed, (person, searcher, how, day)
                    ran_out = how == "grant that runs out today" and day == tomorrow
                    seen.add((visibility, "grant that ran out" if ran_out else how))
    hows = set(relation.values()) | {"grant that ran out"}
    assert seen == {(v, how) for v in Visibility for how in hows}
