"""Online, consistent copies of an SQLite ledger with SQLite's backup API.

:func:`copy_sqlite` copies a database file while other connections keep writing:
``sqlite3.Connection.backup`` reads one snapshot (in WAL mode a reader never blocks
the writers), so the copy holds exactly the transactions committed before it began
(an append's entries, Merkle nodes and sealed disclosures are one transaction, so no
half of one). The copy is written to a temporary file beside the destination,
switched to the rollback journal (one self-contained file, no ``-wal``), checked
with ``PRAGMA quick_check`` and only then renamed into place.

The copy holds no key: the service key that opens the sealed personal content is a
file of its own (:mod:`ledger.vault`) and the operator's key lives in the keystore
directory; both are backed up apart from the data (docs/operations.md says why).
PostgreSQL ledgers are copied with PostgreSQL's own tools (``pg_dump``,
``pg_basebackup``; docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import MalformedInput, StoreError
from .sqlite import LedgerSQLiteRecorder as _Tables

__all__ = ["SqliteCopy", "copy_sqlite", "sqlite_path", "sqlite_url"]


def sqlite_path(url: str) -> Path | None:
    """The database file of an ``sqlite:///`` URL, or None for any other URL."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "sqlite" or parsed.netloc or not parsed.path:
        return None
    return Path(parsed.path)


def sqlite_url(path: Path) -> str:
    """The ``sqlite:///`` URL of the database file ``path``."""
    return "sqlite://" + path.resolve().as_posix()


@dataclass(frozen=True)
class SqliteCopy:
    """What a copy holds: its file, entries (log size) and latest checkpoint's size."""

    path: Path
    entries: int
    checkpoint_size: int | None


def copy_sqlite(source: Path, dest: Path, *, pages_per_step: int = -1) -> SqliteCopy:
    """Copy the SQLite database ``source`` to the new file ``dest``, online and consistent.

    ``pages_per_step`` -1 copies in one step (one snapshot however busy the writers
    are). Returns what the copy holds. Raises :class:`MalformedInput` if ``dest``
    exists or ``source`` is not a ledger's SQLite database, :class:`StoreError` if
    the copy fails; nothing is left at ``dest`` then.
    """
    if dest.exists():
        raise MalformedInput(f"{dest} exists already: choose a new file", code="exists")
    if not source.is_file():
        raise MalformedInput(f"{source} is not a file", code="not_found")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        copy = _backup(source, tmp, pages_per_step)
        # link, not rename: fails rather than overwrite a file made meanwhile
        os.link(tmp, dest)
        return SqliteCopy(dest, *copy)
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "file is encrypted" in str(exc):
            raise MalformedInput(
                f"{source} is not the database of a trackrecord ledger ({exc})",
                code="not_a_database",
            ) from exc
        raise StoreError(f"copying {source} to {dest} failed: {exc}") from exc
    except FileExistsError as exc:
        raise MalformedInput(f"{dest} exists already: choose a new file", code="exists") from exc
    except OSError as exc:
        raise StoreError(f"copying {source} to {dest} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(tmp_name + suffix).unlink(missing_ok=True)


def _backup(source: Path, dest: Path, pages_per_step: int) -> tuple[int, int | None]:
    src = sqlite3.connect(source, timeout=30)  # only read: a copy never changes its source
    try:
        with contextlib.closing(sqlite3.connect(dest)) as dst:
            src.backup(dst, pages=pages_per_step)
            dst.execute("PRAGMA journal_mode=DELETE")
            verdict = dst.execute("PRAGMA quick_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise sqlite3.DatabaseError(f"the copy fails SQLite's quick_check: {verdict}")
            dst.commit()
            facts = _facts(dst)
        with open(dest, "rb+") as f:
            os.fsync(f.fileno())
    finally:
        src.close()
    return facts


def _facts(db: sqlite3.Connection) -> tuple[int, int | None]:
    """Entries and latest checkpoint size of a ledger database (raises if it is none)."""
    try:
        (entries,) = db.execute(
            f"SELECT COUNT(*) FROM {_Tables.nodes_table} WHERE level=0"
        ).fetchone()
        (size,) = db.execute(f"SELECT MAX(size) FROM {_Tables.checkpoints_table}").fetchone()
    except sqlite3.OperationalError as exc:  # no such table
        raise sqlite3.DatabaseError(f"not a database of a trackrecord ledger: {exc}") from exc
    return int(entries), None if size is None else int(size)
