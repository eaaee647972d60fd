"""The third-party clients in ``tests/node`` (installed by ``scripts/test`` with ``npm ci``).

Tests that play an independent party (an OpenID Connect provider, an SD-JWT wallet, axe-core)
run these npm packages under Debian's ``node``. A missing install is a test failure that says how
to fix it, never a skip: CI must prove the real client ran.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["NODE_DIR", "NODE_MODULES", "node_binary", "package_path"]

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
NODE_MODULES = NODE_DIR / "node_modules"


def node_binary() -> str:
    """The ``node`` executable; fails with the remedy when it is missing."""
    found = shutil.which("node")
    if found is None:
        raise AssertionError("node is not installed: run `bash scripts/test` (installs nodejs)")
    return found


def package_path(name: str) -> Path:
    """Where npm package *name* is installed, checked against the lock file's version."""
    lock = json.loads((NODE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    wanted = lock["packages"][f"node_modules/{name}"]["version"]
    path = NODE_MODULES / name
    manifest = path / "package.json"
    if not manifest.is_file():
        raise AssertionError(
            f"npm package {name} is not installed: run `bash scripts/test` "
            "(or `npm ci --prefix tests/node`)"
        )
    installed = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    if installed != wanted:
        raise AssertionError(
            f"npm package {name} is {installed}, the lock file wants {wanted}: "
            "run `npm ci --prefix tests/node`"
        )
    return path
