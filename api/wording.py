"""The pages' words for the ledger's values, in one place (issue 17).

The ledger's values (a part, a visibility, a grant's status, an outcome, ...) are
English identifiers; the pages show them through the ``term`` filter of their
templates, which looks them up here and translates them (:mod:`api.i18n`). A value
without an entry here is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .i18n import N_

__all__ = ["GRADES", "PART_TITLES", "TERMS"]

PART_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "dossier": N_("Dossier: CV, diplomas, certificates, courses"),
        "analytical": N_("Analytical: 360° reviews on the uniform five-grade scale"),
        "ambitions": N_("Ambitions: goals, skills to develop, courses to take"),
        "free": N_("Free part: assignments, interests, publications, links"),
    }
)

GRADES: tuple[tuple[int, str], ...] = (
    (1, N_("below expectations")),
    (2, N_("partly meets expectations")),
    (3, N_("meets expectations")),
    (4, N_("exceeds expectations")),
    (5, N_("excellent")),
)

TERMS: Mapping[str, str] = MappingProxyType(
    {
        # portfolio parts (ledger.catalogue.Part)
        "dossier": N_("dossier"),
        "analytical": N_("analytical"),
        "ambitions": N_("ambitions"),
        "free": N_("free"),
        # visibility (Visibility)
        "public": N_("public"),
        "on_request": N_("on request"),
        "private": N_("private"),
        # contribution kinds (ContributionKind)
        "work": N_("work"),
        "project": N_("project"),
        "diploma": N_("diploma"),
        "certificate": N_("certificate"),
        "course": N_("course"),
        "publication": N_("publication"),
        "other": N_("other"),
        # endorser roles (EndorserRole) and roles (Role)
        "manager": N_("manager"),
        "peer": N_("peer"),
        "client": N_("client"),
        "admin": N_("admin"),
        # rings (Ring)
        "department": N_("department"),
        "organisation": N_("organisation"),
        "government": N_("government"),
        # outcomes (Outcome)
        "delivered": N_("delivered"),
        "partly_delivered": N_("partly delivered"),
        "not_delivered": N_("not delivered"),
        # assignment status (ledger.state.Assignment.status)
        "open": N_("open"),
        "assigned": N_("assigned"),
        "completed": N_("completed"),
        "cancelled": N_("cancelled"),
        # grant status (ledger.access.grant_status) and answers to access requests
        "active": N_("active"),
        "revoked": N_("revoked"),
        "expired": N_("expired"),
        "granted": N_("granted"),
        "refused": N_("refused"),
        # erasure bases (ErasureBasis)
        "request": N_("at the person's request (GDPR art. 17)"),
        "retention": N_("the retention period ended (Archives Act)"),
        # a full audit's job (api.audits.AuditJob.status)
        "running": N_("running"),
        "done": N_("done"),
        "failed": N_("failed"),
    }
)
