"""One row per measurement, and the table that prints them."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tally", "render", "timed"]

_EXAMPLES = 5  # failures kept per row as evidence


@dataclass
class Tally:
    """Counts of one suite on one backend, filled in while it runs.

    ``tried`` cases were run; ``passed`` behaved as required (a tampering detected, an
    acknowledged entry found, a hostile input refused with a typed error or accepted
    only when genuine); ``located`` of the detected tamperings named the touched entry;
    ``failed`` are the rest, by kind (``undetected``, ``crash``, ``forgery``, ``lost``,
    ``fork``, ``server_error``...), with the first few described in ``examples``.
    """

    suite: str
    backend: str
    unit: str
    tried: int = 0
    passed: int = 0
    located: int | None = None
    failed: dict[str, int] = field(default_factory=dict)
    info: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    shown: tuple[str, ...] = ()  # failure kinds always shown, zero included

    def ok(self, *, located: bool | None = None) -> None:
        self.tried += 1
        self.passed += 1
        if located is not None:
            self.located = (self.located or 0) + int(located)

    def fail(self, kind: str, description: str, *, count: int = 1) -> None:
        """Count ``count`` failures of ``kind`` among the tried cases."""
        self.tried += count
        self.failed[kind] = self.failed.get(kind, 0) + count
        if len(self.examples) < _EXAMPLES:
            self.examples.append(f"{kind}: {description}")

    def problem(self, kind: str, description: str, *, count: int = 1) -> None:
        """Count a failure that is not one of the tried cases (a fork, an audit failure)."""
        self.failed[kind] = self.failed.get(kind, 0) + count
        if len(self.examples) < _EXAMPLES:
            self.examples.append(f"{kind}: {description}")

    def note(self, name: str, count: int = 1) -> None:
        """Count something worth showing that is neither a pass nor a failure."""
        self.info[name] = self.info.get(name, 0) + count

    @property
    def met(self) -> bool:
        return self.tried > 0 and not self.failed

    def as_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "backend": self.backend,
            "unit": self.unit,
            "tried": self.tried,
            "passed": self.passed,
            "located": self.located,
            "failed": self.failed,
            "info": self.info,
            "examples": self.examples,
            "seconds": round(self.seconds, 2),
            "met": self.met,
        }


@contextmanager
def timed(tally: Tally) -> Iterator[Tally]:
    """Add the wall time of the block to ``tally.seconds``."""
    began = time.perf_counter()
    try:
        yield tally
    finally:
        tally.seconds += time.perf_counter() - began


def _result(t: Tally) -> str:
    text = f"{t.passed:,} / {t.tried:,}"
    if t.tried:
        text += f" ({t.passed / t.tried:.1%})"
    return text


def _details(t: Tally) -> str:
    parts = [f"{kind} {t.failed.get(kind, 0):,}" for kind in t.shown]
    parts += [f"{kind} {n:,}" for kind, n in sorted(t.failed.items()) if kind not in t.shown]
    if t.located is not None:
        parts.append(f"named the entry {t.located:,}")
    parts += [f"{name} {n:,}" for name, n in t.info.items()]
    return "; ".join(parts)


def render(rows: Sequence[Tally], caption: str) -> None:
    """Print the table (rich if it is installed, plain text otherwise), then the failures."""
    header = ("Suite", "Backend", "Measure", "Result", "Details", "Time", "Met")
    body = [
        (t.suite, t.backend, t.unit, _result(t), _details(t), f"{t.seconds:,.1f} s",
         "yes" if t.met else "NO")
        for t in rows
    ]  # fmt: skip
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
        for r in (header, *body):
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        print(caption)
    else:
        table = Table(title="trackrecord reliability and security", caption=caption)
        for name in header:
            table.add_column(name, justify="right" if name in ("Result", "Time") else "left")
        for r in body:
            table.add_row(*r)
        Console(width=max(160, Console().width)).print(table)
    for t in rows:
        for example in t.examples:
            print(f"  {t.suite} [{t.backend}] {example}")
