"""The npm test clients are installed as locked and load under this machine's node."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.node import NODE_DIR, node_binary, package_path

LOCKED = sorted(json.loads((NODE_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"])


@pytest.mark.parametrize("name", LOCKED)
def test_each_locked_client_loads(name: str) -> None:
    package_path(name)
    # import() works for both CommonJS and ES modules; print what the module exports.
    script = f"import({json.dumps(name)}).then(m => console.log(Object.keys(m).length))"
    run = subprocess.run(
        [node_binary(), "-e", script],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.strip()) > 0, f"{name} exports nothing"
