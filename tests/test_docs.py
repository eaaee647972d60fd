"""The byte-level docs are generated from the code and checked against it: they cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["make_entry_example.py", "make_catalogue_table.py"])
def test_entry_doc_matches_the_code(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples" / script), "--check", "docs/entry.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
