"""The rules of the identity stream: registration, keys, roles, transfers and erasure."""

from __future__ import annotations

import dataclasses
import re

from keys import BadSignature, key_id_for

from ..canonical import b64decode
from ..catalogue import DEPARTMENT_RE, RESERVED_PERSON_IDS, SLUG_RE, Role
from ..link import COUNTERSIGNED_BY_KEY, verify_countersignature
from ..state import Departure, Link, Person, TransferConsent
from .context import Ctx, new_key, next_key_digest, org_of, require_department_in

__all__ = [
    "AFTER_LEAVING",
    "employee_left",
    "employee_transferred",
    "identity_linked",
    "identity_registered",
    "key_revoked",
    "key_rotated",
    "person_erased",
    "refuse_departed",
    "role_granted",
    "role_revoked",
    "transfer_consented",
]


def identity_registered(ctx: Ctx) -> None:
    s, body, st = ctx.statement, ctx.body, ctx.state
    if ctx.author is not None and body.rules is not None:
        raise ctx.fail("not_genesis", "only the genesis entry names the rules of the ledger")
    require_department_in(ctx, body.department, body.organisation)
    if ctx.submitted and s.subject in RESERVED_PERSON_IDS:
        # Only a statement offered now: a person registered so before this rule stays
        # accepted, so that such a log still audits (docs/rules.md §4).
        raise ctx.fail(
            "reserved_id",
            f"{s.subject!r} cannot be a person id: the service's addresses use it "
            f"(/people/{s.subject}); choose another",
        )
    if s.subject in st.people:
        raise ctx.fail("already_registered", f"{s.subject} is already registered")
    key = new_key(ctx, body.public_key, s.subject)
    if ctx.author is None:  # genesis: checked by apply_entry
        st.put(st.meta, "operator", s.subject)
        if body.rules is not None:
            st.put(st.meta, "rules", body.rules)
    else:
        ctx.require_admin(body.organisation)
    st.put(st.keys, key.key_id, key)
    person = Person(
        s.subject, body.organisation, body.department, key.key_id, body.next_key_digest,
        frozenset(), ctx.log_index,
    )  # fmt: skip
    st.put(st.people, s.subject, person)


def key_rotated(ctx: Ctx) -> None:
    st, body = ctx.state, ctx.body
    person = ctx.subject_person()
    key = new_key(ctx, body.public_key, person.id)
    if ctx.me.id == person.id:
        if ctx.statement.author != person.current_key:
            raise ctx.fail("not_current_key", "a rotation must be signed by the current key")
        if person.next_key_digest and next_key_digest(key.public_key) != person.next_key_digest:
            raise ctx.fail(
                "precommit_mismatch", "the new key does not match the key committed to earlier"
            )
    else:
        ctx.require_admin(person.organisation)
    if person.current_key is not None:
        old = st.keys[person.current_key]
        st.put(st.keys, old.key_id, dataclasses.replace(old, retired_at=ctx.log_index))
    st.put(st.keys, key.key_id, key)
    st.put(
        st.people,
        person.id,
        dataclasses.replace(person, current_key=key.key_id, next_key_digest=body.next_key_digest),
    )


def key_revoked(ctx: Ctx) -> None:
    st, body = ctx.state, ctx.body
    person = ctx.subject_person()
    if ctx.me.id != person.id:
        ctx.require_admin(person.organisation)
    key = st.keys.get(body.key_id)
    if key is None or key.person != person.id:
        raise ctx.fail("unknown_key", f"{body.key_id} is not a key of {person.id}")
    if key.revoked:
        raise ctx.fail("already_revoked", f"key {body.key_id} is already revoked")
    retired = ctx.log_index if key.retired_at is None else key.retired_at
    st.put(st.keys, key.key_id, dataclasses.replace(key, retired_at=retired, revoked=True))
    if person.current_key == key.key_id:
        st.put(st.people, person.id, dataclasses.replace(person, current_key=None))


def _role_authority(ctx: Ctx) -> tuple[Person, tuple[str, str]]:
    body = ctx.body
    person = ctx.subject_person()
    if body.role == Role.MANAGER:
        if not re.fullmatch(DEPARTMENT_RE, body.scope):
            raise ctx.fail(
                "bad_scope", f"a manager role is scoped to a department, not {body.scope!r}"
            )
        ctx.require_admin(org_of(body.scope))
    else:
        if not re.fullmatch(SLUG_RE, body.scope):
            raise ctx.fail(
                "bad_scope", f"an admin role is scoped to an organisation, not {body.scope!r}"
            )
        ctx.require_admin(body.scope)
    return person, (body.role.value, body.scope)


def role_granted(ctx: Ctx) -> None:
    person, role = _role_authority(ctx)
    if role in person.roles:
        raise ctx.fail("role_already_granted", f"{person.id} already holds {role[0]} of {role[1]}")
    st = ctx.state
    st.put(st.people, person.id, dataclasses.replace(person, roles=person.roles | {role}))


def role_revoked(ctx: Ctx) -> None:
    person, role = _role_authority(ctx)
    if role not in person.roles:
        raise ctx.fail("role_not_held", f"{person.id} does not hold {role[0]} of {role[1]}")
    st = ctx.state
    st.put(st.people, person.id, dataclasses.replace(person, roles=person.roles - {role}))


def _roles_kept(person: Person, organisation: str, department: str) -> frozenset[tuple[str, str]]:
    """The roles ``person`` keeps on moving to ``department`` of ``organisation``: none in
    the department they leave, and none in their old organisation if they leave it."""
    if organisation != person.organisation:
        return frozenset(
            (role, scope) for role, scope in person.roles
            if scope != person.organisation and org_of(scope) != person.organisation
        )  # fmt: skip
    return person.roles - {(Role.MANAGER.value, person.department)}


def employee_transferred(ctx: Ctx) -> None:
    st, body = ctx.state, ctx.body
    person = ctx.subject_person()
    require_department_in(ctx, body.department, body.organisation)
    if not (st.is_admin(ctx.me, person.organisation) or st.is_admin(ctx.me, body.organisation)):
        raise ctx.fail(
            "not_admin",
            f"{ctx.me.id} is an admin of neither {person.organisation!r} nor {body.organisation!r}",
        )
    if (person.organisation, person.department) == (body.organisation, body.department):
        raise ctx.fail("no_change", f"{person.id} already works in {body.department}")
    # A ledger begun before rule set 2 (its genesis names none) recorded moves without
    # consent and kept the roles across them; re-judging its log by rules it was not made
    # under would make it fail its own audit (docs/rules.md §4, as §4.1 for endorsements).
    rule_set = st.meta.get("rules", 1)
    if body.organisation != person.organisation and rule_set >= 2:
        consent = st.consents.get(person.id)
        if consent is None or (consent.organisation, consent.department) != (
            body.organisation,
            body.department,
        ):
            consented = "nothing" if consent is None else consent.department
            raise ctx.fail(
                "consent_required",
                f"{person.id} consented to a transfer to {consented}, not to "
                f"{body.department}: a move to another organisation needs their "
                f"TransferConsented",
            )
        st.put(st.consents, person.id, None)
        del st.consents[person.id]
    roles = (
        _roles_kept(person, body.organisation, body.department) if rule_set >= 2 else person.roles
    )
    st.put(
        st.people,
        person.id,
        dataclasses.replace(
            person, organisation=body.organisation, department=body.department, roles=roles
        ),
    )


def transfer_consented(ctx: Ctx) -> None:
    """The person agrees to move to ``department`` of another organisation; an admin's
    ``EmployeeTransferred`` there uses the consent (only the latest one counts)."""
    st, body = ctx.state, ctx.body
    person = ctx.require_self("consent to a transfer")
    require_department_in(ctx, body.department, body.organisation)
    if body.organisation == person.organisation:
        raise ctx.fail(
            "no_change",
            f"{person.id} already works for {body.organisation}: a move within it needs no consent",
        )
    consent = TransferConsent(ctx.statement.id, person.id, body.organisation, body.department)
    st.put(st.consents, person.id, consent)


def employee_left(ctx: Ctx) -> None:
    """The person leaves this ledger for the ledger ``destination``: their roles end, an
    open consent lapses, and the ledger records nothing more on their record but what
    :data:`AFTER_LEAVING` allows (checked by :func:`refuse_departed`)."""
    st, body = ctx.state, ctx.body
    person = ctx.require_self("leave for another ledger")
    if st.is_operator(person):
        raise ctx.fail(
            "operator_stays", "the ledger operator signs its checkpoints and does not leave it"
        )
    if body.destination == st.origin:
        raise ctx.fail(
            "same_ledger", f"{person.id} leaves for another ledger, not this one ({st.origin})"
        )
    if person.id in st.consents:
        st.put(st.consents, person.id, None)
        del st.consents[person.id]
    st.put(st.people, person.id, dataclasses.replace(person, roles=frozenset()))
    departure = Departure(ctx.statement.id, person.id, body.destination, ctx.log_index)
    st.put(st.departures, person.id, departure)


#: What the ledger still records about a person after they left (``EmployeeLeft``): taking
#: back what was said (a key revoked when lost, a contribution withdrawn, an endorsement
#: revoked by its endorser, an access grant revoked) and an erasure. Nothing new is added.
AFTER_LEAVING = frozenset(
    {"KeyRevoked", "ContributionWithdrawn", "EndorsementRevoked", "AccessRevoked", "PersonErased"}
)


def refuse_departed(ctx: Ctx) -> None:
    """Refuse ``departed``: a statement by, on the record of, or assigning a person who
    left this ledger, unless :data:`AFTER_LEAVING` allows its type."""
    st, s = ctx.state, ctx.statement
    if s.type in AFTER_LEAVING:
        return
    concerned = [] if ctx.author is None else [ctx.author.id]  # one look-up each (prefetched)
    if s.stream.startswith(("identity/", "record/")):
        concerned.append(s.subject)
    elif s.type == "AssignmentAssigned":
        concerned.append(str(s.body["assignee"]))
    for gone in concerned:
        departure = st.departures.get(gone)
        if departure is None:
            continue
        raise ctx.fail(
            "departed",
            f"{gone} left this ledger for {departure.destination} at log index "
            f"{departure.log_index}; nothing more is recorded by, on or about them here",
        )


def person_erased(ctx: Ctx) -> None:
    st = ctx.state
    person = ctx.subject_person()
    if person.id in st.erased:
        raise ctx.fail(
            "already_erased", f"{person.id} was already erased at log index {st.erased[person.id]}"
        )
    if st.is_operator(person):
        raise ctx.fail(
            "operator_not_erasable", "the ledger operator signs checkpoints and cannot be erased"
        )
    ctx.require_admin(person.organisation)
    st.put(st.erased, person.id, ctx.log_index)
    if person.current_key is not None:  # an erased person's keys sign nothing after this
        key = st.keys[person.current_key]
        st.put(st.keys, key.key_id, dataclasses.replace(key, retired_at=ctx.log_index))
        st.put(st.people, person.id, dataclasses.replace(person, current_key=None))


def identity_linked(ctx: Ctx) -> None:
    """The person binds their record on another ledger to themselves here (ledger.link):
    signed by them, countersigned by their last key there or by an admin here."""
    st, body = ctx.state, ctx.body
    person = ctx.require_self("link a record from another ledger")
    public_key = b64decode(body.public_key, length=32, what="public_key")
    if body.countersigner == key_id_for(public_key):
        by, countersigner_key = COUNTERSIGNED_BY_KEY, public_key
    else:
        key = st.keys.get(body.countersigner)
        admin = None if key is None else st.people.get(key.person)
        if key is None or admin is None or key.retired_at is not None:
            raise ctx.fail(
                "not_admin",
                f"the link is countersigned by {body.countersigner}: neither the key it links "
                f"nor a current key of an admin here",
            )
        if not st.is_admin(admin, person.organisation):
            raise ctx.fail(
                "not_admin", f"{admin.id} is not an admin of organisation {person.organisation!r}"
            )
        by, countersigner_key = admin.id, key.public_key
    try:
        verify_countersignature(
            countersigner_key=countersigner_key,
            signature=b64decode(body.countersignature, length=64, what="countersignature"),
            ledger=ctx.state.origin or "", origin=body.origin, person=person.id,
            public_key=public_key,
        )  # fmt: skip
    except BadSignature as exc:
        raise ctx.fail(
            "bad_countersignature",
            f"the countersignature by {body.countersigner} does not verify for linking "
            f"{person.id}'s record on {body.origin}",
        ) from exc
    link = Link(ctx.statement.id, person.id, body.origin, public_key, by)
    st.put(st.links, (person.id, body.origin), link)
