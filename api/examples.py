"""The examples of the request and response bodies shown in ``/docs`` (OpenAPI).

One list per model of :mod:`api.models`, named after it (``ENTRY`` for ``EntryOut``,
``SESSION_IN`` for ``SessionIn``); tests/test_api_schema.py checks that every example
validates against its model.
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

__all__ = [
    "ACCEPTED",
    "ACCESS",
    "ASSIGNMENT",
    "ASSIGNMENT_MATCH",
    "AUDIT_JOB",
    "BATCH_SUBMISSION",
    "BUNDLE_VERIFICATION",
    "CANDIDATE",
    "CHALLENGE",
    "CHECKPOINT",
    "CONSISTENCY_PROOF",
    "ENTRY",
    "EXAMPLE_SUBMISSION",
    "IMPORT",
    "IMPORTED_RECORD",
    "INCLUSION_PROOF",
    "LOG_INFO",
    "PERSON",
    "PORTFOLIO",
    "PROBLEM",
    "REPUTATION",
    "SESSION",
    "SESSION_IN",
    "SKILL_SCORE",
    "SUBMISSION",
]

EXAMPLE_SUBMISSION: dict[str, Any] = {
    "statement": {
        "type": "ContributionClaimed",
        "id": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
        "subject": "alice",
        "author": "ed25519:7775fe624eb76eea535a7ca5b439033c",
        "issued_at": "2026-11-23T14:00:00.000000Z",
        "ledger": "trackrecord.example/demo",
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
_IMPORTED_EXAMPLE: dict[str, Any] = {
    "origin": "other.example/ledger",
    "person": "alice",
    "checkpoint_size": 120,
    "imported_at": "2026-11-23T14:00:00.000000Z",
    "verifier_key": "other.example/ledger+a1b2c3d4+AW9v...",
    "linked_by": "key",
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

SUBMISSION: list[JsonValue] = [EXAMPLE_SUBMISSION]

BATCH_SUBMISSION: list[JsonValue] = [{"statements": [EXAMPLE_SUBMISSION]}]

ACCEPTED: list[JsonValue] = [
    {
        "log_index": 42,
        "stream": "record/alice",
        "seq": 3,
        "entry_hash": _HASH,
        "statement_id": "2f1c9a0e-5b7d-4c1e-9a3f-0d6e8b7c4a21",
        "recorded_at": "2026-11-23T14:00:01.123456Z",
    }
]

ENTRY: list[JsonValue] = [
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

PERSON: list[JsonValue] = [
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
        "left_for": None,
        "directory": "shown",
    }
]

ACCESS: list[JsonValue] = [
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

CHECKPOINT: list[JsonValue] = [
    {
        "origin": "trackrecord.example/demo",
        "size": 1200,
        "root_hash": _B64,
        "time": "2026-11-23T14:00:00.000000Z",
        "note": "trackrecord.example/demo\n1200\n" + _B64 + "\n...",
    }
]

LOG_INFO: list[JsonValue] = [
    {"origin": "trackrecord.example/demo", "size": 1234, "latest_checkpoint": 1200}
]

INCLUSION_PROOF: list[JsonValue] = [
    {"index": 3, "size": 8, "leaf_hash": _B64, "root_hash": _B64, "hashes": [_B64]}
]

CONSISTENCY_PROOF: list[JsonValue] = [
    {
        "first": 4,
        "second": 8,
        "first_root": _B64,
        "second_root": _B64,
        "hashes": [_B64],
    }
]

AUDIT_JOB: list[JsonValue] = [
    {"id": "3", "status": "running", "checked": 500, "total": 1200, "report": None}
]

ASSIGNMENT: list[JsonValue] = [
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

CHALLENGE: list[JsonValue] = [
    {
        "nonce": "q3V9nL0Zy2l1T8rC4a5xWm7bJkE6uH0sP1dF2gR3tYw",
        "challenge": "trackrecord:login:q3V9nL0Zy2l1T8rC4a5xWm7bJkE6uH0sP1dF2gR3tYw",
        "expires_in": 120,
    }
]

SESSION_IN: list[JsonValue] = [
    {
        "key_id": "ed25519:7775fe624eb76eea535a7ca5b439033c",
        "nonce": "q3V9nL0Zy2l1T8rC4a5xWm7bJkE6uH0sP1dF2gR3tYw",
        "signature": EXAMPLE_SUBMISSION["signature"],
    }
]

SESSION: list[JsonValue] = [
    {
        "token": "Zk9yQ2hhbGxlbmdlLXRva2VuLWV4YW1wbGUtMTIzNDU2",
        "person": "alice",
        "key_id": "ed25519:7775fe624eb76eea535a7ca5b439033c",
        "expires_in": 900,
    }
]

PROBLEM: list[JsonValue] = [
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

IMPORTED_RECORD: list[JsonValue] = [_IMPORTED_EXAMPLE]

PORTFOLIO: list[JsonValue] = [
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
        "asked_to_review": [],
        "imported": [
            {
                **_IMPORTED_EXAMPLE,
                "parts": {"dossier": _IMPORTED_EXAMPLE["parts"]["dossier"]},
            }
        ],
    }
]

SKILL_SCORE: list[JsonValue] = [{"skill": "python", "score": 3.8, "weight": 2.1, "ratings": 4}]

REPUTATION: list[JsonValue] = [
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
                    "clique": 1.0,
                    "origin": "",
                },
                "role": 1.0,
                "standing": 1.0,
                "discrimination": 1.0,
                "clique": 1.0,
                "decay": 0.99,
                "repeat": 1.0,
                "reciprocity": 1.0,
                "agreement": 1.0,
                "cycle": 1.0,
                "weight": 0.99,
            }
        ],
    }
]

CANDIDATE: list[JsonValue] = [
    {
        "person": "alice",
        "ring": "department",
        "score": 0.8,
        "skills": [
            {
                "skill": "python",
                "evidence": 2,
                "ambition": False,
                "reputation": 3.9,
                "origins": ["trackrecord.example/a"],
                "imported": 0,
                "imported_evidence": [
                    {
                        "origin": "trackrecord.example/a",
                        "part": "dossier",
                        "evidence": 1,
                        "weight": 0.5,
                    }
                ],
            }
        ],
        "missing": [],
        "available_hours": 28,
        "reasons": [
            "ring: own department (minbzk/dgo)",
            "skills: python (2× evidence, 1× evidence imported from trackrecord.example/a "
            "at trust 0.50, reputation 3.90, with ratings imported from trackrecord.example/a)",
            "available 28 of 36 h/week, 8 needed",
        ],
    }
]

PEOPLE_SEARCH: list[JsonValue] = [
    {
        "skills": ["data-analysis"],
        "hours": 8,
        "ring": "government",
        "found": [
            {
                "person": "alice",
                "ring": "department",
                "score": 0.8,
                "skills": [
                    {
                        "skill": "data-analysis",
                        "evidence": 2,
                        "ambition": False,
                        "reputation": 3.9,
                        "origins": [],
                        "imported": 0,
                    }
                ],
                "missing": [],
                "available_hours": 28,
                "reasons": [
                    {
                        "code": "ring_department",
                        "values": {"department": "minbzk/dgo"},
                        "text": "ring: own department (minbzk/dgo)",
                    },
                    {
                        "code": "hours",
                        "values": {"available": 28, "budget": 36, "needed": 8},
                        "text": "available 28 of 36 h/week, 8 needed",
                    },
                ],
                "withheld": [],
                "portfolio": "/portfolio/alice",
                "portfolio_parts": ["dossier", "free"],
            }
        ],
    }
]

ASSIGNMENT_MATCH: list[JsonValue] = [
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

BUNDLE_VERIFICATION: list[JsonValue] = [
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
                "id": "5b0e2c4a-7f31-4d8e-9c6a-1e2f3a4b5c6d",
                "subject": "alice",
                "title": None,
            }
        ],
    },
    {
        "ok": False,
        "failure": {
            "code": "bad_inclusion_proof",
            "message": "inclusion proof does not lead to the expected root",
            "entry_index": 9,
            "log_index": 17,
            "stream": "record/alice",
            "seq": 4,
            "type": "EndorsementGiven",
            "field": "grade",
            "logged": 2,
            "shown": 5,
        },
        "report": None,
        "entries": [
            {
                "log_index": 17,
                "stream": "record/alice",
                "seq": 4,
                "type": "EndorsementGiven",
                "status": "failed",
                "id": "f0e1f5a9-b40d-4135-9fa6-80f697a47906",
                "subject": "alice",
                "title": None,
                "contribution": "9a0bcef6-20a1-46e1-85f6-9f23ae39f951",
                "grade": 5,
                "role": "peer",
            }
        ],
    },
]

IMPORT: list[JsonValue] = [
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
