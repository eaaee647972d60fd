"""The demo's world: its organisations and departments, people's names and the texts they write.

Plain data, in Dutch and English as a Dutch public-sector ledger would hold it;
:mod:`.roster` and :mod:`.sink` draw from it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACCESS_MESSAGES",
    "CANCEL_REASONS",
    "COMMENTS",
    "FIELDS",
    "FIRST_NAMES",
    "MOTIVATIONS",
    "OPERATOR_DEPARTMENT",
    "ORGS",
    "OUTCOME_NOTES",
    "REFUSE_REASONS",
    "RESULTS_EN",
    "RESULTS_NL",
    "REVIEW_MESSAGES",
    "REVOKE_ACCESS_REASONS",
    "ROLES",
    "SCHOOLS",
    "STOLEN_NOTE",
    "SURNAMES",
    "TITLES_EN",
    "TITLES_NL",
    "TOPICS",
    "UNENDORSE_REASONS",
    "WITHDRAW_REASONS",
    "Org",
]

# -- the organisations ------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    """An organisation: its slug, relative size and departments."""

    slug: str
    weight: float  # relative head count
    departments: tuple[tuple[str, tuple[str, ...]], ...]  # (slug, core skills), in order of use


def _org(slug: str, weight: float, departments: dict[str, str]) -> Org:
    return Org(slug, weight, tuple((d, tuple(s.split())) for d, s in departments.items()))


OPERATOR_DEPARTMENT = "minbzk/cio-rijk"
ORGS = (
    _org("minbzk", 1.0, {
        "digitale-overheid": "policy-advice service-design accessibility stakeholder-management",
        "woningmarkt": "policy-advice legal-drafting data-analysis stakeholder-management",
        "overheidsorganisatie": "public-administration change-management people-management",
        "cio-rijk": "enterprise-architecture information-security policy-advice",
    }),
    _org("rijkswaterstaat", 2.0, {
        "waterveiligheid": "water-management civil-engineering risk-management",
        "grote-projecten": "project-management procurement civil-engineering negotiation",
        "verkeersmanagement": "data-analysis crisis-management customer-service",
        "data-en-ict": "data-engineering cloud-infrastructure software-development python",
    }),
    _org("belastingdienst", 3.0, {
        "particulieren": "tax-law customer-service plain-language",
        "data-en-analyse": "data-analysis machine-learning python statistics",
        "grote-ondernemingen": "tax-law auditing negotiation",
        "ict": "software-development information-security cloud-infrastructure",
    }),
    _org("minfin", 1.0, {
        "begrotingszaken": "budgeting financial-analysis policy-advice",
        "fiscale-zaken": "tax-law legal-drafting policy-advice",
        "financiele-markten": "financial-analysis risk-management european-affairs",
        "auditdienst-rijk": "auditing risk-management data-analysis",
    }),
    _org("duo", 1.2, {
        "studiefinanciering": "education-policy customer-service administrative-law",
        "ict": "software-development ux-research data-engineering accessibility",
        "examens": "education-policy project-management risk-management",
    }),
    _org("cbs", 0.8, {
        "economie": "statistics data-analysis financial-analysis",
        "methodologie": "statistics machine-learning python",
        "data-services": "data-engineering sql privacy-law",
    }),
    _org("minezk", 0.9, {
        "energie": "energy-policy policy-advice stakeholder-management",
        "innovatie": "policy-advice data-analysis european-affairs",
        "mkb-en-regeldruk": "policy-evaluation legal-drafting stakeholder-management",
    }),
    _org("minvws", 0.9, {
        "publieke-gezondheid": "crisis-management policy-advice communication",
        "zorgverzekeringen": "financial-analysis legal-drafting policy-advice",
        "informatiebeleid": "privacy-law data-engineering enterprise-architecture",
    }),
    _org("minjenv", 1.0, {
        "wetgeving": "legal-drafting administrative-law privacy-law",
        "nctv": "crisis-management information-security international-relations",
        "migratie": "policy-advice administrative-law data-analysis",
    }),
    _org("rvo", 1.0, {
        "subsidies": "administrative-law auditing customer-service",
        "energie-en-klimaat": "energy-policy project-management data-analysis",
        "internationaal": "international-relations european-affairs negotiation",
    }),
    _org("logius", 0.7, {
        "digid": "information-security software-development service-design",
        "standaarden": "enterprise-architecture stakeholder-management accessibility",
        "beheer": "cloud-infrastructure information-security agile-coaching",
    }),
    _org("uwv", 2.0, {
        "werkbedrijf": "customer-service change-management data-analysis",
        "uitkeringen": "administrative-law customer-service plain-language",
        "sociaal-medische-zaken": "policy-evaluation communication statistics",
    }),
)  # fmt: skip

# -- vocabulary -----------------------------------------------------------------------------

FIRST_NAMES = (
    "Sanne", "Daan", "Emma", "Lucas", "Fleur", "Bram", "Noor", "Thijs", "Lotte", "Jeroen",
    "Anouk", "Sven", "Eva", "Ruben", "Iris", "Joost", "Femke", "Maarten", "Marloes", "Niels",
    "Esther", "Bas", "Inge", "Pieter", "Annelies", "Wouter", "Mirjam", "Tim", "Karin", "Hans",
    "Els", "Kees", "Ingrid", "Mohamed", "Fatima", "Yusuf", "Ayşe", "Priya", "Rachid", "Zeynep",
    "Chantal", "Dewi", "Joris", "Maud", "Jesse", "Sophie", "Milan", "Julia", "Stijn", "Lieke",
    "Daniëlle", "Chloë", "Gerrit", "Willemijn", "Hanneke", "Sjoerd", "Rutger", "Nadia",
    "Youssef", "Tamara",
)  # fmt: skip
SURNAMES = (
    "de Vries", "van den Berg", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
    "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden",
    "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen", "van den Broek",
    "de Bruijn", "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet", "van de Ven",
    "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom",
    "Huisman", "de Jong", "Janssen", "Yılmaz", "El Amrani", "Bouzid", "Kaya", "Nguyen", "Pinas",
    "Biharie", "Sedney", "Çelik", "Wijaya", "Kramer", "Postma",
)  # fmt: skip
TOPICS = (
    "stikstofaanpak", "energietransitie", "woningbouwprogramma", "herstel toeslagen",
    "studiefinanciering", "digitale inclusie", "arbeidsmarktkrapte", "waterveiligheid",
    "Omgevingswet", "Wet open overheid", "AI-verordening", "cyberweerbaarheid", "Voorjaarsnota",
    "regeldruk mkb", "netcongestie", "klimaatadaptatie", "basisregistraties", "dijkversterking",
    "btw-aangifte", "levenlanglerenkrediet", "datagedreven toezicht", "Rijksbrede inkoop",
)  # fmt: skip
TITLES_NL = {
    "policy": ("Beleidsnotitie {topic}", "Kamerbrief {topic} voorbereid", "Evaluatie {topic}"),
    "law": ("Memorie van toelichting {topic}", "Juridische toets {topic}"),
    "finance": ("Begrotingsanalyse {topic}", "Financiële doorrekening {topic}"),
    "data": ("Dashboard {topic}", "Data-analyse {topic}", "Datapijplijn {topic}"),
    "it": ("Migratie {topic} naar de rijkscloud", "Architectuurschets {topic}"),
    "design": ("Gebruikersonderzoek {topic}", "Toegankelijkheidsonderzoek {topic}"),
    "communication": ("Communicatieaanpak {topic}", "Stakeholdersessies {topic}"),
    "management": ("Projectleiding {topic}", "Verandertraject {topic}"),
    "domain": ("Advies {topic}", "Uitvoeringstoets {topic}"),
}
TITLES_EN = {
    "policy": ("Policy brief: {topic}",),
    "law": ("Legal review: {topic}",),
    "finance": ("Cost-benefit analysis: {topic}",),
    "data": ("Forecasting model for {topic}",),
    "it": ("Security assessment: {topic}",),
    "design": ("Service blueprint: {topic}",),
    "communication": ("Plain-language letters for {topic}",),
    "management": ("Programme plan: {topic}",),
    "domain": ("Field study: {topic}",),
}
RESULTS_NL = (
    "Het resultaat is door de stuurgroep vastgesteld.",
    "Het advies is door de directie overgenomen.",
    "Opgeleverd binnen planning en budget.",
    "Wordt inmiddels door drie andere teams gebruikt.",
)
RESULTS_EN = (
    "Adopted by the steering committee.",
    "Delivered on time and within budget.",
    "Now reused by three other teams.",
)
FIELDS = {  # fields of study by skill category, or by skill for the assorted "domain"
    "policy": "Bestuurskunde", "law": "Rechtsgeleerdheid", "finance": "Economie",
    "data": "Data Science", "it": "Informatica", "design": "Industrieel Ontwerpen",
    "communication": "Communicatiewetenschap", "management": "Bedrijfskunde",
    "water-management": "Watermanagement", "civil-engineering": "Civiele Techniek",
    "energy-policy": "Sustainable Energy Technology", "education-policy": "Onderwijskunde",
    "customer-service": "Communicatie", "crisis-management": "Crisis and Security Management",
}  # fmt: skip
SCHOOLS = (
    "Universiteit Leiden", "Universiteit Utrecht", "Rijksuniversiteit Groningen", "TU Delft",
    "Erasmus Universiteit Rotterdam", "Radboud Universiteit", "Tilburg University",
    "Universiteit van Amsterdam", "Hogeschool Utrecht", "De Haagse Hogeschool",
)  # fmt: skip
COMMENTS = {
    1: (
        "Onder de verwachting; het resultaat moest grotendeels worden overgedaan.",
        "Below expectations: the deliverable needed major rework.",
    ),
    2: (
        "Deels naar verwachting; planning en afstemming kunnen beter.",
        "Partly met expectations; coordination with stakeholders fell short.",
    ),
    3: (
        "Goed werk, conform afspraak opgeleverd.",
        "Prima bijdrage, zorgvuldig uitgevoerd.",
        "Solid work, delivered as agreed.",
    ),
    4: (
        "Sterk resultaat met duidelijke meerwaarde voor het team.",
        "Boven verwachting: proactief en betrouwbaar.",
        "Very good work: clear, well argued and on time.",
    ),
    5: (
        "Uitstekend! Dit werk wordt inmiddels als voorbeeld gebruikt.",
        "Uitmuntend: maakte het verschil in een lastig dossier.",
        "Excellent: exceptional quality and impact.",
    ),
}
ROLES = ("senior adviseur", "teamleider", "projectleider", "programmamanager", "product owner")
MOTIVATIONS = (
    "Dit sluit goed aan bij mijn ervaring en ambities.",
    "Graag! Ik wil mijn netwerk buiten mijn eigen organisatie vergroten.",
    "I have done similar work before and have the hours available.",
)
OUTCOME_NOTES = {
    "delivered": ("Opgeleverd zoals afgesproken.", "Delivered; the team is very pleased."),
    "partly_delivered": ("Deels opgeleverd; restpunten zijn overgedragen.",),
    "not_delivered": ("Niet opgeleverd; de verwachtingen bleken niet haalbaar.",),
}
CANCEL_REASONS = {
    "no_candidates": ("Geen geschikte kandidaten gevonden.",),
    "priorities": (
        "Prioriteiten gewijzigd na de Voorjaarsnota.",
        "Budget ingetrokken.",
        "Cancelled: the project was paused by the steering committee.",
    ),
}
WITHDRAW_REASONS = ("Dubbel ingevoerd.", "Entered by mistake.", "Verkeerde periode ingevoerd.")
UNENDORSE_REASONS = ("Verkeerde bijdrage beoordeeld.", "Endorsed the wrong contribution.")
REVIEW_MESSAGES = (
    "Wil je deze bijdrage beoordelen? Je kende het werk van dichtbij.",
    "Graag je oordeel over dit werk voor mijn 360°-feedback.",
    "Could you review this piece of work for my 360° feedback?",
)
STOLEN_NOTE = "Laptop met sleutel gestolen; gemeld bij de servicedesk."
ACCESS_MESSAGES = {  # by part; {topic} is the project the viewer is staffing
    "dossier": (
        "Voor de bezetting van het project {topic} wil ik graag je cv en diploma's inzien.",
        "Voor de klus {topic} bekijk ik graag je dossier voordat we kennismaken.",
        "For staffing the {topic} project I would like to see your CV and diplomas.",
    ),
    "analytical": (
        "Voor de bezetting van het project {topic} wil ik graag je 360°-beoordelingen inzien.",
        "Voor de klus {topic} lees ik graag je eerdere beoordelingen.",
        "For staffing the {topic} project I would like to read your 360° reviews.",
    ),
}
REFUSE_REASONS = (
    "Mijn dossier is nog niet bijgewerkt; ik stuur het later zelf.",
    "Liever eerst een kennismakingsgesprek.",
    "I would rather discuss my reviews in person.",
)
REVOKE_ACCESS_REASONS = (
    "Het project is bemand; inzage is niet meer nodig.",
    "De klus is afgerond.",
    "No longer needed: the assignment has ended.",
)
