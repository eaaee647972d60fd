"""Every rule of DESIGN.md §6, seen through the HTTP API: a 4xx problem document with the
rule's code, and nothing written.

The rule cases and malformed submissions are the ones ``tests/test_rules.py`` checks
against the ledger directly; here each goes through a real uvicorn server on SQLite and
on PostgreSQL. Every rule case gets a fresh ledger with the standard cast of
``tests/factories.py``; the malformed submissions share one ledger per backend.

Every case runs on SQLite; on PostgreSQL a case of each family of rules runs
(:data:`ON_POSTGRES`). The rules themselves are checked case by case on both backends
by ``tests/test_rules.py``; what the API adds (parsing, the error mapping) does not
depend on the backend, and a fresh PostgreSQL database costs about a second.

Bounded in CI: the first case (by name) of every rule code and the PostgreSQL cases
run unmarked, so every code is seen through HTTP with its status; the other cases of a
code (another way to break the same rule, which the API reports alike) are marked
``slow`` and run with ``scripts/test --full``. Each case costs a server and a ledger of
its own (about half a second even on an idle machine).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import CONFLICT_CODES
from tests.factories import World, standard_world
from tests.support.api_server import (
    UNLIMITED,
    Backend,
    HttpLedger,
    Live,
    Refused,
    live_server,
    make_cast,
)
from tests.support.rule_cases import BASES, CASES, MALFORMED

ON_POSTGRES = {
    "author_key_signed_by_other_key",
    "claim_on_someone_elses_record",
    "manager_endorsement_without_role",
    "replayed_statement",
    "assign_by_non_owner",
    "signed_by_revoked_key",
    "endorsement_grade_6",
    "genesis_not_a_registration",
}


def _cases(empty: bool) -> list[object]:
    params: list[object] = []
    seen: set[str] = set()  # the codes whose first case is already in the bounded run
    for name in sorted(n for n, c in CASES.items() if c.empty == empty and c.via_service):
        code = CASES[name].code
        bounded = code not in seen or name in ON_POSTGRES
        seen.add(code)
        marks = () if bounded else (pytest.mark.slow,)
        params.append(pytest.param("sqlite", name, id=f"sqlite-{name}", marks=marks))
        if name in ON_POSTGRES:
            params.append(
                pytest.param("postgres", name, id=f"postgres-{name}", marks=pytest.mark.postgres)
            )
    return params


@pytest.fixture
def fresh_live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """A server of its own on a fresh, empty ledger of the backend ``request.param``."""
    with Backend.fresh(request, tmp_path) as url, live_server(url, UNLIMITED) as server:
        yield server


def _expected_status(code: str) -> int:
    return 409 if code in CONFLICT_CODES else 422


@pytest.mark.parametrize(("fresh_live", "name"), _cases(empty=False), indirect=["fresh_live"])
def test_rule_is_a_problem_document_and_writes_nothing(fresh_live: Live, name: str) -> None:
    live = fresh_live
    rule = CASES[name]
    w = standard_world(HttpLedger(live), seed=name)
    bad = rule.offend(w)
    size = live.size()

    response = live.client.post("/statements", json=bad.as_json())
    doc = live.problem(response)
    assert doc["code"] == rule.code
    assert response.status_code == _expected_status(rule.code)
    assert doc["statement_id"] == bad.statement.id
    assert doc["log_index"] == size
    assert doc["instance"] == "/statements"
    assert live.size() == size

    # In the middle of a batch: the whole batch is refused.
    batch = [w.ambition(w.operator), bad, w.ambition(w.operator, goal="Retire")]
    response = live.client.post(
        "/statements/batch", json={"statements": [s.as_json() for s in batch]}
    )
    doc = live.problem(response)
    assert doc["code"] == rule.code
    assert "statement 1 of the batch" in doc["detail"]
    assert live.size() == size


@pytest.mark.parametrize(("fresh_live", "name"), _cases(empty=True), indirect=["fresh_live"])
def test_genesis_rule_is_a_problem_document(fresh_live: Live, name: str) -> None:
    empty_live = fresh_live
    rule = CASES[name]
    w = World(HttpLedger(empty_live), seed=name)
    bad = rule.offend(w)
    response = empty_live.client.post("/statements", json=bad.as_json())
    doc = empty_live.problem(response)
    assert doc["code"] == rule.code
    assert doc["log_index"] == 0
    assert empty_live.size() == 0


@pytest.mark.parametrize(
    ("base", "mutate", "code", "field"),
    [pytest.param(b, m, c, f, id=name) for name, b, m, c, f in MALFORMED],
)
def test_malformed_submission_is_a_problem_document(
    live: Live, base: str, mutate: object, code: str, field: str | None
) -> None:
    raw = copy.deepcopy(BASES[base])
    mutate(raw)  # type: ignore[operator]
    size = live.size()
    response = live.client.post("/statements", json=raw)
    doc = live.problem(response)
    # A submission whose top-level members have the wrong JSON type is refused by the
    # request schema (invalid_request) before the ledger's parser sees it.
    if doc["code"] == "invalid_request":
        assert response.status_code == 422
        assert field in ("statement", "signature", "disclosures", None)
    else:
        assert response.status_code == 422
        assert doc["code"] == code
        assert doc.get("field") == field
    assert live.size() == size


def test_refused_submission_raises_in_the_http_ledger(live: Live) -> None:
    w = make_cast(live, "refused")
    claim = w.do(w.claim(w["alice"]))
    with pytest.raises(Refused) as info:
        w.do(claim)  # the same statement again: a replay
    assert info.value.status == 409
    assert info.value.problem["code"] == "replayed_id"
