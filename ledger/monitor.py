"""A consistency monitor: remember a log's last checkpoint, accept only extensions of it.

A :class:`Monitor` keeps, per log origin, the last checkpoint it verified, in a
small JSON file (format ``trackrecord-monitor/v1``)::

    {"format": "trackrecord-monitor/v1",
     "logs": {"<origin>": {"checkpoint": "<signed note>", "verifier_key": "<name+hash+key>"}}}

Given a newer checkpoint of the same log it requires an RFC 9162 consistency
proof from the remembered tree to the new one (:func:`ledger.merkle.verify_consistency`)
and remembers the new checkpoint only if the proof holds. A checkpoint that is
smaller than the remembered one, of the same size with another root, or not
consistent with it is a rewritten history: :class:`HistoryRewritten` carries
both signed checkpoints and the proof as evidence, so the operator's own
signatures prove the fork to anyone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .canonical import b64encode
from .checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    parse_verifier_key,
    verify_checkpoint,
)
from .errors import ConsistencyError, MalformedInput
from .merkle import verify_consistency
from .statefile import write_atomically

__all__ = ["MONITOR_FORMAT", "HistoryRewritten", "Monitor", "Observation"]

MONITOR_FORMAT = "trackrecord-monitor/v1"


class HistoryRewritten(ConsistencyError):
    """A checkpoint that does not extend the one seen before: the log's history changed.

    The evidence holds ``origin``, both signed notes (``old_checkpoint``,
    ``new_checkpoint``), their sizes and roots, and the ``proof`` (base64 hashes).
    """

    code = "history_rewritten"


@dataclass(frozen=True)
class Observation:
    """The outcome of one accepted :meth:`Monitor.observe`.

    ``status`` is ``"first"`` (nothing remembered before), ``"unchanged"`` (same
    size and root) or ``"extended"`` (a larger tree, proven consistent).
    """

    origin: str
    size: int
    root: bytes
    previous_size: int | None
    status: str


class Monitor:
    """Remembers the last verified checkpoint of each log in the JSON file ``state_path``."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = Path(state_path)

    # -- the state file --------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, str]]:
        if not self.state_path.exists():
            return {}
        try:
            doc = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MalformedInput(
                f"cannot read monitor state {self.state_path}: {exc}", code="bad_monitor_state"
            ) from exc
        logs = doc.get("logs") if isinstance(doc, dict) else None
        if not isinstance(logs, dict) or doc.get("format") != MONITOR_FORMAT:
            raise MalformedInput(
                f"{self.state_path} is not a {MONITOR_FORMAT} file", code="bad_monitor_state"
            )
        return logs

    def _save(self, logs: dict[str, dict[str, str]]) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": MONITOR_FORMAT, "logs": logs}, indent=1, ensure_ascii=False)
        write_atomically(self.state_path, text + "\n", prefix=".monitor-")

    def last(self, origin: str) -> tuple[Checkpoint, str, NoteVerifier] | None:
        """The remembered checkpoint of ``origin``: ``(checkpoint, note, key)``, or None.

        Raises :class:`~ledger.errors.MalformedInput` (``bad_monitor_state``) if
        the state file is unreadable or its checkpoint no longer verifies.
        """
        seen = self._load().get(origin)
        if seen is None:
            return None
        try:
            key = parse_verifier_key(seen["verifier_key"])
            note = seen["checkpoint"]
            return verify_checkpoint(note, verifiers=[key], origin=origin), note, key
        except (KeyError, TypeError, MalformedInput, CheckpointError) as exc:
            raise MalformedInput(
                f"the remembered checkpoint of {origin} in {self.state_path} is damaged",
                code="bad_monitor_state",
            ) from exc

    # -- observing ---------------------------------------------------------------------------
    def observe(
        self, checkpoint_note: str, consistency_proof: Sequence[bytes], verifier: NoteVerifier
    ) -> Observation:
        """Check a new checkpoint against the remembered one and remember it if it extends it.

        ``consistency_proof`` goes from the remembered size to the new one (empty
        the first time or for the same size). Raises
        :class:`~ledger.checkpoint.CheckpointError` if the note is not validly
        signed by ``verifier``, and :class:`HistoryRewritten` if it does not
        extend the remembered checkpoint (nothing is remembered then).
        """
        new = verify_checkpoint(checkpoint_note, verifiers=[verifier])
        seen = self.last(new.origin)
        if seen is None:
            self._remember(new.origin, checkpoint_note, verifier)
            return Observation(new.origin, new.size, new.root_hash, None, "first")
        old, old_note, _ = seen
        evidence: dict[str, Any] = {
            "origin": new.origin,
            "old_size": old.size,
            "new_size": new.size,
            "old_root": old.root_hash.hex(),
            "new_root": new.root_hash.hex(),
            "old_checkpoint": old_note,
            "new_checkpoint": checkpoint_note,
            "proof": [b64encode(h) for h in consistency_proof],
        }
        if new.size < old.size:
            raise HistoryRewritten(
                f"{new.origin} shrank from {old.size} to {new.size} entries", **evidence
            )
        try:
            verify_consistency(
                size1=old.size,
                size2=new.size,
                root1=old.root_hash,
                root2=new.root_hash,
                proof=list(consistency_proof),
            )
        except ConsistencyError as exc:
            raise HistoryRewritten(
                f"{new.origin}'s checkpoint of size {new.size} does not extend the one of size "
                f"{old.size} seen before: {exc.message}",
                **evidence,
            ) from exc
        if new.size == old.size:
            return Observation(new.origin, new.size, new.root_hash, old.size, "unchanged")
        self._remember(new.origin, checkpoint_note, verifier)
        return Observation(new.origin, new.size, new.root_hash, old.size, "extended")

    def _remember(self, origin: str, note: str, verifier: NoteVerifier) -> None:
        logs = self._load()
        logs[origin] = {"checkpoint": note, "verifier_key": str(verifier)}
        self._save(logs)
