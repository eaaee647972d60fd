"""Binding a record from another ledger to a person here: the link and its check on import.

A bundle from ledger A is attached to a person of this ledger only when one holder is
shown to control both identities (docs/bundle.md §10): an ``IdentityLinked`` statement
on the person's identity stream here, signed by their current key here, whose body
carries a **countersignature** over the *link claim*

    JCS({"ledger": <this ledger's origin>, "origin": <A's origin>,
         "person": <the person>, "public_key": <their last key on A, base64>})

made with ``Purpose.LINK`` (``"trackrecord:v1:link" || 0x00 || claim``) by either

* that key itself — the key current at the end of the person's identity stream in
  the bundle — so the holder of both keys signed; or
* the current key of an admin of the person's organisation here, when the key on A
  is lost; such a link is shown as countersigned by that admin wherever it appears.

Person ids name the same holder on both ledgers: the link is for the person of the
same id on A.

A bundle whose person left A naming a destination ledger (``EmployeeLeft``, the last
word of their identity stream there) is received only where it was sent
(:func:`require_destination`): here, or a ledger this person's record has already
arrived from here (the record travelled on, A -> B -> C). A bundle without
``EmployeeLeft`` (exported before the person left, or from a ledger written before
leaving was a statement) names no destination and needs only the link.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from keys import Identity, Purpose, key_id_for, verify_signature

from .canonical import b64decode, b64encode, canonical_bytes
from .errors import RuleViolation
from .state import LedgerState, Link
from .statement import Statement

__all__ = [
    "COUNTERSIGNED_BY_KEY",
    "countersign_link",
    "countersigning_admin_key",
    "last_key_in_bundle",
    "link_claim",
    "require_destination",
    "require_link",
    "verify_countersignature",
]

COUNTERSIGNED_BY_KEY = "key"


def link_claim(*, ledger: str, origin: str, person: str, public_key: bytes) -> bytes:
    """The bytes a link's countersignature covers (before the ``link`` purpose prefix)."""
    return canonical_bytes(
        {"ledger": ledger, "origin": origin, "person": person, "public_key": b64encode(public_key)}
    )


def countersign_link(
    countersigner: Identity, *, ledger: str, origin: str, person: str, public_key: bytes
) -> bytes:
    """The countersignature of ``countersigner`` (the key on ``origin``, or an admin's key
    here) for linking ``person``'s record on ``origin`` to ``person`` on ``ledger``."""
    claim = link_claim(ledger=ledger, origin=origin, person=person, public_key=public_key)
    return countersigner.sign(Purpose.LINK, claim)


def verify_countersignature(
    *, countersigner_key: bytes, signature: bytes, ledger: str, origin: str, person: str,
    public_key: bytes,
) -> None:  # fmt: skip
    """Raise :class:`keys.BadSignature` unless ``signature`` countersigns the link claim."""
    claim = link_claim(ledger=ledger, origin=origin, person=person, public_key=public_key)
    verify_signature(
        public_key=countersigner_key, purpose=Purpose.LINK, payload=claim, signature=signature
    )


def countersigning_admin_key(statement: Statement) -> str | None:
    """The key id of the admin who countersigned ``statement`` if it is an
    ``IdentityLinked`` countersigned by an admin (not by the linked key), else None: that
    admin's identity stream belongs in a bundle beside the link's author's."""
    if statement.type != "IdentityLinked":
        return None
    body = statement.body
    linked = key_id_for(b64decode(body["public_key"], length=32, what="public_key"))
    return None if body["countersigner"] == linked else str(body["countersigner"])


def last_key_in_bundle(bundle: Mapping[str, Any], person: str) -> bytes | None:
    """The public key current at the end of ``person``'s identity stream in ``bundle`` (a
    verified bundle: its entries are in log order), or None if it has none."""
    key = None
    for item in bundle["entries"]:
        entry = item["entry"]
        s = entry["statement"]
        if entry["stream"] == f"identity/{person}" and s["type"] in (
            "IdentityRegistered",
            "KeyRotated",
        ):
            key = b64decode(s["body"]["public_key"], length=32, what="public_key")
    return key


def require_link(state: LedgerState, bundle: Mapping[str, Any], *, origin: str) -> Link:
    """The link that binds ``bundle`` (of ``bundle["person"]`` on ``origin``) to a person of
    this ledger; raise ``RuleViolation(identity_unproven)`` when there is none.

    The person must be registered here and have linked their record on ``origin`` with
    its last key there (the key current at the end of their identity stream in the
    bundle), countersigned by that key or by an admin here.
    """
    person = str(bundle["person"])
    if person not in state.people:
        raise RuleViolation(
            "identity_unproven",
            f"no person {person!r} is registered on this ledger to receive the record",
        )
    link = state.links.get((person, origin))
    last = last_key_in_bundle(bundle, person)
    if link is None or last is None or link.public_key != last:
        have = "" if link is None else f" (the link here names key {key_id_for(link.public_key)})"
        raise RuleViolation(
            "identity_unproven",
            f"{person} here has not proven to hold {person}'s record on {origin}: they link it "
            f"first with 'trackrecord link', signed by their key here and countersigned by "
            f"their last key there{' ' + key_id_for(last) if last else ''} (or an admin){have}",
        )
    return link


def require_destination(
    state: LedgerState,
    bundle: Mapping[str, Any],
    *,
    origin: str,
    arrived_from: Collection[str] = (),
) -> None:
    """Refuse ``bundle`` (of ``bundle["person"]`` on ``origin``, verified) when its person
    left ``origin`` for a ledger other than this one: raise
    ``RuleViolation(wrong_destination)`` with the ``EmployeeLeft`` entry as evidence.

    Accepted: a bundle with no ``EmployeeLeft`` of its person; one naming this ledger
    (``state.origin``); one naming a ledger in ``arrived_from``, the origins this
    person's records were already imported from here (the record travelled on: their
    bundle from A names B, and B's names this ledger).
    """
    person = str(bundle["person"])
    left = None
    for item in bundle["entries"]:
        entry = item["entry"]
        if entry["stream"] == f"identity/{person}" and entry["statement"]["type"] == "EmployeeLeft":
            left = item
    if left is None:
        return
    entry = left["entry"]
    destination = str(entry["statement"]["body"]["destination"])
    here = state.origin
    if destination == here or destination in arrived_from:
        return
    raise RuleViolation(
        "wrong_destination",
        f"{person} left {origin} for the ledger {destination}, not for this one "
        f"({here or 'a ledger without an origin'}): a record is imported where its owner "
        f"said it went, or onwards from there",
        stream=str(entry["stream"]),
        seq=int(entry["seq"]),
        log_index=int(left["log_index"]),
        statement_id=str(entry["statement"]["id"]),
    )
