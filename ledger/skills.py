"""The skills taxonomy: a small, shared vocabulary of skills for tags and matching.

Each skill has a slug (what statements carry in ``skills``; it matches the
catalogue's skill pattern), a Dutch and an English label, and a category that
groups related skills (used by the demo generator to write plausible titles and
by read models to relate neighbouring skills).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CATEGORIES", "SKILLS", "SKILLS_BY_SLUG", "Skill", "skill"]


@dataclass(frozen=True)
class Skill:
    """One skill of the taxonomy."""

    slug: str
    label_nl: str
    label_en: str
    category: str

    def label(self, language: str) -> str:
        """The label in ``language``: Dutch for ``"nl"``, English otherwise."""
        return self.label_nl if language == "nl" else self.label_en


CATEGORIES = (
    "policy",
    "law",
    "finance",
    "data",
    "it",
    "design",
    "communication",
    "management",
    "domain",
)

SKILLS: tuple[Skill, ...] = tuple(
    Skill(slug, nl, en, category)
    for category, rows in (
        (
            "policy",
            (
                ("policy-advice", "beleidsadvisering", "policy advice"),
                ("policy-evaluation", "beleidsevaluatie", "policy evaluation"),
                ("public-administration", "bestuurskunde", "public administration"),
                ("european-affairs", "Europese zaken", "European affairs"),
                (
                    "international-relations",
                    "internationale betrekkingen",
                    "international relations",
                ),
            ),
        ),
        (
            "law",
            (
                ("legal-drafting", "wetgevingsjuristerij", "legal drafting"),
                ("administrative-law", "bestuursrecht", "administrative law"),
                ("privacy-law", "privacyrecht (AVG)", "privacy law (GDPR)"),
                ("tax-law", "fiscaal recht", "tax law"),
            ),
        ),
        (
            "finance",
            (
                ("budgeting", "begroten", "budgeting"),
                ("financial-analysis", "financiële analyse", "financial analysis"),
                ("auditing", "auditing", "auditing"),
                ("procurement", "inkoop en aanbesteding", "procurement"),
                ("risk-management", "risicomanagement", "risk management"),
            ),
        ),
        (
            "data",
            (
                ("data-analysis", "data-analyse", "data analysis"),
                ("statistics", "statistiek", "statistics"),
                ("python", "Python", "Python"),
                ("sql", "SQL", "SQL"),
                ("machine-learning", "machine learning", "machine learning"),
                ("data-engineering", "data-engineering", "data engineering"),
            ),
        ),
        (
            "it",
            (
                ("software-development", "softwareontwikkeling", "software development"),
                ("cloud-infrastructure", "cloudinfrastructuur", "cloud infrastructure"),
                ("information-security", "informatiebeveiliging", "information security"),
                ("enterprise-architecture", "enterprise-architectuur", "enterprise architecture"),
            ),
        ),
        (
            "design",
            (
                ("ux-research", "gebruikersonderzoek", "UX research"),
                ("service-design", "dienstontwerp", "service design"),
                ("accessibility", "digitale toegankelijkheid", "accessibility"),
            ),
        ),
        (
            "communication",
            (
                ("communication", "communicatie", "communication"),
                ("plain-language", "schrijven op B1-niveau", "plain language"),
                ("stakeholder-management", "stakeholdermanagement", "stakeholder management"),
                ("negotiation", "onderhandelen", "negotiation"),
                ("facilitation", "facilitatie", "facilitation"),
            ),
        ),
        (
            "management",
            (
                ("project-management", "projectmanagement", "project management"),
                ("programme-management", "programmamanagement", "programme management"),
                ("change-management", "verandermanagement", "change management"),
                ("agile-coaching", "agile coaching", "agile coaching"),
                ("people-management", "leidinggeven", "people management"),
            ),
        ),
        (
            "domain",
            (
                ("water-management", "waterbeheer", "water management"),
                ("civil-engineering", "civiele techniek", "civil engineering"),
                ("energy-policy", "energiebeleid", "energy policy"),
                ("education-policy", "onderwijsbeleid", "education policy"),
                ("customer-service", "klantcontact", "customer service"),
                ("crisis-management", "crisisbeheersing", "crisis management"),
            ),
        ),
    )
    for slug, nl, en in rows
)

SKILLS_BY_SLUG: Mapping[str, Skill] = MappingProxyType({s.slug: s for s in SKILLS})


def skill(slug: str) -> Skill:
    """Return the skill named ``slug``; raise :class:`KeyError` if the taxonomy lacks it."""
    return SKILLS_BY_SLUG[slug]
