"""People search (issue 17): the rules (who may be found by whom, rings, skills by Dutch
label), the query over the matching read model ring by ring up to ``beyond`` (evidence
imported from another ledger), and the reasons in words in both languages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.wording import reason_text
from ledger import commands
from ledger.catalogue import Part, Visibility
from ledger.errors import MalformedInput, NotPermitted
from ledger.people_search import (
    PeopleQuery,
    Place,
    SearchRing,
    find_skill,
    may_find,
    people_query,
    readable_parts,
    rings_to_search,
)
from ledger.statement import Signer
from projections.matching.search import PersonFound, search_people
from tests.factories import DEPT, MemoryLedger, World, identity_for, standard_cast
from tests.support.bundles import ORIGIN
from tests.support.cli import Cli, organisation
from tests.support.imported import AT, Origin, receiving_at
from tests.support.links import RECEIVING
from tests.support.projections import LedgerEnv, ledger_env

TODAY = "2026-06-01"


# -- the rules ------------------------------------------------------------------------------
def test_skills_are_found_by_dutch_or_english_label_or_slug() -> None:
    assert find_skill("data-analyse") == "data-analysis"
    assert find_skill("  Data-Analyse ") == "data-analysis"  # case and spaces do not matter
    assert find_skill("privacyrecht (AVG)") == "privacy-law"
    assert find_skill("UX research") == "ux-research"
    assert find_skill("python") == "python"
    assert find_skill("zaakgericht-werken") == "zaakgericht-werken"  # one's own skill
    with pytest.raises(MalformedInput) as refused:
        find_skill("Data Analyse!")
    assert refused.value.code == "unknown_skill"


@pytest.mark.parametrize(
    ("skills", "kw", "code"),
    [
        ([], {}, "no_skill"),
        ([" "], {}, "no_skill"),
        (["python", "sql", "budgeting", "statistiek", "begroten!"], {}, "unknown_skill"),
        (["python", "sql", "budgeting", "auditing", "statistiek", "bestuursrecht"], {},
         "too_many_skills"),
        (["python"], {"hours": 37}, "bad_hours"),
        (["python"], {"hours": -1}, "bad_hours"),
        (["python"], {"ring": "universe"}, "bad_ring"),
        (["python"], {"limit": 0}, "bad_limit"),
        (["Wat dan ook?"], {}, "unknown_skill"),
    ],
)  # fmt: skip
def test_a_bad_query_is_refused_with_its_code(
    skills: list[str], kw: dict[str, object], code: str
) -> None:
    with pytest.raises(MalformedInput) as refused:
        people_query(skills, **kw)  # type: ignore[arg-type]
    assert refused.value.code == code


def test_a_query_resolves_labels_and_drops_duplicates() -> None:
    query = people_query(["data-analyse", "data-analysis", "Python"], hours=8, ring="beyond")
    assert query == PeopleQuery(("data-analysis", "python"), 8, SearchRing.BEYOND, 10)


def test_rings_are_counted_from_the_searchers_place() -> None:
    here = Place("minbzk", DEPT)
    assert rings_to_search(SearchRing.DEPARTMENT, here) == (SearchRing.DEPARTMENT,)
    assert rings_to_search(SearchRing.BEYOND, here) == tuple(SearchRing)
    # without a session there is no place: the two nearest rings cannot be searched
    assert rings_to_search(SearchRing.BEYOND, None) == (SearchRing.GOVERNMENT, SearchRing.BEYOND)
    for ring in (SearchRing.DEPARTMENT, SearchRing.ORGANISATION):
        with pytest.raises(NotPermitted) as refused:
            rings_to_search(ring, None)
        assert refused.value.code == "no_place"


def test_who_may_be_found_by_whom() -> None:
    w = World(MemoryLedger(), seed="findable")
    w.do_all([*standard_cast(w), w.register("erin"), w.register("frank")])
    state = w.ledger.state  # type: ignore[attr-defined]

    def found(person: str, by: str | None) -> bool:
        return may_find(state, person, by, today=TODAY)

    # the free part is private by default: nobody finds alice, not even her manager
    assert not found("alice", "bob")
    assert not found("alice", None)
    w.do(w.visibility(w["alice"], "free", "public"))
    assert found("alice", "bob")
    assert found("alice", "dave")
    assert not found("alice", "alice")  # one does not find oneself
    # without a session only if her directory entry is public too (privacy.md §9)
    assert not found("alice", None)
    w.do(w.visibility(w["alice"], "dossier", "public"))
    assert found("alice", None)
    # on request: only the people she granted her free part
    w.do(w.visibility(w["carol"], "free", "on_request"))
    asked = w.do(w.request_access(w["bob"], w["carol"], "free")).statement.id
    w.do(w.grant_access(w["carol"], w["bob"], "free", request=asked))
    assert found("carol", "bob")
    assert not found("carol", "dave")
    assert readable_parts(state, "carol", "bob", today=TODAY) == (Part.FREE,)
    # someone who left, or was erased, is found by nobody
    for person in ("erin", "frank"):
        w.do(w.visibility(w[person], "free", "public"))
        assert found(person, "bob")
    w.do(w.leave(w["erin"], "other.example/ledger"))
    w.do(w.erase(w["frank"]))
    assert not found("erin", "bob")
    assert not found("frank", "bob")


# -- the query over the matching read model ---------------------------------------------------
class Searchers:
    """minbzk/dgo: alice (python, sql; every part public), bob (manager), carol (python;
    free part public, busy 30 h); minbzk/cio: dave (python; free part on request, granted
    to bob); minfin: erin (python; public), frank (sql as an ambition; public), gina
    (python; private)."""

    def __init__(self, env: LedgerEnv) -> None:
        self.env = env
        w = self.w = World(env.service, seed="people-search")
        w.do_all(standard_cast(w))
        w.do_all(
            [
                w.register("erin", organisation="minfin", department="minfin/begroting"),
                w.register("frank", organisation="minfin", department="minfin/begroting"),
                w.register("gina", organisation="minfin", department="minfin/begroting"),
            ]
        )
        for person, tags in {
            "alice": ["python", "sql"],
            "carol": ["python"],
            "dave": ["python"],
            "erin": ["python"],
            "gina": ["python"],
        }.items():
            w.do(w.claim(w[person], skills=tags))
        frank = w["frank"]
        w.do(
            commands.state_ambition(
                frank.signer, person="frank", goal="SQL", skills=["sql"], **w.opts()
            )
        )
        for part in ("dossier", "analytical", "ambitions"):
            w.do(w.visibility(w["alice"], part, Visibility.PUBLIC.value))
        for person in ("alice", "carol", "erin", "frank"):
            w.do(w.visibility(w[person], "free", Visibility.PUBLIC.value))
        w.do(w.visibility(w["dave"], "free", Visibility.ON_REQUEST.value))
        asked = w.do(w.request_access(w["bob"], w["dave"], "free")).statement.id
        w.do(w.grant_access(w["dave"], w["bob"], "free", request=asked))
        bob = w["bob"]
        busy = commands.post_assignment(
            bob.signer, assignment=w.post(bob).statement.subject, organisation="minbzk",
            department=DEPT, title="Busy", skills=["budgeting"], hours_per_week=30,
            ring="government", **w.opts(),
        )  # fmt: skip
        w.do(w.assign(bob, w.do(busy).statement.subject, w["carol"]))

    def search(self, searcher: str | None, *skills: str, **kw: object) -> list[PersonFound]:
        query = people_query(skills, **kw)  # type: ignore[arg-type]
        self.env.projector.catch_up()
        with self.env.service.reading() as state, self.env.engine.connect() as conn:
            return search_people(conn, state, query, searcher=searcher, today=TODAY)


@pytest.fixture
def people(database_url: str) -> Iterator[Searchers]:
    with ledger_env(database_url, batch_size=100) as env:
        yield Searchers(env)


def _rings(found: list[PersonFound]) -> list[tuple[str, str]]:
    return [(f.person, f.match.ring.value) for f in found]


def test_search_ring_by_ring_with_hours_opt_in_and_reasons(people: Searchers) -> None:
    found = people.search("bob", "python", "sql", ring="government")
    assert _rings(found) == [
        ("alice", "department"),  # both skills
        ("carol", "department"),  # python only
        ("dave", "organisation"),  # on request, granted to bob
        ("erin", "government"),
        ("frank", "government"),  # sql as an ambition
    ]  # gina never opted in; bob does not find himself
    alice = found[0].match
    assert alice.score == pytest.approx(0.75)
    assert alice.reasons[0].code == "ring_department"
    assert alice.reasons[-1].values == {"available": 36, "budget": 36, "needed": 0}
    # the nearer ring only
    assert _rings(people.search("bob", "python", ring="department")) == [
        ("alice", "department"),
        ("carol", "department"),
    ]
    # hours: carol has 6 of 36 h/week left
    assert "carol" not in [f.person for f in people.search("bob", "python", hours=8)]
    # the member carol finds neither dave (not granted to her) nor herself
    assert [f.person for f in people.search("carol", "python")] == ["alice", "erin"]
    # without a session: only people whose directory entry is public as well
    assert _rings(people.search(None, "python")) == [("alice", "government")]
    people.w.do(people.w.visibility(people.w["erin"], "dossier", "public"))
    assert _rings(people.search(None, "python")) == [
        ("alice", "government"),  # without a place, everyone is in another organisation
        ("erin", "government"),
    ]


def test_what_the_searcher_may_not_read_is_withheld(people: Searchers) -> None:
    """bob may read dave's free part only: dave keeps his place, ring and hours, and the
    evidence bob cannot read (a contribution in dave's dossier part) is not shown."""
    [dave] = [f for f in people.search("bob", "python") if f.person == "dave"]
    assert dave.portfolio == (Part.FREE,)
    assert dave.match.score is None
    assert dave.match.withheld == (Part.AMBITIONS, Part.ANALYTICAL, Part.DOSSIER)
    assert dave.match.skills == ()
    assert [r.code for r in dave.match.reasons] == ["ring_organisation", "hours", "withheld"]
    [alice] = [f for f in people.search("bob", "python") if f.person == "alice"]
    assert alice.portfolio == tuple(Part)  # she made every part public
    [carol] = [f for f in people.search("bob", "python") if f.person == "carol"]
    assert carol.portfolio == (Part.FREE,)  # dossier and analytical are on request
    assert carol.match.score is None
    assert carol.match.skills == ()  # her claim is in her dossier, which bob may not read


def test_reasons_are_worded_in_dutch_and_english(people: Searchers) -> None:
    [alice, *_] = people.search("bob", "data-analyse", "python", hours=8)
    reasons = alice.match.reasons
    assert [r.code for r in reasons] == ["ring_department", "skills", "missing", "hours"]
    nl = [reason_text(r, "nl") for r in reasons]
    en = [reason_text(r, "en") for r in reasons]
    assert en[0] == reasons[0].text  # English is the source, with skills by their label:
    assert en[1] == "skills: Python (1× evidence, no reputation yet)"
    assert reasons[1].text == "skills: python (1× evidence, no reputation yet)"
    assert nl[0] == f"ring: eigen afdeling ({DEPT})"
    assert nl[1] == "vaardigheden: Python (1× bewijs, nog geen reputatie)"
    assert nl[2] == "ontbreekt: data-analyse"
    assert nl[3] == "36 van 36 uur/week beschikbaar, 8 nodig"
    assert en[2] == "missing: data analysis"  # the English label


def test_the_cli_searches_as_the_api_does_and_refuses_bad_input(
    people: Searchers, database_url: str, tmp_path: Path
) -> None:
    cli = Cli(database_url, tmp_path)
    expected = [f.as_json() for f in people.search("bob", "python", "sql")]
    shown = cli.json("people", "search", "python", "SQL", who="bob")
    assert shown["skills"] == ["python", "sql"]
    assert shown["found"] == json.loads(json.dumps(expected))
    table = cli.ok("people", "search", "data-analyse", "python", "--hours", "8", who="bob")
    assert "ring: own department (minbzk/dgo)" in table.stdout
    assert "/portfolio/alice" in table.stdout
    anonymous = cli.json("people", "search", "python")
    assert [f["person"] for f in anonymous["found"]] == ["alice"]
    refused = cli("people", "search", "Geen Vaardigheid!")
    assert refused.exit_code == 1
    assert "unknown_skill" in refused.output
    no_place = cli("people", "search", "python", "--ring", "department")
    assert no_place.exit_code == 2
    assert "no_place" in no_place.output


def test_the_cli_says_when_the_read_models_are_not_built(database_url: str, tmp_path: Path) -> None:
    cli = Cli(database_url, tmp_path)
    organisation(cli)  # a fresh ledger: nothing built its read models
    for args in (("people", "search", "python"), ("reputation", "alice")):
        refused = cli(*args, who="bob")
        assert refused.exit_code == 5, refused.output
        assert "no_read_models" in refused.output


# -- beyond government: evidence from another ledger -----------------------------------------
@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    from tests.support.bundles import origin_bundle

    return Origin(*origin_bundle(tmp_path_factory.mktemp("origin")))


def test_beyond_government_finds_people_by_imported_evidence(
    origin: Origin, database_url: str
) -> None:
    """On ledger B alice has claimed nothing; her record from A (a policy-advice
    contribution rated three times) is imported. operator-b finds her for policy advice
    only when searching beyond government, and the reason names ledger A; once she claims
    it on B as well she is found in the department ring."""
    with receiving_at(database_url, origin) as b:
        alice = Signer(identity_for("alice-b"), RECEIVING)
        b.ledger.service.append(
            commands.change_visibility(alice, person="alice", part="free", visibility="public")
        )
        b.import_(origin)

        def search(ring: str) -> list[PersonFound]:
            b.projector.catch_up()
            b.projector.refresh(at=AT)
            query = people_query(["beleidsadvisering"], ring=ring)
            with b.ledger.service.reading() as state, b.projector.engine.connect() as conn:
                return search_people(conn, state, query, searcher="operator-b", today=TODAY)

        assert search("government") == []
        [found] = search("beyond")
        assert found.match.ring is SearchRing.BEYOND
        # her work and ratings are in parts on request by default: withheld from operator-b
        assert found.match.skills == ()
        assert Part.ANALYTICAL in found.match.withheld
        for part in ("dossier", "analytical"):
            b.ledger.service.append(
                commands.change_visibility(alice, person="alice", part=part, visibility="public")
            )
        [found] = search("beyond")
        [skill] = found.match.skills
        assert (skill.skill, skill.evidence) == ("policy-advice", 0)  # none on this ledger
        assert {i.origin for i in skill.imported_evidence} | set(skill.origins) == {ORIGIN}
        ring = found.match.reasons[0]
        assert (ring.code, ring.values["origins"]) == ("ring_beyond", [ORIGIN])
        assert (
            reason_text(ring, "nl")
            == f"ring: buiten de overheid (bewijs geïmporteerd uit {ORIGIN})"
        )
        assert ORIGIN in found.match.reasons[1].text  # the skills reason names it too
        b.ledger.service.append(
            commands.claim_contribution(
                alice, person="alice", title="Advies op B", skills=["policy-advice"],
                start="2026-04-01",
            )
        )  # fmt: skip
        assert _rings(search("beyond")) == [("alice", "department")]
