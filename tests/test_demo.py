"""The demo generator: every statement is accepted, runs repeat byte for byte, the data is
plausible, and the featured people can give a tour."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.audit import audit
from ledger.catalogue import CATALOGUE
from ledger.entry import Entry, next_entry
from ledger.rules import apply_entry
from ledger.service import LedgerService, StoredEntry
from ledger.skills import SKILLS, SKILLS_BY_SLUG
from ledger.state import LedgerState
from ledger.statement import SignedStatement
from ledger.store import open_store
from trackrecord.demo import MIN_PEOPLE, DemoPlan, DemoSummary, generate, populate

PEOPLE, SEED = 30, 11


@dataclass(frozen=True)
class Populated:
    service: LedgerService
    summary: DemoSummary
    entries: list[StoredEntry]
    progress: list[tuple[int, int]]


@pytest.fixture
def populated(database_url: str) -> Iterator[Populated]:
    """A fresh ledger (SQLite and PostgreSQL) holding the demo for 30 people."""
    store = open_store(database_url)
    try:
        service = LedgerService(store)
        calls: list[tuple[int, int]] = []
        summary = populate(
            service,
            people=PEOPLE,
            seed=SEED,
            progress=lambda done, total: calls.append((done, total)),
        )
        entries = [e for _, e in service.read_log(limit=100_000)]
        yield Populated(service, summary, entries, calls)
    finally:
        store.close()


def _statements(people: int, seed: int) -> list[SignedStatement]:
    return [s for batch in generate(people=people, seed=seed) for s in batch]


def _fold(statements: list[SignedStatement]) -> LedgerState:
    """Apply every statement to an in-memory state through the ledger's rules."""
    state = LedgerState()
    for signed in statements:
        s = signed.statement
        entry = next_entry(state.heads.get(s.stream), s, signed.signature, s.issued_at)
        apply_entry(state, entry, log_index=state.size)
    return state


def _person_of(service: LedgerService, entry: Entry) -> str:
    return service.state.keys[entry.statement.author].person


# -- a populated ledger, on every backend -------------------------------------------------


def test_populated_ledger_passes_the_audit(populated: Populated, database_url: str) -> None:
    store = open_store(database_url)
    try:
        report = audit(store)
    finally:
        store.close()
    assert report.ok, report.as_json()
    total = populated.progress[-1][1]
    assert report.entries == len(populated.entries) == total
    assert populated.progress[0] == (0, total)
    assert populated.progress[-1] == (total, total)
    done = [d for d, _ in populated.progress]
    assert done == sorted(done)


def test_summary_counts_match_the_ledger(populated: Populated) -> None:
    counts = populated.summary.counts
    by_type = Counter(e.entry.statement.type for e in populated.entries)
    assert {name: counts[name] for name in CATALOGUE} == {n: by_type[n] for n in CATALOGUE}
    state = populated.service.state
    assert counts["people"] == PEOPLE == len(state.people)
    # Erased people have no usable key any more: the summary leaves them out.
    assert len(populated.summary.identities) == PEOPLE - len(state.erased)
    assert len(state.erased) == 1
    assert counts["assignments"] == len(state.assignments) == by_type["AssignmentPosted"]
    assert counts["organisations"] == len({p.organisation for p in state.people.values()})
    assert counts["departments"] >= counts["organisations"]
    # about 20 statements a person, two of them review requests answered by endorsements
    assert 10 * PEOPLE <= len(populated.entries) <= 25 * PEOPLE


def test_identities_are_everyones_current_keys(populated: Populated) -> None:
    people = populated.service.state.people
    for person, identity in populated.summary.identities.items():
        assert people[person].current_key == identity.key_id


def test_featured_people_hold_their_roles(populated: Populated) -> None:
    state, f = populated.service.state, populated.summary.featured
    assert set(f) == {"operator", "admin", "manager", "employee", "peer", "client"}
    assert len(set(f.values())) == len(f), "30 people are enough for six distinct people"
    assert state.operator == f["operator"]
    people = {role: state.people[person] for role, person in f.items()}
    employee = people["employee"]
    assert ("admin", employee.organisation) in people["admin"].roles
    assert ("manager", employee.department) in people["manager"].roles
    assert people["peer"].department == employee.department
    assert people["client"].organisation != employee.organisation
    assert not any(role == "manager" for role, _ in employee.roles)


def test_the_employee_has_a_360_record(populated: Populated) -> None:
    f, service = populated.summary.featured, populated.service
    record = service.read_stream(f"record/{f['employee']}")
    endorsers = {
        (_person_of(service, e.entry), e.entry.statement.body["role"])
        for e in record
        if e.entry.statement.type == "EndorsementGiven"
    }
    assert {(f["manager"], "manager"), (f["peer"], "peer"), (f["client"], "client")} <= endorsers
    completed = [
        e.entry
        for e in populated.entries
        if e.entry.statement.type == "AssignmentCompleted"
        and e.entry.statement.body["assignee"] == f["employee"]
    ]
    assert completed
    assert _person_of(service, completed[0]) == f["client"]


def test_grades_are_mostly_3_and_4(populated: Populated) -> None:
    grades = Counter(
        e.entry.statement.body["grade"]
        for e in populated.entries
        if e.entry.statement.type == "EndorsementGiven"
    )
    assert set(grades) <= {1, 2, 3, 4, 5}
    assert grades.most_common(1)[0][0] in (3, 4)
    total = sum(grades.values())
    assert grades[3] + grades[4] > total / 2
    assert grades[5] > 0
    assert grades[1] + grades[2] < total / 4
    roles = Counter(
        e.entry.statement.body["role"]
        for e in populated.entries
        if e.entry.statement.type == "EndorsementGiven"
    )
    assert set(roles) == {"manager", "peer", "client"}


def test_records_travel_with_transferred_people(populated: Populated) -> None:
    endorsed_at: dict[str, int] = {}
    travelled = []
    for index, e in enumerate(populated.entries):
        s = e.entry.statement
        if s.type == "EndorsementGiven":
            endorsed_at.setdefault(s.subject, index)
        elif s.type == "EmployeeTransferred" and endorsed_at.get(s.subject, index) < index:
            travelled.append(s.subject)
    assert travelled
    state = populated.service.state
    for person in travelled:
        registered = populated.service.read_stream(f"identity/{person}")[0].entry.statement
        assert state.people[person].department != registered.body["department"]
        record = populated.service.read_stream(f"record/{person}")
        assert any(e.entry.statement.type == "EndorsementGiven" for e in record)


def test_a_stolen_key_is_revoked_and_replaced_by_an_admin(populated: Populated) -> None:
    service, entries = populated.service, populated.entries
    revoked = [i for i, e in enumerate(entries) if e.entry.statement.type == "KeyRevoked"]
    assert len(revoked) == 1
    revocation, rotation = entries[revoked[0]].entry, entries[revoked[0] + 1].entry
    victim = revocation.statement.subject
    assert revocation.statement.body["reason"] == "compromised"
    assert rotation.statement.type == "KeyRotated"
    assert rotation.statement.subject == victim
    admin = _person_of(service, rotation)
    assert admin != victim
    assert ("admin", service.state.people[victim].organisation) in service.state.people[admin].roles
    assert service.state.keys[revocation.statement.body["key_id"]].revoked


def test_personal_fields_are_disclosed_and_texts_are_plausible(populated: Populated) -> None:
    erased = populated.service.state.erased
    claims = [e for e in populated.entries if e.entry.statement.type == "ContributionClaimed"]
    # The erased person's content is gone (their data key was destroyed); everyone else's reads.
    assert all(not e.disclosures for e in claims if e.entry.statement.subject in erased)
    claims = [e for e in claims if e.entry.statement.subject not in erased]
    assert all(e.disclosed()["title"] for e in claims)
    assert Counter(e.entry.statement.body["kind"] for e in claims).keys() >= {
        "work",
        "project",
        "diploma",
        "course",
        "certificate",
    }
    assert any("evidence_sha256" in e.entry.statement.body for e in claims)
    assert any("evidence_sha256" not in e.entry.statement.body for e in claims)
    for e in claims:
        period = e.entry.statement.body["period"]
        issued = e.entry.statement.issued_at[:10]
        assert period["start"] <= period.get("end", period["start"]) <= issued
        assert set(e.entry.statement.body["skills"]) <= SKILLS_BY_SLUG.keys()
    names = [
        e.disclosed()["display_name"]
        for e in populated.entries
        if e.entry.statement.type == "IdentityRegistered"
        and e.entry.statement.subject not in erased
    ]
    assert len(names) == PEOPLE - len(erased)
    assert all(" " in name for name in names)


# -- generation only ------------------------------------------------------------------------


def test_the_same_seed_gives_byte_identical_statements() -> None:
    first, second = _statements(25, 3), _statements(25, 3)
    assert [(s.statement.canonical, s.signature, s.disclosures) for s in first] == [
        (s.statement.canonical, s.signature, s.disclosures) for s in second
    ]
    other = _statements(25, 4)
    assert [s.statement.canonical for s in other] != [s.statement.canonical for s in first]


@settings(max_examples=12, deadline=None)
@given(people=st.integers(MIN_PEOPLE, 45), seed=st.integers(0, 2**32))
def test_every_statement_keeps_the_rules(people: int, seed: int) -> None:
    statements = _statements(people, seed)
    state = _fold(statements)  # raises RuleViolation at the first statement refused
    assert len(state.people) == people
    assert state.size == len(statements) == DemoPlan(people=people, seed=seed).total


def test_timestamps_advance_in_working_hours() -> None:
    stamps = [s.statement.issued_at for s in _statements(40, 1)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    moments = [dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in stamps]
    assert moments[0].date() == dt.date(2025, 1, 6)
    assert moments[-1].date() < dt.date(2026, 3, 1)
    assert all(m.weekday() < 5 and 7 <= m.hour < 17 for m in moments)


def test_access_is_asked_answered_and_the_erased_are_left_alone() -> None:
    run = DemoPlan(people=300, seed=7).run()
    statements = [s for batch in run for s in batch]
    state = _fold(statements)  # the rules refuse anything by, on or about an erased person
    types = Counter(s.statement.type for s in statements)
    assert types["AccessGranted"] + types["AccessRefused"] == types["AccessRequested"]
    assert types["AccessGranted"] > types["AccessRefused"] > 0 < types["AccessRevoked"]
    grants = [s.statement.body for s in statements if s.statement.type == "AccessGranted"]
    assert all(g["request"] for g in grants)
    assert any("until" in g for g in grants)
    assert any("until" not in g for g in grants)
    assert len(state.erased) == 1
    [(erased, index)] = state.erased.items()
    assert index < len(statements) - 100, "the year goes on after the erasure"
    assert state.people[erased].current_key is None
    assert all(s.statement.body.get("viewer") != erased for s in statements[index + 1 :])
    assert erased not in run.summary().identities
    assert len(run.summary().identities) == 299


@pytest.mark.parametrize("people", [MIN_PEOPLE, 300, 3000])
def test_plans_scale_with_the_number_of_people(people: int) -> None:
    plan = DemoPlan(people=people, seed=7)
    assert 10 * people <= plan.total <= 25 * people
    assert plan.expected_counts["IdentityRegistered"] == people
    managers = plan.expected_counts["RoleGranted"] - len(plan.organisations)
    assert people / 12 <= managers <= people / 4 + 2
    if people >= 300:
        assert all(plan.expected_counts[name] > 0 for name in CATALOGUE)
        assert len(plan.organisations) >= 7
        assert len(plan.departments) > len(plan.organisations)


def test_the_taxonomy_is_small_and_well_formed() -> None:
    assert 35 <= len(SKILLS) <= 50
    assert len(SKILLS_BY_SLUG) == len(SKILLS)
    for skill in ("policy-advice", "data-analysis", "python", "procurement", "ux-research"):
        assert skill in SKILLS_BY_SLUG


def test_refuses_too_few_people_and_a_used_ledger(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="at least"):
        DemoPlan(people=MIN_PEOPLE - 1)
    store = open_store(sqlite_url)
    try:
        service = LedgerService(store)
        populate(service, people=MIN_PEOPLE, seed=1)
        with pytest.raises(ValueError, match="empty ledger"):
            populate(service, people=MIN_PEOPLE, seed=1)
    finally:
        store.close()


def test_a_run_is_iterated_once_and_summarised_at_the_end() -> None:
    run = DemoPlan(people=MIN_PEOPLE, seed=2).run(batch_size=7)
    with pytest.raises(RuntimeError):
        run.summary()
    batches = list(run)
    assert all(len(b) <= 7 for b in batches)
    assert all(len(b) == 7 for b in batches[:-1])
    with pytest.raises(RuntimeError):
        list(run)
    assert sum(len(b) for b in batches) == sum(
        n for name, n in run.summary().counts.items() if name in CATALOGUE
    )
