"""Small JSON state files written atomically and durably, under an exclusive lock.

Used by the witness's memory (:mod:`ledger.witness`), the signed-checkpoint memory
(:mod:`ledger.rollback`) and the monitor (:mod:`ledger.monitor`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["exclusive_lock", "write_atomically"]


def write_atomically(path: Path, text: str, *, prefix: str) -> None:
    """Replace ``path`` by ``text`` atomically: a fsynced temporary file renamed over it,
    then the directory fsynced, so the new content survives a crash once this returns."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold ``fcntl.flock`` on ``<path>.lock`` (threads and processes) while the block runs."""
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
