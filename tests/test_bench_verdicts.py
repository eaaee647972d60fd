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


def _ingest_row(rates: list[float], old: list[float], goal: float | None = 0.75) -> Any:
    from bench.ingest import Measurement

    return Measurement("Ingest, batches of 1000", "SQLite", rates, "1-core verify", goal,
                       20_000.0, old_samples=old)  # fmt: skip


def test_ingest_against_a_reference_revision_judges_both_codes_on_the_same_goal() -> None:
    from bench.ingest import table

    faster = _ingest_row([15_000.0, 16_000.0, 14_000.0], [10_000.0, 12_000.0, 11_000.0])
    alone = _ingest_row([9_000.0], [], goal=None)  # the reference did not measure this row
    header, body = table([faster, alone], "89d08cb^")
    assert header[8:] == ("reference (89d08cb^) /s", "Range /s", "Ratio", "Met", "Change")
    # this code: median 15,000 = 75 % of the verify rate, met; the old code's median
    # 11,000 against the same 20,000 is 55 %, not met; the change is 15,000 / 11,000 - 1
    assert body[0][2:] == ("15,000", "14,000–16,000", "1-core verify 20,000", "75%", "≥ 75%",
                           "yes", "11,000", "10,000–12,000", "55%", "no", "+36%")  # fmt: skip
    assert body[1][8:] == ("", "", "", "", "")
    # without a reference the table keeps its eight columns
    header, body = table([faster])
    assert len(header) == len(body[0]) == 8


def test_ingest_table_as_markdown_aligns_the_figures_right() -> None:
    from bench.ingest import markdown, table

    text = markdown(*table([_ingest_row([5_000.0], [10_000.0])], "main"))
    lines = text.splitlines()
    # numbers (rates, ranges, ratios, the change) right, words left
    assert lines[1].split(" | ") == ["| ---", "---", "--:", "--:", "---", "--:", "---", "---",
                                     "--:", "--:", "--:", "---", "--: |"]  # fmt: skip
    assert lines[2].endswith("| 5,000 | 5,000–5,000 | 1-core verify 20,000 | 25% | ≥ 75% | no | "
                             "10,000 | 10,000–10,000 | 50% | no | -50% |")  # fmt: skip


def test_a_reference_revision_git_does_not_know_is_named(tmp_path: Any) -> None:
    from bench.revision import checkout, resolve

    with pytest.raises(RuntimeError, match="the revision 'no-such-revision'"):
        resolve("no-such-revision")
    with pytest.raises(RuntimeError, match="git archive no-such-revision"):
        checkout("no-such-revision", tmp_path / "tree")
    assert not (tmp_path / "tree").exists()
    assert len(resolve("HEAD")) == 40


def test_the_ingest_worker_answers_a_request_it_cannot_run_with_an_error() -> None:
    import io
    import json

    from bench.ingest_worker import Workload, serve

    answers = io.StringIO()
    lines = ['{"op": "rebuild"}', '{"op": "audit", "url": "nosuch://x", "workers": 1}']
    requests = io.StringIO("".join(f"{line}\n" for line in lines))
    serve(Workload([], [], "none"), requests, answers)
    first, second = (json.loads(line) for line in answers.getvalue().splitlines())
    assert first == {"error": "ValueError: unknown request 'rebuild'"}
    assert set(second) == {"error"}  # an unknown database scheme: reported, not raised
