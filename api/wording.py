"""The pages' words for the ledger's values and refusals, in one place (issue 17).

The ledger's values (a part, a visibility, a grant's status, an outcome, ...) are
English identifiers; the pages show them through the ``term`` filter of their
templates, which looks them up here and translates them (:mod:`api.i18n`). A value
without an entry here is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from babel.numbers import format_decimal

from ledger.skills import SKILLS, SKILLS_BY_SLUG
from projections.matching.reasons import Reason

from .i18n import N_, language

__all__ = [
    "AUDIT_FINDINGS",
    "GRADES",
    "PART_TITLES",
    "REASONS",
    "RULES",
    "TERMS",
    "reason_text",
    "skill_choices",
    "skill_label",
]

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
        "beyond": N_("beyond government"),
        # outcomes (Outcome)
        "delivered": N_("delivered"),
        "partly_delivered": N_("partly delivered"),
        "not_delivered": N_("not delivered"),
        # assignment status (ledger.state.Assignment.status)
        "open": N_("open"),
        "assigned": N_("assigned"),
        "completed": N_("completed"),
        "cancelled": N_("cancelled"),
        # where an application stands (ledger.access.application_status)
        "applied": N_("applied, waiting"),
        "closed": N_("someone else was chosen"),
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


RULES: Mapping[str, str] = MappingProxyType(
    {
        # the ledger's rules (docs/rules.md)
        "already_answered": N_("This request has already been answered."),
        "consent_required": N_(
            "A move to another organisation needs the employee's consent to that department."
        ),
        "departed": N_("This person left this ledger: nothing more is recorded about them here."),
        "operator_stays": N_("The operator of the ledger cannot leave it."),
        "same_ledger": N_("You leave for another ledger, not this one."),
        "already_applied": N_("You have already applied to this assignment."),
        "already_assigned": N_("This person is already assigned to this assignment."),
        "already_completed": N_("The completion for this person has already been confirmed."),
        "already_erased": N_("This person's personal content has already been erased."),
        "already_granted": N_("Access to this part has already been given."),
        "already_posted": N_("This assignment has already been posted."),
        "already_registered": N_("This person id is already registered."),
        "reserved_id": N_(
            "This word is part of the service's addresses, so it cannot be a person id: choose "
            "another one."
        ),
        "already_requested": N_("You have already asked for this part; wait for the answer."),
        "already_revoked": N_("This has already been revoked."),
        "assignment_closed": N_("This assignment no longer allows that: it is closed."),
        "bad_department": N_("This department is not part of the organisation."),
        "bad_grade": N_("Choose a grade from 1 to 5."),
        "bad_period": N_("The end date is before the start date."),
        "bad_scope": N_(
            "A manager role is for a department (org/dept), an admin role for an organisation."
        ),
        "bad_signature": N_("The signature does not match the key: sign with your own key."),
        "contribution_withdrawn": N_("This contribution has been withdrawn."),
        "duplicate_endorsement": N_("You have already endorsed this contribution."),
        "not_addressed": N_("This review request was not addressed to you."),
        "not_genesis": N_("Only the first entry of a ledger names its rules."),
        "role_not_asked": N_("You were asked to review in another role."),
        "contribution_unreadable": N_(
            "You cannot grade work you may not read: ask its owner to ask you for a review."
        ),
        "no_peer_relation": N_("A peer works in the same department or on the same assignment."),
        "no_client_relation": N_(
            "A client owns an assignment the person completed, or was asked by them for a review."
        ),
        "self_review": N_("You cannot ask yourself for a review."),
        "duplicate_reviewer": N_("Name each person once."),
        "unknown_review_request": N_("That review request does not exist for this contribution."),
        "erased": N_("This person's personal content has been erased: nothing more is recorded."),
        "grant_expired": N_("The end date of the access must be after today."),
        "key_revoked": N_("Your key has been revoked: it can no longer sign."),
        "key_reused": N_("This key is already registered: create a new key."),
        "bad_countersignature": N_("The other ledger's key did not sign this link."),
        "key_superseded": N_("Your key has been replaced by a newer one: sign with that one."),
        "manager_role_required": N_("This needs a manager role for that department."),
        "no_change": N_("The person already works there."),
        "not_admin": N_("Only an admin of the organisation may do this."),
        "not_assigned": N_("This person is not assigned to this assignment."),
        "not_endorser": N_("Only whoever gave an endorsement can revoke it."),
        "not_on_request": N_("This part is not 'on request', so it cannot be asked for."),
        "not_owner": N_("Only the owner of the assignment may do this."),
        "not_subject": N_("Only the person themselves may record this."),
        "operator_not_erasable": N_("The operator of the ledger cannot be erased."),
        "replayed_id": N_("This was already sent once."),
        "request_mismatch": N_("The grant does not match the request."),
        "role_already_granted": N_("This person already has this role."),
        "role_not_held": N_("This person does not have this role."),
        "self_application": N_("You cannot apply to your own assignment."),
        "self_assignment": N_("You cannot assign yourself."),
        "self_endorsement": N_("You cannot endorse your own work."),
        "self_grant": N_("You cannot grant access to yourself."),
        "self_request": N_("You cannot ask for access to your own portfolio."),
        "unknown_assignment": N_("There is no such assignment."),
        "unknown_contribution": N_("There is no such contribution."),
        "unknown_endorsement": N_("There is no such endorsement."),
        "unknown_grant": N_("There is no such grant."),
        "unknown_key": N_("This key is not registered (yet): ask an admin to register it."),
        "unknown_person": N_("There is no person with this id."),
        "unknown_request": N_("There is no such request."),
        "wrong_ledger": N_("This was signed for another ledger."),
        # raised on import (ledger/link.py; docs/rules.md "Raised on import"), and the
        # bundle's own refusals there (ledger/bundle, ledger/imports.py)
        "untrusted_key": N_(
            "This ledger does not trust the operator key of the ledger the bundle comes from: "
            "ask an admin here to trust that ledger first."
        ),
        "bad_format": N_("This file is not a record bundle."),
        "already_imported": N_(
            "A different bundle of this record at the same checkpoint was imported already."
        ),
        "identity_unproven": N_(
            "This ledger cannot tell that this record is yours: link it first (trackrecord "
            "link), signed with your key here and your last key on the other ledger, or "
            "countersigned by an admin here; then import it again."
        ),
        "wrong_destination": N_(
            "The owner of this record left the other ledger for another ledger than this one: "
            "import it into the ledger named when they left, and bring it on from there."
        ),
        "too_long": N_("A text is too long."),
        "malformed": N_("Something in the form is not in the expected form."),
        "bad_subject": N_("That is not a valid person id."),
        # the service's own (api/errors.py)
        "unauthenticated": N_("You are not logged in (any more): log in again."),
        "session_expired": N_("Your session has ended: log in again."),
        "not_yours": N_("Only the person themselves may do this."),
        "not_found": N_("Not found."),
        "rate_limited": N_("Too many attempts at once: wait a moment and try again."),
        "request_too_large": N_("The file or text is too large."),
        "store_unavailable": N_("The service cannot reach its database right now: try again soon."),
        "busy": N_("The service is busy: try again in a moment."),
        "invalid_request": N_("Something in the form is not in the expected form."),
        "cross_site": N_("Refused: the request came from another site."),
        "conflict": N_("Someone else changed this at the same moment: try again."),
        "internal_error": N_("Something went wrong in the service. Please report the code below."),
        # the pages' own checks
        "unknown_skill": N_(
            "“%(skill)s” is not a skill: choose one from the list, or name your own with "
            "lower-case letters, digits and hyphens."
        ),
        # people search (ledger.people_search)
        "no_skill": N_("Name at least one skill to search for."),
        "too_many_skills": N_("Search for at most five skills at once."),
        "bad_hours": N_("Available hours are 0 to 36 a week."),
        "bad_ring": N_("Choose a ring: department, organisation, government or beyond."),
        "bad_limit": N_("Ask for 1 to 50 people."),
        "no_place": N_(
            "The department and organisation rings are counted from your own place: log in "
            "to search them, or search the government ring."
        ),
    }
)
"""What each rule code means to the person who met it (English; translated where shown)."""


AUDIT_FINDINGS: Mapping[str, str] = MappingProxyType(
    {
        # the failure codes of a full audit (docs/audit.md §2) that are not a rule of
        # RULES, and bad_signature, which means forgery here rather than a wrong key
        "malformed_entry": N_("the stored entry is not a well-formed entry: it was edited."),
        "non_canonical_entry": N_(
            "the stored entry was rewritten: it is no longer in the form its hash was made from."
        ),
        "bad_disclosure": N_("a stored personal text is not the text its author signed."),
        "sealed_disclosures": N_(
            "the stored personal texts cannot be opened: they were altered, or sealed for "
            "another entry or person."
        ),
        "data_key_missing": N_(
            "the key that opens its owner's personal texts is gone, but nobody erased them."
        ),
        "content_missing": N_("its personal texts were removed from the store without an erasure."),
        "row_mismatch": N_(
            "the database row names another stream or position than the entry itself."
        ),
        "chain_broken": N_(
            "it does not follow the previous entry of its stream: an earlier entry was "
            "changed, removed or reordered."
        ),
        "bad_signature": N_(
            "its signature does not verify under the key valid at that moment: the entry "
            "was forged or altered."
        ),
        "genesis_required": N_("the ledger does not begin with the operator's registration."),
        "genesis_not_self_signed": N_("the first entry is not signed by the key it registers."),
        "merkle_mismatch": N_(
            "a node of the ledger's hash tree is not the one its entries produce."
        ),
        "bad_checkpoint": N_(
            "a stored checkpoint is not validly signed by the operator key of its time."
        ),
        "checkpoint_mismatch": N_(
            "a signed checkpoint does not match the entries: they were changed after it was signed."
        ),
        "checkpoint_missing": N_("a checkpoint that a later one refers to was deleted."),
        "checkpoint_beyond_log": N_(
            "a checkpoint is stored for more entries than the log holds: entries were removed."
        ),
        "trusted_origin_unbound": N_(
            "a trusted origin was added or edited in the database, not by the operator: it "
            "trusts nothing."
        ),
        "trust_weight_tampered": N_(
            "a trust weight was added or edited in the database, not by the operator."
        ),
        "import_tampered": N_(
            "a stored record imported from another ledger no longer verifies: it was edited."
        ),
        "missing_entry": N_(
            "the hash tree has more leaves than the store has entries: entries were removed."
        ),
        "missing_leaf": N_("the hash tree has fewer leaves than the store has entries."),
        "position_mismatch": N_(
            "the index that finds entries by their position points at the wrong entry."
        ),
        "rule_state_mismatch": N_(
            "the state the rules keep in the store differs from the one the log produces."
        ),
        "rule_state_version": N_(
            "the state the rules keep in the store is of another version than this service's: "
            "the operator builds it again with trackrecord migrate."
        ),
    }
)
"""What each failure of a full audit means, for the auditor page (English; translated
where shown); any other code is a rule of :data:`RULES` the entry breaks."""


def skill_label(slug: str, language: str) -> str:
    """The taxonomy's label of ``slug`` in ``language`` (the slug itself if it has none)."""
    skill = SKILLS_BY_SLUG.get(slug)
    return slug if skill is None else skill.label(language)


def skill_choices(language: str) -> list[tuple[str, str]]:
    """Every skill of the taxonomy as (label in ``language``, slug), by label."""
    return sorted(((s.label(language), s.slug) for s in SKILLS), key=lambda c: c[0].casefold())


REASONS: Mapping[str, str] = MappingProxyType(
    {
        # matching reasons (projections.matching.reasons), each with its values
        "ring_department": N_("ring: own department (%(department)s)"),
        "ring_organisation": N_("ring: own organisation (%(organisation)s)"),
        "ring_government": N_("ring: another organisation"),
        "ring_beyond": N_("ring: beyond government (evidence imported from %(origins)s)"),
        "skills": N_("skills: %(skills)s"),
        "missing": N_("missing: %(skills)s"),
        "hours": N_("available %(available)s of %(budget)s h/week, %(needed)s needed"),
        "withheld": N_(
            "score and other details withheld: the %(parts)s part(s) of %(person)s are not visible"
        ),
        "assignment_skills": N_("skills: %(skills)s of %(needed)s needed"),
        "assignment_ring": N_("ring: %(ring)s"),
        "assignment_hours": N_("%(hours)s h/week fits %(available)s available"),
    }
)
"""Each matching reason's sentence (English; translated where shown), by code."""

_SKILL_REASONS = {
    "evidence": N_("%(skill)s (%(count)s× evidence, %(reputation)s)"),
    "imported": N_("%(skill)s (%(count)s× rated on another ledger, %(reputation)s)"),
    "ambition": N_("%(skill)s (wants to develop it, %(reputation)s)"),
    "hidden": N_("reputation not visible"),
    "none": N_("no reputation yet"),
    "score": N_("reputation %(score)s"),
    "origins": N_("%(reputation)s, with ratings imported from %(origins)s"),
    "imported_evidence": N_("%(count)s× evidence imported from %(origin)s at trust %(weight)s"),
    "elsewhere": N_("%(skill)s (%(reputation)s)"),
    "imported_skill": N_("%(skill)s (imported from %(origins)s)"),
}


def reason_text(reason: Reason, lang: str) -> str:
    """``reason`` as a sentence in the language ``lang``: its code's sentence
    (:data:`REASONS`) with skills by their label, ledger values in words and numbers the
    language's way."""
    said = language(lang)
    v = dict(reason.values)
    if reason.code == "skills":
        shown = bool(v.get("reputation_shown", True))
        v["skills"] = "; ".join(_skill_text(s, shown, lang) for s in v["skills"])
    elif reason.code == "missing":
        v["skills"] = ", ".join(skill_label(s, lang) for s in v["skills"])
    elif reason.code == "assignment_skills":
        v["skills"] = ", ".join(
            _assignment_skill(s, v.get("imported", {}), lang) for s in v["skills"]
        )
    elif reason.code == "withheld":
        v["parts"] = ", ".join(said.gettext(TERMS.get(p, p)) for p in v["parts"])
    elif reason.code == "assignment_ring":
        v["ring"] = said.gettext(TERMS.get(v["ring"], v["ring"]))
    elif reason.code == "ring_beyond":
        v["origins"] = ", ".join(v["origins"])
    template = REASONS.get(reason.code)
    return reason.text if template is None else said.gettext(template, **v)


def _skill_text(s: Mapping[str, Any], reputation_shown: bool, lang: str) -> str:
    said = language(lang)
    if not reputation_shown:
        rep = said.gettext(_SKILL_REASONS["hidden"])
    elif s["reputation"] is None:
        rep = said.gettext(_SKILL_REASONS["none"])
    else:
        score = format_decimal(s["reputation"], format="0.00", locale=lang)
        rep = said.gettext(_SKILL_REASONS["score"], score=score)
    if reputation_shown and s["origins"]:
        rep = said.gettext(
            _SKILL_REASONS["origins"], reputation=rep, origins=", ".join(s["origins"])
        )
    imported = [
        said.gettext(
            _SKILL_REASONS["imported_evidence"], count=e["evidence"], origin=e["origin"],
            weight=format_decimal(e["weight"], format="0.00", locale=lang),
        )
        for e in s.get("imported_evidence", ())
    ]  # fmt: skip
    rep = ", ".join([*imported, rep])
    label = skill_label(s["skill"], lang)
    if s["evidence"]:
        return said.gettext(
            _SKILL_REASONS["evidence"], skill=label, count=s["evidence"], reputation=rep
        )
    if s.get("imported"):
        return said.gettext(
            _SKILL_REASONS["imported"], skill=label, count=s["imported"], reputation=rep
        )
    if imported and not s["ambition"]:
        return said.gettext(_SKILL_REASONS["elsewhere"], skill=label, reputation=rep)
    return said.gettext(_SKILL_REASONS["ambition"], skill=label, reputation=rep)


def _assignment_skill(skill: str, imported: Mapping[str, list[str]], lang: str) -> str:
    """A matched skill of an assignment by its label, with the origins it was imported
    from when the person has it only from other ledgers."""
    label = skill_label(skill, lang)
    if skill not in imported:
        return label
    origins = ", ".join(imported[skill])
    return language(lang).gettext(_SKILL_REASONS["imported_skill"], skill=label, origins=origins)
