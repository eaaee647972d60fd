"""The ``trackrecord`` command-line tool: a thin adapter over the ledger service.

Entry point: :func:`main` (``[project.scripts] trackrecord``). Exit codes are
documented in :mod:`trackrecord.cli.errors`; settings in :mod:`trackrecord.settings`.
"""

from __future__ import annotations

from ledger.app import tune_gc

from .app import create_app
from .errors import ExitCode

__all__ = ["ExitCode", "create_app", "main"]


def main() -> None:
    """Run ``trackrecord`` with the process's arguments and exit with its status."""
    tune_gc()
    create_app()()
