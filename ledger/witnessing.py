"""A ledger gathers witnesses' cosignatures on its checkpoints (a c2sp.org/tlog-witness client).

Each configured witness is a :class:`WitnessEndpoint`: its submission URL prefix
and its cosigner key, written ``VKEY@URL`` on the command line. For a freshly
signed checkpoint, :class:`Cosigners` sends each witness an ``add-checkpoint``
request with a consistency proof from the size the witness last cosigned:
first the previous checkpoint's size, and once more with the size a 409 answer
names. Cosignatures by the witness's key that verify are appended to the note;
a witness that is down or refuses is reported in :attr:`Cosigners.failures`
and skipped (the checkpoint is still issued, with fewer cosignatures).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .checkpoint import CheckpointError
from .cosignature import CosignerKey, add_cosignatures, parse_cosigner_key
from .errors import LedgerError, MalformedInput
from .witness import add_checkpoint_request

__all__ = ["Cosigners", "HttpPost", "WitnessEndpoint", "httpx_post", "parse_witness_endpoint"]

_LOG = logging.getLogger("ledger.witnessing")

HttpPost = Callable[[str, bytes], tuple[int, str]]
"""``post(url, body) -> (status, text)``: how a request reaches a witness."""


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness: its ``key`` (cosigner key) and submission ``url`` prefix."""

    key: CosignerKey
    url: str

    def __str__(self) -> str:
        return f"{self.key}@{self.url}"


def parse_witness_endpoint(text: str) -> WitnessEndpoint:
    """Parse ``VKEY@URL``; raise :class:`~ledger.errors.MalformedInput` (``bad_witness_key``)."""
    vkey, at, url = text.partition("@")
    if not at or not url.startswith(("http://", "https://")):
        raise MalformedInput(
            "a witness is given as VKEY@URL, e.g. w.example+1a2b3c4d+BA...=@https://w.example",
            code="bad_witness_key",
        )
    return WitnessEndpoint(parse_cosigner_key(vkey), url.rstrip("/"))


def httpx_post(timeout: float) -> HttpPost:
    """A :data:`HttpPost` over httpx; connection failures answer status 0."""
    import httpx

    def post(url: str, body: bytes) -> tuple[int, str]:
        try:
            answer = httpx.post(url, content=body, timeout=timeout)
        except httpx.HTTPError as exc:
            return 0, str(exc)
        return answer.status_code, answer.text

    return post


@dataclass
class Cosigners:
    """Gathers cosignatures from ``endpoints`` with ``post``, proofs from ``consistency_proof``.

    ``consistency_proof(old, new)`` returns the log's RFC 9162 proof between sizes.
    """

    endpoints: Sequence[WitnessEndpoint]
    consistency_proof: Callable[[int, int], list[bytes]]
    post: HttpPost
    failures: list[str] = field(default_factory=list)
    #: called with each witness's key name and whether it cosigned (the service's metrics)
    listeners: list[Callable[[str, bool], None]] = field(default_factory=list)

    def __call__(self, note: str, previous: int) -> str:
        """Return ``note`` with the cosignatures the witnesses gave; record the failures."""
        self.failures = []
        size = int(note.split("\n", 2)[1])
        for endpoint in self.endpoints:
            try:
                lines = self._request(endpoint, note, size, previous)
                note = add_cosignatures(note, lines, [endpoint.key])
            except (LedgerError, ValueError) as exc:
                said = exc.message if isinstance(exc, LedgerError) else str(exc)
                self.failures.append(f"{endpoint.key.name}: {said}")
                _LOG.warning("witness %s did not cosign: %s", endpoint.url, said)
                self._tell(endpoint.key.name, False)
            else:
                self._tell(endpoint.key.name, True)
        return note

    def _tell(self, witness: str, cosigned: bool) -> None:
        for listener in self.listeners:
            listener(witness, cosigned)

    def _request(self, endpoint: WitnessEndpoint, note: str, size: int, old: int) -> str:
        url = endpoint.url + "/add-checkpoint"
        for _ in range(2):
            if old > size:
                raise CheckpointError(f"the witness has cosigned size {old}, above {size}")
            proof = self.consistency_proof(old, size) if old else []
            status, text = self.post(url, add_checkpoint_request(old, proof, note))
            if status == 200:
                return text
            if status != 409:
                raise CheckpointError(f"add-checkpoint answered {status}: {text[:200]}")
            old = int(text.strip())
        raise CheckpointError("the witness's size kept changing")
