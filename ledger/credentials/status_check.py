"""Checking a credential's status against status list credentials (Bitstring Status List
v1.0 §3.2, the Validate Algorithm), offline: the caller hands over the lists.

:func:`status_list_urls` names the lists a credential (and every credential embedded
in it) points at; the caller reads them from files or fetches them, and
:func:`verify_status` returns None or raises :class:`CredentialError`, the first
fault winning:

=========================  ==========================================================
code                       when (the spec's error)
=========================  ==========================================================
``bad_format``             a ``credentialStatus`` this verifier cannot read: not a
                           ``BitstringStatusListEntry``, a purpose other than
                           ``revocation``, a ``statusSize`` other than 1, an index that
                           is not a base-10 string, a malformed ``encodedList``
                           (MALFORMED_VALUE_ERROR)
``status_retrieval``       no status list given for its URL (STATUS_RETRIEVAL_ERROR)
``status_verification``    the list is not a ``BitstringStatusListCredential`` with that
                           ``id``, its proof does not verify, it is not issued by the
                           credential's issuer, its purpose differs, or it is not valid
                           at the time of the check (STATUS_VERIFICATION_ERROR)
``status_list_length``     fewer than 131,072 entries (STATUS_LIST_LENGTH_ERROR)
``status_range``           the index is outside the bitstring (RANGE_ERROR)
``revoked``                the bit is set: :class:`CredentialRevoked`, with evidence
=========================  ==========================================================

The status list must be issued by the credential's own issuer: trackrecord's
operator key signs both (the spec allows another, but then the verifier needs a
rule for trusting it; this one has none).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .data_integrity import CredentialError
from .status import STATUS_LIST_BITS, STATUS_PURPOSE, decode_list, status_bit
from .vc import each_credential, issuer_id, verify_credential

__all__ = ["CLOCK_LEEWAY", "CredentialRevoked", "status_list_urls", "verify_status"]

#: how far the issuer's clock may be from the verifier's when a status list's validity
#: period is checked
CLOCK_LEEWAY = dt.timedelta(minutes=5)
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


class CredentialRevoked(CredentialError):
    """A credential whose status bit is set in its issuer's revocation list."""

    def __init__(self, *, credential: str, status_list: str, index: int, valid_from: str) -> None:
        super().__init__(
            "revoked",
            f"the credential {credential} is revoked: bit {index} of the status list "
            f"{status_list} (valid from {valid_from}) is set",
            credential=credential,
            status_list_credential=status_list,
            status_list_index=index,
            status_purpose=STATUS_PURPOSE,
            status_list_valid_from=valid_from,
        )


def _entries(document: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str, int]]:
    """Each status entry of one credential as (the credential, list URL, index)."""
    found = document.get("credentialStatus")
    if found is None:
        return
    entries = found if isinstance(found, list) else [found]
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("type") != "BitstringStatusListEntry":
            raise CredentialError(
                "bad_format", "a credentialStatus is not a BitstringStatusListEntry"
            )
        if entry.get("statusPurpose") != STATUS_PURPOSE:
            raise CredentialError(
                "bad_format",
                f"status purpose {entry.get('statusPurpose')!r} is not supported "
                f"(only {STATUS_PURPOSE!r})",
            )
        if entry.get("statusSize", 1) != 1:
            raise CredentialError("bad_format", "only 1-bit status entries are supported")
        index, url = entry.get("statusListIndex"), entry.get("statusListCredential")
        if not isinstance(index, str) or not _INDEX.match(index):
            raise CredentialError("bad_format", "statusListIndex is not a base-10 string")
        if not isinstance(url, str) or not url:
            raise CredentialError("bad_format", "statusListCredential is not a URL")
        yield document, url, int(index)


def status_list_urls(document: Mapping[str, Any]) -> list[str]:
    """The status list URLs a credential and its embedded credentials point at, in order,
    each once. Raises :class:`CredentialError` ``bad_format`` for an unreadable entry."""
    urls: dict[str, None] = {}
    for each in each_credential(document):
        for _, url, _ in _entries(each):
            urls[url] = None
    return list(urls)


def _when(value: Any, what: str, url: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise CredentialError(
            "status_verification",
            f"the status list's {what} is not a dateTime",
            status_list_credential=url,
        ) from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _checked_list(
    doc: Mapping[str, Any], *, url: str, issuer: str, at: dt.datetime, leeway: dt.timedelta
) -> tuple[bytes, str]:
    """The bitstring and ``validFrom`` of a status list that passes every check."""

    def refuse(message: str, **evidence: Any) -> CredentialError:
        return CredentialError(
            "status_verification", message, status_list_credential=url, **evidence
        )

    types = doc.get("type")
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
        raise refuse("the status list is not a BitstringStatusListCredential")
    if doc.get("id") != url:
        raise refuse("the status list's id is not its URL", id=doc.get("id"))
    try:
        verify_credential(doc, issuer=issuer)
    except CredentialError as exc:
        raise refuse(f"the status list does not verify: {exc.message}", cause=exc.code) from exc
    subject = doc.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise refuse("the status list's subject is not a BitstringStatusList")
    purposes = subject.get("statusPurpose")
    if STATUS_PURPOSE not in (purposes if isinstance(purposes, list) else [purposes]):
        raise refuse(f"the status list's purpose is not {STATUS_PURPOSE!r}")
    valid_from = str(doc.get("validFrom"))
    if _when(valid_from, "validFrom", url) > at + leeway or (
        "validUntil" in doc and _when(doc["validUntil"], "validUntil", url) < at - leeway
    ):
        raise refuse(
            "the status list is not valid at the time of the check",
            valid_from=valid_from,
            valid_until=doc.get("validUntil"),
            checked_at=at.isoformat(),
        )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise CredentialError("bad_format", "the status list has no encodedList")
    return decode_list(encoded), valid_from


def verify_status(
    document: Mapping[str, Any],
    *,
    status_lists: Mapping[str, Mapping[str, Any]],
    at: dt.datetime,
    leeway: dt.timedelta = CLOCK_LEEWAY,
) -> None:
    """Check the status of a credential and of every credential embedded in it.

    ``status_lists`` maps a ``statusListCredential`` URL to the status list credential
    read or fetched for it; ``at`` (timezone-aware) is when the check happens, at which
    each list must be valid, give or take ``leeway`` (the issuer's clock and the
    verifier's differ). Returns None when no bit is set; raises
    :class:`CredentialRevoked` for the first credential whose bit is, or
    :class:`CredentialError` (see the module's table). A credential without
    ``credentialStatus`` has no status to check.
    """
    for each in each_credential(document):
        for credential, url, index in _entries(each):
            issuer = issuer_id(credential)
            listed = status_lists.get(url)
            if listed is None:
                raise CredentialError(
                    "status_retrieval", f"no status list for {url}", status_list_credential=url
                )
            bits, valid_from = _checked_list(listed, url=url, issuer=issuer, at=at, leeway=leeway)
            if len(bits) * 8 < STATUS_LIST_BITS:
                raise CredentialError(
                    "status_list_length",
                    f"the status list has {len(bits) * 8} entries, fewer than {STATUS_LIST_BITS}",
                    status_list_credential=url,
                )
            if index >= len(bits) * 8:
                raise CredentialError(
                    "status_range",
                    f"statusListIndex {index} is outside the list's {len(bits) * 8} entries",
                    status_list_credential=url,
                )
            if status_bit(bits, index):
                raise CredentialRevoked(
                    credential=str(credential.get("id")),
                    status_list=url,
                    index=index,
                    valid_from=valid_from,
                )
