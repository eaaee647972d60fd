"""Request and response bodies of the HTTP API; the examples shown in ``/docs`` are in
:mod:`api.examples`.

Submissions are parsed by the ledger (:func:`ledger.statement.parse_signed_statement`),
not by these models: they only describe the shape for OpenAPI and accept any
JSON object, so a refusal names the ledger's own rule code.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from . import examples

__all__ = [
    "CHECKPOINT_MEDIA_TYPE",
    "Accepted",
    "AccessGrantOut",
    "AccessOut",
    "AccessRequestOut",
    "AssignmentMatchOut",
    "AssignmentOut",
    "AuditJob",
    "BatchSubmission",
    "BundleVerification",
    "CandidateOut",
    "ChallengeOut",
    "CheckpointOut",
    "ConsistencyProof",
    "EntryOut",
    "ImportOut",
    "ImportedCompletionOut",
    "ImportedContributionOut",
    "ImportedEndorsementOut",
    "ImportedPartOut",
    "ImportedRecordOut",
    "InclusionProof",
    "KeyOut",
    "LogInfo",
    "Page",
    "PeopleSearchOut",
    "PersonFoundOut",
    "PersonOut",
    "PortfolioOut",
    "Problem",
    "ReasonOut",
    "ReputationOut",
    "RoleOut",
    "SessionIn",
    "SessionOut",
    "SkillScore",
    "Submission",
]

CHECKPOINT_MEDIA_TYPE = "text/x.c2sp-checkpoint; charset=utf-8"
"""Media type of a signed checkpoint note (an unregistered ``x.`` type, RFC 6838 §3.4:
C2SP names none); served by the log's and the witness's checkpoint endpoints."""

T = TypeVar("T")


class Submission(BaseModel):
    """A signed statement as a client submits it: ``{statement, signature, disclosures}``.

    ``signature`` is standard base64 of the Ed25519 signature over
    ``"trackrecord:v1:statement" || 0x00 || JCS(statement)``; ``disclosures`` are the
    ``[salt, field, value]`` arrays whose digests the statement commits to
    (docs/entry.md). The statement names the ledger it is for (``ledger``, this
    ledger's origin, ``GET /log``); one addressed elsewhere is refused
    (``wrong_ledger``).
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": examples.SUBMISSION})

    statement: dict[str, Any]
    signature: str
    disclosures: list[Any] = Field(default_factory=list)


class BatchSubmission(BaseModel):
    """Statements appended atomically, in order: all are accepted or none."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.BATCH_SUBMISSION})

    statements: list[Submission] = Field(min_length=1, max_length=1000)


class Accepted(BaseModel):
    """Where an accepted statement landed in the log."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.ACCEPTED})

    log_index: int
    stream: str
    seq: int
    entry_hash: str
    statement_id: str
    recorded_at: str


class EntryOut(BaseModel):
    """An entry of the log as this viewer may see it.

    ``entry`` is the entry JSON (``{stream, seq, prev, statement, signature,
    recorded_at}``, docs/entry.md) or null when withheld; ``entry_hash`` is
    always given, so hash chains and Merkle proofs check either way.
    ``disclosures`` are the personal fields the viewer may read;
    ``withheld_fields`` names the committed fields not disclosed to them.
    """

    model_config = ConfigDict(json_schema_extra={"examples": examples.ENTRY})

    log_index: int | None
    stream: str
    seq: int
    entry_hash: str
    entry: dict[str, Any] | None
    disclosures: list[list[str]]
    withheld_fields: list[str]
    withheld: str | None = None


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next page (null: done)."""

    items: list[T]
    next_cursor: str | None


class RoleOut(BaseModel):
    """A role a person holds: manager of a department, admin of an organisation."""

    role: str
    scope: str


class KeyOut(BaseModel):
    """One of a person's keys and the log interval in which it may sign."""

    key_id: str
    public_key: str
    valid_from: int
    retired_at: int | None
    revoked: bool


class PersonOut(BaseModel):
    """A registered person: their key history and, when the caller may see their directory
    entry (``directory``: ``shown``), their name, where they work and their roles; for a
    caller without a session only if they made their dossier public (docs/privacy.md §9)."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.PERSON})

    id: str
    display_name: str | None
    organisation: str | None
    department: str | None
    roles: list[RoleOut]
    current_key: str | None
    keys: list[KeyOut]
    registered_at: int
    #: the ledger (origin) the person left this one for (``EmployeeLeft``), or null
    left_for: str | None = None
    #: whether the directory entry is ``shown`` to this caller or ``withheld`` (null fields)
    directory: Literal["shown", "withheld"] = "shown"


class AccessRequestOut(BaseModel):
    """A viewer's request to read a part of an owner's portfolio, and its answer
    (``null`` while open). ``message`` is the request's personal field."""

    id: str
    owner: str
    viewer: str
    part: str
    answer: Literal["granted", "refused"] | None
    message: str | None
    log_index: int | None


class ReviewRequestOut(BaseModel):
    """A review request addressed to the reviewer: whose contribution, in which role they
    are asked, and the contribution's text, which the request lets them read (``null``
    where erased or withheld). ``endorsement``: the reviewer's active endorsement of it
    (``null`` until they answer)."""

    id: str
    owner: str
    contribution: str
    role: Literal["manager", "peer", "client"]
    title: str | None
    description: str | None
    evidence_link: str | None
    skills: list[str]
    part: str
    message: str | None
    endorsement: str | None
    log_index: int | None


class ReviewRequestsOut(BaseModel):
    """The review requests naming ``reviewer``, newest first (at most 50)."""

    reviewer: str
    requests: list[ReviewRequestOut]


class AccessGrantOut(BaseModel):
    """An owner's grant of one part to one viewer; ``active``: it gives access today
    (not revoked, not past ``until``, the last day, UTC)."""

    id: str
    owner: str
    viewer: str
    part: str
    until: str | None
    revoked: bool
    active: bool
    log_index: int | None


class AccessOut(BaseModel):
    """Access on request to one person's portfolio: the requests made to them and the
    grants they gave — all of them for the person, a viewer's own for anyone else."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.ACCESS})

    person: str
    viewer: str
    requests: list[AccessRequestOut]
    grants: list[AccessGrantOut]


class CheckpointOut(BaseModel):
    """A signed checkpoint of the log, parsed; ``note`` is the C2SP signed note text."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.CHECKPOINT})

    origin: str
    size: int
    root_hash: str
    time: str | None
    note: str


class LogInfo(BaseModel):
    """The log now: its size, origin and latest signed checkpoint size."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.LOG_INFO})

    origin: str | None
    size: int
    latest_checkpoint: int | None


class InclusionProof(BaseModel):
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` (base64 hashes)."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.INCLUSION_PROOF})

    index: int
    size: int
    leaf_hash: str
    root_hash: str
    hashes: list[str]


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof between tree sizes ``first <= second`` (base64 hashes)."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.CONSISTENCY_PROOF})

    first: int
    second: int
    first_root: str
    second_root: str
    hashes: list[str]


class AuditJob(BaseModel):
    """A full audit of the ledger, running or finished; ``report`` once finished."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.AUDIT_JOB})

    id: str
    status: str
    checked: int
    total: int
    report: dict[str, Any] | None


class AssignmentOut(BaseModel):
    """An assignment on the marketplace."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.ASSIGNMENT})

    id: str
    title: str | None
    owner: str
    organisation: str
    department: str
    skills: list[str]
    hours_per_week: int
    ring: str
    status: str
    assignees: list[str]
    completed: list[str]
    applicants: int
    posted_at: int | None


class ApplicantOut(BaseModel):
    """One application to an assignment, as its owner reads it."""

    person: str
    hours_per_week: int
    motivation: str | None
    status: str  # ledger.access.application_status
    applied_at: str


class ChallengeOut(BaseModel):
    """A login challenge: sign the UTF-8 bytes of ``challenge`` for purpose ``challenge``."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.CHALLENGE})

    nonce: str
    challenge: str
    expires_in: int


class SessionIn(BaseModel):
    """A signed challenge, exchanged for a session."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": examples.SESSION_IN},
    )

    key_id: str = Field(max_length=100)
    nonce: str = Field(max_length=100)
    signature: str = Field(max_length=200)


class SessionOut(BaseModel):
    """An open session: send ``Authorization: Bearer <token>`` (pages use the cookie)."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.SESSION})

    token: str | None = Field(description="the bearer token; only in the login response")
    person: str
    key_id: str
    expires_in: int


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``).

    ``code`` is the machine-readable reason: a ledger rule code (docs/rules.md) or
    one of the service's own codes (api/errors.py); further members carry evidence
    (``stream``, ``seq``, ``log_index``, ``statement_id``, ``field``).
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": examples.PROBLEM},
    )

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


class ImportedContributionOut(BaseModel):
    """A contribution claimed on the origin ledger."""

    id: str = Field(description="the id of the ContributionClaimed statement on the origin")
    title: str | None = Field(description="the title; null when withheld or erased")
    kind: str = Field(description="work, project, diploma, certificate, course, ...")
    skills: list[str]
    period_start: str = Field(description="first day (YYYY-MM-DD)")
    period_end: str | None = Field(description="last day, null while ongoing")
    withdrawn: bool = Field(description="withdrawn on the origin ledger")


class ImportedEndorsementOut(BaseModel):
    """A 360° endorsement given on the origin ledger (revoked ones are left out)."""

    id: str = Field(description="the id of the EndorsementGiven statement on the origin")
    contribution: str = Field(description="the id of the contribution endorsed")
    endorser: str = Field(description="the endorser's person id")
    endorser_name: str | None = Field(description="their display name; null when withheld")
    role: str = Field(description="manager, peer or client")
    grade: int = Field(description="1 (below expectations) … 5 (excellent)")
    comment: str | None = Field(description="the comment; null when withheld or erased")


class ImportedCompletionOut(BaseModel):
    """An assignment whose owner on the origin ledger confirmed the person completed it."""

    assignment: str = Field(description="the assignment's id on the origin")
    title: str | None = Field(description="the posting's title; null when withheld")
    outcome: str = Field(description="delivered, partly_delivered or not_delivered")
    grade: int = Field(description="1 (below expectations) … 5 (excellent)")


class ImportedPartOut(BaseModel):
    """What one portfolio part holds of an imported record; endorsements and completed
    assignments belong to the analytical part."""

    contributions: list[ImportedContributionOut]
    endorsements: list[ImportedEndorsementOut]
    assignments_completed: list[ImportedCompletionOut]


class ImportedRecordOut(BaseModel):
    """A record the person brought from another ledger, as the viewer may read it: the
    bundle verified at ``checkpoint_size`` of ``origin`` under ``verifier_key`` (the
    origin's operator key this ledger trusts). ``parts`` holds the parts the viewer may
    read *here* (the owner's visibility settings and grants on this ledger decide) that
    have something in them; the others are left out."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.IMPORTED_RECORD})

    origin: str = Field(description="the origin ledger's name (its checkpoints' origin line)")
    person: str = Field(description="whose record it is")
    checkpoint_size: int = Field(description="the size of the origin checkpoint it verified at")
    imported_at: str = Field(description="when this ledger imported it (UTC)")
    verifier_key: str = Field(description="the origin's note verifier key it verified under")
    linked_by: str | None = Field(
        default=None,
        description="how it is bound to the person here (IdentityLinked): 'key' (their last "
        "key there countersigned), else the id of the admin who countersigned because that "
        "key was lost",
    )
    parts: dict[str, ImportedPartOut] = Field(
        description="by part name (dossier, analytical, ...): only parts the viewer may read"
    )


class PortfolioOut(BaseModel):
    """An employee's portfolio as the viewer may see it: the visible parts, the names
    (with visibility) of the hidden ones, and the records brought from other ledgers
    (``imported``: the newest import of each origin, its parts under the same rule)."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.PORTFOLIO})

    person: str
    display_name: dict[str, Any]
    organisation: str | None = Field(
        description="null when withheld: a caller without a session sees who works where "
        "only for people who made their dossier public (docs/privacy.md §9)"
    )
    department: str | None
    viewer: str | None
    parts: dict[str, dict[str, Any]]
    hidden: dict[str, str]
    asked_to_review: list[dict[str, Any]] = Field(
        default_factory=list,
        description="contributions of hidden parts that a review request of the person asks "
        "the viewer to review: the request lets them read these, and nothing else of their parts",
    )
    imported: list[ImportedRecordOut] = Field(
        description="records brought from other ledgers, by origin, as the viewer may read them"
    )


class SkillScore(BaseModel):
    """A person's refreshed reputation in one skill."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.SKILL_SCORE})

    skill: str
    score: float
    weight: float
    ratings: int


class ReputationOut(BaseModel):
    """An explained reputation score: every rating with each factor of its weight."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.REPUTATION})

    person: str
    skill: str
    score: float
    weight: float
    confidence: float
    at: int
    prior_mean: float
    prior_weight: float
    standing_position: int | None
    ratings: list[dict[str, Any]]


class CandidateOut(BaseModel):
    """A ranked candidate for an assignment, with the reasons."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.CANDIDATE})

    person: str
    ring: str
    #: null when the viewer may not read every part the match is made of (``withheld``)
    score: float | None
    skills: list[dict[str, Any]]
    missing: list[str]
    available_hours: int
    reasons: list[str]
    #: the parts of the candidate's portfolio this viewer may not read: then only the
    #: candidate's place in the ranking, ring and hours are shown
    withheld: list[str] = []


class ReasonOut(BaseModel):
    """Why a match was made: a code, its values and the English text
    (:mod:`projections.matching.reasons`; the pages word it in the reader's language)."""

    code: str
    values: dict[str, Any]
    text: str


class PersonFoundOut(BaseModel):
    """A person a people search found, as far as the searcher may see them."""

    person: str
    #: department, organisation, government or beyond (evidence from another ledger)
    ring: str
    #: null when the searcher may not read every part the match is made of (``withheld``)
    score: float | None
    skills: list[dict[str, Any]]
    missing: list[str]
    available_hours: int
    reasons: list[ReasonOut]
    withheld: list[str]
    #: the page of their portfolio, which shows the parts in ``portfolio_parts``
    portfolio: str
    portfolio_parts: list[str]


class PeopleSearchOut(BaseModel):
    """A people search: the skills as searched (slugs), the hours and ring, and the
    people found, best first, ring by ring."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.PEOPLE_SEARCH})

    skills: list[str]
    hours: int
    ring: str
    found: list[PersonFoundOut]


class AssignmentMatchOut(BaseModel):
    """An open assignment that fits a person, with the reasons."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.ASSIGNMENT_MATCH})

    assignment: str
    title: str | None
    organisation: str
    department: str
    ring: str
    hours_per_week: int
    matched: list[str]
    missing: list[str]
    fit: float
    reasons: list[str]


class BundleVerification(BaseModel):
    """The verification of an uploaded bundle: the verdict, the first failure (with its
    evidence: ``code``, ``message``, ``entry_index``, ``log_index``, ``stream``, ``seq``,
    ``type``; for an entry changed after it was logged, the ``field`` altered with its
    ``logged`` and ``shown`` values when the checkpoint proves them), the report of what a
    valid bundle establishes, and each entry as the bundle shows it (``id``, ``subject``,
    the disclosed ``title``, and ``contribution``, ``grade``, ``role`` where its statement
    has them) with its status (``ok``, ``failed``, ``unchecked``)."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.BUNDLE_VERIFICATION})

    ok: bool
    failure: dict[str, Any] | None
    report: dict[str, Any] | None
    entries: list[dict[str, Any]]


class ImportOut(BaseModel):
    """An imported bundle: whose record, from which ledger, at which checkpoint."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.IMPORT})

    origin: str
    person: str
    checkpoint_size: int
    verifier_key: str
    entry_count: int
    imported_at: str
    new: bool
    report: dict[str, Any] | None = Field(
        description="the verification report (names, titles, grades): for the person the "
        "record is of only; others read what the access rule lets them in the portfolio's "
        "`imported`"
    )


class Health(BaseModel):
    """``GET /healthz``: the process is alive."""

    status: str = Field(examples=["alive"])


class ReadinessOut(BaseModel):
    """``GET /readyz``: every check ``ok``; a 503 problem document lists them otherwise."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {
                        "store": "ok",
                        "schema": "ok",
                        "signed_checkpoint": "ok",
                        "read_models": "ok",
                    },
                }
            ]
        }
    )

    status: str
    checks: dict[str, str] = Field(
        description="each check's outcome: ok, or why not (unreachable, timeout, "
        "migration_pending, rolled_back, behind)"
    )
