"""Onboarding without a shell: sign-in at the identity provider, invitations, and
registration requests that an organisation admin approves (:mod:`ledger.onboarding`).

An approval is no endpoint of its own: the admin signs ``IdentityRegistered`` (one, or
a batch for many) in their browser and submits it to ``POST /statements`` or
``POST /statements/batch``; the request then reads as ``approved``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.catalogue import DEPARTMENT_RE, SLUG_RE
from ledger.notifications import registration_notices
from ledger.onboarding import (
    RegistrationRequest,
    admin_scope,
    check_department,
    check_new_person_id,
    verify_registration_request,
)
from ledger.people_import import (
    contact_addresses,
    parse_people_csv,
    plan_people_import,
    statement_specs,
)
from projections.notices import remember_addresses

from ..context import AppContext
from ..deps import Ctx, CurrentSession, client_address
from ..errors import ApiError, problem_responses
from ..oidc import OidcClient
from ..onboarding import ONBOARDING_COOKIE, Voucher
from ..onboarding_views import (
    InvitationOut,
    RegistrationOut,
    invitation_out,
    registration_out,
    signed_in,
    suggested_person,
    waiting_registrations,
)
from ..ratelimit import charged_on_refusal

__all__ = ["admin_organisations", "router"]

router = APIRouter(tags=["onboarding"])

OIDC_STATE_COOKIE = "trackrecord_oidc_state"
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistrationIn(_In):
    """A registration request signed in the newcomer's browser (purpose ``registration``
    over the JCS form of ``{display_name, ledger, person, public_key}``)."""

    person: str = Field(max_length=64)
    display_name: str = Field(max_length=200)
    public_key: str = Field(max_length=44)
    signature: str = Field(max_length=88)
    #: the token of an invitation link; without it, the sign-in (onboarding cookie) vouches
    invitation: str | None = Field(default=None, max_length=64)
    #: ``rekey``: the person is registered and lost their key (an admin re-key)
    kind: Literal["register", "rekey"] = "register"


class InvitationIn(_In):
    organisation: str = Field(pattern=SLUG_RE)
    department: str = Field(pattern=DEPARTMENT_RE)
    #: fix the person id (e.g. the HR number); else the newcomer chooses it
    person: str | None = Field(default=None, pattern=SLUG_RE)
    display_name: str | None = Field(default=None, min_length=1, max_length=200)


class OnboardingOut(BaseModel):
    """The newcomer signed in at the identity provider, and their request if filed."""

    issuer: str
    email: str | None
    name: str | None
    suggested_person: str | None
    organisation: str
    registration: RegistrationOut | None


def admin_organisations(ctx: AppContext, person: str) -> frozenset[str] | None:
    """The organisations ``person`` administers (None: all, the operator); a 403
    ``not_admin`` problem for anyone who administers none."""
    scope = admin_scope(ctx.state(), person)
    if scope is not None and not scope:
        raise ApiError(403, "not_admin", f"{person} is not an organisation admin")
    return scope


def _require_admin_of(ctx: AppContext, person: str, organisation: str) -> None:
    scope = admin_organisations(ctx, person)
    if scope is not None and organisation not in scope:
        raise ApiError(
            403, "not_admin", f"{person} is not an admin of organisation {organisation!r}"
        )


def _oidc(ctx: AppContext) -> OidcClient:
    if ctx.oidc is None:
        raise ApiError(
            404, "no_identity_provider", "no identity provider is configured: use an invitation"
        )
    return ctx.oidc


def public_url(request: Request, ctx: AppContext, name: str, **params: str) -> str:
    """The absolute URL of route ``name`` as the browser reaches it: by the ``Host`` the
    proxy passes, over HTTPS when the service is behind it (``secure_cookies``)."""
    url = request.url_for(name, **params)
    return str(url.replace(scheme="https") if ctx.config.secure_cookies else url)


def _callback_url(request: Request, ctx: AppContext) -> str:
    return public_url(request, ctx, "oidc_callback")


@router.get("/auth/oidc/login", status_code=303, responses=problem_responses(404, 503))
def oidc_login(request: Request, ctx: Ctx) -> RedirectResponse:
    """Start signing in at the organisation's identity provider (code flow with PKCE)."""
    start = _oidc(ctx).start(_callback_url(request, ctx))
    ctx.onboarding.begin_login(start)
    response = RedirectResponse(start.url, status_code=303)
    response.set_cookie(
        OIDC_STATE_COOKIE, start.state, max_age=600, httponly=True, samesite="lax",
        secure=ctx.config.secure_cookies, path="/auth/oidc",
    )  # fmt: skip
    return response


@router.get(
    "/auth/oidc/callback",
    name="oidc_callback",
    status_code=303,
    responses=problem_responses(400, 401, 404, 503),
)
def oidc_callback(
    request: Request,
    ctx: Ctx,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    """Where the identity provider returns the browser: verify, then back to /employee."""
    client = _oidc(ctx)
    if error is not None:
        raise ApiError(401, "oidc_failed", f"the identity provider answered {error!r}")
    if not code or not state:
        raise ApiError(400, "oidc_failed", "the identity provider sent no code and state")
    if request.cookies.get(OIDC_STATE_COOKIE) != state:
        raise ApiError(401, "oidc_failed", "this sign-in was not started in this browser")
    nonce, verifier = ctx.onboarding.take_login(state)
    identity = client.finish(
        code=code, redirect_uri=_callback_url(request, ctx), code_verifier=verifier, nonce=nonce
    )
    token = ctx.onboarding.open_onboarding(identity)
    response = RedirectResponse("/employee", status_code=303)
    response.delete_cookie(OIDC_STATE_COOKIE, path="/auth/oidc")
    # Lax, not Strict: the browser arrives here from the provider's site.
    response.set_cookie(
        ONBOARDING_COOKIE, token, max_age=3600, httponly=True, samesite="lax",
        secure=ctx.config.secure_cookies, path="/",
    )  # fmt: skip
    return response


@router.get("/auth/onboarding", responses=problem_responses(401, 404))
def onboarding(request: Request, ctx: Ctx) -> OnboardingOut:
    """Who signed in at the identity provider in this browser, and their request."""
    provider = _oidc(ctx).provider
    identity = signed_in(request, ctx)
    if identity is None:
        raise ApiError(401, "unauthenticated", "not signed in at the identity provider")
    filed = ctx.onboarding.registration_of(identity)
    return OnboardingOut(
        issuer=identity.issuer,
        email=identity.email,
        name=identity.name,
        suggested_person=suggested_person(identity),
        organisation=provider.organisation,
        registration=None if filed is None else registration_out(filed, ctx.state()),
    )


@router.delete("/auth/onboarding", status_code=204)
def leave_onboarding(request: Request, ctx: Ctx) -> Response:
    """Forget the sign-in at the identity provider in this browser."""
    token = request.cookies.get(ONBOARDING_COOKIE)
    if token:
        ctx.onboarding.close_onboarding(token)
    response = Response(status_code=204)
    response.delete_cookie(ONBOARDING_COOKIE, path="/")
    return response


def _voucher(request: Request, ctx: AppContext, body: RegistrationIn) -> Voucher:
    if body.invitation is not None:
        invitation = ctx.onboarding.invitation(body.invitation)
        if invitation.person is not None and invitation.person != body.person:
            raise ApiError(
                422, "not_invited", f"this invitation is for {invitation.person}, not {body.person}"
            )
        return Voucher(invitation.organisation, invitation.department, invitation=invitation)
    identity = signed_in(request, ctx)
    if identity is None or ctx.oidc is None:
        raise ApiError(
            401,
            "unauthenticated",
            "a registration request needs a sign-in at the identity provider or an invitation",
        )
    return Voucher(ctx.oidc.provider.organisation, identity=identity)


@router.post("/registrations", status_code=201, responses=problem_responses(401, 409, 410, 422))
def file_registration(body: RegistrationIn, request: Request, ctx: Ctx) -> RegistrationOut:
    """File a registration request for an admin to approve (a sign-in or invitation vouches)."""
    with charged_on_refusal(ctx.refusals, client_address(request)):
        voucher = _voucher(request, ctx, body)
        wanted = RegistrationRequest(
            body.person, body.display_name, body.public_key, body.signature, body.kind
        )
        state = ctx.state()
        verify_registration_request(state=state, ledger=ctx.log.origin, request=wanted)
        if wanted.kind == "rekey":  # for the admins of the organisation the person is in now
            person = state.people[wanted.person]
            voucher = dataclasses.replace(
                voucher, organisation=person.organisation, department=person.department
            )
        notices = (
            registration_notices(state, voucher.organisation, wanted.person)
            if ctx.notifier is not None
            else []
        )
        pending = ctx.onboarding.file(wanted, voucher, notices=notices)
    return registration_out(pending, state)


@router.get("/registrations", responses=problem_responses(401, 403))
def pending_registrations(session: CurrentSession, ctx: Ctx) -> list[RegistrationOut]:
    """The requests waiting in the organisations I administer, oldest first (admins only)."""
    scope = admin_organisations(ctx, session.person)
    return waiting_registrations(ctx, ctx.state(), scope, withdraw=True)


@router.delete(
    "/registrations/{registration_id}", status_code=204, responses=problem_responses(401, 403, 404)
)
def refuse_registration(
    registration_id: Annotated[str, Path(pattern=_UUID)], session: CurrentSession, ctx: Ctx
) -> Response:
    """Refuse a waiting request (admins of its organisation only)."""
    pending = ctx.onboarding.registration(registration_id)
    if pending is None:
        raise ApiError(404, "not_found", f"no registration request {registration_id}")
    _require_admin_of(ctx, session.person, pending.organisation)
    ctx.onboarding.withdraw([registration_id])
    return Response(status_code=204)


@router.post("/invitations", status_code=201, responses=problem_responses(401, 403, 422))
def invite(
    body: InvitationIn, request: Request, session: CurrentSession, ctx: Ctx
) -> InvitationOut:
    """Create a one-time, expiring invitation link (admins of the organisation only)."""
    _require_admin_of(ctx, session.person, body.organisation)
    check_department(body.organisation, body.department)
    if body.person is not None:
        check_new_person_id(body.person)
    invitation, token = ctx.onboarding.invite(
        organisation=body.organisation,
        department=body.department,
        person=body.person,
        display_name=body.display_name,
        created_by=session.person,
        ttl=ctx.config.invitation_ttl,
    )
    link = public_url(request, ctx, "join", token=token)
    return invitation_out(invitation, link)


@router.get("/invitations", responses=problem_responses(401, 403))
def open_invitations(session: CurrentSession, ctx: Ctx) -> list[InvitationOut]:
    """The unused, unexpired invitations of the organisations I administer (admins only)."""
    scope = admin_organisations(ctx, session.person)
    return [invitation_out(i) for i in ctx.onboarding.invitations(scope)]


class ImportRowOut(BaseModel):
    line: int
    person: str
    actions: list[str]
    details: list[str]
    #: the statements to sign, as the admin's browser signs them (type, subject, body,
    #: personal fields)
    statements: list[dict[str, Any]]


class ImportPlanOut(BaseModel):
    """What importing an HR file does, row by row (docs/people-import.md); nothing is
    written: the admin's browser signs the statements and appends them in batches."""

    counts: dict[str, int]
    refused: int
    rows: list[ImportRowOut]


async def _csv_body(request: Request) -> bytes:
    """The request's body as sent: an HR export (CSV), parsed by the endpoint."""
    return await request.body()


#: an HR export uploaded as the body (text/csv); read as sent, parsed by the endpoint
CsvBody = Annotated[bytes, Depends(_csv_body)]
_CSV_UPLOAD: dict[str, Any] = {
    "responses": problem_responses(401, 403, 413, 422),
    "openapi_extra": {"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
}


@router.post("/people-import/plan", **_CSV_UPLOAD)
def plan_people_import_upload(ctx: Ctx, session: CurrentSession, data: CsvBody) -> ImportPlanOut:
    """Plan the import of an HR export (CSV) as me (admins only); writes nothing."""
    me = session.person
    admin_organisations(ctx, me)  # 403 not_admin for anyone who administers nothing
    state = ctx.state()
    plans = plan_people_import(state, parse_people_csv(data), admin=state.people[me])
    counts = dict.fromkeys(
        ("register", "transfer", "grant", "unchanged", "awaits_key", "refused"), 0
    )
    rows = []
    for plan in plans:
        for action in plan.actions:
            counts[action] += 1
        if plan.actions != ("unchanged",):
            specs = [spec.as_json() for spec in statement_specs(plan)]
            rows.append(ImportRowOut(**plan.as_json(), statements=specs))
    return ImportPlanOut(counts=counts, refused=counts["refused"], rows=rows)


class AddressesOut(BaseModel):
    """How many e-mail addresses of an HR file were kept for notifications."""

    kept: int


@router.post("/people-import/addresses", **_CSV_UPLOAD)
def keep_people_import_addresses(ctx: Ctx, session: CurrentSession, data: CsvBody) -> AddressesOut:
    """Keep the e-mail addresses of an HR export (CSV) for e-mail notifications, for the
    people registered in the organisations I administer (admins only; after the import's
    statements are appended). The addresses are not part of the ledger."""
    scope = admin_organisations(ctx, session.person)
    pairs = contact_addresses(ctx.state(), parse_people_csv(data), scope=scope)
    return AddressesOut(kept=remember_addresses(ctx.read_models.projector.engine, pairs))
