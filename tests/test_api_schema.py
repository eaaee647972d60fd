"""Schemathesis against the service's own OpenAPI document: zero server errors.

Every operation is fuzzed with inputs generated from its schema — valid ones, and
ones that violate it — against a real uvicorn server holding a small ledger, once
anonymously and once with a session. Bounded: :data:`EXAMPLES` examples per operation
and generation mode, no deadline per example (the run marked ``slow``, on demand:
:data:`EXAMPLES_FULL`). The checks: no response is a 5xx, every response has a
documented status, content type and headers, and its body matches the documented
schema.

(Schemathesis' own pytest plugin does not run on pytest 9 yet, so each operation's
Hypothesis strategy is driven directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api_server import (
    UNLIMITED,
    Live,
    issue_checkpoint,
    live_server,
    login,
    make_cast,
)

EXAMPLES = 15
EXAMPLES_FULL = 300
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, str]]:
    """A server on SQLite with a small ledger and a checkpoint, and a session token."""
    path = tmp_path_factory.mktemp("schema") / "ledger.db"
    with live_server(f"sqlite://{path.resolve().as_posix()}", UNLIMITED) as live:
        w = make_cast(live, "fuzz")
        claim = w.do(w.claim(w["alice"]))
        w.do(w.endorse(w["bob"], w["alice"], claim.statement.id, role="manager"))
        w.do(w.post(w["bob"]))
        issue_checkpoint(live)
        yield live, login(live, w["alice"].identity)


def _fuzz(live: Live, headers: dict[str, str], examples: int = EXAMPLES) -> list[str]:
    """Fuzz every operation with ``examples`` examples per generation mode; return the
    failures (operation and error)."""
    bounded = settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    api = schemathesis.openapi.from_url(live.url + "/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @bounded
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters
            except BaseException as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


def test_no_server_errors_anonymous(fuzzed: tuple[Live, str]) -> None:
    live, _ = fuzzed
    failures = _fuzz(live, {})
    assert not failures, "\n\n".join(failures)


def test_no_server_errors_with_a_session(fuzzed: tuple[Live, str]) -> None:
    live, token = fuzzed
    failures = _fuzz(live, {"Authorization": f"Bearer {token}"})
    assert not failures, "\n\n".join(failures)


def test_every_example_shown_in_docs_validates_against_its_model() -> None:
    """The examples of ``/docs`` (api/examples.py) are bodies the models accept."""
    import inspect

    from pydantic import BaseModel

    from api import models

    checked = 0
    for _, model in inspect.getmembers(models, inspect.isclass):
        if not issubclass(model, BaseModel) or model.__module__ != models.__name__:
            continue
        extra = model.model_config.get("json_schema_extra")
        for example in extra.get("examples", []) if isinstance(extra, dict) else []:
            model.model_validate(example)
            checked += 1
    assert checked >= 24


@pytest.mark.slow
def test_no_schema_mismatches_full_run(fuzzed: tuple[Live, str]) -> None:
    """The long run, on demand: :data:`EXAMPLES_FULL` examples per operation and mode."""
    live, token = fuzzed
    failures = _fuzz(live, {}, EXAMPLES_FULL)
    failures += _fuzz(live, {"Authorization": f"Bearer {token}"}, EXAMPLES_FULL)
    assert not failures, "\n\n".join(failures)
