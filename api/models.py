"""Request and response bodies of the HTTP API, with the examples shown in ``/docs``.

Submissions are parsed by the ledger (:func:`ledger.statement.parse_signed_statement`),
not by these models: they only describe the shape for OpenAPI and accept any
JSON object, so a refusal names the ledger's own rule code.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
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
    "PersonOut",
    "PortfolioOut",
    "Problem",
    "ReputationOut",
    "RoleOut",
    "SessionIn",
    "SessionOut",
    "SkillScore",
    "Submission",
]

T = TypeVar("T")

EXAMPLE_SUBMISSION: dict[str, Any] = {
    "statement": {
        "type": "ContributionClaimed",
        "id": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
        "subject": "alice",
        "author": "ed25519:7775fe624eb76eea535a7ca5b439033c",
        "issued_at": "2026-11-23T14:00:00.000000Z",
        "body": {
            "part": "dossier",
            "kind": "work",
            "skills": ["data-analysis"],
            "period": {"start": "2026-09-01"},
            "evidence_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "commitments": {
                "title": "ed4dd79539cebc6cb22422480d40651a13c4f5e91f93e3c59974d2732069d929"
            },
        },
    },
    "signature": (
        "LJ2exx67MBdxMH0K66BqOPUTiefj/R/uDcK21pb+0y//8800uy/PodffojVhHQ1Xosb1hMn41biwUA3k4KGdAw=="
    ),
    "disclosures": [["000102030405060708090a0b0c0d0e0f", "title", "Fraud-risk dashboard"]],
}
_HASH = "3b6f4f0d9a1c2e5b8d7a6c4e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a"
_B64 = "O29PDZocLluNemxOLxoLnI1+b1pLPC0eD5qLfG1eTzo="


class Submission(BaseModel):
    """A signed statement as a client submits it: ``{statement, signature, disclosures}``.

    ``signature`` is standard base64 of the Ed25519 signature over
    ``"trackrecord:v1:statement" || 0x00 || JCS(statement)``; ``disclosures`` are the
    ``[salt, field, value]`` arrays whose digests the statement commits to
    (docs/entry.md).
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [EXAMPLE_SUBMISSION]})

    statement: dict[str, Any]
    signature: str
    disclosures: list[Any] = Field(default_factory=list)


class BatchSubmission(BaseModel):
    """Statements appended atomically, in order: all are accepted or none."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"statements": [EXAMPLE_SUBMISSION]}]}
    )

    statements: list[Submission] = Field(min_length=1, max_length=1000)


class Accepted(BaseModel):
    """Where an accepted statement landed in the log."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "log_index": 42,
                    "stream": "record/alice",
                    "seq": 3,
                    "entry_hash": _HASH,
                    "statement_id": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
                    "recorded_at": "2026-11-23T14:00:01.123456Z",
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "log_index": 42,
                    "stream": "record/alice",
                    "seq": 3,
                    "entry_hash": _HASH,
                    "entry": {
                        "stream": "record/alice",
                        "seq": 3,
                        "prev": _HASH,
                        "statement": EXAMPLE_SUBMISSION["statement"],
                        "signature": EXAMPLE_SUBMISSION["signature"],
                        "recorded_at": "2026-11-23T14:00:01.123456Z",
                    },
                    "disclosures": EXAMPLE_SUBMISSION["disclosures"],
                    "withheld_fields": [],
                    "withheld": None,
                }
            ]
        }
    )

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
    """A registered person: where they work, their roles and key history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "alice",
                    "display_name": "Alice de Vries",
                    "organisation": "minbzk",
                    "department": "minbzk/dgo",
                    "roles": [{"role": "manager", "scope": "minbzk/dgo"}],
                    "current_key": "ed25519:7775fe624eb76eea535a7ca5b439033c",
                    "keys": [
                        {
                            "key_id": "ed25519:7775fe624eb76eea535a7ca5b439033c",
                            "public_key": _B64,
                            "valid_from": 1,
                            "retired_at": None,
                            "revoked": False,
                        }
                    ],
                    "registered_at": 1,
                }
            ]
        }
    )

    id: str
    display_name: str | None
    organisation: str
    department: str
    roles: list[RoleOut]
    current_key: str | None
    keys: list[KeyOut]
    registered_at: int


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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person": "alice",
                    "viewer": "bob",
                    "requests": [
                        {
                            "id": "0b5a4c1e-3f1d-4a38-9a49-3e0e7c0f5a11",
                            "owner": "alice",
                            "viewer": "bob",
                            "part": "dossier",
                            "answer": "granted",
                            "message": "For the staffing of the housing dashboard.",
                            "log_index": 41,
                        }
                    ],
                    "grants": [
                        {
                            "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
                            "owner": "alice",
                            "viewer": "bob",
                            "part": "dossier",
                            "until": "2026-12-31",
                            "revoked": False,
                            "active": True,
                            "log_index": 42,
                        }
                    ],
                }
            ]
        }
    )

    person: str
    viewer: str
    requests: list[AccessRequestOut]
    grants: list[AccessGrantOut]


class CheckpointOut(BaseModel):
    """A signed checkpoint of the log, parsed; ``note`` is the C2SP signed note text."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "origin": "trackrecord.example/demo",
                    "size": 1200,
                    "root_hash": _B64,
                    "time": "2026-11-23T14:00:00.000000Z",
                    "note": "trackrecord.example/demo\n1200\n" + _B64 + "\n...",
                }
            ]
        }
    )

    origin: str
    size: int
    root_hash: str
    time: str | None
    note: str


class LogInfo(BaseModel):
    """The log now: its size, origin and latest signed checkpoint size."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"origin": "trackrecord.example/demo", "size": 1234, "latest_checkpoint": 1200}
            ]
        }
    )

    origin: str | None
    size: int
    latest_checkpoint: int | None


class InclusionProof(BaseModel):
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` (base64 hashes)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"index": 3, "size": 8, "leaf_hash": _B64, "root_hash": _B64, "hashes": [_B64]}
            ]
        }
    )

    index: int
    size: int
    leaf_hash: str
    root_hash: str
    hashes: list[str]


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof between tree sizes ``first <= second`` (base64 hashes)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "first": 4,
                    "second": 8,
                    "first_root": _B64,
                    "second_root": _B64,
                    "hashes": [_B64],
                }
            ]
        }
    )

    first: int
    second: int
    first_root: str
    second_root: str
    hashes: list[str]


class AuditJob(BaseModel):
    """A full audit of the ledger, running or finished; ``report`` once finished."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "3", "status": "running", "checked": 500, "total": 1200, "report": None}
            ]
        }
    )

    id: str
    status: str
    checked: int
    total: int
    report: dict[str, Any] | None


class AssignmentOut(BaseModel):
    """An assignment on the marketplace."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b0f6d6e-2c43-4b8e-9a39-6a3e2f0d9c11",
                    "title": "Data quality sprint",
                    "owner": "bob",
                    "organisation": "minbzk",
                    "department": "minbzk/dgo",
                    "skills": ["data-analysis"],
                    "hours_per_week": 8,
                    "ring": "government",
                    "status": "open",
                    "assignees": [],
                    "completed": [],
                    "applicants": 2,
                    "posted_at": 17,
                }
            ]
        }
    )

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


class ChallengeOut(BaseModel):
    """A login challenge: sign the UTF-8 bytes of ``challenge`` for purpose ``challenge``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nonce": "q3V9nL0Zy2l1T8rC4a5xWm7bJkE6uH0sP1dF2gR3tYw",
                    "challenge": "trackrecord:login:q3V9nL0Zy2l1T8rC4a5xWm7bJkE6uH0sP1dF2gR3tYw",
                    "expires_in": 120,
                }
            ]
        }
    )

    nonce: str
    challenge: str
    expires_in: int


class SessionIn(BaseModel):
    """A signed challenge, exchanged for a session."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "key_id": "ed25519:7775fe624eb76eea535a7ca5b439033c",
                    "nonce": "q3V9nL0Zy2l1T8rC4a5xWm7bJkE6uH0sP1dF2gR3tYw",
                    "signature": EXAMPLE_SUBMISSION["signature"],
                }
            ]
        },
    )

    key_id: str = Field(max_length=100)
    nonce: str = Field(max_length=100)
    signature: str = Field(max_length=200)


class SessionOut(BaseModel):
    """An open session: send ``Authorization: Bearer <token>`` (pages use the cookie)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "Zk9yQ2hhbGxlbmdlLXRva2VuLWV4YW1wbGUtMTIzNDU2",
                    "person": "alice",
                    "key_id": "ed25519:7775fe624eb76eea535a7ca5b439033c",
                    "expires_in": 900,
                }
            ]
        }
    )

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
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:trackrecord:problem:self_endorsement",
                    "title": "Refused",
                    "status": 422,
                    "detail": "alice cannot endorse their own work",
                    "code": "self_endorsement",
                    "instance": "/statements",
                    "statement_id": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
                }
            ]
        },
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


_IMPORTED_EXAMPLE: dict[str, Any] = {
    "origin": "other.example/ledger",
    "person": "alice",
    "checkpoint_size": 120,
    "imported_at": "2026-11-23T14:00:00.000000Z",
    "verifier_key": "other.example/ledger+a1b2c3d4+AW9v...",
    "parts": {
        "dossier": {
            "contributions": [
                {
                    "id": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
                    "title": "Fraud-risk dashboard",
                    "kind": "work",
                    "skills": ["data-analysis"],
                    "period_start": "2026-09-01",
                    "period_end": None,
                    "withdrawn": False,
                }
            ],
            "endorsements": [],
            "assignments_completed": [],
        },
        "analytical": {
            "contributions": [],
            "endorsements": [
                {
                    "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
                    "contribution": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
                    "endorser": "bob",
                    "endorser_name": "Bob Jansen",
                    "role": "manager",
                    "grade": 4,
                    "comment": "Clear and on time.",
                }
            ],
            "assignments_completed": [
                {
                    "assignment": "0b0f6d6e-2c43-4b8e-9a39-6a3e2f0d9c11",
                    "title": "Data migration",
                    "outcome": "delivered",
                    "grade": 4,
                }
            ],
        },
    },
}


class ImportedRecordOut(BaseModel):
    """A record the person brought from another ledger, as the viewer may read it: the
    bundle verified at ``checkpoint_size`` of ``origin`` under ``verifier_key`` (the
    origin's operator key this ledger trusts). ``parts`` holds the parts the viewer may
    read *here* (the owner's visibility settings and grants on this ledger decide) that
    have something in them; the others are left out."""

    model_config = ConfigDict(json_schema_extra={"examples": [_IMPORTED_EXAMPLE]})

    origin: str = Field(description="the origin ledger's name (its checkpoints' origin line)")
    person: str = Field(description="whose record it is")
    checkpoint_size: int = Field(description="the size of the origin checkpoint it verified at")
    imported_at: str = Field(description="when this ledger imported it (UTC)")
    verifier_key: str = Field(description="the origin's note verifier key it verified under")
    parts: dict[str, ImportedPartOut] = Field(
        description="by part name (dossier, analytical, ...): only parts the viewer may read"
    )


class PortfolioOut(BaseModel):
    """An employee's portfolio as the viewer may see it: the visible parts, the names
    (with visibility) of the hidden ones, and the records brought from other ledgers
    (``imported``: the newest import of each origin, its parts under the same rule)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person": "alice",
                    "display_name": {
                        "disclosed": {"display_name": "Alice de Vries"},
                        "withheld": [],
                    },
                    "organisation": "minbzk",
                    "department": "minbzk/dgo",
                    "viewer": None,
                    "parts": {
                        "dossier": {
                            "part": "dossier",
                            "visibility": "public",
                            "contributions": [],
                            "endorsed": [],
                            "completions": [],
                            "ambitions": [],
                            "assignments": [],
                        }
                    },
                    "hidden": {
                        "analytical": "on_request",
                        "ambitions": "private",
                        "free": "private",
                    },
                    "imported": [
                        {
                            **_IMPORTED_EXAMPLE,
                            "parts": {"dossier": _IMPORTED_EXAMPLE["parts"]["dossier"]},
                        }
                    ],
                }
            ]
        }
    )

    person: str
    display_name: dict[str, Any]
    organisation: str
    department: str
    viewer: str | None
    parts: dict[str, dict[str, Any]]
    hidden: dict[str, str]
    imported: list[ImportedRecordOut] = Field(
        description="records brought from other ledgers, by origin, as the viewer may read them"
    )


class SkillScore(BaseModel):
    """A person's refreshed reputation in one skill."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"skill": "python", "score": 3.8, "weight": 2.1, "ratings": 4}]
        }
    )

    skill: str
    score: float
    weight: float
    ratings: int


class ReputationOut(BaseModel):
    """An explained reputation score: every rating with each factor of its weight."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person": "alice",
                    "skill": "python",
                    "score": 3.62,
                    "weight": 1.4,
                    "confidence": 0.32,
                    "at": 1795000000,
                    "prior_mean": 3.0,
                    "prior_weight": 3.0,
                    "standing_position": 120,
                    "ratings": [
                        {
                            "rating": {
                                "id": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
                                "kind": "endorsement",
                                "rater": "bob",
                                "role": "manager",
                                "grade": 4,
                                "at": 1794000000,
                                "position": 17,
                                "reciprocal": False,
                            },
                            "role": 1.0,
                            "standing": 1.0,
                            "decay": 0.99,
                            "repeat": 1.0,
                            "reciprocity": 1.0,
                            "weight": 0.99,
                        }
                    ],
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person": "alice",
                    "ring": "department",
                    "score": 0.8,
                    "skills": [
                        {"skill": "python", "evidence": 2, "ambition": False, "reputation": 3.9}
                    ],
                    "missing": [],
                    "available_hours": 28,
                    "reasons": ["ring: own department (minbzk/dgo)"],
                }
            ]
        }
    )

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


class AssignmentMatchOut(BaseModel):
    """An open assignment that fits a person, with the reasons."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "assignment": "0b0f6d6e-2c43-4b8e-9a39-6a3e2f0d9c11",
                    "title": "Data quality sprint",
                    "organisation": "minbzk",
                    "department": "minbzk/dgo",
                    "ring": "department",
                    "hours_per_week": 8,
                    "matched": ["python"],
                    "missing": [],
                    "fit": 1.0,
                    "reasons": ["skills: python of 1 needed"],
                }
            ]
        }
    )

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
    evidence: ``code``, ``message``, ``entry_index``, ``log_index``, ``stream``, ``seq``),
    the report of what a valid bundle establishes, and each entry's status
    (``ok``, ``failed``, ``unchecked``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "failure": None,
                    "report": {"person": "alice", "checkpoint_size": 120, "entry_count": 14},
                    "entries": [
                        {
                            "log_index": 1,
                            "stream": "identity/alice",
                            "seq": 1,
                            "type": "IdentityRegistered",
                            "status": "ok",
                        }
                    ],
                }
            ]
        }
    )

    ok: bool
    failure: dict[str, Any] | None
    report: dict[str, Any] | None
    entries: list[dict[str, Any]]


class ImportOut(BaseModel):
    """An imported bundle: whose record, from which ledger, at which checkpoint."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "origin": "other.example/ledger",
                    "person": "alice",
                    "checkpoint_size": 120,
                    "verifier_key": "other.example/ledger+a1b2c3d4+AW9v...",
                    "entry_count": 14,
                    "imported_at": "2026-11-23T14:00:00.000000Z",
                    "new": True,
                    "report": {"person": "alice"},
                }
            ]
        }
    )

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
                    "checks": {"store": "ok", "signed_checkpoint": "ok", "read_models": "ok"},
                }
            ]
        }
    )

    status: str
    checks: dict[str, str] = Field(
        description="each check's outcome: ok, or why not (unreachable, rolled_back, behind)"
    )
