"""Credential status: W3C Bitstring Status List v1.0, computed from the ledger state.

Every credential trackrecord exports rests on one signed entry of the log (the
contribution's claim, the endorsement, the assignment's completion), and that
entry's **log index** is its status index: it is unique, never reused, and
already public in the credential's ``evidence`` (so it adds no correlation the
credential did not have; the spec's advice to assign indexes at random guards
against exactly that). With ``L`` = :data:`STATUS_LIST_BITS` (131,072, the
spec's minimum):

    list number n   = log index // L
    statusListIndex = log index %  L     (a base-10 string)
    statusListCredential = <public URL>/credentials/status/<n>

A bit is set (the credential is revoked) when a later statement took the entry
back (:func:`revoked_log_indexes`): the contribution was withdrawn, the
endorsement was revoked, or the contribution an endorsement is about was
withdrawn; or when the person whose content the entry holds was erased
(``PersonErased``, :func:`ledger.privacy.content_owner`): their claims, the
endorsements of their contributions and the completions of their assignments.
Erasure is for good, so it revokes rather than suspends (docs/privacy.md §3):
the ledger no longer stands behind what it can no longer show. An endorsement
an erased person *gave* someone else stays valid: it is the other person's
record. Nothing else takes back a completed assignment.

The bitstring of list ``n`` has exactly ``L`` bits; bit ``i`` is bit ``7 - i % 8``
of byte ``i // 8`` (index 0 is the left-most, most significant bit of the first
byte, §2.2); ``encodedList`` is ``"u"`` + base64url, without padding, of its GZIP
(RFC 1952) compression.

Reuse for the IETF Token Status List (draft-ietf-oauth-status-list, an SD-JWT
VC's ``status.status_list``): take the same index and the same bits —
:func:`StatusPosition.of` gives ``uri`` (a list number) and ``idx`` (the position),
:func:`list_positions` the set positions of one list — and only lay them out as
that draft says: ``bits`` 1, index ``i`` in bit ``i % 8`` counted from the
*least* significant bit of byte ``i // 8``, the byte array compressed with ZLIB
(RFC 1950, not GZIP) and base64url-encoded in a JWT/CWT signed by the operator.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..public_url import DEFAULT_PUBLIC_URL, checked_public_url
from ..state import LedgerState
from ..statement import Statement
from .data_integrity import CredentialError
from .vc import CredentialIssuer, credential

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "GZIP_HEADER",
    "MAX_BITSTRING_BYTES",
    "STATUS_LIST_BITS",
    "STATUS_LIST_PATH",
    "STATUS_LIST_TTL_MS",
    "STATUS_LIST_VALIDITY",
    "STATUS_PURPOSE",
    "StatusPosition",
    "bitstring",
    "checked_public_url",
    "decode_list",
    "encode_list",
    "list_positions",
    "revoked_log_indexes",
    "status_bit",
    "status_entry",
    "status_list_credential",
    "status_list_url",
    "xsd_datetime",
]

#: bits (entries) in one status list: the spec's minimum, 16 KiB uncompressed
STATUS_LIST_BITS = 131_072
#: the only purpose trackrecord issues: a set bit cancels the credential for good
STATUS_PURPOSE = "revocation"
#: where a trackrecord service serves status list ``{list}`` (under its public URL)
STATUS_LIST_PATH = "/credentials/status/{list}"
#: ``credentialSubject.ttl`` of a status list: refetch after five minutes
STATUS_LIST_TTL_MS = 300_000
#: how long a served status list stays valid (``validUntil - validFrom``)
STATUS_LIST_VALIDITY = dt.timedelta(days=1)
#: the largest uncompressed bitstring a verifier expands (a GZIP bomb is refused)
MAX_BITSTRING_BYTES = 16 * 1024 * 1024

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class StatusPosition:
    """Where an entry's status bit is: list number ``list``, position ``index`` in it."""

    list: int
    index: int

    @classmethod
    def of(cls, log_index: int) -> StatusPosition:
        """The position of the status of the credential resting on entry ``log_index``."""
        if log_index < 0:
            raise ValueError(f"a log index is not negative: {log_index}")
        return cls(*divmod(log_index, STATUS_LIST_BITS))

    @property
    def log_index(self) -> int:
        """The log index of the entry whose status this is."""
        return self.list * STATUS_LIST_BITS + self.index


def revoked_log_indexes(
    state: LedgerState, statements_of: Callable[[str], Iterable[Statement]]
) -> frozenset[int]:
    """The log indexes whose status bit is set: the claims of withdrawn contributions,
    the endorsements that were revoked or whose contribution was withdrawn, and every
    credential entry whose content owner was erased (their claims, the endorsements of
    their contributions, the completions of their assignments).

    Reads the state's tables (``contributions``, ``endorsements``, ``assignments``,
    ``erased``, ``statement_ids``), the same in memory and over the store; and, only for
    an assignment completed for an erased person, its stream through ``statements_of``
    (stream name -> its statements in order) to find the completion's statement.
    """
    erased = state.erased
    withdrawn = {c.id for c in state.contributions.values() if c.withdrawn}
    taken_back = set(withdrawn)
    taken_back.update(
        e.id
        for e in state.endorsements.values()
        if e.revoked or e.contribution in withdrawn or e.subject in erased
    )
    if erased:
        taken_back.update(c.id for c in state.contributions.values() if c.owner in erased)
        for a in state.assignments.values():
            if not a.completed.isdisjoint(erased.keys()):
                taken_back.update(
                    s.id
                    for s in statements_of(f"assignment/{a.id}")
                    if s.type == "AssignmentCompleted" and s.body["assignee"] in erased
                )
    return frozenset(state.statement_ids[statement_id] for statement_id in taken_back)


def list_positions(revoked: Iterable[int], list_number: int) -> list[int]:
    """The positions set in list ``list_number``, ascending, of the revoked log indexes."""
    return sorted(p.index for p in map(StatusPosition.of, revoked) if p.list == list_number)


def bitstring(positions: Iterable[int], *, bits: int = STATUS_LIST_BITS) -> bytes:
    """The bitstring of ``bits`` bits with ``positions`` set; index 0 is the most
    significant bit of byte 0 (Bitstring Status List §2.2). Raises ValueError for a
    position outside it."""
    out = bytearray(bits // 8)
    for i in positions:
        if not 0 <= i < bits:
            raise ValueError(f"position {i} is outside a list of {bits} bits")
        out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


def status_bit(bits: bytes, index: int) -> int:
    """The bit at ``index`` of a bitstring (0 or 1), index 0 being the left-most."""
    return (bits[index // 8] >> (7 - index % 8)) & 1


#: the GZIP member header trackrecord writes (RFC 1952 §2.3): magic, deflate, no flags,
#: no time, XFL 2 (best compression), OS 255 (unknown)
GZIP_HEADER = bytes.fromhex("1f8b08000000000002ff")


def encode_list(bits: bytes) -> str:
    """``encodedList``: ``"u"`` + base64url without padding of GZIP(``bits``).

    The member is put together here rather than by :func:`gzip.compress`, whose
    header names the platform (its OS byte): :data:`GZIP_HEADER`, the DEFLATE
    stream (level 9), then the CRC-32 and the length, little-endian. The same bits
    give the same string.
    """
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(bits) + deflater.flush()
    trailer = zlib.crc32(bits).to_bytes(4, "little") + (len(bits) % 2**32).to_bytes(4, "little")
    packed = GZIP_HEADER + body + trailer
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_list(encoded: str, *, limit: int = MAX_BITSTRING_BYTES) -> bytes:
    """The bitstring of an ``encodedList`` (the spec's Bitstring Expansion Algorithm).

    Refuses, with :class:`CredentialError` ``bad_format``, anything but a multibase
    ``u`` (base64url, no padding) string of exactly one GZIP member whose expansion
    is at most ``limit`` bytes.
    """
    if not encoded.startswith("u") or not _B64URL.match(encoded[1:]):
        raise CredentialError("bad_format", "encodedList is not multibase base64url ('u…')")
    text = encoded[1:]
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CredentialError("bad_format", "encodedList is not base64url") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
    try:
        bits = inflater.decompress(packed, limit + 1)
    except zlib.error as exc:
        raise CredentialError("bad_format", f"encodedList is not GZIP data: {exc}") from exc
    if len(bits) > limit:
        raise CredentialError("bad_format", f"encodedList expands to more than {limit} bytes")
    if not inflater.eof or inflater.unused_data:
        raise CredentialError("bad_format", "encodedList is not exactly one complete GZIP member")
    return bits


def xsd_datetime(when: dt.datetime) -> str:
    """``when`` as an XML Schema dateTime in UTC to the second: ``2026-11-23T12:00:00Z``."""
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_url(public_url: str, list_number: int) -> str:
    """The URL of status list ``list_number`` of the service at ``public_url``."""
    return public_url.rstrip("/") + STATUS_LIST_PATH.format(list=list_number)


def status_entry(public_url: str, log_index: int) -> dict[str, Any]:
    """The ``credentialStatus`` (a ``BitstringStatusListEntry``) of a credential resting
    on entry ``log_index``, whose status lists the service at ``public_url`` serves."""
    at = StatusPosition.of(log_index)
    url = status_list_url(public_url, at.list)
    return {
        "id": f"{url}#{at.index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(at.index),
        "statusListCredential": url,
    }


def status_list_credential(
    issuer: CredentialIssuer,
    *,
    public_url: str,
    list_number: int,
    revoked: Iterable[int],
    now: dt.datetime,
) -> dict[str, Any]:
    """The signed ``BitstringStatusListCredential`` of list ``list_number``: the bits of
    the ``revoked`` log indexes in it, valid from ``now`` for :data:`STATUS_LIST_VALIDITY`,
    secured by ``issuer`` with the proof its credentials carry (``eddsa-jcs-2022``)."""
    url = status_list_url(public_url, list_number)
    valid_from = xsd_datetime(now)
    doc = credential(  # the VC 2.0 context alone defines every status list term
        contexts=[],
        types=["BitstringStatusListCredential"],
        id=url,
        name=f"Revocation status list {list_number} of {issuer.name}",
        description=f"The revocation status of the credentials {issuer.name} issued about "
        f"log indexes {list_number * STATUS_LIST_BITS} to "
        f"{(list_number + 1) * STATUS_LIST_BITS - 1}: bit i is log index "
        f"{list_number * STATUS_LIST_BITS} + i.",
        issuer=issuer,
        valid_from=valid_from,
        subject={
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encode_list(bitstring(list_positions(revoked, list_number))),
            "ttl": STATUS_LIST_TTL_MS,
        },
        validUntil=xsd_datetime(now + STATUS_LIST_VALIDITY),
    )
    doc["issuer"] = issuer.did  # a URL: an OB 3.0 ``Profile`` is not a VC 2.0 term
    return issuer.secure(doc, created=valid_from)
