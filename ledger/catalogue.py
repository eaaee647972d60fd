"""The event catalogue of DESIGN.md §5: one typed body per statement type.

Each statement type names the kind of stream it belongs to, the model of its
clear (non-personal) body fields and its personal fields. Personal fields never
appear in the signed body: the body carries ``commitments``, a map from field
name to the salted digest of its disclosure (see :mod:`ledger.disclosures`).

Bodies are validated strictly: no unknown fields, no type coercion, bounded
lengths. ``validate_body`` turns validation failures into
:class:`~ledger.errors.MalformedInput` with a precise rule code.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from pydantic import ValidationError as _PydanticValidationError

from .errors import MalformedInput

__all__ = [
    "CATALOGUE",
    "DEPARTMENT_RE",
    "GRADE_MAX",
    "GRADE_MIN",
    "MAX_ORIGIN_LENGTH",
    "RESERVED_PERSON_IDS",
    "RULES_VERSION",
    "SLUG_RE",
    "EndorserRole",
    "ErasureBasis",
    "Part",
    "PersonalField",
    "Ring",
    "Role",
    "StatementType",
    "StreamKind",
    "Visibility",
    "origin_problem",
    "statement_type",
    "validate_body",
]

GRADE_MIN, GRADE_MAX = 1, 5
#: the rule set a ledger begun now keeps, named by its genesis (``IdentityRegistered.rules``):
#: 2 — endorsements need evidence of their role and of reading the work (docs/rules.md §4.1)
RULES_VERSION = 2
SLUG_RE = r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$"
#: person ids a new registration may not take (``reserved_id``, docs/rules.md §4): words the
#: service's addresses use where a person id goes, so that a person named so could never be
#: reached there (``GET /people/search`` is the people search, not ``/people/{person}``)
RESERVED_PERSON_IDS: frozenset[str] = frozenset({"search"})
DEPARTMENT_RE = r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?/[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$"
SKILL_RE = r"^[a-z0-9][a-z0-9-]{0,47}$"
HEX64_RE = r"^[0-9a-f]{64}$"
B64_32_RE = r"^[A-Za-z0-9+/]{43}=$"
KEY_ID_RE = r"^ed25519:[0-9a-f]{32}$"
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
B64_64_RE = r"^[A-Za-z0-9+/]{86}==$"
MAX_ORIGIN_LENGTH = 255


def origin_problem(value: object) -> str | None:
    """Why ``value`` cannot name a ledger (a checkpoint origin: non-empty, printable, no
    white space, no ``+``, at most 255 characters), or None if it can."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > MAX_ORIGIN_LENGTH:
        return f"must be at most {MAX_ORIGIN_LENGTH} characters"
    if any(c.isspace() or c == "+" or not c.isprintable() for c in value):
        return "must be printable, without spaces or '+'"
    return None


class StreamKind(enum.StrEnum):
    """The three kinds of stream; a statement's stream is ``"<kind>/<subject>"``."""

    IDENTITY = "identity"
    RECORD = "record"
    ASSIGNMENT = "assignment"


class Part(enum.StrEnum):
    """The four parts of the portfolio (DESIGN.md §1)."""

    DOSSIER = "dossier"
    ANALYTICAL = "analytical"
    AMBITIONS = "ambitions"
    FREE = "free"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    ON_REQUEST = "on_request"
    PRIVATE = "private"


class EndorserRole(enum.StrEnum):
    MANAGER = "manager"
    PEER = "peer"
    CLIENT = "client"


class Role(enum.StrEnum):
    """Roles granted by ``RoleGranted``: manager of a department, admin of an organisation."""

    MANAGER = "manager"
    ADMIN = "admin"


class Ring(enum.StrEnum):
    """How far an assignment is searched for candidates (DESIGN.md §1)."""

    DEPARTMENT = "department"
    ORGANISATION = "organisation"
    GOVERNMENT = "government"


class ContributionKind(enum.StrEnum):
    WORK = "work"
    PROJECT = "project"
    DIPLOMA = "diploma"
    CERTIFICATE = "certificate"
    COURSE = "course"
    PUBLICATION = "publication"
    OTHER = "other"


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    PARTLY_DELIVERED = "partly_delivered"
    NOT_DELIVERED = "not_delivered"


class RevocationReason(enum.StrEnum):
    COMPROMISED = "compromised"
    LOST = "lost"
    RETIRED = "retired"


class ErasureBasis(enum.StrEnum):
    """Why a person's personal content is erased (``PersonErased``)."""

    REQUEST = "request"  # the person asked for it (GDPR/AVG art. 17)
    RETENTION = "retention"  # the retention period of the record ended (Archiefwet)


def _iso_date(value: str) -> str:
    try:
        _dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD") from exc
    return value


Slug = Annotated[str, StringConstraints(pattern=SLUG_RE)]
Department = Annotated[str, StringConstraints(pattern=DEPARTMENT_RE)]
Skill = Annotated[str, StringConstraints(pattern=SKILL_RE)]
Skills = Annotated[list[Skill], Field(max_length=20)]
Hex64 = Annotated[str, StringConstraints(pattern=HEX64_RE)]
PublicKeyB64 = Annotated[str, StringConstraints(pattern=B64_32_RE)]
KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_RE)]
StatementRef = Annotated[str, StringConstraints(pattern=UUID_RE)]
IsoDate = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_iso_date)
]
Hours = Annotated[StrictInt, Field(ge=1, le=40)]
SignatureB64 = Annotated[str, StringConstraints(pattern=B64_64_RE)]


def _origin(value: str) -> str:
    problem = origin_problem(value)
    if problem is not None:
        raise ValueError(f"an origin {problem}")
    return value


Origin = Annotated[str, AfterValidator(_origin)]
Commitments = dict[str, Hex64]


class _Body(BaseModel):
    # Lax mode so enum fields take their JSON string values; every int is a StrictInt
    # (no "5" -> 5, no True -> 1) and pydantic never turns a number into a str.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    commitments: Commitments = Field(default_factory=dict)


class IdentityRegisteredBody(_Body):
    public_key: PublicKeyB64
    organisation: Slug
    department: Department
    next_key_digest: Hex64 | None = None
    # genesis only: the rule set the ledger keeps (docs/rules.md §4.1); absent: 1
    rules: Annotated[StrictInt, Field(ge=1, le=RULES_VERSION)] | None = None


class KeyRotatedBody(_Body):
    public_key: PublicKeyB64
    next_key_digest: Hex64 | None = None


class KeyRevokedBody(_Body):
    key_id: KeyId
    reason: RevocationReason


class RoleBody(_Body):
    role: Role
    scope: Annotated[str, StringConstraints(max_length=129)]


class IdentityLinkedBody(_Body):
    origin: Origin
    public_key: PublicKeyB64
    countersigner: KeyId
    countersignature: SignatureB64


class EmployeeTransferredBody(_Body):
    organisation: Slug
    department: Department


class TransferConsentedBody(_Body):
    organisation: Slug
    department: Department


class EmployeeLeftBody(_Body):
    destination: Origin


class Period(BaseModel):
    # Lax mode so enum fields take their JSON string values; every int is a StrictInt
    # (no "5" -> 5, no True -> 1) and pydantic never turns a number into a str.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    start: IsoDate
    end: IsoDate | None = None


class ContributionClaimedBody(_Body):
    part: Part
    kind: ContributionKind
    skills: Skills
    period: Period
    evidence_sha256: Hex64 | None = None


class ContributionWithdrawnBody(_Body):
    contribution: StatementRef


class EndorsementGivenBody(_Body):
    contribution: StatementRef
    grade: StrictInt  # range checked by the rules with its own code (bad_grade)
    role: EndorserRole
    request: StatementRef | None = None  # the ReviewRequested this endorsement answers


class EndorsementRevokedBody(_Body):
    endorsement: StatementRef


class Reviewer(BaseModel):
    """One person a review request asks, and the role they are asked to review in."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    person: Slug
    role: EndorserRole


class ReviewRequestedBody(_Body):
    contribution: StatementRef
    reviewers: Annotated[list[Reviewer], Field(min_length=1, max_length=20)]


class AmbitionStatedBody(_Body):
    skills: Skills


class VisibilityChangedBody(_Body):
    part: Part
    visibility: Visibility


class AssignmentPostedBody(_Body):
    organisation: Slug
    department: Department
    skills: Annotated[list[Skill], Field(min_length=1, max_length=20)]
    hours_per_week: Hours
    ring: Ring
    starts: IsoDate | None = None
    ends: IsoDate | None = None


class AssignmentAppliedBody(_Body):
    hours_per_week: Hours


class AssignmentAssignedBody(_Body):
    assignee: Slug


class AssignmentCompletedBody(_Body):
    assignee: Slug
    outcome: Outcome
    grade: StrictInt  # range checked by the rules with its own code (bad_grade)


class AssignmentCancelledBody(_Body):
    pass


class PersonErasedBody(_Body):
    basis: ErasureBasis


class AccessRequestedBody(_Body):
    part: Part


class AccessGrantedBody(_Body):
    viewer: Slug
    part: Part
    request: StatementRef | None = None
    until: IsoDate | None = None


class AccessRefusedBody(_Body):
    request: StatementRef


class AccessRevokedBody(_Body):
    grant: StatementRef


@dataclass(frozen=True)
class PersonalField:
    """A personal field: committed in the signed body, disclosed beside it."""

    name: str
    max_length: int
    required: bool = False


@dataclass(frozen=True)
class StatementType:
    """One entry of the catalogue."""

    name: str
    stream_kind: StreamKind
    body_model: type[_Body]
    personal: tuple[PersonalField, ...] = ()

    @functools.cached_property
    def personal_names(self) -> frozenset[str]:
        # Cached: asked for every statement parsed (7 µs a time when rebuilt).
        return frozenset(p.name for p in self.personal)


_I, _R, _A = StreamKind.IDENTITY, StreamKind.RECORD, StreamKind.ASSIGNMENT
_TITLE = PersonalField("title", 200, required=True)
_DESCRIPTION = PersonalField("description", 5000)
_REASON = PersonalField("reason", 1000)

CATALOGUE: dict[str, StatementType] = {
    t.name: t
    for t in (
        StatementType(
            "IdentityRegistered",
            _I,
            IdentityRegisteredBody,
            (PersonalField("display_name", 200, required=True),),
        ),
        StatementType("KeyRotated", _I, KeyRotatedBody),
        StatementType("KeyRevoked", _I, KeyRevokedBody, (_REASON,)),
        StatementType("RoleGranted", _I, RoleBody),
        StatementType("RoleRevoked", _I, RoleBody),
        StatementType("EmployeeTransferred", _I, EmployeeTransferredBody),
        StatementType("TransferConsented", _I, TransferConsentedBody),
        StatementType("EmployeeLeft", _I, EmployeeLeftBody),
        StatementType("IdentityLinked", _I, IdentityLinkedBody),
        StatementType("PersonErased", _I, PersonErasedBody),
        StatementType(
            "ContributionClaimed",
            _R,
            ContributionClaimedBody,
            (_TITLE, _DESCRIPTION, PersonalField("evidence_link", 2000)),
        ),
        StatementType("ContributionWithdrawn", _R, ContributionWithdrawnBody, (_REASON,)),
        StatementType(
            "EndorsementGiven", _R, EndorsementGivenBody, (PersonalField("comment", 5000),)
        ),
        StatementType("EndorsementRevoked", _R, EndorsementRevokedBody, (_REASON,)),
        StatementType(
            "ReviewRequested", _R, ReviewRequestedBody, (PersonalField("message", 1000),)
        ),
        StatementType(
            "AmbitionStated",
            _R,
            AmbitionStatedBody,
            (PersonalField("goal", 2000, required=True), PersonalField("courses", 2000)),
        ),
        StatementType("VisibilityChanged", _R, VisibilityChangedBody),
        StatementType(
            "AccessRequested", _R, AccessRequestedBody, (PersonalField("message", 1000),)
        ),
        StatementType("AccessGranted", _R, AccessGrantedBody),
        StatementType("AccessRefused", _R, AccessRefusedBody, (_REASON,)),
        StatementType("AccessRevoked", _R, AccessRevokedBody, (_REASON,)),
        StatementType("AssignmentPosted", _A, AssignmentPostedBody, (_TITLE, _DESCRIPTION)),
        StatementType(
            "AssignmentApplied", _A, AssignmentAppliedBody, (PersonalField("motivation", 2000),)
        ),
        StatementType("AssignmentAssigned", _A, AssignmentAssignedBody),
        StatementType(
            "AssignmentCompleted",
            _A,
            AssignmentCompletedBody,
            (PersonalField("outcome_note", 2000),),
        ),
        StatementType("AssignmentCancelled", _A, AssignmentCancelledBody, (_REASON,)),
    )
}

_SUBJECT_RE = {
    StreamKind.IDENTITY: re.compile(SLUG_RE),
    StreamKind.RECORD: re.compile(SLUG_RE),
    StreamKind.ASSIGNMENT: re.compile(UUID_RE),
}


def describe(value: Any, limit: int = 64) -> str:
    """A short, safe rendering of a refused value for an error message: never the whole of
    a huge value, never a recursive ``repr`` of a deeply nested one."""
    if isinstance(value, str):
        return repr(value[:limit]) + ("…" if len(value) > limit else "")
    if value is None or isinstance(value, bool | int):
        return repr(value) if len(repr(value)) <= limit else f"a {len(str(value))}-digit integer"
    return f"a JSON {type(value).__name__}"


def statement_type(name: Any) -> StatementType:
    """Return the catalogue entry for ``name``; raise ``MalformedInput(unknown_type)``."""
    if not isinstance(name, str) or name not in CATALOGUE:
        raise MalformedInput(
            f"unknown statement type {describe(name)}; known: {', '.join(sorted(CATALOGUE))}",
            code="unknown_type",
            field="type",
        )
    return CATALOGUE[name]


def check_subject(kind: StreamKind, subject: Any) -> str:
    """Return ``subject`` if it is a valid subject for a stream of ``kind``."""
    if not isinstance(subject, str) or not _SUBJECT_RE[kind].fullmatch(subject):
        expected = "an assignment UUID" if kind is StreamKind.ASSIGNMENT else "a person id (slug)"
        raise MalformedInput(
            f"subject {describe(subject)} is not {expected}", code="bad_subject", field="subject"
        )
    return subject


_PYDANTIC_CODES = {
    "extra_forbidden": "unknown_field",
    "missing": "missing_field",
    "string_too_long": "too_long",
    "too_long": "too_long",
}


def validate_body(st: StatementType, body: Any) -> _Body:
    """Validate a clear body for ``st``; raise :class:`MalformedInput` with a rule code.

    Also checks that ``commitments`` names exactly the personal fields of the
    type (all required ones, no unknown ones).
    """
    if not isinstance(body, dict):
        raise MalformedInput("body must be a JSON object", field="body")
    try:
        model = st.body_model.model_validate(body)
    except _PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        code = _PYDANTIC_CODES.get(err["type"], "malformed")
        if code == "unknown_field":
            message = f"{st.name} body has an unknown field {loc!r}"
        else:
            message = f"{st.name} body field {loc!r}: {err['msg']}"
        raise MalformedInput(message, code=code, field=f"body.{loc}") from None
    names = st.personal_names
    for name in model.commitments:
        if name not in names:
            raise MalformedInput(
                f"{st.name} has no personal field {describe(name)} to commit to",
                code="unknown_field",
                field=f"body.commitments.{name}",
            )
    for p in st.personal:
        if p.required and p.name not in model.commitments:
            raise MalformedInput(
                f"{st.name} requires the personal field {p.name!r}",
                code="missing_field",
                field=f"body.commitments.{p.name}",
            )
    return model
