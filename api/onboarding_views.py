"""What the onboarding pages and API show of registration requests and invitations
(:mod:`api.onboarding`): their answer models and the "New here?" panel's values.

Kept outside the routers so that the onboarding, admin, inbox and pages routers share
them without importing each other (the routers-independence contract).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Any, Literal

from pydantic import BaseModel
from starlette.requests import Request

from ledger.catalogue import SLUG_RE
from ledger.imports import DEFAULT_TRUST_WEIGHT
from ledger.onboarding import request_status
from ledger.state import LedgerState
from projections.notices import remember_addresses

from .context import AppContext
from .oidc import OidcIdentity
from .onboarding import ONBOARDING_COOKIE, Invitation, PendingRegistration

__all__ = [
    "InvitationOut",
    "RegistrationOut",
    "TrustedOriginOut",
    "invitation_out",
    "newcomer_values",
    "registration_out",
    "signed_in",
    "suggested_person",
    "trusted_origins",
    "waiting_registrations",
]


class RegistrationOut(BaseModel):
    """A filed registration request and what became of it."""

    id: str
    person: str
    display_name: str
    public_key: str
    key_id: str
    organisation: str
    department: str | None
    #: ``signed_in`` (at the identity provider; ``email`` as it vouched) or ``invited``
    vouched_by: Literal["signed_in", "invited"]
    email: str | None
    filed_at: str
    status: Literal["pending", "approved", "superseded"]
    #: ``register`` (approved by an ``IdentityRegistered``) or ``rekey`` (by a ``KeyRotated``)
    kind: Literal["register", "rekey"]


class InvitationOut(BaseModel):
    id: str
    organisation: str
    department: str
    person: str | None
    display_name: str | None
    created_by: str
    expires_at: str
    #: the one-time link to hand to the newcomer (only in the answer that created it)
    link: str | None = None


def _time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def registration_out(p: PendingRegistration, state: LedgerState) -> RegistrationOut:
    return RegistrationOut(
        id=p.id,
        person=p.person,
        display_name=p.display_name,
        public_key=p.public_key,
        key_id=p.key_id,
        organisation=p.organisation,
        department=p.department,
        vouched_by="invited" if p.invitation else "signed_in",
        email=p.email,
        filed_at=_time(p.filed_at),
        status=request_status(state, person=p.person, key_id=p.key_id, kind=p.kind),  # type: ignore[arg-type]
        kind=p.kind,
    )


def waiting_registrations(
    ctx: AppContext,
    state: LedgerState,
    organisations: Collection[str] | None,
    *,
    withdraw: bool = False,
) -> list[RegistrationOut]:
    """The requests of ``organisations`` (None: all) still waiting, oldest first. For one
    approved that a sign-in vouched for, the e-mail address the identity provider gave is
    kept for notifications (:mod:`api.notify`); with ``withdraw`` the requests the ledger
    settled are removed (the newcomer's page shows its own approved request until then)."""
    filed = ctx.onboarding.registrations(organisations)
    out = [registration_out(p, state) for p in filed]
    status = {r.id: r.status for r in out}
    remember_addresses(
        ctx.read_models.projector.engine,
        [(p.person, p.email) for p in filed if status[p.id] == "approved" and p.email and p.issuer],
    )
    if withdraw:
        ctx.onboarding.withdraw([r.id for r in out if r.status != "pending"])
    return [r for r in out if r.status == "pending"]


def invitation_out(i: Invitation, link: str | None = None) -> InvitationOut:
    return InvitationOut(
        id=i.id,
        organisation=i.organisation,
        department=i.department,
        person=i.person,
        display_name=i.display_name,
        created_by=i.created_by,
        expires_at=_time(i.expires),
        link=link,
    )


def suggested_person(identity: OidcIdentity) -> str | None:
    """A person id to offer a newcomer: their user name or e-mail's local part, made a slug."""
    for raw in (identity.username, (identity.email or "").split("@")[0]):
        slug = re.sub(r"[^a-z0-9._-]+", "-", (raw or "").lower()).strip("._-")[:64]
        if slug and re.fullmatch(SLUG_RE, slug):
            return slug
    return None


def signed_in(request: Request, ctx: AppContext) -> OidcIdentity | None:
    """The identity the request's onboarding cookie stands for, if any."""
    return ctx.onboarding.signed_in(request.cookies.get(ONBOARDING_COOKIE))


def newcomer_values(request: Request, ctx: AppContext) -> dict[str, Any]:
    """What the "New here?" panel shows someone not logged in: the sign-in button, or who
    signed in at the identity provider and their request."""
    values: dict[str, Any] = {"oidc_label": ctx.oidc.provider.label if ctx.oidc else None}
    identity = signed_in(request, ctx) if ctx.oidc else None
    if identity is not None:
        values["signin"] = identity
        values["suggested_person"] = suggested_person(identity)
        filed = ctx.onboarding.registration_of(identity)
        if filed is not None:
            values["registration"] = registration_out(filed, ctx.state())
    return values


class TrustedOriginOut(BaseModel):
    """A trusted origin: its name, the operator key trusted for it, its weight here."""

    origin: str
    verifier_key: str
    weight: float


def trusted_origins(ctx: AppContext) -> list[TrustedOriginOut]:
    registry = ctx.ledger.imports
    weights = registry.origin_weights()
    return [
        TrustedOriginOut(
            origin=key.name,
            verifier_key=str(key),
            weight=weights.get(key.name, DEFAULT_TRUST_WEIGHT),
        )
        for key in registry.trusted()
    ]
