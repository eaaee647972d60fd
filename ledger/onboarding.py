"""Onboarding without a shell: registration requests, and who may approve them.

A newcomer's browser creates their Ed25519 key (the private half never leaves it) and
files a **registration request**: the person id and display name they ask for and their
public key, signed with that key for :attr:`keys.Purpose.REGISTRATION` (proof that
whoever filed it holds the private key). The service keeps the request, bound to the
identity that vouched for the newcomer (an OpenID Connect sign-in, or a one-time
invitation an admin handed out), until an organisation admin approves it by signing
an ``IdentityRegistered`` in their own browser. The request is workflow, not a fact of
the record: only the approval enters the ledger, as the statement it always was.

This module is pure: it decides whether a request may be filed, and what becomes of
it, from the ledger state alone; :mod:`api.onboarding` stores requests and invitations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from keys import BadSignature, Purpose, key_id_for, verify_signature

from .canonical import b64decode, canonical_bytes
from .catalogue import DEPARTMENT_RE, RESERVED_PERSON_IDS, SLUG_RE
from .errors import LedgerError
from .state import LedgerState

__all__ = [
    "MAX_DISPLAY_NAME",
    "RegistrationRefused",
    "RegistrationRequest",
    "admin_scope",
    "check_department",
    "check_new_person_id",
    "request_payload",
    "request_status",
    "verify_registration_request",
]

MAX_DISPLAY_NAME = 200
_SLUG = re.compile(SLUG_RE)
_DEPARTMENT = re.compile(DEPARTMENT_RE)
#: codes that say the request conflicts with what the ledger holds (HTTP 409)
_CONFLICTS = frozenset({"already_registered", "key_in_use"})
Kind = Literal["register", "rekey"]


class RegistrationRefused(LedgerError):
    """A registration request that cannot be filed; ``code`` says why."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field

    @property
    def conflict(self) -> bool:
        """True if the request conflicts with the ledger (someone else holds the id or key)."""
        return self.code in _CONFLICTS

    def evidence(self) -> dict[str, Any]:
        ev = super().evidence()
        if self.field is not None:
            ev["field"] = self.field
        return ev


@dataclass(frozen=True)
class RegistrationRequest:
    """What the newcomer asks for, as signed in their browser."""

    person: str
    display_name: str
    public_key: str  # base64 of the 32 raw bytes
    signature: str  # base64 of the 64-byte signature over :func:`request_payload`
    #: ``register`` (a newcomer) or ``rekey`` (someone registered who lost their key: an
    #: admin approves by signing a ``KeyRotated``, recorded as an admin re-key)
    kind: Kind = "register"

    @property
    def key_id(self) -> str:
        return key_id_for(b64decode(self.public_key, length=32, what="public_key"))


def request_payload(ledger: str, request: RegistrationRequest) -> bytes:
    """The bytes a registration request's signature covers (purpose ``registration``):
    the JCS form of ``{display_name, ledger, person, public_key}`` (with ``"kind":
    "rekey"`` for a re-key), so a request made for one ledger, or of one kind, is no
    request at another."""
    signed: dict[str, str] = {
        "display_name": request.display_name,
        "ledger": ledger,
        "person": request.person,
        "public_key": request.public_key,
    }
    if request.kind == "rekey":
        signed["kind"] = "rekey"
    return canonical_bytes(signed)


def verify_registration_request(
    *, state: LedgerState, ledger: str, request: RegistrationRequest
) -> None:
    """Return None if ``request`` may be filed at ``ledger`` with ``state``; else raise
    :class:`RegistrationRefused` (``bad_person``, ``reserved_id``, ``bad_display_name``,
    ``bad_public_key``, ``bad_signature``, ``already_registered``, ``not_registered`` for a re-key,
    ``key_in_use``)."""
    if not _SLUG.fullmatch(request.person):
        raise RegistrationRefused(
            "bad_person",
            f"{request.person[:64]!r} is not a person id: use lowercase letters, digits, "
            "'.', '_' and '-'",
            field="person",
        )
    if request.kind == "register":
        check_new_person_id(request.person)
    name = request.display_name
    if not name.strip() or len(name) > MAX_DISPLAY_NAME:
        raise RegistrationRefused(
            "bad_display_name",
            f"a display name has 1 to {MAX_DISPLAY_NAME} characters",
            field="display_name",
        )
    try:
        public_key = b64decode(request.public_key, length=32, what="public_key")
        signature = b64decode(request.signature, length=64, what="signature")
    except LedgerError as exc:
        raise RegistrationRefused("bad_public_key", exc.message, field="public_key") from exc
    try:
        verify_signature(
            public_key=public_key,
            purpose=Purpose.REGISTRATION,
            payload=request_payload(ledger, request),
            signature=signature,
        )
    except BadSignature as exc:
        raise RegistrationRefused(
            "bad_signature",
            "the request is not signed by the key it registers (for this ledger)",
            field="signature",
        ) from exc
    if request.kind == "rekey":
        if request.person not in state.people or request.person in state.erased:
            raise RegistrationRefused(
                "not_registered",
                f"{request.person} is not registered here: ask to be registered instead",
                field="person",
            )
    elif request.person in state.people or request.person in state.erased:
        raise RegistrationRefused(
            "already_registered",
            f"{request.person} is already registered: log in with its key, or ask an admin "
            "to rotate it if the key is lost",
            field="person",
        )
    if key_id_for(public_key) in state.keys:
        raise RegistrationRefused(
            "key_in_use", "this public key is already registered to someone", field="public_key"
        )


def request_status(state: LedgerState, *, person: str, key_id: str, kind: Kind = "register") -> str:
    """What became of a filed request: ``approved`` (the person holds this key: registered
    with it, or re-keyed to it), ``superseded`` (registered with another key, or
    erased), else ``pending``."""
    if person in state.erased:
        return "superseded"
    registered = state.people.get(person)
    if registered is None:
        return "pending"
    key = state.keys.get(key_id)
    if key is not None and key.person == person:
        return "approved"
    return "pending" if kind == "rekey" else "superseded"


def admin_scope(state: LedgerState, person: str) -> frozenset[str] | None:
    """The organisations ``person`` administers: ``None`` for the operator (every
    organisation), an empty set for anyone who is no admin (or not registered)."""
    me = state.people.get(person)
    if me is None:
        return frozenset()
    if state.is_operator(me):
        return None
    return frozenset(scope for role, scope in me.roles if role == "admin")


def check_new_person_id(person: str) -> None:
    """Raise :class:`RegistrationRefused` (``reserved_id``) if ``person`` may not be
    registered: a word of the service's addresses (docs/rules.md §4)."""
    if person in RESERVED_PERSON_IDS:
        raise RegistrationRefused(
            "reserved_id",
            f"{person!r} cannot be a person id: the service's addresses use it; choose another",
            field="person",
        )


def check_department(organisation: str, department: str | None) -> None:
    """Raise :class:`RegistrationRefused` (``bad_department``) unless ``department`` is
    None or a department of ``organisation``."""
    if department is None:
        return
    if not _DEPARTMENT.fullmatch(department) or department.split("/")[0] != organisation:
        raise RegistrationRefused(
            "bad_department",
            f"{department[:129]!r} is not a department of organisation {organisation!r}",
            field="department",
        )
