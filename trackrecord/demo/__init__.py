"""Demo data: a realistic, deterministic Dutch public-sector ledger of any size.

:class:`DemoPlan` decides who works where (ministries and agencies, their
departments, teams of about eight with a manager each, everyone's skills) and
simulates a year in monthly rounds: onboarding, dossiers and ambitions,
contributions with 360° endorsements, assignments across departments and
organisations, transfers, key rotations, a stolen key, a manager stepping down,
requests to read ``on_request`` parts (mostly granted, some until a day, some
refused, a few grants revoked later) and, near the year's end, one person in
300 erased after leaving.

The simulation (:mod:`.simulation`) hands every statement to a sink
(:mod:`.sink`), one method per statement. A dry sink only counts, so the total
is known before anything is signed; a signing sink builds and signs the
statements with everyone's keys. The people and teams come from :mod:`.roster`,
the organisations, names and texts from :mod:`.vocabulary`, the odds from
:mod:`.behaviour`; :mod:`.plan` holds the API re-exported here.

Determinism: every choice comes from ``random.Random(seed)``, through two
derived generators that keep structure and material apart. The *decision*
generator drives the simulation (who does what, and the grades); the *material*
generator makes keys, statement and assignment ids, timestamps, texts, dates,
evidence digests and disclosure salts. The same ``people`` and ``seed`` give
byte-identical statements.

Every statement keeps the ledger's rules (DESIGN.md §6): the batches can be
appended, in order, to an empty ledger.
"""

from __future__ import annotations

from .behaviour import ROUNDS
from .plan import (
    DEFAULT_BATCH,
    DEMO_ORIGIN,
    MIN_PEOPLE,
    DemoPlan,
    DemoRun,
    DemoSummary,
    generate,
    populate,
)

__all__ = [
    "DEFAULT_BATCH",
    "DEMO_ORIGIN",
    "MIN_PEOPLE",
    "ROUNDS",
    "DemoPlan",
    "DemoRun",
    "DemoSummary",
    "generate",
    "populate",
]
