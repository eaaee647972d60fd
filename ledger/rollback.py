"""The last checkpoint the operator signed, remembered outside the ledger's database.

A database restored from an old backup, or rolled back by hand, takes the log back
behind checkpoints the operator already signed and published. Appending on top of
it would fork the log: a monitor or witness that saw the old checkpoint then holds
the operator's own signatures on two histories. So whoever signs a checkpoint also
writes it to a small state file in the keystore directory, next to the operator's
key (:class:`CheckpointMemory`), and the service refuses a store that is behind
it (:func:`verify_store_not_behind`, called on start, before each append and by
the readiness check). The file lives outside the database on purpose: a restore
of the database does not restore it.

The file (format ``trackrecord-signed-checkpoints/v1``) holds one entry per ledger,
keyed by the leaf hash of the ledger's first entry (its genesis: the operator's
registration, unique by its statement id and time), so that ledgers that share a
keystore directory or an origin never stand for each other::

    {"format": "trackrecord-signed-checkpoints/v1",
     "ledgers": {"<hex leaf hash of entry 0>":
                   {"checkpoint": "<signed note>", "verifier_key": "<name+hash+key>",
                    "rollbacks": [{"accepted_at": ..., "checkpoint": ..., "restored_size": n}]}}}

A remembered checkpoint only grows. ``trackrecord restore --accept-rollback`` is
the one way back (:meth:`CheckpointMemory.accept_rollback`); it keeps the
checkpoint it gives up in ``rollbacks``, as the operator's record of what was lost.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checkpoint import Checkpoint, CheckpointError, NoteVerifier, parse_verifier_key
from .checkpoint import verify_checkpoint as _verify_note
from .errors import IntegrityViolation, MalformedInput, StoreError
from .merkle import root
from .statefile import exclusive_lock, write_atomically
from .statement import utc_timestamp
from .store import Store

__all__ = [
    "MEMORY_FILE",
    "MEMORY_FORMAT",
    "CheckpointMemory",
    "RememberedCheckpoint",
    "RestoreCheck",
    "RolledBack",
    "check_restore",
    "ledger_key",
    "verify_store_not_behind",
]

MEMORY_FORMAT = "trackrecord-signed-checkpoints/v1"
MEMORY_FILE = "signed-checkpoints.json"

GetNode = Callable[[int, int], bytes]


class RolledBack(StoreError):
    """The store is behind what was already seen or signed: a restored backup or a
    rolled-back database. Nothing is appended on top of it.

    Evidence: ``store_size`` and either ``signed_size``, ``signed_root`` and
    ``state_file`` (behind the last signed checkpoint) or ``seen_position`` and
    ``store_position`` (the store lost entries this process had already read).
    """

    code = "rolled_back"

    def __init__(self, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.details = {k: v for k, v in evidence.items() if v is not None}

    def evidence(self) -> dict[str, Any]:
        ev = super().evidence()
        ev.update(self.details)
        return ev


@dataclass(frozen=True)
class RememberedCheckpoint:
    """The last checkpoint signed for one ledger, as read back from the state file."""

    checkpoint: Checkpoint
    note: str
    verifier: NoteVerifier
    state_file: Path

    @property
    def size(self) -> int:
        return self.checkpoint.size


def ledger_key(first_leaf: bytes) -> str:
    """The key of a ledger in the state file: the leaf hash of its first entry, in hex."""
    return first_leaf.hex()


class CheckpointMemory:
    """The state file ``<keys dir>/signed-checkpoints.json`` (see the module docstring).

    Writes are atomic (a temporary file renamed over the old one) and serialised
    between processes by an ``flock`` on ``<file>.lock``, so two workers that sign
    at once never lose the larger checkpoint.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_keys_dir(cls, keys_dir: Path) -> CheckpointMemory:
        """The memory kept next to the operator's keystore in ``keys_dir``."""
        return cls(Path(keys_dir) / MEMORY_FILE)

    def stamp(self) -> tuple[int, int, int] | None:
        """What changes whenever the file is rewritten (inode, size, mtime), or None."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    # -- reading -----------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"cannot read the signed-checkpoint state {self.path}: {exc}") from exc
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise StoreError(f"{self.path} is not a {MEMORY_FORMAT} file: {exc}") from exc
        ledgers = doc.get("ledgers") if isinstance(doc, dict) else None
        if not isinstance(ledgers, dict) or doc.get("format") != MEMORY_FORMAT:
            raise StoreError(f"{self.path} is not a {MEMORY_FORMAT} file")
        return ledgers

    def recall(self, key: str) -> RememberedCheckpoint | None:
        """The last checkpoint remembered for the ledger ``key``, or None.

        Raises :class:`StoreError` if the file is unreadable or the remembered note no
        longer verifies under the key stored beside it (a damaged state file).
        """
        seen = self._load().get(key)
        if seen is None:
            return None
        try:
            verifier = parse_verifier_key(seen["verifier_key"])
            note = str(seen["checkpoint"])
            checkpoint = _verify_note(note, verifiers=[verifier])
        except (KeyError, TypeError, MalformedInput, CheckpointError) as exc:
            raise StoreError(
                f"the remembered checkpoint of ledger {key[:16]} in {self.path} is damaged: {exc}"
            ) from exc
        return RememberedCheckpoint(checkpoint, note, verifier, self.path)

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with exclusive_lock(self.path):
            yield self._load()

    def _save(self, ledgers: dict[str, dict[str, Any]]) -> None:
        text = json.dumps({"format": MEMORY_FORMAT, "ledgers": ledgers}, indent=1)
        write_atomically(self.path, text + "\n", prefix=".signed-checkpoints-")

    def _unwritable(self, exc: OSError) -> StoreError:
        return StoreError(f"cannot write the signed-checkpoint state {self.path}: {exc}")

    def remember(self, key: str, note: str, verifier: NoteVerifier) -> None:
        """Remember ``note`` (signed by ``verifier``) for the ledger ``key`` unless a
        larger checkpoint is remembered already. Raises :class:`StoreError` if the file
        cannot be written."""
        checkpoint = _verify_note(note, verifiers=[verifier])
        try:
            with self._locked() as ledgers:
                seen = ledgers.get(key, {})
                old = seen.get("checkpoint")
                if isinstance(old, str) and _size_of(old) >= checkpoint.size:
                    return
                ledgers[key] = {**seen, "checkpoint": note, "verifier_key": str(verifier)}
                self._save(ledgers)
        except OSError as exc:
            raise self._unwritable(exc) from exc

    def accept_rollback(
        self, key: str, *, restored_size: int, replacement: tuple[str, NoteVerifier] | None
    ) -> RememberedCheckpoint | None:
        """Give up the remembered checkpoint of ``key`` for a restored store of
        ``restored_size`` entries: remember ``replacement`` (the restored store's own
        latest checkpoint) instead, or nothing. The checkpoint given up is kept under
        ``rollbacks``. Returns it (None if nothing was remembered)."""
        given_up = self.recall(key)
        try:
            with self._locked() as ledgers:
                seen = dict(ledgers.get(key, {}))
                rollbacks = list(seen.get("rollbacks", []))
                if given_up is not None:
                    rollbacks.append(
                        {
                            "accepted_at": utc_timestamp(),
                            "checkpoint": given_up.note,
                            "verifier_key": str(given_up.verifier),
                            "restored_size": restored_size,
                        }
                    )
                entry: dict[str, Any] = {"rollbacks": rollbacks}
                if replacement is not None:
                    entry.update(checkpoint=replacement[0], verifier_key=str(replacement[1]))
                ledgers[key] = entry
                self._save(ledgers)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        return given_up


def _size_of(note: str) -> int:
    try:
        return int(note.split("\n", 2)[1])
    except (IndexError, ValueError):
        return -1


def verify_store_not_behind(
    signed: RememberedCheckpoint, *, store_size: int, get_node: GetNode
) -> None:
    """Return None if the store of ``store_size`` entries holds the signed checkpoint's
    tree (same root at its size); raise :class:`RolledBack` otherwise."""
    evidence: dict[str, Any] = {
        "store_size": store_size,
        "signed_size": signed.size,
        "signed_root": signed.checkpoint.root_hash.hex(),
        "state_file": str(signed.state_file),
    }
    if store_size < signed.size:
        raise RolledBack(
            f"the store holds {store_size} entries, but the operator already signed a checkpoint "
            f"of {signed.size}: it was restored from an older backup or rolled back. Nothing is "
            "appended on top of it; restore a newer backup, or accept the loss with "
            "'trackrecord restore --accept-rollback' (docs/operations.md)",
            **evidence,
        )
    try:
        actual = root(signed.size, get_node)
    except IntegrityViolation as exc:
        raise RolledBack(
            f"the store lacks the tree of the checkpoint of {signed.size} the operator signed: "
            f"{exc.message}",
            **evidence,
        ) from exc
    if actual != signed.checkpoint.root_hash:
        raise RolledBack(
            f"the store's first {signed.size} entries are not those of the checkpoint the "
            "operator signed (another root): its history differs from what was published",
            actual_root=actual.hex(),
            **evidence,
        )


@dataclass(frozen=True)
class RestoreCheck:
    """A store about to be served again (a restored backup) against the memory.

    ``behind`` is the :class:`RolledBack` error if the store is behind the remembered
    checkpoint (None if it holds it, or nothing is remembered); ``latest`` the store's
    own latest checkpoint ``(size, note)``.
    """

    store_size: int
    key: str | None
    remembered: RememberedCheckpoint | None
    latest: tuple[int, str] | None
    behind: RolledBack | None

    @property
    def lost(self) -> int:
        """How many signed entries the store lacks (0 unless behind)."""
        if self.behind is None or self.remembered is None:
            return 0
        return max(0, self.remembered.size - self.store_size)


def check_restore(store: Store, memory: CheckpointMemory) -> RestoreCheck:
    """Compare ``store`` (read from its tables alone) with what ``memory`` remembers."""
    size = store.count_nodes(0)
    latest = store.get_checkpoint()
    if size == 0:
        return RestoreCheck(0, None, None, latest, None)
    key = ledger_key(store.get_node(0, 0))
    remembered = memory.recall(key)
    behind = None
    if remembered is not None:
        try:
            verify_store_not_behind(remembered, store_size=size, get_node=store.get_node)
        except RolledBack as exc:
            behind = exc
    return RestoreCheck(size, key, remembered, latest, behind)
