"""Watching a ledger over HTTP alone: its checkpoints, its consistency proofs, its witnesses.

:func:`watch` reads ``GET <ledger>/checkpoints/latest``, proves it extends the
checkpoint remembered by the :class:`~ledger.monitor.Monitor` with
``GET <ledger>/proofs/consistency`` and then compares it with the checkpoint
each witness cosigned (``GET <monitoring prefix>/<origin hash>/checkpoint``,
c2sp.org/tlog-witness): the smaller of the two must be proven, by the ledger,
to be a prefix of the larger. A checkpoint the ledger cannot prove consistent
with one a witness cosigned is a split view: :class:`SplitView` carries both
signed checkpoints. No database is opened.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .checkpoint import Checkpoint, NoteVerifier, verify_checkpoint
from .cosignature import verify_cosignatures
from .errors import ConsistencyError, NotFound, ProofError
from .merkle import verify_consistency
from .monitor import Monitor, Observation
from .witness import origin_hash
from .witnessing import WitnessEndpoint

__all__ = ["HttpGet", "SplitView", "Watched", "watch"]

HttpGet = Callable[[str], tuple[int, str]]
"""``get(url) -> (status, text)``; status 0 when the server cannot be reached."""


class SplitView(ConsistencyError):
    """The ledger's checkpoint and one a witness cosigned are not consistent.

    The evidence holds ``origin``, ``witness``, both signed notes
    (``ledger_checkpoint``, ``witness_checkpoint``) and the ledger's answer.
    """

    code = "split_view"


@dataclass(frozen=True)
class Watched:
    """What one :func:`watch` established: the ledger's ``observation`` and the
    ``witnesses`` (names) whose cosigned checkpoints agree with it."""

    observation: Observation
    witnesses: list[str]


def watch(
    ledger_url: str,
    *,
    monitor: Monitor,
    verifier: NoteVerifier,
    witnesses: Sequence[WitnessEndpoint],
    get: HttpGet,
) -> Watched:
    """Check the ledger at ``ledger_url`` against memory and witnesses; see the module text.

    Raises :class:`~ledger.monitor.HistoryRewritten` or :class:`SplitView` with
    evidence, :class:`~ledger.checkpoint.CheckpointError` for a badly signed note,
    and :class:`~ledger.errors.NotFound` if the ledger or a witness does not answer.
    """
    base = ledger_url.rstrip("/")
    note = _get(get, f"{base}/checkpoints/latest")
    latest = verify_checkpoint(note, verifiers=[verifier])
    seen = monitor.last(latest.origin)
    proof: list[bytes] = []
    if seen is not None and seen[0].size <= latest.size:
        proof = _proof(get, base, seen[0].size, latest.size)
    observation = monitor.observe(note, proof, verifier)
    agreed = []
    for endpoint in witnesses:
        url = f"{endpoint.url.rstrip('/')}/{origin_hash(latest.origin)}/checkpoint"
        witnessed_note = _get(get, url)
        witnessed = verify_checkpoint(witnessed_note, verifiers=[verifier], origin=latest.origin)
        verify_cosignatures(witnessed_note, witnesses=[endpoint.key], quorum=1)
        _compare(get, base, (latest, note), (witnessed, witnessed_note), endpoint.key.name)
        agreed.append(endpoint.key.name)
    return Watched(observation, agreed)


def _compare(
    get: HttpGet,
    base: str,
    ledger: tuple[Checkpoint, str],
    witnessed: tuple[Checkpoint, str],
    witness: str,
) -> None:
    (ours, our_note), (theirs, their_note) = ledger, witnessed
    small, large = sorted((ours, theirs), key=lambda c: c.size)
    evidence: dict[str, Any] = {
        "origin": ours.origin,
        "witness": witness,
        "ledger_checkpoint": our_note,
        "witness_checkpoint": their_note,
    }
    try:
        proof = [] if small.size == large.size else _proof(get, base, small.size, large.size)
        evidence["proof"] = [base64.b64encode(h).decode("ascii") for h in proof]
        verify_consistency(
            size1=small.size,
            size2=large.size,
            root1=small.root_hash,
            root2=large.root_hash,
            proof=proof,
        )
    except (ConsistencyError, NotFound) as exc:
        raise SplitView(
            f"split view of {ours.origin}: the ledger's checkpoint of size {ours.size} and the "
            f"one of size {theirs.size} cosigned by {witness} are not consistent: {exc.message}",
            **evidence,
        ) from exc


def _get(get: HttpGet, url: str) -> str:
    status, text = get(url)
    if status != 200:
        raise NotFound(f"GET {url} answered {status or 'nothing'}")
    return text


def _proof(get: HttpGet, base: str, first: int, second: int) -> list[bytes]:
    text = _get(get, f"{base}/proofs/consistency?first={first}&second={second}")
    try:
        hashes = json.loads(text)["hashes"]
        return [base64.b64decode(h, validate=True) for h in hashes]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProofError(f"the ledger's consistency proof is malformed: {exc}") from exc
