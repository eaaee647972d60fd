"""The operator's service while it issues a checkpoint: the heads tree in its own process
or in a child (issue 13).

    python -m bench.checkpoint_service --ledger CACHE/sqlite-1000000 [--backend sqlite|postgresql]
                                       [--modes process,child] [--port 18850] [--work DIR]

On a copy of a cached ledger of ``bench.scale`` (``--ledger``: its SQLite directory; with
``--backend postgresql`` the database ``ledger_SIZE`` of ``bench.scale``'s PostgreSQL,
cloned), for each ``--modes``: append one entry with the CLI (the log then grew past the
latest checkpoint), start ``trackrecord --as OPERATOR serve --checkpoint-in MODE`` (its
caches off, no reputation refresh in the window), which issues a checkpoint at once, and
sample the service's ``VmRSS`` and its children's every 0.1 s until 5 s after its
"signed checkpoint" log line.

One table: the service's RSS when ready, its peak over its life (``VmHWM``) and its RSS
after the issue; the issue's wall-clock time (as the checkpointer logged it); the tree
child's peak RSS and CPU time (as the service logged them, from ``os.wait4``); and the
service's own CPU time from its start to the end. Goal (issue 13): the service's peak
below 300 MB (the goal of (c)) while it issues at 10^6 entries.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.refresh_service import Run, _sample, copied_ledger, load_average
from bench.revision import ROOT
from bench.scale import (
    Code,
    Ledger,
    _process_cpu,
    _rss_kib,
    _stop,
    _wait_ready,
    caches_off,
    cli_append,
)

_AFTER = 5.0  # seconds sampled after the issue
_SIGNED = re.compile(r"signed checkpoint (\d+) in ([\d.]+) s")
_CHILD = re.compile(r"in child process \d+: [\d.]+ s \(([\d.]+) s CPU\), peak RSS (\d+) MiB")
_GOAL_MIB = 300e6 / 2**20  # 300 MB


def _say(message: str) -> None:
    print(f"checkpoint_service {time.strftime('%H:%M:%S')} {message}", file=sys.stderr)


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _messages(log: Path) -> list[str]:
    out = []
    for line in log.read_bytes().splitlines():
        try:
            out.append(str(json.loads(line).get("message", "")))
        except ValueError:
            out.append(line.decode("utf-8", "replace").strip())
    return out


def measure(code: Code, ledger: Ledger, mode: str, port: int, work: Path) -> dict[str, Any]:
    """One operator's service with ``--checkpoint-in mode`` through the issue it starts with."""
    cli_append(code, ledger, runs=1)
    log = work / f"serve-{mode}.log"
    serve = ("serve", "--port", str(port), "--checkpoint-in", mode, "--refresh-every", "86400")
    argv = code.argv("--as", ledger.operator, *serve, *caches_off(code))
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=code.env(ledger), cwd=code.pythonpath, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    run = Run(mode)
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(run, proc.pid, stop), daemon=True)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", [proc])
        ready = _rss_kib(proc.pid) / 1024
        sampler.start()
        deadline = time.monotonic() + 1800
        while not any(_SIGNED.search(m) for m in _messages(log)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{mode}: no checkpoint signed; the log: {_messages(log)[-20:]}")
            time.sleep(0.1)
        time.sleep(_AFTER)
        peak, after, cpu = (
            _hwm_kib(proc.pid) / 1024,
            _rss_kib(proc.pid) / 1024,
            _process_cpu(proc.pid),
        )
    finally:
        stop.set()
        _stop(proc)
    text = "\n".join(_messages(log))
    signed = _SIGNED.search(text)
    child = _CHILD.search(text)
    assert signed is not None
    _say(f"{mode}: {[m for m in _messages(log) if 'checkpoint' in m or 'child' in m]}")
    return {
        "mode": mode,
        "size": int(signed.group(1)),
        "ready": ready,
        "peak": peak,
        "after": after,
        "children": max((s[2] for s in run.samples), default=0) / 1024,
        "issue": float(signed.group(2)),
        "child": float(child.group(2)) if child else 0.0,
        "child_cpu": float(child.group(1)) if child else 0.0,
        "cpu": cpu,
    }


def render(rows: list[dict[str, Any]], caption: str) -> str:
    out = [
        caption,
        "",
        "| heads tree in | checkpoint | service RSS when ready | service peak (VmHWM) "
        f"| service 5 s after | issue (wall) | tree child's peak RSS, CPU | service CPU, "
        f"start to end | goal: peak < 300 MB ({_GOAL_MIB:.0f} MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "met" if r["peak"] < _GOAL_MIB else "not met"
        out.append(
            f"| {r['mode']} | {r['size']:,} | {r['ready']:.0f} MiB | {r['peak']:.0f} MiB "
            f"| {r['after']:.0f} MiB | {r['issue']:.1f} s | "
            + (f"{r['child']:.0f} MiB, {r['child_cpu']:.1f} s" if r["child"] else "-")
            + f" | {r['cpu']:.1f} s | {met} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ledger", type=Path, required=True, help="bench.scale's sqlite-SIZE")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--modes", default="process,child")
    parser.add_argument("--port", type=int, default=18850)
    parser.add_argument("--work", type=Path, default=None, help="scratch directory for the copy")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    code = Code("this", ROOT)
    load = load_average()
    with copied_ledger(args.ledger, args.backend, "checkpoint-service-", args.work) as (
        ledger,
        work,
    ):
        rows = [measure(code, ledger, m, args.port, work) for m in modes]
    end_load = load_average()
    caption = (
        f"`python -m bench.checkpoint_service --ledger {args.ledger} --backend {args.backend}` "
        f"({ledger.entries:,} entries; load average {' '.join(load)} at the start, "
        f"{' '.join(end_load)} at the end)"
    )
    print(render(rows, caption))
    return 0


if __name__ == "__main__":
    sys.exit(main())
