"""How the simulated people behave: the length of the year, grades, odds and sizes."""

from __future__ import annotations

__all__ = [
    "DEPARTMENT_SIZE",
    "ERASED_PER",
    "GRADES",
    "GRADE_CUM",
    "HOURS",
    "P_CLAIM",
    "P_GRANT",
    "P_POST",
    "P_REQUEST_APPLICANT",
    "P_REQUEST_MANAGER",
    "P_REVOKE_GRANT",
    "RINGS",
    "RING_WEIGHTS",
    "ROUNDS",
    "SKILL_COUNTS",
    "SKILL_COUNT_WEIGHTS",
    "TEAM_SIZE",
    "VISIBILITY",
    "VISIBILITY_WEIGHTS",
    "WORK_KINDS",
    "WORK_KIND_WEIGHTS",
]

ROUNDS = 12
"""Monthly rounds of activity (February 2025 to January 2026) after the onboarding round."""

GRADES = (1, 2, 3, 4, 5)
GRADE_CUM = {  # cumulative weights of grades 1-5 by a person's quality (-1, 0, +1)
    -1: (6, 26, 72, 96, 100),
    0: (2, 9, 47, 87, 100),
    1: (1, 4, 24, 72, 100),
}
SKILL_COUNTS, SKILL_COUNT_WEIGHTS = (2, 3, 4, 5, 6), (15, 30, 30, 15, 10)
HOURS = (4, 8, 8, 12, 16)
RINGS, RING_WEIGHTS = ("department", "organisation", "government"), (10, 35, 55)
VISIBILITY = (
    ("ambitions", "on_request"), ("analytical", "on_request"), ("free", "public"),
    ("dossier", "private"), ("ambitions", "private"), ("dossier", "public"),
)  # fmt: skip
VISIBILITY_WEIGHTS = (4, 3, 2, 1, 1, 1)
WORK_KINDS = (("work", "dossier"), ("project", "free"), ("publication", "free"))
WORK_KIND_WEIGHTS = (65, 25, 10)
P_CLAIM = 0.3  # per person and round
P_POST = 0.3  # per team manager and round
P_REQUEST_APPLICANT = 0.25  # an assignment owner asks to see an applicant's dossier or reviews
P_REQUEST_MANAGER = 0.01  # per person and round: a manager asks to see someone's part
P_GRANT = 0.8  # an access request is granted (else refused)
P_REVOKE_GRANT = 0.03  # per access grant and round
ERASED_PER = 300  # one person erased per this many people, in the year's last rounds
TEAM_SIZE = 8
DEPARTMENT_SIZE = 25
