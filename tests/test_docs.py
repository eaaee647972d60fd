"""The byte-level docs are generated from the code and checked against it: they cannot rot."""

from __future__ import annotations

import ast
import re
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


@pytest.mark.parametrize("doc", ["threat-model.md", "privacy.md"])
def test_every_test_a_doc_cites_exists(doc: str) -> None:
    """The threat model points each attack at tests: each one cited must exist."""
    text = (ROOT / "docs" / doc).read_text()
    cited = set(re.findall(r"tests/(test_\w+\.py)::(\w+)", text))
    missing = []
    for module, name in sorted(cited):
        path = ROOT / "tests" / module
        tree = (
            ast.parse(path.read_text()) if path.exists() else ast.Module(body=[], type_ignores=[])
        )
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if name not in names:
            missing.append(f"{module}::{name}")
    assert missing == []
