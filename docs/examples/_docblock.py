"""What the docs/examples generators share: the marked block of a doc and the CLI around it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["replace_block", "run"]


def replace_block(text: str, block: str, begin: str, end: str) -> str:
    """``text`` with everything from ``begin`` to ``end`` (inclusive) replaced by ``block``."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise SystemExit(f"markers {begin} ... {end} not found")
    return text[:start] + block + text[stop + len(end) :]


def run(
    argv: list[str] | None,
    *,
    description: str,
    render: Callable[[], str],
    begin: str,
    end: str,
    what: str,
) -> int:
    """The generators' command line: print the block, ``--check DOC`` it, or ``--write DOC``.

    Returns the exit status: 1 when ``--check`` finds the doc differs from ``render()``.
    """
    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", type=Path, metavar="DOC", help="verify DOC holds the block")
    mode.add_argument("--write", type=Path, metavar="DOC", help="replace the block in DOC")
    args = parser.parse_args(argv)
    block = render()
    if args.check is not None:
        text = args.check.read_text(encoding="utf-8")
        if replace_block(text, block, begin, end) != text:
            print(f"{args.check}: {what}: differ from the code", file=sys.stderr)
            return 1
        print(f"{args.check}: {what}: same as the code")
    elif args.write is not None:
        text = args.write.read_text(encoding="utf-8")
        args.write.write_text(replace_block(text, block, begin, end), encoding="utf-8")
        print(f"{args.write}: {what}: written")
    else:
        print(block)
    return 0
