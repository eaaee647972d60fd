"""Registration requests, invitations and sign-ins under way, kept in the ledger's database.

Four tables beside the sessions' (:mod:`api.sessions`), so every service process over
the database sees them:

``api_oidc_logins``
    an OpenID Connect authorization request under way: its ``state``, ``nonce`` and PKCE
    code verifier, until the provider sends the browser back (10 minutes at most).
``api_onboarding``
    a newcomer signed in at the identity provider: the identity it vouched for, behind
    a random token (only its SHA-256 is stored) in the ``trackrecord_onboarding`` cookie.
``api_invitations``
    a one-time, expiring invitation an admin created: organisation, department and,
    when the admin fixed them, person id and display name; ``used_at`` once used.
``api_registrations``
    a registration request waiting for an admin (:mod:`ledger.onboarding`): the person id,
    display name and public key the newcomer's browser signed, and who vouched for them
    (issuer, subject and e-mail of the sign-in, or the invitation); ``kind`` ``rekey``
    for someone registered who lost their key.

None of them is part of the record: an approval is the admin's signed
``IdentityRegistered``, and whether a request is approved is read from the ledger
(:func:`ledger.onboarding.request_status`). Nothing here holds a private key.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)

from ledger.notifications import Notice
from ledger.onboarding import Kind, RegistrationRequest
from ledger.store.base import SCHEMA_LOCK
from projections.db import writing, xact_lock
from projections.notices import add_notices

from .errors import ApiError
from .oidc import OidcIdentity, OidcStart

__all__ = [
    "ONBOARDING_COOKIE",
    "Invitation",
    "OnboardingStore",
    "PendingRegistration",
    "Voucher",
]

ONBOARDING_COOKIE = "trackrecord_onboarding"
LOGIN_TTL = 600.0
ONBOARDING_TTL = 3600.0

_metadata = MetaData()
_logins = Table(
    "api_oidc_logins",
    _metadata,
    Column("state", String(128), primary_key=True),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("expires", Float, nullable=False),
)
_onboarding = Table(
    "api_onboarding",
    _metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("issuer", String(500), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("email", String(320)),
    Column("name", String(200)),
    Column("username", String(200)),
    Column("expires", Float, nullable=False),
)
_invitations = Table(
    "api_invitations",
    _metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("organisation", String(64), nullable=False),
    Column("department", String(129), nullable=False),
    Column("person", String(64)),
    Column("display_name", String(200)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Column("used_at", Float),
)
_registrations = Table(
    "api_registrations",
    _metadata,
    Column("id", String(36), primary_key=True),
    Column("person", String(64), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("public_key", String(44), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("department", String(129)),
    Column("issuer", String(500)),
    Column("subject", String(255)),
    Column("email", String(320)),
    Column("invitation", String(36)),
    Column("filed_at", Float, nullable=False),
    Column("kind", String(8), nullable=False, default="register"),
    UniqueConstraint("issuer", "subject", name="api_registrations_one_per_sign_in"),
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Invitation:
    """An invitation an admin created (its token is only ever shown at creation)."""

    id: str
    organisation: str
    department: str
    person: str | None
    display_name: str | None
    created_by: str
    created_at: float
    expires: float
    used_at: float | None


@dataclass(frozen=True)
class Voucher:
    """Who vouches for a newcomer: a sign-in at the identity provider, or an invitation."""

    organisation: str
    department: str | None = None
    identity: OidcIdentity | None = None
    invitation: Invitation | None = None


@dataclass(frozen=True)
class PendingRegistration:
    """A filed registration request, with who vouched for it."""

    id: str
    person: str
    display_name: str
    public_key: str
    key_id: str
    organisation: str
    department: str | None
    issuer: str | None
    subject: str | None
    email: str | None
    invitation: str | None
    filed_at: float
    kind: Kind = "register"


class OnboardingStore:
    """The onboarding tables of every service process over one database. Thread-safe."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self.engine = engine
        self._clock = clock
        with writing(engine) as conn:
            xact_lock(conn, SCHEMA_LOCK)
            _metadata.create_all(conn)

    # -- OpenID Connect sign-ins -------------------------------------------------------
    def begin_login(self, start: OidcStart) -> None:
        """Keep an authorization request until its callback (or 10 minutes)."""
        now = self._clock()
        with writing(self.engine) as conn:
            conn.execute(delete(_logins).where(_logins.c.expires <= now))
            conn.execute(
                insert(_logins).values(
                    state=start.state,
                    nonce=start.nonce,
                    code_verifier=start.code_verifier,
                    expires=now + LOGIN_TTL,
                )
            )

    def take_login(self, state: str) -> tuple[str, str]:
        """The ``(nonce, code_verifier)`` of ``state``, used up; a 401 if unknown or expired."""
        with writing(self.engine) as conn:
            row = conn.execute(
                delete(_logins)
                .where(_logins.c.state == state)
                .returning(_logins.c.nonce, _logins.c.code_verifier, _logins.c.expires)
            ).first()
        if row is None or float(row[2]) <= self._clock():
            raise ApiError(
                401, "oidc_failed", "unknown or expired sign-in: start again from the page"
            )
        return str(row[0]), str(row[1])

    def open_onboarding(self, identity: OidcIdentity) -> str:
        """Remember a newcomer's sign-in; return the token for the onboarding cookie."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with writing(self.engine) as conn:
            conn.execute(delete(_onboarding).where(_onboarding.c.expires <= now))
            conn.execute(
                insert(_onboarding).values(
                    token_hash=_hash(token),
                    issuer=identity.issuer,
                    subject=identity.subject,
                    email=identity.email,
                    name=identity.name,
                    username=identity.username,
                    expires=now + ONBOARDING_TTL,
                )
            )
        return token

    def signed_in(self, token: str | None) -> OidcIdentity | None:
        """The identity behind an onboarding cookie, or None (none, unknown or expired)."""
        if not token:
            return None
        o = _onboarding.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(o.issuer, o.subject, o.email, o.name, o.username, o.expires).where(
                    o.token_hash == _hash(token)
                )
            ).first()
        if row is None or float(row[5]) <= self._clock():
            return None
        return OidcIdentity(str(row[0]), str(row[1]), row[2], row[2] is not None, row[3], row[4])

    def close_onboarding(self, token: str) -> None:
        with writing(self.engine) as conn:
            conn.execute(delete(_onboarding).where(_onboarding.c.token_hash == _hash(token)))

    # -- invitations ---------------------------------------------------------------------
    def invite(
        self,
        *,
        organisation: str,
        department: str,
        person: str | None,
        display_name: str | None,
        created_by: str,
        ttl: float,
    ) -> tuple[Invitation, str]:
        """Create an invitation; return it and its one-time token (shown only now)."""
        now = self._clock()
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            str(uuid.uuid4()), organisation, department, person, display_name, created_by,
            now, now + ttl, None,
        )  # fmt: skip
        with writing(self.engine) as conn:
            conn.execute(
                insert(_invitations).values(
                    token_hash=_hash(token),
                    **invitation.__dict__,
                )
            )
        return invitation, token

    def invitation(self, token: str) -> Invitation:
        """The open invitation of ``token``; a 404 ``unknown_invitation`` if there is
        none, a 410 ``invitation_used`` / ``invitation_expired`` if it is spent."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_INVITATION_COLUMNS).where(_invitations.c.token_hash == _hash(token))
            ).first()
        if row is None:
            raise ApiError(404, "unknown_invitation", "this invitation link is not known here")
        invitation = Invitation(*row)
        if invitation.used_at is not None:
            raise ApiError(410, "invitation_used", "this invitation link was used already")
        if invitation.expires <= self._clock():
            raise ApiError(410, "invitation_expired", "this invitation link has expired")
        return invitation

    def invitations(self, organisations: Collection[str] | None) -> list[Invitation]:
        """Open invitations of ``organisations`` (None: all), newest first."""
        i = _invitations.c
        query = select(*_INVITATION_COLUMNS).where(i.used_at.is_(None), i.expires > self._clock())
        if organisations is not None:
            query = query.where(i.organisation.in_(list(organisations)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(i.created_at.desc())).all()
        return [Invitation(*row) for row in rows]

    # -- registration requests -----------------------------------------------------------
    def file(
        self, request: RegistrationRequest, voucher: Voucher, *, notices: Sequence[Notice] = ()
    ) -> PendingRegistration:
        """File ``request`` (already verified); a sign-in files one request at a time (a
        new one replaces its earlier), an invitation is used up by it. ``notices`` (to the
        admins: :mod:`api.notify`) go to the outbox in the same transaction. Atomic."""
        now = self._clock()
        identity, invitation = voucher.identity, voucher.invitation
        pending = PendingRegistration(
            str(uuid.uuid4()), request.person, request.display_name, request.public_key,
            request.key_id, voucher.organisation, voucher.department,
            identity.issuer if identity else None, identity.subject if identity else None,
            identity.email if identity else None, invitation.id if invitation else None, now,
            request.kind,
        )  # fmt: skip
        r = _registrations.c
        with writing(self.engine) as conn:
            if invitation is not None:
                i = _invitations.c
                used = conn.execute(
                    update(_invitations)
                    .where(i.id == invitation.id, i.used_at.is_(None))
                    .values(used_at=now)
                ).rowcount
                if used != 1:
                    raise ApiError(410, "invitation_used", "this invitation link was used already")
            if identity is not None:
                conn.execute(
                    delete(_registrations).where(
                        r.issuer == identity.issuer, r.subject == identity.subject
                    )
                )
            taken = conn.execute(
                select(r.id).where((r.person == request.person) | (r.key_id == request.key_id))
            ).first()
            if taken is not None:
                raise ApiError(
                    409,
                    "already_requested",
                    f"a registration of {request.person} (or of this key) is already waiting "
                    "for an admin",
                )
            conn.execute(insert(_registrations).values(**pending.__dict__))
            add_notices(conn, notices, now=now)
        return pending

    def registrations(
        self, organisations: Collection[str] | None = None
    ) -> list[PendingRegistration]:
        """Filed requests of ``organisations`` (None: all), oldest first."""
        query = select(*_REGISTRATION_COLUMNS)
        if organisations is not None:
            query = query.where(_registrations.c.organisation.in_(list(organisations)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(_registrations.c.filed_at)).all()
        return [PendingRegistration(*row) for row in rows]

    def registration_of(self, identity: OidcIdentity) -> PendingRegistration | None:
        """The request filed under a sign-in, if any."""
        r = _registrations.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_REGISTRATION_COLUMNS).where(
                    r.issuer == identity.issuer, r.subject == identity.subject
                )
            ).first()
        return None if row is None else PendingRegistration(*row)

    def registration(self, registration_id: str) -> PendingRegistration | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_REGISTRATION_COLUMNS).where(_registrations.c.id == registration_id)
            ).first()
        return None if row is None else PendingRegistration(*row)

    def withdraw(self, registration_ids: Collection[str]) -> int:
        """Remove filed requests (refused, or settled by the ledger); how many went."""
        if not registration_ids:
            return 0
        with writing(self.engine) as conn:
            return int(
                conn.execute(
                    delete(_registrations).where(_registrations.c.id.in_(list(registration_ids)))
                ).rowcount
            )


_INVITATION_COLUMNS = [
    _invitations.c[name]
    for name in (
        "id", "organisation", "department", "person", "display_name", "created_by",
        "created_at", "expires", "used_at",
    )
]  # fmt: skip
_REGISTRATION_COLUMNS = [
    _registrations.c[name]
    for name in (
        "id", "person", "display_name", "public_key", "key_id", "organisation", "department",
        "issuer", "subject", "email", "invitation", "filed_at", "kind",
    )
]  # fmt: skip
