"""Reputation under attack: rings, sybils, a reciprocal pair, an inflater, servility, spite.

Run ``.venv/bin/python -m bench.reputation_attacks [--quick] [--people N] [--seeds S ...]``
from the repository root. It generates a demo organisation (``trackrecord.demo``: every
person has a planted quality −1, 0 or +1, and honest grades follow it with noise), adds
one attack at a time, scores the organisation with the reputation read model's own
refresh function (:func:`projections.reputation.score_all`) and prints one table. The
scoring runs on the facts the projection would hold for those ledgers, not on signed
ledgers: signing and appending a 2,000-person year takes minutes, which ``--quick`` has
not got (:mod:`bench.reputation_sim`).

Per attack: the median rank percentile (among the honest people) of those the attack
means to lift — or, for the vindictive rater, to sink — without and with it; how many of
the honest top 10 it pushes out; and the quality of the ranking of the people it does
not touch against the planted truth (NDCG@10 with gains quality + 1, Kendall τ-b).
Attackers come from the people below the 40th percentile (those with a reason to
cheat); the sybil target too. Goals (issue 18): no ring of size ≤ 50 — all endorsing
each other, or one-way (each the next) — lifts its members' median above the honest
median (50); a sybil cluster of 20 moves its target by fewer than
5 percentiles; honest NDCG@10 ≥ 0.9 with and without attacks. The other attacks' own
goal: their aim moves by fewer than 10 percentiles.

``--quick``: 2,000 people, one seed (under a minute). Default: 2,000 and 5,000 people,
seeds 7, 11 and 13. Exits 1 if any goal is not met.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from projections.reputation import ReputationParams

from .reputation_sim import ATTACKS, Outcome, World, kendall_tau_b, ndcg_at, run_attack, world

RING_LIMIT = 50.0
SYBIL_MOVE = 5.0
OTHER_MOVE = 10.0
NDCG_GOAL = 0.9


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _attack_goal(name: str, o: Outcome) -> tuple[str, bool]:
    moved = o.after - o.before
    if "ring" in name:
        return f"median ≤ {RING_LIMIT:.0f}", o.after <= RING_LIMIT
    if name.startswith("sybil"):
        return f"|move| < {SYBIL_MOVE:.0f}", abs(moved) < SYBIL_MOVE
    return f"|move| < {OTHER_MOVE:.0f}", abs(moved) < OTHER_MOVE


def _baseline(w: World) -> tuple[float, float]:
    clean = list(w.honest)
    relevance = {p: w.facts.quality[p] + 1 for p in clean}
    ndcg = ndcg_at(10, w.baseline.top(10, clean), relevance)
    scores = [w.baseline.scores.get(p, 3.0) for p in clean]
    return ndcg, kendall_tau_b(scores, [relevance[p] for p in clean])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 people, seed 7")
    parser.add_argument("--people", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    args = parser.parse_args()
    sizes, seeds = ([2000], [7]) if args.quick else (args.people, args.seeds)
    params = ReputationParams()
    started = time.perf_counter()
    table = Table(
        title="reputation under attack (scored by projections.reputation.score_all on the "
        "projection's facts; attackers from below the 40th percentile)",
        title_justify="left",
    )
    for column in (
        "org",
        "attack",
        "aim median pct (without → with)",
        "honest top-10 displaced",
        "NDCG@10",
        "Kendall τ",
        "goal",
        "verdict",
    ):
        table.add_column(column)
    all_met = True
    for people in sizes:
        for seed in seeds:
            w = world(people, seed, params)
            org = f"{len(w.honest):,} people, seed {seed}"
            ndcg, tau = _baseline(w)
            ok = ndcg >= NDCG_GOAL
            all_met &= ok
            table.add_row(
                org, "none", "", "", f"{ndcg:.3f}", f"{tau:.3f}",
                f"NDCG ≥ {NDCG_GOAL}", _verdict(ok),
            )  # fmt: skip
            for name, make in ATTACKS:
                o = run_attack(w, make(w), params)
                goal, met = _attack_goal(name, o)
                met_ndcg = o.ndcg >= NDCG_GOAL
                all_met &= met and met_ndcg
                table.add_row(
                    org,
                    f"{name} ({len(o.attack.attackers)} attacking)",
                    f"{o.before:.1f} → {o.after:.1f}",
                    str(o.displaced),
                    f"{o.ndcg:.3f}",
                    f"{o.tau:.3f}",
                    f"{goal}; NDCG ≥ {NDCG_GOAL}",
                    f"{_verdict(met)}; {_verdict(met_ndcg)}",
                )
    Console(width=200).print(table)
    print(f"all goals {'met' if all_met else 'NOT all met'}; {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
