"""The benchmarks' verdicts: a failed request fails a row, a goal stated at a size is
judged only at that size, a profile of code that does not exist or does not run stops.

The benchmarks themselves are run by hand (bench/README.md); these check the parts that
decide what their tables claim, on fixed inputs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import bench.ingest
from bench.http import judge_read, parse_wrk
from bench.ingest import ProfileError, _timed
from bench.projections import GOAL_MATCHING_PEOPLE, _at_size
from bench.transparency import GOAL_SIZE, _time_rows

WRK_OUTPUT = """Running 4s test @ http://127.0.0.1:43137
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.21ms   20.05ms 177.52ms   90.50%
    Req/Sec   359.12     40.11   460.00     70.00%
  Latency Distribution
     50%    8.94ms
     75%   15.21ms
     90%   30.10ms
     99%   97.78ms
  2864 requests in 4.00s, 5.12MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:    715.12
Transfer/sec:      1.28MB
"""


def test_wrk_output_is_read_with_every_failed_request() -> None:
    got = parse_wrk(WRK_OUTPUT)
    assert got["rps"] == pytest.approx(715.12)
    assert (got["p50"], got["p99"]) == (pytest.approx(8.94), pytest.approx(97.78))
    assert got["errors"] == 6
    assert got["detail"] == "3 non-2xx, 1 read, 2 timeout"
    clean = WRK_OUTPUT.replace("  Socket errors: connect 0, read 1, write 0, timeout 2\n", "")
    clean = clean.replace("  Non-2xx or 3xx responses: 3\n", "")
    assert parse_wrk(clean)["errors"] == 0


def _run(rps: float = 2000.0, p99: float = 10.0, errors: int = 0) -> dict[str, Any]:
    return {"rps": rps, "p50": 1.0, "p99": p99, "errors": errors, "detail": ""}


def test_a_read_row_fails_on_any_failed_request() -> None:
    # Fast enough, uncached: met; one failed request, or one refused write: failed.
    assert judge_read(_run(), 2000, 4, 80, [])[0] is True
    met, note = judge_read(_run(errors=1), 2000, 4, 80, [])
    assert met is False
    assert "1 requests failed" in note
    met, note = judge_read(_run(), 2000, 4, 80, ["409 replayed_id"])
    assert met is False
    assert "409 replayed_id" in note
    assert judge_read(_run(p99=60.0), 2000, 4, 80, [])[0] is False


def test_a_read_row_that_may_have_hit_the_cache_is_not_judged() -> None:
    # 200 paths at 2,000 req/s come back every 0.1 s; 20 writes/s is one write per 0.05 s.
    assert judge_read(_run(), 200, 4, 80, [])[0] is True
    met, note = judge_read(_run(), 200, 4, 20, [])  # one write per 0.2 s: cached reads
    assert met is None
    assert note.startswith("not measured")
    assert judge_read(_run(), 200, 4, 0, [])[0] is None


def test_goals_stated_at_a_size_are_judged_only_there() -> None:
    assert _at_size(False, GOAL_MATCHING_PEOPLE, GOAL_MATCHING_PEOPLE) == (False, False)
    assert _at_size(True, 600, GOAL_MATCHING_PEOPLE) == (None, True)
    small = _time_rows("Inclusion", GOAL_SIZE // 10, [5.0] * 3, [2.0] * 3, [20])
    assert [(r.met, r.not_measured) for r in small] == [(None, True), (None, True)]
    full = _time_rows("Inclusion", GOAL_SIZE, [5.0] * 3, [2000.0] * 3, [20])
    assert [(r.met, r.not_measured) for r in full] == [(True, False), (False, False)]


def _probe() -> SimpleNamespace:
    """A module-like owner of one function, ``step``."""
    return SimpleNamespace(step=lambda: 1)


def test_a_profile_of_a_missing_name_fails_loudly() -> None:
    with (
        pytest.raises(ProfileError, match="make_entry"),
        _timed(((bench.ingest, "make_entry", "canonicalise"),), {}),
    ):
        pass


def test_a_profile_of_a_step_that_never_runs_fails_loudly() -> None:
    with (
        pytest.raises(ProfileError, match="never called: probe"),
        _timed(((_probe(), "step", "probe"),), {}),
    ):
        pass


def test_a_profiled_step_is_timed_and_restored() -> None:
    owner = _probe()
    original = owner.step
    totals: dict[str, float] = {}
    with _timed(((owner, "step", "probe"),), totals):
        assert owner.step is not original
        assert owner.step() == 1
    assert totals["probe"] > 0
    assert owner.step is original


def test_scale_growth_over_two_times_and_failed_requests_are_not_met() -> None:
    from bench.scale import Row, judge

    rows = [
        Row("(a) CLI append, start to exit", 10_000, "sqlite", 0.5, "s"),
        Row("(a) CLI append, start to exit", 1_000_000, "sqlite", 1.2, "s"),
        Row("(d) uncached record read under load p99", 10_000, "sqlite", 10.0, "ms"),
        Row("(d) uncached record read under load p99", 100_000, "sqlite", 12.0, "ms",
            note="3 of 900 not 2xx (3 non-2xx)"),
        Row("(d) uncached record read under load, requests/s", 10_000, "sqlite", 100.0, "/s"),
        Row("(d) uncached record read under load, requests/s", 100_000, "sqlite", 40.0, "/s"),
    ]  # fmt: skip
    judge(rows, [10_000, 1_000_000])
    assert rows[5].met == "0.40x of 10,000: not met"  # a rate may fall to half, not lower
    assert rows[5].goal == "≥ 0.5x from 10^4 to 10^6"
    assert rows[1].met == "2.40x of 10,000: not met; not met"  # growth, and over 1 s at 10^6
    assert rows[0].met == "10^6 not measured"  # the absolute goal is judged at 10^6 only
    assert rows[3].met.startswith("1.20x of 10,000: met; not met: 3 of 900 not 2xx")


def test_scale_extrapolation_names_the_goal_that_breaks_at_ten_million() -> None:
    from bench.scale import Row, extrapolate

    rows = [
        Row("(c) service RSS after start", 10_000, "postgresql", 100.0, "MiB"),
        Row("(c) service RSS after start", 100_000, "postgresql", 110.0, "MiB"),
        Row("(a) CLI append, start to exit", 10_000, "postgresql", 0.5, "s"),
        Row("(a) CLI append, start to exit", 100_000, "postgresql", 0.5, "s"),
    ]
    rss, append = extrapolate(rows)
    # 10 MiB more per 90,000 entries: about 1,210 MiB at 10^7, past 300 MiB and 2x
    assert rss.startswith("(c) service RSS after start, postgresql: 1.21e+03 MiB")
    assert "breaks (over its 10^6 goal (< 300 MiB at 10^6); 12.1x of 10,000)" in rss
    assert append == "(a) CLI append, start to exit, postgresql: 0.5 s (+0 s per 10^6 entries)"
