"""The README's tour, run verbatim against a fresh demo ledger: the docs cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def tour_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## A 5-minute tour per role") : text.index("## Layout")]
    return re.findall(r"```bash\n(.*?)```", tour, flags=re.S)


def test_the_tour_has_a_block_per_role() -> None:
    assert len(tour_blocks()) == 5  # set-up, employee, manager, auditor, admin


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRECORD_")} | {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "TRACKRECORD_KDF": "fast",
        "COLUMNS": "80",  # a normal terminal's width
    }
    demo = subprocess.run(
        [bindir / "trackrecord", "demo", "--dir", "demo", "--people", "30"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    script = "set -euo pipefail\n" + "\n".join(tour_blocks())
    run = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "self_endorsement" in run.stderr
    assert (tmp_path / "record.json").stat().st_size > 1000
    assert "extended" in run.stdout or "extends" in run.stdout
    assert run.stdout.count("✓ audit passed") == 2  # the auditor's and the admin's
    # at 80 columns no table cuts a value short ("hr-6995…" could not be typed)
    assert re.search(r"\w…", run.stdout) is None, run.stdout
    assert "granted" in run.stdout  # access list: the manager's request, answered
    assert "active" in run.stdout.split()  # ... and the grant it made
    rows = re.findall(r"^ +\d+ +[A-Z][A-Za-z]+ .*$", run.stdout, re.MULTILINE)  # show
    assert len(rows) > 10
    for row in rows:  # each ends in the whole 12-digit prefix of its entry hash
        assert re.search(r" [0-9a-f]{12} *$", row), row
