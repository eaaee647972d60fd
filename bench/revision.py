"""Another revision of trackrecord, to run beside this checkout as a benchmark's reference.

:func:`checkout` writes the tree of a revision (``git archive``) into a directory and
compiles its packages' bytecode; a benchmark then runs that code in a subprocess with
the directory as its ``PYTHONPATH`` (which comes before this checkout's editable
install), in this checkout's virtual environment. Used by ``bench.scale`` (the CLI and
the service of the old code) and ``bench.ingest`` (its ledger service and audit).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["PACKAGES", "ROOT", "checkout", "compile_packages", "describe", "resolve"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ledger", "keys", "projections", "api", "trackrecord")  # pyproject's packages


def compile_packages(root: Path) -> None:
    """Write the bytecode of the packages under ``root``, as installing the tool does.

    pip compiles an installed tool's modules; without this, a process that starts with
    ``PYTHONDONTWRITEBYTECODE`` set (it is, in this environment) compiles its sources on
    every start (0.4 s of CPU more per CLI append).
    """
    packages = [p for p in PACKAGES if (root / p).is_dir()]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages],
        cwd=root,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def resolve(rev: str) -> str:
    """The commit ``rev`` names now (a branch such as main moves while a run goes on).

    Raises :class:`RuntimeError` naming the revision if git does not know it.
    """
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git does not know the revision {rev!r}")
    return done.stdout.strip()


def checkout(rev: str, into: Path) -> Path:
    """Write revision ``rev`` of this repository into the new directory ``into``, compiled.

    Raises :class:`RuntimeError` naming the revision if git does not know it.
    """
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {rev}: {archive.stderr.decode(errors='replace').strip()}")
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    compile_packages(into)
    return into


def describe(rev: str) -> str:
    """``rev`` as its short commit id and commit time, for a caption."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h of %ci", rev],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else rev
