"""Long fuzz runs of every parser, with the strategies and checks of tests/support/hostile.py.

Each parser of ``FUZZERS`` gets ``count`` hypothesis-generated hostile inputs (random
JSON, bytes and text, deep nesting, hostile numbers, single mutations of genuine
documents); one more row adds 1,000- and 100,000-deep nested stored records. A case
passes when the parser accepts it (only genuine content may be accepted) or refuses it
with its typed error; a *crash* is any other exception, a *forgery* an accepted change.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.hostile import (
    FUZZERS,
    Crash,
    Forgery,
    Fuzz,
    check_record,
    hostile_records,
    inputs,
    outcome,
)

from .report import Tally, timed

__all__ = ["fuzzers", "run_fuzz"]

Say = Callable[[str], None]


def fuzzers() -> list[Fuzz]:
    """The parsers of the test suite, plus stored records nested 100,000 deep."""
    deep = Fuzz("record (deep nesting)", lambda: hostile_records(deep_nesting=True), check_record)
    return [*FUZZERS.values(), deep]


def run_fuzz(fuzz: Fuzz, count: int, *, say: Say) -> Tally:
    """Run ``count`` hostile inputs through one parser and count the outcomes."""
    tally = Tally("Fuzz: " + fuzz.name, "in process", "handled / cases")

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        value = data.draw(inputs(fuzz))
        try:
            tally.note(outcome(fuzz, value))
            tally.ok()
        except Forgery as exc:
            tally.fail("forgery", str(exc)[:160])
        except Crash as exc:
            tally.fail("crash", str(exc)[:160])

    with timed(tally):
        one()
    say(f"fuzz {fuzz.name}: {tally.tried:,} cases")
    return tally
