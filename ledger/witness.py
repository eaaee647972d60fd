"""A transparency-log witness, per c2sp.org/tlog-witness, cosigning per c2sp.org/tlog-cosignature.

The witness is configured with the logs it witnesses (origin and the log's
checkpoint verifier keys) and keeps, per origin, the latest checkpoint it
cosigned in a :class:`WitnessState` file. :meth:`Witness.add_checkpoint` takes
an ``add-checkpoint`` request body::

    old <size of the latest checkpoint the client believes the witness cosigned>\\n
    <base64 consistency proof hash>\\n     (zero to 63 lines)
    \\n
    <the signed checkpoint note>

and returns the witness's cosignature line. It checks, under the state file's
lock: the note is signed by a key of the log (else :class:`UntrustedCheckpoint`,
403; an unknown origin is :class:`UnknownLog`, 404), ``old`` is not above the
checkpoint's size (:class:`BadWitnessRequest`, 400) and equals the size the
witness last cosigned (:class:`OldSizeMismatch`, 409, carrying that size), and
the consistency proof from the remembered tree to the new one verifies
(:class:`InconsistentCheckpoint`, 422). The new state is written durably
(fsync, atomic rename) before the cosignature is made, so a witness never
cosigns two inconsistent checkpoints of one log, nor a smaller after a larger,
across restarts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys.identity import Identity

from .checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    open_note,
    parse_checkpoint_body,
)
from .cosignature import CosignerKey, cosign
from .errors import ConsistencyError, MalformedInput, ProofError
from .merkle import empty_root, verify_consistency
from .statefile import exclusive_lock, write_atomically

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_MEDIA_TYPE",
    "WITNESS_STATE_FORMAT",
    "AddCheckpoint",
    "BadWitnessRequest",
    "InconsistentCheckpoint",
    "OldSizeMismatch",
    "UnknownLog",
    "UntrustedCheckpoint",
    "Witness",
    "WitnessError",
    "WitnessRecord",
    "WitnessState",
    "add_checkpoint_request",
    "origin_hash",
    "parse_add_checkpoint",
]

MAX_PROOF_LINES = 63
"""Most consistency proof lines an ``add-checkpoint`` request may carry."""

SIZE_MEDIA_TYPE = "text/x.tlog.size"
"""Media type of the 409 answer: the witness's latest cosigned size and a newline."""

WITNESS_STATE_FORMAT = "trackrecord-witness/v1"


class WitnessError(ProofError):
    """Root of the witness's refusals; each maps to one HTTP status in :mod:`api.errors`."""

    code = "witness_error"


class BadWitnessRequest(WitnessError):
    """An ``add-checkpoint`` body that is not well formed, or ``old`` above the size (400)."""

    code = "bad_witness_request"


class UnknownLog(WitnessError):
    """A checkpoint of an origin this witness does not witness (404)."""

    code = "unknown_log"


class UntrustedCheckpoint(WitnessError):
    """A checkpoint with no valid signature by the log's keys, or a bad one (403)."""

    code = "untrusted_checkpoint"


class OldSizeMismatch(WitnessError):
    """``old`` is not the size the witness last cosigned (409); ``latest_size`` says which is."""

    code = "old_size_mismatch"

    @property
    def latest_size(self) -> int:
        size = self.details["latest_size"]
        assert isinstance(size, int)
        return size


class InconsistentCheckpoint(WitnessError):
    """A checkpoint not proven consistent with the one the witness last cosigned (422).

    The evidence carries the remembered and the submitted checkpoints and the proof.
    """

    code = "inconsistent_checkpoint"


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed ``add-checkpoint`` request: ``old`` size, ``proof`` hashes, signed ``note``."""

    old: int
    proof: tuple[bytes, ...]
    note: str


def add_checkpoint_request(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """Return the ``add-checkpoint`` request body for ``note`` with a proof from ``old``."""
    lines = [f"old {old}", *(base64.b64encode(h).decode("ascii") for h in proof)]
    return ("".join(line + "\n" for line in lines) + "\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an ``add-checkpoint`` body strictly; raise :class:`BadWitnessRequest`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadWitnessRequest("request body is not UTF-8") from exc
    header, blank, note = text.partition("\n\n")
    if not blank:
        raise BadWitnessRequest("request body has no empty line before the checkpoint")
    first, *proof_lines = header.split("\n")
    old_text = first.removeprefix("old ")
    if old_text == first or not (old_text == "0" or (old_text.isdigit() and old_text[0] != "0")):
        raise BadWitnessRequest("first line must be 'old <size>' in canonical decimal")
    if not old_text.isascii() or len(old_text) > 20 or int(old_text) > 2**64 - 1:
        raise BadWitnessRequest("old size does not fit in 64 bits")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise BadWitnessRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = tuple(_proof_hash(line, number) for number, line in enumerate(proof_lines, 2))
    return AddCheckpoint(int(old_text), proof, note)


def origin_hash(origin: str) -> str:
    """Return the lowercase hex SHA-256 of ``origin``: the witness's monitoring path segment."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class WitnessRecord:
    """What the witness remembers of one log: the latest cosigned ``size``, ``root``, ``note``.

    ``note`` is the checkpoint as submitted plus the witness's cosignature line.
    """

    size: int
    root: bytes
    note: str


class WitnessState:
    """The witness's memory, one JSON file (``trackrecord-witness/v1``) under an exclusive lock.

    :meth:`advance` reads, checks and writes the record of one origin while holding
    ``fcntl.flock`` on ``<path>.lock``, so two requests (threads or processes)
    never both advance from the same size; the file is replaced atomically and
    fsynced before :meth:`advance` returns.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get(self, origin: str) -> WitnessRecord | None:
        """The record of ``origin``, or None if the witness never cosigned it."""
        with self._locked():
            return self._load().get(origin)

    def advance(
        self, origin: str, step: Callable[[WitnessRecord | None], WitnessRecord]
    ) -> WitnessRecord:
        """Replace ``origin``'s record by ``step(current)`` atomically and durably.

        ``step`` raises to refuse; nothing is written then.
        """
        with self._locked():
            records = self._load()
            new = step(records.get(origin))
            records[origin] = new
            self._save(records)
        return new

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.path):
            yield

    def _load(self) -> dict[str, WitnessRecord]:
        if not self.path.exists():
            return {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if doc["format"] != WITNESS_STATE_FORMAT:
                raise ValueError(f"format is not {WITNESS_STATE_FORMAT}")
            return {
                origin: WitnessRecord(
                    int(rec["size"]), base64.b64decode(rec["root"], validate=True), rec["note"]
                )
                for origin, rec in doc["logs"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MalformedInput(
                f"cannot read witness state {self.path}: {exc}", code="bad_witness_state"
            ) from exc

    def _save(self, records: dict[str, WitnessRecord]) -> None:
        logs: dict[str, Any] = {
            origin: {
                "size": rec.size,
                "root": base64.b64encode(rec.root).decode("ascii"),
                "note": rec.note,
            }
            for origin, rec in records.items()
        }
        text = json.dumps({"format": WITNESS_STATE_FORMAT, "logs": logs}, indent=1)
        write_atomically(self.path, text + "\n", prefix=".witness-")


class Witness:
    """A witness named ``name`` cosigning with ``signer`` the checkpoints of ``logs``.

    ``logs`` maps each witnessed origin to the verifier keys of its checkpoints.
    """

    def __init__(
        self,
        *,
        name: str,
        signer: Identity,
        logs: dict[str, Sequence[NoteVerifier]],
        state: WitnessState,
    ) -> None:
        self.name = name
        self.signer = signer
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self.state = state
        self.key = CosignerKey.for_key(name, signer.public_key.raw)

    @classmethod
    def for_log_keys(
        cls, *, name: str, signer: Identity, log_keys: Iterable[NoteVerifier], state: WitnessState
    ) -> Witness:
        """A witness of the logs whose checkpoint keys are ``log_keys`` (origin = key name)."""
        logs: dict[str, list[NoteVerifier]] = {}
        for key in log_keys:
            logs.setdefault(key.name, []).append(key)
        return cls(name=name, signer=signer, logs=dict(logs), state=state)

    def add_checkpoint(self, body: bytes, *, now: int) -> str:
        """Answer an ``add-checkpoint`` request: return the cosignature line(s).

        ``now`` is the cosignature's timestamp (POSIX seconds). Raises the
        :class:`WitnessError` subclass that names the refusal; nothing is
        remembered or cosigned then.
        """
        request = parse_add_checkpoint(body)
        text, checkpoint = self._open(request.note)
        if request.old > checkpoint.size:
            raise BadWitnessRequest(
                f"old size {request.old} is above the checkpoint's size {checkpoint.size}"
            )
        line = cosign(text, name=self.name, signer=self.signer, timestamp=now)

        def step(current: WitnessRecord | None) -> WitnessRecord:
            _check_extends(current, request, checkpoint)
            return WitnessRecord(checkpoint.size, checkpoint.root_hash, request.note + line)

        self.state.advance(checkpoint.origin, step)
        return line

    def latest(self, hashed_origin: str) -> str | None:
        """The latest cosigned checkpoint of the log whose origin hashes to ``hashed_origin``."""
        for origin in self.logs:
            if origin_hash(origin) == hashed_origin:
                record = self.state.get(origin)
                return None if record is None else record.note
        return None

    def _open(self, note: str) -> tuple[str, Checkpoint]:
        origin = note.split("\n", 1)[0]
        keys = self.logs.get(origin)
        if keys is None:
            raise UnknownLog(f"this witness does not witness the log {origin!r}", origin=origin)
        try:
            text, _ = open_note(note, verifiers=keys)
        except CheckpointError as exc:
            raise UntrustedCheckpoint(
                f"checkpoint is not validly signed by {origin}: {exc.message}", origin=origin
            ) from exc
        try:
            return text, parse_checkpoint_body(text)
        except CheckpointError as exc:
            raise BadWitnessRequest(f"not a checkpoint: {exc.message}") from exc


def _check_extends(current: WitnessRecord | None, request: AddCheckpoint, new: Checkpoint) -> None:
    latest = 0 if current is None else current.size
    if request.old != latest:
        raise OldSizeMismatch(
            f"old size {request.old} is not {latest}, the size this witness last cosigned",
            latest_size=latest,
        )
    old_root = empty_root() if current is None else current.root
    evidence: dict[str, Any] = {
        "origin": new.origin,
        "old_size": latest,
        "new_size": new.size,
        "old_root": base64.b64encode(old_root).decode("ascii"),
        "new_root": base64.b64encode(new.root_hash).decode("ascii"),
        "proof": [base64.b64encode(h).decode("ascii") for h in request.proof],
        "new_checkpoint": request.note,
    }
    if current is not None:
        evidence["old_checkpoint"] = current.note
    try:
        verify_consistency(
            size1=latest,
            size2=new.size,
            root1=old_root,
            root2=new.root_hash,
            proof=list(request.proof),
        )
    except ConsistencyError as exc:
        raise InconsistentCheckpoint(
            f"checkpoint of size {new.size} is not proven consistent with the one of size "
            f"{latest} this witness cosigned: {exc.message}",
            **evidence,
        ) from exc


def _proof_hash(line: str, number: int) -> bytes:
    try:
        data = base64.b64decode(line.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise BadWitnessRequest(f"line {number} is not a base64 hash") from exc
    if len(data) != 32 or base64.b64encode(data).decode("ascii") != line:
        raise BadWitnessRequest(f"line {number} is not the canonical base64 of 32 bytes")
    return data
