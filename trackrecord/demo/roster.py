"""Who is who: the people, organisations, departments and teams at the start of the demo."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.skills import SKILLS

from .behaviour import DEPARTMENT_SIZE, SKILL_COUNT_WEIGHTS, SKILL_COUNTS, TEAM_SIZE
from .vocabulary import FIRST_NAMES, OPERATOR_DEPARTMENT, ORGS, SURNAMES, Org

__all__ = ["Person", "Roster", "Team"]


@dataclass(frozen=True, slots=True)
class Person:
    """One simulated person: id, display name, skills and quality."""

    pid: str
    name: str
    skills: tuple[str, ...]
    quality: int  # -1, 0 or +1: shifts the grades this person's work gets


@dataclass(frozen=True, slots=True)
class Team:
    """A team of one department; its first member is its manager."""

    org: int
    department: str
    core: tuple[str, ...]  # the skills the department's work needs most
    members: tuple[int, ...]  # the first one manages the team


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


class Roster:
    """The people, organisations and teams at the start; drawn from its own generator."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self._rng = rng
        # Person ids are opaque HR numbers: a name is personal content, sealed in the
        # disclosures and erasable, while an id stays in every entry for good (privacy.md
        # §3). They come from their own generator, seeded from this one without drawing
        # from it, so the rest of the demo is as before.
        self._ids = random.Random(repr(rng.getstate()))
        self._taken: set[str] = set()
        self.orgs = ORGS[: max(2, min(len(ORGS), size // 10))]
        self.people = [self._person(ORGS[0].departments[-1][1])]  # the operator
        self.teams: list[Team] = []
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

    def _staff(self, org_index: int, org: Org, n: int) -> None:
        n_depts = max(1, min(len(org.departments), -(-n // DEPARTMENT_SIZE)))
        for (dept, core), dept_size in zip(org.departments, _split(n, n_depts), strict=False):
            for team_size in _split(dept_size, -(-dept_size // TEAM_SIZE)):
                first = len(self.people)
                self.people.extend(self._person(core) for _ in range(team_size))
                members = tuple(range(first, first + team_size))
                self.teams.append(Team(org_index, f"{org.slug}/{dept}", core, members))

    def _person(self, core: tuple[str, ...]) -> Person:
        rng = self._rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        pid = f"hr-{self._ids.randrange(100_000, 1_000_000)}"
        while pid in self._taken:
            pid = f"hr-{self._ids.randrange(100_000, 1_000_000)}"
        self._taken.add(pid)
        wanted = rng.choices(SKILL_COUNTS, weights=SKILL_COUNT_WEIGHTS)[0]
        skills = rng.sample(core, min(len(core), rng.randint(1, 3)))
        while len(skills) < wanted:
            extra = rng.choice(SKILLS).slug
            if extra not in skills:
                skills.append(extra)
        quality = rng.choices((-1, 0, 1), weights=(15, 65, 20))[0]
        return Person(pid, f"{first} {last}", tuple(skills), quality)

    def _featured(self, home: Team, other: Team) -> dict[str, int]:
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
        return list(dict.fromkeys([OPERATOR_DEPARTMENT, *(t.department for t in self.teams)]))
