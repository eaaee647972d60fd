"""Commands: build and sign the statement for each user action (the client side).

One function per action, named in the imperative (``claim_contribution``);
each returns a :class:`~ledger.statement.SignedStatement` ready to append. They
run where the signer's private key is (the CLI's keystore, a test, the demo
generator); the ledger only ever sees the signed result. The :class:`Signer`
holds the key and the ledger the statement is addressed to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from keys import Identity

from .canonical import b64encode
from .catalogue import RULES_VERSION
from .link import countersign_link
from .rules import next_key_digest
from .statement import SignedStatement, Signer, sign_statement

__all__ = [
    "apply_to_assignment",
    "assign",
    "cancel_assignment",
    "change_visibility",
    "claim_contribution",
    "complete_assignment",
    "consent_to_transfer",
    "endorse",
    "erase_person",
    "grant_access",
    "grant_role",
    "leave_ledger",
    "link_identity",
    "post_assignment",
    "refuse_access",
    "register_identity",
    "request_access",
    "request_review",
    "revoke_access",
    "revoke_endorsement",
    "revoke_key",
    "revoke_role",
    "rotate_key",
    "state_ambition",
    "transfer_employee",
    "withdraw_contribution",
]

Salt = Callable[[int], bytes] | None


def _sign(
    signer: Signer,
    type_: str,
    subject: str,
    body: dict[str, Any],
    personal: dict[str, str | None] | None = None,
    **opts: Any,
) -> SignedStatement:
    clear = {k: v for k, v in body.items() if v is not None}
    fields = {k: v for k, v in (personal or {}).items() if v is not None}
    return sign_statement(signer, type=type_, subject=subject, body=clear, personal=fields, **opts)


def register_identity(
    signer: Signer,
    *,
    person: str,
    public_key: bytes,
    organisation: str,
    department: str,
    display_name: str,
    next_key: bytes | None = None,
    rule_set: int | None = RULES_VERSION,
    **opts: Any,
) -> SignedStatement:
    """Admit ``person`` with ``public_key`` (signed by an admin, or self-signed at genesis:
    a ledger begun now keeps the rule set :data:`~ledger.catalogue.RULES_VERSION`;
    ``rule_set=None`` writes a genesis as ledgers begun before rule set 2 have it)."""
    genesis = signer.identity.public_key.raw == public_key
    return _sign(
        signer,
        "IdentityRegistered",
        person,
        {
            "public_key": b64encode(public_key),
            "organisation": organisation,
            "department": department,
            "next_key_digest": next_key_digest(next_key) if next_key else None,
            "rules": rule_set if genesis else None,
        },
        {"display_name": display_name},
        **opts,
    )


def rotate_key(
    signer: Signer,
    *,
    person: str,
    new_public_key: bytes,
    next_key: bytes | None = None,
    **opts: Any,
) -> SignedStatement:
    """Replace ``person``'s current key (signed by that key, or by an admin for recovery)."""
    return _sign(
        signer,
        "KeyRotated",
        person,
        {
            "public_key": b64encode(new_public_key),
            "next_key_digest": next_key_digest(next_key) if next_key else None,
        },
        **opts,
    )


def revoke_key(
    signer: Signer, *, person: str, key_id: str, reason: str = "compromised",
    note: str | None = None, **opts: Any,
) -> SignedStatement:  # fmt: skip
    """Revoke one of ``person``'s keys: it signs nothing after this entry."""
    return _sign(
        signer, "KeyRevoked", person, {"key_id": key_id, "reason": reason}, {"reason": note}, **opts
    )


def link_identity(
    signer: Signer,
    *,
    person: str,
    origin: str,
    public_key: bytes,
    countersigner: Identity,
    **opts: Any,
) -> SignedStatement:
    """Bind ``person``'s record on ledger ``origin`` (where their last key is ``public_key``)
    to ``person`` here, signed by their key here (``signer``) and countersigned by
    ``countersigner``: the key ``public_key`` itself, or an admin's key here when it is
    lost (ledger.link)."""
    countersignature = countersign_link(
        countersigner, ledger=signer.ledger, origin=origin, person=person, public_key=public_key
    )
    return _sign(
        signer,
        "IdentityLinked",
        person,
        {
            "origin": origin,
            "public_key": b64encode(public_key),
            "countersigner": countersigner.key_id,
            "countersignature": b64encode(countersignature),
        },
        **opts,
    )


def grant_role(
    signer: Signer, *, person: str, role: str, scope: str, **opts: Any
) -> SignedStatement:
    """Grant ``role`` (manager of a department, admin of an organisation) to ``person``."""
    return _sign(signer, "RoleGranted", person, {"role": role, "scope": scope}, **opts)


def revoke_role(
    signer: Signer, *, person: str, role: str, scope: str, **opts: Any
) -> SignedStatement:
    """Take ``role`` away from ``person``."""
    return _sign(signer, "RoleRevoked", person, {"role": role, "scope": scope}, **opts)


def transfer_employee(
    signer: Signer, *, person: str, organisation: str, department: str, **opts: Any
) -> SignedStatement:
    """Record that ``person`` moves to ``department``; their record goes with them."""
    return _sign(
        signer,
        "EmployeeTransferred",
        person,
        {"organisation": organisation, "department": department},
        **opts,
    )


def consent_to_transfer(
    signer: Signer, *, person: str, organisation: str, department: str, **opts: Any
) -> SignedStatement:
    """``person`` agrees to move to ``department`` of another organisation (signed by them);
    the admin's transfer there must name the same department."""
    return _sign(
        signer,
        "TransferConsented",
        person,
        {"organisation": organisation, "department": department},
        **opts,
    )


def leave_ledger(signer: Signer, *, person: str, destination: str, **opts: Any) -> SignedStatement:
    """``person`` leaves this ledger for the ledger named ``destination`` (its origin): the
    last word of their record here says where it went."""
    return _sign(signer, "EmployeeLeft", person, {"destination": destination}, **opts)


def claim_contribution(
    signer: Signer,
    *,
    person: str,
    title: str,
    skills: Sequence[str],
    start: str,
    end: str | None = None,
    part: str = "dossier",
    kind: str = "work",
    description: str | None = None,
    evidence_sha256: str | None = None,
    evidence_link: str | None = None,
    **opts: Any,
) -> SignedStatement:
    """Claim a contribution on one's own record."""
    return _sign(
        signer,
        "ContributionClaimed",
        person,
        {
            "part": part,
            "kind": kind,
            "skills": list(skills),
            "period": {"start": start, **({"end": end} if end else {})},
            "evidence_sha256": evidence_sha256,
        },
        {"title": title, "description": description, "evidence_link": evidence_link},
        **opts,
    )


def withdraw_contribution(
    signer: Signer, *, person: str, contribution: str, reason: str | None = None, **opts: Any
) -> SignedStatement:
    """Withdraw one's own contribution (it stays in the ledger, hidden from views)."""
    return _sign(
        signer,
        "ContributionWithdrawn",
        person,
        {"contribution": contribution},
        {"reason": reason},
        **opts,
    )


def endorse(
    signer: Signer,
    *,
    person: str,
    contribution: str,
    grade: int,
    role: str,
    comment: str | None = None,
    request: str | None = None,
    **opts: Any,
) -> SignedStatement:
    """Endorse ``person``'s contribution with a grade 1-5 as manager, peer or client,
    answering their review request ``request`` if given."""
    return _sign(
        signer,
        "EndorsementGiven",
        person,
        {"contribution": contribution, "grade": grade, "role": role, "request": request},
        {"comment": comment},
        **opts,
    )


def request_review(
    signer: Signer,
    *,
    person: str,
    contribution: str,
    reviewers: Sequence[tuple[str, str]],
    message: str | None = None,
    **opts: Any,
) -> SignedStatement:
    """Ask ``reviewers`` (``(person, role)`` pairs, role ``manager``, ``peer`` or
    ``client``) to review one's own contribution; it lets them read it."""
    return _sign(
        signer,
        "ReviewRequested",
        person,
        {
            "contribution": contribution,
            "reviewers": [{"person": who, "role": role} for who, role in reviewers],
        },
        {"message": message},
        **opts,
    )


def revoke_endorsement(
    signer: Signer, *, person: str, endorsement: str, reason: str | None = None, **opts: Any
) -> SignedStatement:
    """Revoke one's own endorsement of ``person``'s work."""
    return _sign(
        signer,
        "EndorsementRevoked",
        person,
        {"endorsement": endorsement},
        {"reason": reason},
        **opts,
    )


def state_ambition(
    signer: Signer,
    *,
    person: str,
    goal: str,
    skills: Sequence[str] = (),
    courses: str | None = None,
    **opts: Any,
) -> SignedStatement:
    """State a personal goal and the skills one wants to develop."""
    return _sign(
        signer,
        "AmbitionStated",
        person,
        {"skills": list(skills)},
        {"goal": goal, "courses": courses},
        **opts,
    )


def change_visibility(
    signer: Signer, *, person: str, part: str, visibility: str, **opts: Any
) -> SignedStatement:
    """Set who may see one part of one's portfolio."""
    return _sign(
        signer, "VisibilityChanged", person, {"part": part, "visibility": visibility}, **opts
    )


def request_access(
    signer: Signer, *, owner: str, part: str, message: str | None = None, **opts: Any
) -> SignedStatement:
    """Ask ``owner`` for read access to their ``on_request`` ``part`` (signed by the viewer)."""
    return _sign(signer, "AccessRequested", owner, {"part": part}, {"message": message}, **opts)


def grant_access(
    signer: Signer,
    *,
    person: str,
    viewer: str,
    part: str,
    request: str | None = None,
    until: str | None = None,
    **opts: Any,
) -> SignedStatement:
    """Let ``viewer`` read one's ``part`` (answering ``request``, if given) until ``until``."""
    body = {"viewer": viewer, "part": part, "request": request, "until": until}
    return _sign(signer, "AccessGranted", person, body, **opts)


def refuse_access(
    signer: Signer, *, person: str, request: str, reason: str | None = None, **opts: Any
) -> SignedStatement:
    """Refuse a viewer's access request on one's own record."""
    return _sign(signer, "AccessRefused", person, {"request": request}, {"reason": reason}, **opts)


def revoke_access(
    signer: Signer, *, person: str, grant: str, reason: str | None = None, **opts: Any
) -> SignedStatement:
    """Withdraw an access grant one gave."""
    return _sign(signer, "AccessRevoked", person, {"grant": grant}, {"reason": reason}, **opts)


def erase_person(
    signer: Signer, *, person: str, basis: str = "request", **opts: Any
) -> SignedStatement:
    """Record that ``person``'s personal content is erased (signed by an admin)."""
    return _sign(signer, "PersonErased", person, {"basis": basis}, **opts)


def post_assignment(
    signer: Signer,
    *,
    assignment: str,
    organisation: str,
    department: str,
    title: str,
    skills: Sequence[str],
    hours_per_week: int,
    ring: str = "government",
    description: str | None = None,
    starts: str | None = None,
    ends: str | None = None,
    **opts: Any,
) -> SignedStatement:
    """Post an assignment (``assignment`` is a new UUID) owned by the signer."""
    return _sign(
        signer,
        "AssignmentPosted",
        assignment,
        {
            "organisation": organisation,
            "department": department,
            "skills": list(skills),
            "hours_per_week": hours_per_week,
            "ring": ring,
            "starts": starts,
            "ends": ends,
        },
        {"title": title, "description": description},
        **opts,
    )


def apply_to_assignment(
    signer: Signer, *, assignment: str, hours_per_week: int, motivation: str | None = None,
    **opts: Any,
) -> SignedStatement:  # fmt: skip
    """Apply to an open assignment."""
    return _sign(
        signer,
        "AssignmentApplied",
        assignment,
        {"hours_per_week": hours_per_week},
        {"motivation": motivation},
        **opts,
    )


def assign(signer: Signer, *, assignment: str, assignee: str, **opts: Any) -> SignedStatement:
    """Assign a person to one's own assignment."""
    return _sign(signer, "AssignmentAssigned", assignment, {"assignee": assignee}, **opts)


def complete_assignment(
    signer: Signer,
    *,
    assignment: str,
    assignee: str,
    grade: int,
    outcome: str = "delivered",
    note: str | None = None,
    **opts: Any,
) -> SignedStatement:
    """Confirm that ``assignee`` completed one's own assignment, with an outcome and grade."""
    return _sign(
        signer,
        "AssignmentCompleted",
        assignment,
        {"assignee": assignee, "outcome": outcome, "grade": grade},
        {"outcome_note": note},
        **opts,
    )


def cancel_assignment(
    signer: Signer, *, assignment: str, reason: str | None = None, **opts: Any
) -> SignedStatement:
    """Cancel one's own open or assigned assignment."""
    return _sign(signer, "AssignmentCancelled", assignment, {}, {"reason": reason}, **opts)
