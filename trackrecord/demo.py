"""Demo data: a realistic, deterministic Dutch public-sector ledger of any size.

:class:`DemoPlan` decides who works where (ministries and agencies, their
departments, teams of about eight with a manager each, everyone's skills) and
simulates a year in monthly rounds: onboarding, dossiers and ambitions,
contributions with 360° endorsements, assignments across departments and
organisations, transfers, key rotations, a stolen key, a manager stepping down.

The simulation hands every statement to a :class:`_Sink`, one method per
statement. A dry sink only counts, so the total is known before anything is
signed; a signing sink builds and signs the statements with everyone's keys.

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

import dataclasses
import datetime as _dt
import random
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from keys import Identity
from ledger import commands
from ledger.catalogue import CATALOGUE
from ledger.service import MAX_BATCH, LedgerService
from ledger.statement import SignedStatement

from .skills import SKILLS, SKILLS_BY_SLUG

__all__ = [
    "DEFAULT_BATCH",
    "MIN_PEOPLE",
    "ROUNDS",
    "DemoPlan",
    "DemoRun",
    "DemoSummary",
    "generate",
    "populate",
]

DEFAULT_BATCH = 200
MIN_PEOPLE = 5
ROUNDS = 12
"""Monthly rounds of activity (February 2025 to January 2026) after the onboarding round."""

Progress = Callable[[int, int], None]
_Build = Callable[[dict[str, Any]], SignedStatement]

# -- the organisations ------------------------------------------------------------------


@dataclass(frozen=True)
class _Org:
    slug: str
    weight: float  # relative head count
    departments: tuple[tuple[str, tuple[str, ...]], ...]  # (slug, core skills), in order of use


def _org(slug: str, weight: float, departments: dict[str, str]) -> _Org:
    return _Org(slug, weight, tuple((d, tuple(s.split())) for d, s in departments.items()))


_OPERATOR_DEPARTMENT = "minbzk/cio-rijk"
_ORGS = (
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

_FIRST_NAMES = (
    "Sanne", "Daan", "Emma", "Lucas", "Fleur", "Bram", "Noor", "Thijs", "Lotte", "Jeroen",
    "Anouk", "Sven", "Eva", "Ruben", "Iris", "Joost", "Femke", "Maarten", "Marloes", "Niels",
    "Esther", "Bas", "Inge", "Pieter", "Annelies", "Wouter", "Mirjam", "Tim", "Karin", "Hans",
    "Els", "Kees", "Ingrid", "Mohamed", "Fatima", "Yusuf", "Ayşe", "Priya", "Rachid", "Zeynep",
    "Chantal", "Dewi", "Joris", "Maud", "Jesse", "Sophie", "Milan", "Julia", "Stijn", "Lieke",
    "Daniëlle", "Chloë", "Gerrit", "Willemijn", "Hanneke", "Sjoerd", "Rutger", "Nadia",
    "Youssef", "Tamara",
)  # fmt: skip
_SURNAMES = (
    "de Vries", "van den Berg", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
    "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden",
    "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen", "van den Broek",
    "de Bruijn", "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet", "van de Ven",
    "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom",
    "Huisman", "de Jong", "Janssen", "Yılmaz", "El Amrani", "Bouzid", "Kaya", "Nguyen", "Pinas",
    "Biharie", "Sedney", "Çelik", "Wijaya", "Kramer", "Postma",
)  # fmt: skip
_TOPICS = (
    "stikstofaanpak", "energietransitie", "woningbouwprogramma", "herstel toeslagen",
    "studiefinanciering", "digitale inclusie", "arbeidsmarktkrapte", "waterveiligheid",
    "Omgevingswet", "Wet open overheid", "AI-verordening", "cyberweerbaarheid", "Voorjaarsnota",
    "regeldruk mkb", "netcongestie", "klimaatadaptatie", "basisregistraties", "dijkversterking",
    "btw-aangifte", "levenlanglerenkrediet", "datagedreven toezicht", "Rijksbrede inkoop",
)  # fmt: skip
_TITLES_NL = {
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
_TITLES_EN = {
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
_RESULTS_NL = (
    "Het resultaat is door de stuurgroep vastgesteld.",
    "Het advies is door de directie overgenomen.",
    "Opgeleverd binnen planning en budget.",
    "Wordt inmiddels door drie andere teams gebruikt.",
)
_RESULTS_EN = (
    "Adopted by the steering committee.",
    "Delivered on time and within budget.",
    "Now reused by three other teams.",
)
_FIELDS = {  # fields of study by skill category, or by skill for the assorted "domain"
    "policy": "Bestuurskunde", "law": "Rechtsgeleerdheid", "finance": "Economie",
    "data": "Data Science", "it": "Informatica", "design": "Industrieel Ontwerpen",
    "communication": "Communicatiewetenschap", "management": "Bedrijfskunde",
    "water-management": "Watermanagement", "civil-engineering": "Civiele Techniek",
    "energy-policy": "Sustainable Energy Technology", "education-policy": "Onderwijskunde",
    "customer-service": "Communicatie", "crisis-management": "Crisis and Security Management",
}  # fmt: skip
_SCHOOLS = (
    "Universiteit Leiden", "Universiteit Utrecht", "Rijksuniversiteit Groningen", "TU Delft",
    "Erasmus Universiteit Rotterdam", "Radboud Universiteit", "Tilburg University",
    "Universiteit van Amsterdam", "Hogeschool Utrecht", "De Haagse Hogeschool",
)  # fmt: skip
_COMMENTS = {
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
_ROLES = ("senior adviseur", "teamleider", "projectleider", "programmamanager", "product owner")
_MOTIVATIONS = (
    "Dit sluit goed aan bij mijn ervaring en ambities.",
    "Graag! Ik wil mijn netwerk buiten mijn eigen organisatie vergroten.",
    "I have done similar work before and have the hours available.",
)
_OUTCOME_NOTES = {
    "delivered": ("Opgeleverd zoals afgesproken.", "Delivered; the team is very pleased."),
    "partly_delivered": ("Deels opgeleverd; restpunten zijn overgedragen.",),
    "not_delivered": ("Niet opgeleverd; de verwachtingen bleken niet haalbaar.",),
}
_CANCEL_REASONS = {
    "no_candidates": ("Geen geschikte kandidaten gevonden.",),
    "priorities": (
        "Prioriteiten gewijzigd na de Voorjaarsnota.",
        "Budget ingetrokken.",
        "Cancelled: the project was paused by the steering committee.",
    ),
}
_WITHDRAW_REASONS = ("Dubbel ingevoerd.", "Entered by mistake.", "Verkeerde periode ingevoerd.")
_UNENDORSE_REASONS = ("Verkeerde bijdrage beoordeeld.", "Endorsed the wrong contribution.")
_STOLEN_NOTE = "Laptop met sleutel gestolen; gemeld bij de servicedesk."

# -- behaviour --------------------------------------------------------------------------

_GRADES = (1, 2, 3, 4, 5)
_GRADE_CUM = {  # cumulative weights of grades 1-5 by a person's quality (-1, 0, +1)
    -1: (6, 26, 72, 96, 100),
    0: (2, 9, 47, 87, 100),
    1: (1, 4, 24, 72, 100),
}
_SKILL_COUNTS, _SKILL_COUNT_WEIGHTS = (2, 3, 4, 5, 6), (15, 30, 30, 15, 10)
_HOURS = (4, 8, 8, 12, 16)
_RINGS, _RING_WEIGHTS = ("department", "organisation", "government"), (10, 35, 55)
_VISIBILITY = (
    ("ambitions", "on_request"), ("analytical", "on_request"), ("free", "public"),
    ("dossier", "private"), ("ambitions", "private"), ("dossier", "public"),
)  # fmt: skip
_VISIBILITY_WEIGHTS = (4, 3, 2, 1, 1, 1)
_WORK_KINDS = (("work", "dossier"), ("project", "free"), ("publication", "free"))
_WORK_KIND_WEIGHTS = (65, 25, 10)
_P_CLAIM = 0.3  # per person and round
_P_POST = 0.3  # per team manager and round
_TEAM_SIZE = 8
_DEPARTMENT_SIZE = 25

# -- the simulated clock ----------------------------------------------------------------

_START = _dt.date(2025, 1, 6)  # a Monday
_OPENS = _dt.datetime(2025, 1, 6, 7, tzinfo=_dt.UTC)  # working hours 07:00-17:00 UTC
_WORKDAY_US = 10 * 3600 * 1_000_000


def _work_offset(day: _dt.date) -> int:
    """Working microseconds from the start to the opening of ``day`` (or the next workday)."""
    weeks, weekday = divmod((day - _START).days, 7)
    if weekday >= 5:
        weeks, weekday = weeks + 1, 0
    return (weeks * 5 + weekday) * _WORKDAY_US


def _round_window(index: int) -> tuple[_dt.date, _dt.date]:
    def month(k: int) -> _dt.date:
        return _dt.date(2025 + k // 12, k % 12 + 1, 1)

    return (_START if index == 0 else month(index)), month(index + 1)


class _Clock:
    """Simulated time in working hours; each statement is issued a random step later."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._work_us = 0
        self._mean_step = 60e6

    def begin_round(self, index: int, statements: int) -> None:
        start, end = _round_window(index)
        self._work_us = max(self._work_us, _work_offset(start))
        span = max(_work_offset(end) - self._work_us, _WORKDAY_US)
        self._mean_step = 0.9 * span / max(statements, 1)  # leave room for chance

    def now(self) -> _dt.datetime:
        weeks, rest = divmod(self._work_us, 5 * _WORKDAY_US)
        days, micros = divmod(rest, _WORKDAY_US)
        return _OPENS + _dt.timedelta(days=7 * weeks + days, microseconds=micros)

    def today(self) -> _dt.date:
        return self.now().date()

    def tick(self) -> str:
        self._work_us += 1 + int(self._rng.random() * 2 * self._mean_step)
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- who is who -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    pid: str
    name: str
    skills: tuple[str, ...]
    quality: int  # -1, 0 or +1: shifts the grades this person's work gets


@dataclass(frozen=True, slots=True)
class _Team:
    org: int
    department: str
    core: tuple[str, ...]  # the skills the department's work needs most
    members: tuple[int, ...]  # the first one manages the team


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.replace("ı", "i"))
    return ascii_text.encode("ascii", "ignore").decode().lower().replace(" ", "-")


def _apportion(total: int, weights: Sequence[float], minimum: int) -> list[int]:
    """Split ``total`` by ``weights`` (largest remainders), each share at least ``minimum``."""
    rest = total - minimum * len(weights)
    exact = [rest * w / sum(weights) for w in weights]
    shares = [minimum + int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (int(exact[i]) - exact[i], i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class _Roster:
    """The people, organisations and teams at the start; drawn from its own generator."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self._rng = rng
        self._taken: Counter[str] = Counter()
        self.orgs = _ORGS[: max(2, min(len(_ORGS), size // 10))]
        self.people = [self._person(_ORGS[0].departments[-1][1])]  # the operator
        self.teams: list[_Team] = []
        sizes = _apportion(size - 1, [o.weight for o in self.orgs], minimum=2)
        for index, (org, n) in enumerate(zip(self.orgs, sizes, strict=True)):
            self._staff(index, org, n)
        self.team_of = [-1] * size
        for t, team in enumerate(self.teams):
            for m in team.members:
                self.team_of[m] = t
        first_team = [next(t for t in self.teams if t.org == o) for o in range(len(self.orgs))]
        self.admins = [t.members[min(1, len(t.members) - 1)] for t in first_team]
        self.by_skill: dict[str, list[int]] = {s.slug: [] for s in SKILLS}
        for index, person in enumerate(self.people[1:], start=1):
            for s in person.skills:
                self.by_skill[s].append(index)
        self.featured = self._featured(first_team[0], first_team[1])

    def _staff(self, org_index: int, org: _Org, n: int) -> None:
        n_depts = max(1, min(len(org.departments), -(-n // _DEPARTMENT_SIZE)))
        for (dept, core), dept_size in zip(org.departments, _split(n, n_depts), strict=False):
            for team_size in _split(dept_size, -(-dept_size // _TEAM_SIZE)):
                first = len(self.people)
                self.people.extend(self._person(core) for _ in range(team_size))
                members = tuple(range(first, first + team_size))
                self.teams.append(_Team(org_index, f"{org.slug}/{dept}", core, members))

    def _person(self, core: tuple[str, ...]) -> _Person:
        rng = self._rng
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_SURNAMES)
        base = f"{_slug(first)}.{_slug(last)}"
        self._taken[base] += 1
        pid = base if self._taken[base] == 1 else f"{base}-{self._taken[base]}"
        wanted = rng.choices(_SKILL_COUNTS, weights=_SKILL_COUNT_WEIGHTS)[0]
        skills = rng.sample(core, min(len(core), rng.randint(1, 3)))
        while len(skills) < wanted:
            extra = rng.choice(SKILLS).slug
            if extra not in skills:
                skills.append(extra)
        quality = rng.choices((-1, 0, 1), weights=(15, 65, 20))[0]
        return _Person(pid, f"{first} {last}", tuple(skills), quality)

    def _featured(self, home: _Team, other: _Team) -> dict[str, int]:
        manager = home.members[0]
        plain = [m for m in home.members[1:] if m != self.admins[0]]
        employee = plain[0] if plain else home.members[-1]
        star = dataclasses.replace(self.people[employee], quality=1)
        self.people[employee] = star  # the tour shows someone who does well
        mates = [m for m in home.members if m not in (employee, manager)]
        peer = plain[1] if len(plain) > 1 else mates[0] if mates else manager
        return {
            "operator": 0,
            "admin": self.admins[0],
            "manager": manager,
            "employee": employee,
            "peer": peer,
            "client": other.members[0],
        }

    @property
    def departments(self) -> list[str]:
        """The departments people work in, and the operator's."""
        return list(dict.fromkeys([_OPERATOR_DEPARTMENT, *(t.department for t in self.teams)]))


# -- the sink: one method per statement -----------------------------------------------------


class _Sink:
    """Receives the simulation's statements; counts them and, unless dry, signs them.

    Methods take people as roster indices and return handles (statement or
    assignment ids; empty strings when dry) that the simulation passes back.
    """

    def __init__(self, roster: _Roster, rng: random.Random | None, rounds: Sequence[int]) -> None:
        self.dry = rng is None
        self._rng = rng or random.Random(0)
        self._roster = roster
        self._rounds = rounds
        self._clock = _Clock(self._rng)
        self._round = 0
        self.counts: Counter[str] = Counter()
        self.round_counts = [0] * (ROUNDS + 1)
        self.buffer: list[SignedStatement] = []
        self.keys: list[Identity] = []
        if not self.dry:
            self.keys = [Identity(self._rng.randbytes(32)) for _ in roster.people]

    def begin_round(self, index: int) -> None:
        self._round = index
        if not self.dry:
            self._clock.begin_round(index, self._rounds[index])

    def _emit(self, type_: str, build: _Build) -> SignedStatement | None:
        self.counts[type_] += 1
        self.round_counts[self._round] += 1
        if self.dry:
            return None
        sid = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        opts = {"statement_id": sid, "issued_at": self._clock.tick(), "salt_source": self._salt}
        signed = build(opts)
        self.buffer.append(signed)
        return signed

    def _salt(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def _choice(self, options: Sequence[str]) -> str:
        return options[self._rng.randrange(len(options))]

    def _pid(self, person: int) -> str:
        return self._roster.people[person].pid

    # identity statements
    def register(self, signer: int, person: int, org: str, department: str) -> None:
        p = self._roster.people[person]
        self._emit("IdentityRegistered", lambda o: commands.register_identity(
            self.keys[signer], person=p.pid, public_key=self.keys[person].public_key.raw,
            organisation=org, department=department, display_name=p.name, **o,
        ))  # fmt: skip

    def grant_role(self, signer: int, person: int, role: str, scope: str) -> None:
        self._emit("RoleGranted", lambda o: commands.grant_role(
            self.keys[signer], person=self._pid(person), role=role, scope=scope, **o
        ))  # fmt: skip

    def revoke_role(self, signer: int, person: int, role: str, scope: str) -> None:
        self._emit("RoleRevoked", lambda o: commands.revoke_role(
            self.keys[signer], person=self._pid(person), role=role, scope=scope, **o
        ))  # fmt: skip

    def transfer(self, signer: int, person: int, org: str, department: str) -> None:
        self._emit("EmployeeTransferred", lambda o: commands.transfer_employee(
            self.keys[signer], person=self._pid(person), organisation=org,
            department=department, **o,
        ))  # fmt: skip

    def rotate_key(self, signer: int, person: int) -> None:
        """Rotate ``person`` to a fresh key, signed by their current key or by an admin."""

        def build(o: dict[str, Any]) -> SignedStatement:
            new = Identity(self._rng.randbytes(32))
            signed = commands.rotate_key(
                self.keys[signer], person=self._pid(person), new_public_key=new.public_key.raw, **o
            )
            self.keys[person] = new
            return signed

        self._emit("KeyRotated", build)

    def revoke_key(self, signer: int, person: int) -> None:
        """Revoke ``person``'s current key as compromised (it was stolen)."""
        self._emit("KeyRevoked", lambda o: commands.revoke_key(
            self.keys[signer], person=self._pid(person), key_id=self.keys[person].key_id,
            reason="compromised", note=_STOLEN_NOTE, **o,
        ))  # fmt: skip

    # record statements
    def claim(self, person: int, kind: str, part: str, skills: Sequence[str]) -> str:
        signed = self._emit("ContributionClaimed", lambda o: self._claim(
            person, kind, part, skills, o
        ))  # fmt: skip
        return signed.statement.id if signed else ""

    def _claim(
        self, person: int, kind: str, part: str, skills: Sequence[str], opts: dict[str, Any]
    ) -> SignedStatement:
        rng, today = self._rng, self._clock.today()
        title, description = self._describe(kind, skills)
        start, end = _period(rng, kind, today)
        proof = rng.random() < (0.8 if kind in ("diploma", "certificate") else 0.3)
        return commands.claim_contribution(
            self.keys[person], person=self._pid(person), title=title, skills=list(skills),
            start=start, end=end, part=part, kind=kind, description=description,
            evidence_sha256=rng.randbytes(32).hex() if proof else None, **opts,
        )  # fmt: skip

    def _describe(self, kind: str, skills: Sequence[str]) -> tuple[str, str | None]:
        first = SKILLS_BY_SLUG[skills[0]]
        topic = self._choice(_TOPICS)
        if kind == "diploma":
            degree = self._choice(("Master", "Bachelor", "Hbo-bachelor"))
            field = _FIELDS.get(first.category) or _FIELDS[first.slug]
            return f"{degree} {field}", self._choice(_SCHOOLS)
        if kind == "course":
            return f"Leergang {first.label_nl} (Rijksacademie)", None
        if kind == "certificate":
            return f"Certificate in {first.label_en}", None
        if kind == "publication":
            return f"Artikel over {topic} in Binnenlands Bestuur", None
        if self._rng.random() < 0.7:
            title = self._choice(_TITLES_NL[first.category]).format(topic=topic)
            return title, f"Bijdrage met {first.label_nl}. {self._choice(_RESULTS_NL)}"
        title = self._choice(_TITLES_EN[first.category]).format(topic=topic)
        return title, f"Contributed {first.label_en}. {self._choice(_RESULTS_EN)}"

    def withdraw(self, person: int, contribution: str) -> None:
        self._emit("ContributionWithdrawn", lambda o: commands.withdraw_contribution(
            self.keys[person], person=self._pid(person), contribution=contribution,
            reason=self._choice(_WITHDRAW_REASONS), **o,
        ))  # fmt: skip

    def endorse(self, signer: int, person: int, contribution: str, grade: int, role: str) -> str:
        signed = self._emit("EndorsementGiven", lambda o: commands.endorse(
            self.keys[signer], person=self._pid(person), contribution=contribution, grade=grade,
            role=role, comment=self._choice(_COMMENTS[grade]) if self._rng.random() < 0.7 else None,
            **o,
        ))  # fmt: skip
        return signed.statement.id if signed else ""

    def revoke_endorsement(self, signer: int, person: int, endorsement: str) -> None:
        self._emit("EndorsementRevoked", lambda o: commands.revoke_endorsement(
            self.keys[signer], person=self._pid(person), endorsement=endorsement,
            reason=self._choice(_UNENDORSE_REASONS), **o,
        ))  # fmt: skip

    def state_ambition(self, person: int, skills: Sequence[str]) -> None:
        self._emit("AmbitionStated", lambda o: self._ambition(person, skills, o))

    def _ambition(
        self, person: int, skills: Sequence[str], opts: dict[str, Any]
    ) -> SignedStatement:
        wanted = SKILLS_BY_SLUG[skills[0]]
        goal = self._choice((
            f"Ik wil mij verder ontwikkelen in {wanted.label_nl}.",
            f"Doorgroeien naar een rol als {self._choice(_ROLES)}.",
            f"Meer ervaring opdoen met {wanted.label_nl} via klussen bij andere organisaties.",
            f"Learn {wanted.label_en} by working on cross-government assignments.",
        ))  # fmt: skip
        courses = (
            f"Leergang {wanted.label_nl} (Rijksacademie)" if self._rng.random() < 0.5 else None
        )
        return commands.state_ambition(
            self.keys[person], person=self._pid(person), goal=goal, skills=list(skills),
            courses=courses, **opts,
        )  # fmt: skip

    def change_visibility(self, person: int, part: str, visibility: str) -> None:
        self._emit("VisibilityChanged", lambda o: commands.change_visibility(
            self.keys[person], person=self._pid(person), part=part, visibility=visibility, **o
        ))  # fmt: skip

    # assignment statements
    def post(
        self, owner: int, org: str, department: str, skills: Sequence[str], hours: int, ring: str
    ) -> str:
        signed = self._emit("AssignmentPosted", lambda o: self._post(
            owner, org, department, skills, hours, ring, o
        ))  # fmt: skip
        return signed.statement.subject if signed else ""

    def _post(
        self, owner: int, org: str, department: str, skills: Sequence[str], hours: int,
        ring: str, opts: dict[str, Any],
    ) -> SignedStatement:  # fmt: skip
        rng, wanted, topic = self._rng, SKILLS_BY_SLUG[skills[0]], self._choice(_TOPICS)
        starts = self._clock.today() + _dt.timedelta(days=rng.randint(5, 20))
        if rng.random() < 0.7:
            title = f"Klus: {wanted.label_nl} voor {topic}"
            text = f"Voor {hours} uur per week zoeken wij ervaring met {wanted.label_nl}."
        else:
            title = f"Assignment: {wanted.label_en} for {topic}"
            text = f"We are looking for {hours} hours a week of {wanted.label_en} support."
        return commands.post_assignment(
            self.keys[owner], assignment=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            organisation=org, department=department, title=title, skills=list(skills),
            hours_per_week=hours, ring=ring, description=text, starts=starts.isoformat(),
            ends=(starts + _dt.timedelta(days=rng.randint(28, 120))).isoformat(), **opts,
        )  # fmt: skip

    def apply(self, person: int, assignment: str, hours: int) -> None:
        self._emit("AssignmentApplied", lambda o: commands.apply_to_assignment(
            self.keys[person], assignment=assignment, hours_per_week=hours,
            motivation=self._choice(_MOTIVATIONS), **o,
        ))  # fmt: skip

    def assign(self, owner: int, assignment: str, assignee: int) -> None:
        self._emit("AssignmentAssigned", lambda o: commands.assign(
            self.keys[owner], assignment=assignment, assignee=self._pid(assignee), **o
        ))  # fmt: skip

    def complete(self, owner: int, assignment: str, assignee: int, grade: int) -> None:
        outcome = (
            "delivered" if grade >= 3 else "partly_delivered" if grade == 2 else "not_delivered"
        )
        self._emit("AssignmentCompleted", lambda o: commands.complete_assignment(
            self.keys[owner], assignment=assignment, assignee=self._pid(assignee), grade=grade,
            outcome=outcome, note=self._choice(_OUTCOME_NOTES[outcome]), **o,
        ))  # fmt: skip

    def cancel(self, owner: int, assignment: str, why: str) -> None:
        self._emit("AssignmentCancelled", lambda o: commands.cancel_assignment(
            self.keys[owner], assignment=assignment, reason=self._choice(_CANCEL_REASONS[why]), **o
        ))  # fmt: skip


def _period(rng: random.Random, kind: str, today: _dt.date) -> tuple[str, str | None]:
    """A plausible (start, end) for a contribution of ``kind`` claimed on ``today``."""
    days = _dt.timedelta
    if kind == "diploma":
        year = rng.randint(1995, 2022)
        start = _dt.date(year - rng.choice((3, 4, 5)), 9, 1)
        end: _dt.date | None = _dt.date(year, rng.randint(6, 8), rng.randint(1, 28))
    elif kind in ("course", "certificate"):
        end = today - days(rng.randint(10, 900))
        start = end - days(rng.randint(1, 120))
    else:
        end = today - days(rng.randint(0, 14))
        start = end - days(rng.randint(14, 200))
        if kind == "work" and rng.random() < 0.15:
            end = None  # still ongoing
    return start.isoformat(), end.isoformat() if end else None


# -- the simulation -------------------------------------------------------------------------


@dataclass
class _Posted:
    """An assignment posted in the previous round, to be completed or cancelled now."""

    owner: int
    handle: str
    skills: tuple[str, ...]
    assignees: list[int]
    sure: bool = False  # the tour's assignment is always completed


class _Simulation:
    """A year of work decided by ``rng``; every statement goes to ``sink``.

    Iterating runs the simulation; it yields whenever the sink may have filled
    a batch. The simulation keeps its own copy of who works where.
    """

    def __init__(self, roster: _Roster, sink: _Sink, rng: random.Random) -> None:
        self.r, self.roster, self.sink, self.n = rng, roster, sink, len(roster.people)
        self.team_of = list(roster.team_of)
        self.members = [list(t.members) for t in roster.teams]
        self.manager = [t.members[0] for t in roster.teams]
        self.manages = {t.members[0]: t.department for t in roster.teams}
        self.dept_teams: dict[str, list[int]] = {}
        self.org_teams: list[list[int]] = [[] for _ in roster.orgs]
        for index, team in enumerate(roster.teams):
            self.dept_teams.setdefault(team.department, []).append(index)
            self.org_teams[team.org].append(index)
        self.org_depts = [
            list(dict.fromkeys(roster.teams[t].department for t in ts)) for ts in self.org_teams
        ]
        featured = roster.featured
        self.protected = {0, *roster.admins, *featured.values()}
        self.protected_teams = {self.team_of[featured["manager"]], self.team_of[featured["client"]]}
        self.posted: list[_Posted] = []
        self.withdrawals: list[tuple[int, str]] = []
        self.unendorse: list[tuple[int, int, str]] = []
        self.schedule = self._schedule()

    # -- helpers ---------------------------------------------------------------------------
    def org_of(self, person: int) -> int:
        return self.roster.teams[self.team_of[person]].org

    def dept_of(self, person: int) -> str:
        return self.roster.teams[self.team_of[person]].department

    def grade(self, person: int) -> int:
        cum = _GRADE_CUM[self.roster.people[person].quality]
        return self.r.choices(_GRADES, cum_weights=cum)[0]

    def some(self, skills: Sequence[str], most: int) -> list[str]:
        return self.r.sample(skills, self.r.randint(1, min(most, len(skills))))

    def _schedule(self) -> list[list[int]]:
        """How many transfers, self-rotations of keys and manager changes, by round."""
        counts = [[0, 0, 0] for _ in range(ROUNDS + 1)]
        totals = (max(2, round(0.03 * self.n)), max(1, round(0.01 * self.n)), max(1, self.n // 300))
        for kind, total in enumerate(totals):
            for _ in range(total):
                counts[self.r.randint(3, ROUNDS)][kind] += 1
        return counts

    def _plain(self) -> int | None:
        """Someone who is neither featured, an admin nor a manager (None if none is found)."""
        for _ in range(20):
            p = self.r.randrange(1, self.n)
            if p not in self.protected and p not in self.manages:
                return p
        return None

    def _outsider(self, person: int) -> int | None:
        """Someone from another organisation (None if none is found quickly)."""
        org = self.org_of(person)
        for _ in range(8):
            c = self.r.randrange(1, self.n)
            if self.org_of(c) != org:
                return c
        return None

    # -- the year ----------------------------------------------------------------------------
    def run(self) -> Iterator[None]:
        """Run the whole simulation, yielding now and then."""
        self.sink.begin_round(0)
        yield from self._found()
        yield from self._profiles()
        for rnd in range(1, ROUNDS + 1):
            self.sink.begin_round(rnd)
            yield from self._close_assignments()
            if rnd == 1:
                self._tour()
            yield from self._contributions()
            yield from self._post_assignments()
            self._events(rnd)
            yield

    def _found(self) -> Iterator[None]:
        """Genesis, the admins, then every team with its manager role."""
        roster, sink = self.roster, self.sink
        sink.register(0, 0, roster.orgs[0].slug, _OPERATOR_DEPARTMENT)
        for o, admin in enumerate(roster.admins):
            sink.register(0, admin, roster.orgs[o].slug, self.dept_of(admin))
            sink.grant_role(0, admin, "admin", roster.orgs[o].slug)
        for team in roster.teams:
            admin, org = roster.admins[team.org], roster.orgs[team.org].slug
            for m in team.members:
                if m != admin:
                    sink.register(admin, m, org, team.department)
            sink.grant_role(admin, team.members[0], "manager", team.department)
            yield

    def _profiles(self) -> Iterator[None]:
        """Diplomas, courses and certificates; ambitions; visibility choices."""
        r, sink = self.r, self.sink
        order = list(range(1, self.n))
        r.shuffle(order)
        for p in order:
            skills = self.roster.people[p].skills
            if r.random() < 0.6:
                sink.claim(p, "diploma", "dossier", self.some(skills, 2))
            for _ in range(r.choice((0, 1, 1, 2))):
                sink.claim(p, r.choice(("course", "certificate")), "dossier", self.some(skills, 1))
            if r.random() < 0.7:
                self._ambition(p)
            if r.random() < 0.25:
                self._visibility(p)
            yield

    def _ambition(self, person: int) -> None:
        own, wanted = self.roster.people[person].skills, list[str]()
        while len(wanted) < self.r.choice((1, 1, 2)):
            s = self.r.choice(SKILLS).slug
            if s not in own and s not in wanted:
                wanted.append(s)
        self.sink.state_ambition(person, wanted)

    def _visibility(self, person: int) -> None:
        part, visibility = self.r.choices(_VISIBILITY, weights=_VISIBILITY_WEIGHTS)[0]
        self.sink.change_visibility(person, part, visibility)

    def _tour(self) -> None:
        """The featured employee's work, endorsed by the featured manager, peer and client."""
        f, sink = self.roster.featured, self.sink
        e, m, peer, client = f["employee"], f["manager"], f["peer"], f["client"]
        skills = self.roster.people[e].skills[:2]
        work = sink.claim(e, "work", "dossier", skills)
        if m != e and self.manages.get(m) == self.dept_of(e):
            sink.endorse(m, e, work, self.grade(e), "manager")
        if peer not in (e, m):
            sink.endorse(peer, e, work, self.grade(e), "peer")
        if self.org_of(client) == self.org_of(e) or client not in self.manages:
            return
        sink.endorse(client, e, work, self.grade(e), "client")
        org = self.roster.orgs[self.org_of(client)].slug
        job = sink.post(client, org, self.manages[client], skills, 8, "government")
        sink.apply(e, job, 8)
        sink.assign(client, job, e)
        self.posted.append(_Posted(client, job, tuple(skills), [e], sure=True))

    def _contributions(self) -> Iterator[None]:
        """Work claimed by about a third of everyone, each with its 360° endorsements."""
        r = self.r
        for p in r.sample(range(1, self.n), round(_P_CLAIM * (self.n - 1))):
            kind, part = r.choices(_WORK_KINDS, weights=_WORK_KIND_WEIGHTS)[0]
            work = self.sink.claim(p, kind, part, self.some(self.roster.people[p].skills, 3))
            self._endorse(p, work)
            if r.random() < 0.015:
                self.withdrawals.append((p, work))
            yield

    def _endorse(self, person: int, work: str) -> None:
        r, sink, team = self.r, self.sink, self.team_of[person]
        boss = self.manager[team]
        if boss != person and r.random() < 0.75:
            sink.endorse(boss, person, work, self.grade(person), "manager")
        mates = [m for m in self.members[team] if m not in (person, boss)]
        for q in r.sample(mates, min(len(mates), r.choice((0, 1, 1, 2)))):
            endorsement = sink.endorse(q, person, work, self.grade(person), "peer")
            if r.random() < 0.01:
                self.unendorse.append((q, person, endorsement))
        if r.random() < 0.3 and (client := self._outsider(person)) is not None:
            sink.endorse(client, person, work, self.grade(person), "client")

    def _post_assignments(self) -> Iterator[None]:
        """Managers post assignments; people apply; the owners assign."""
        r, sink = self.r, self.sink
        for t, team in enumerate(self.roster.teams):
            if r.random() >= _P_POST:
                continue
            owner, skills = self.manager[t], self.some(team.core, 3)
            hours, ring = r.choice(_HOURS), r.choices(_RINGS, weights=_RING_WEIGHTS)[0]
            org = self.roster.orgs[team.org].slug
            job = sink.post(owner, org, team.department, skills, hours, ring)
            applicants = self._applicants(owner, team, skills, ring, r.choice((0, 1, 2, 2, 3, 4)))
            for a in applicants:
                sink.apply(a, job, min(hours, r.choice(_HOURS)))
            chosen = applicants[: 2 if len(applicants) > 1 and r.random() < 0.1 else 1]
            for a in chosen:
                sink.assign(owner, job, a)
            self.posted.append(_Posted(owner, job, tuple(skills), chosen))
            yield

    def _applicants(
        self, owner: int, team: _Team, skills: list[str], ring: str, k: int
    ) -> list[int]:
        """Up to ``k`` people within the assignment's ring (by skill, government-wide)."""
        r, out = self.r, list[int]()
        pool = {
            "department": self.dept_teams[team.department],
            "organisation": self.org_teams[team.org],
        }
        for _ in range(6 * k):
            if len(out) == k:
                break
            if ring in pool:
                members = self.members[r.choice(pool[ring])]
            else:
                members = self.roster.by_skill[r.choice(skills)]
            if not members:
                continue
            c = members[r.randrange(len(members))]
            if c != owner and c not in out and self._in_ring(c, team, ring):
                out.append(c)
        return out

    def _in_ring(self, person: int, team: _Team, ring: str) -> bool:
        if ring == "department":
            return self.dept_of(person) == team.department
        if ring == "organisation":
            return self.org_of(person) == team.org and self.dept_of(person) != team.department
        return self.org_of(person) != team.org

    def _close_assignments(self) -> Iterator[None]:
        """Last round's assignments: most completed with a grade, some cancelled."""
        r, sink = self.r, self.sink
        closing, self.posted = self.posted, []
        for job in closing:
            if not job.assignees:
                if r.random() < 0.7:
                    sink.cancel(job.owner, job.handle, "no_candidates")
            elif not job.sure and r.random() < 0.08:
                sink.cancel(job.owner, job.handle, "priorities")
            else:
                for a in job.assignees:
                    self._deliver(job, a)
            yield

    def _deliver(self, job: _Posted, assignee: int) -> None:
        grade = self.grade(assignee)
        self.sink.complete(job.owner, job.handle, assignee, grade)
        if job.sure or self.r.random() < 0.6:  # the assignee records it; the owner endorses
            work = self.sink.claim(assignee, "project", "free", job.skills)
            as_manager = self.manages.get(job.owner) == self.dept_of(assignee)
            self.sink.endorse(
                job.owner, assignee, work, grade, "manager" if as_manager else "client"
            )

    def _events(self, rnd: int) -> None:
        """Transfers, key rotations, the stolen key, manager changes, corrections, updates."""
        transfers, rotations, successions = self.schedule[rnd]
        for _ in range(transfers):
            self._transfer()
        for _ in range(rotations):
            if (p := self._plain()) is not None:
                self.sink.rotate_key(p, p)
        if rnd == ROUNDS // 2:
            self._stolen_key()
        for _ in range(successions):
            self._succession()
        for p, work in self.withdrawals:
            self.sink.withdraw(p, work)
        for endorser, p, endorsement in self.unendorse:
            self.sink.revoke_endorsement(endorser, p, endorsement)
        self.withdrawals, self.unendorse = [], []
        for p in self.r.sample(range(1, self.n), round(0.02 * (self.n - 1))):
            self._ambition(p)
        for p in self.r.sample(range(1, self.n), round(0.01 * (self.n - 1))):
            self._visibility(p)

    def _transfer(self) -> None:
        """Someone moves to another department, often in another organisation."""
        r, roster = self.r, self.roster
        if (p := self._plain()) is None:
            return
        org, here = self.org_of(p), self.dept_of(p)
        nearby = [d for d in self.org_depts[org] if d != here]
        if nearby and r.random() < 0.6:
            dept = r.choice(nearby)
        else:
            dept = r.choice(
                self.org_depts[r.choice([o for o in range(len(roster.orgs)) if o != org])]
            )
        team = r.choice(self.dept_teams[dept])
        dest = roster.teams[team].org
        self.sink.transfer(roster.admins[dest], p, roster.orgs[dest].slug, dept)
        self.members[self.team_of[p]].remove(p)
        self.members[team].append(p)
        self.team_of[p] = team

    def _stolen_key(self) -> None:
        """A key is stolen: the admin revokes it and installs a new key."""
        if (victim := self._plain()) is None:
            return
        admin = self.roster.admins[self.org_of(victim)]
        self.sink.revoke_key(admin, victim)
        self.sink.rotate_key(admin, victim)

    def _succession(self) -> None:
        """A manager steps down; a team member takes over the manager role."""
        for _ in range(20):
            t = self.r.randrange(len(self.roster.teams))
            if t in self.protected_teams or len(self.members[t]) < 2:
                continue
            old = self.manager[t]
            new = self.r.choice([m for m in self.members[t] if m != old])
            team = self.roster.teams[t]
            admin = self.roster.admins[team.org]
            self.sink.revoke_role(admin, old, "manager", team.department)
            self.sink.grant_role(admin, new, "manager", team.department)
            self.manager[t] = new
            del self.manages[old]
            self.manages[new] = team.department
            return


# -- the public API ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run appended.

    ``identities`` maps every person id to their current private key (the demo
    owns everyone's keys); ``counts`` holds the statements by type plus
    ``people``, ``organisations``, ``departments`` and ``assignments``;
    ``featured`` names people for a tour by role: ``operator``, ``admin``,
    ``manager``, ``employee``, ``peer`` and ``client``.
    """

    identities: dict[str, Identity]
    counts: dict[str, int]
    featured: dict[str, str]


class DemoPlan:
    """The demo ledger for ``people`` and ``seed``, decided before anything is signed.

    Building a plan runs the simulation once without signing, so ``total`` (the
    number of statements) and ``expected_counts`` (by type) are known up front.
    Raises :class:`ValueError` if ``people`` is below :data:`MIN_PEOPLE`.
    """

    def __init__(self, *, people: int = 60, seed: int = 7) -> None:
        if people < MIN_PEOPLE:
            raise ValueError(f"a demo needs at least {MIN_PEOPLE} people, got {people}")
        self.people, self.seed = people, seed
        master = random.Random(seed)
        self._roster = _Roster(people, random.Random(master.getrandbits(64)))
        self._decision_seed = master.getrandbits(64)
        self._material_seed = master.getrandbits(64)
        dry = _Sink(self._roster, None, ())
        for _ in self._simulation(dry).run():
            pass
        self._rounds = tuple(dry.round_counts)
        self.total = sum(self._rounds)
        self.expected_counts = {name: dry.counts[name] for name in CATALOGUE}

    def _simulation(self, sink: _Sink) -> _Simulation:
        return _Simulation(self._roster, sink, random.Random(self._decision_seed))

    @property
    def featured(self) -> dict[str, str]:
        """Person ids good for a tour, by role."""
        return {role: self._roster.people[i].pid for role, i in self._roster.featured.items()}

    @property
    def organisations(self) -> list[str]:
        """The slugs of the organisations in the demo."""
        return [o.slug for o in self._roster.orgs]

    @property
    def departments(self) -> list[str]:
        """The departments (``org/dept``) in the demo."""
        return self._roster.departments

    def run(self, *, batch_size: int = DEFAULT_BATCH) -> DemoRun:
        """Start signing: a :class:`DemoRun` over batches of at most ``batch_size``."""
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
        sink = _Sink(self._roster, random.Random(self._material_seed), self._rounds)
        return DemoRun(self, sink, self._simulation(sink), batch_size)


class DemoRun:
    """One pass over a plan's signed statements, in batches in a valid append order.

    Iterate it once; afterwards :meth:`summary` tells what was generated.
    """

    def __init__(self, plan: DemoPlan, sink: _Sink, simulation: _Simulation, size: int) -> None:
        self._plan, self._sink, self._simulation, self._size = plan, sink, simulation, size
        self._started = self._finished = False

    def __iter__(self) -> Iterator[list[SignedStatement]]:
        if self._started:
            raise RuntimeError("a demo run can be iterated only once")
        self._started = True
        return self._batches()

    def _batches(self) -> Iterator[list[SignedStatement]]:
        buffer, size = self._sink.buffer, self._size
        for _ in self._simulation.run():
            while len(buffer) >= size:
                yield buffer[:size]
                del buffer[:size]
        while buffer:
            yield buffer[:size]
            del buffer[:size]
        self._finished = True

    def summary(self) -> DemoSummary:
        """The summary of the finished run; raises :class:`RuntimeError` before the end."""
        if not self._finished:
            raise RuntimeError("the demo run has not been iterated to its end")
        plan, sink = self._plan, self._sink
        people = plan._roster.people
        counts = {
            "people": len(people),
            "organisations": len(plan.organisations),
            "departments": len(plan.departments),
            "assignments": sink.counts["AssignmentPosted"],
        }
        counts.update((name, sink.counts[name]) for name in CATALOGUE)
        identities = {p.pid: key for p, key in zip(people, sink.keys, strict=True)}
        return DemoSummary(identities, counts, plan.featured)


def generate(
    *, people: int = 60, seed: int = 7, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[SignedStatement]]:
    """Yield the demo's signed statements in batches, in a valid append order.

    The same ``people`` and ``seed`` yield byte-identical statements. Raises
    :class:`ValueError` for fewer than :data:`MIN_PEOPLE` people or a bad
    ``batch_size``.
    """
    yield from DemoPlan(people=people, seed=seed).run(batch_size=batch_size)


def populate(
    service: LedgerService,
    *,
    people: int = 60,
    seed: int = 7,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> DemoSummary:
    """Append the demo to the empty ledger of ``service`` and return its summary.

    ``progress(done, total)`` is called after each batch (and once at the
    start) with the exact total. Raises :class:`ValueError` if the ledger is not
    empty or the arguments are out of range, and whatever
    :meth:`LedgerService.append_batch` raises (a rule violation here would be a
    bug in the generator).
    """
    service.catch_up()
    if service.state.size:
        raise ValueError(f"the demo needs an empty ledger; this one holds {service.state.size}")
    plan = DemoPlan(people=people, seed=seed)
    run = plan.run(batch_size=batch_size)
    done = 0
    if progress is not None:
        progress(0, plan.total)
    for batch in run:
        service.append_batch(batch)
        done += len(batch)
        if progress is not None:
            progress(done, plan.total)
    return run.summary()
