"""The simulation: a year of work in monthly rounds, each decision drawn from one generator."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ledger.access import DEFAULT_VISIBILITY
from ledger.skills import SKILLS

from .behaviour import (
    ERASED_PER,
    GRADE_CUM,
    GRADES,
    HOURS,
    P_CLAIM,
    P_GRANT,
    P_POST,
    P_REQUEST_APPLICANT,
    P_REQUEST_MANAGER,
    P_REVOKE_GRANT,
    RING_WEIGHTS,
    RINGS,
    ROUNDS,
    VISIBILITY,
    VISIBILITY_WEIGHTS,
    WORK_KIND_WEIGHTS,
    WORK_KINDS,
)
from .roster import Roster, Team
from .sink import Sink
from .vocabulary import OPERATOR_DEPARTMENT

__all__ = ["Simulation"]

_DEFAULT_VISIBILITY = {part.value: v.value for part, v in DEFAULT_VISIBILITY.items()}
_ASKED_PARTS = ("dossier", "analytical")  # the parts that are on_request by default

# (owner, viewer, part) of an access request or grant, owner and viewer as roster indices
_Access = tuple[int, int, str]


@dataclass
class _Posted:
    """An assignment posted in the previous round, to be completed or cancelled now."""

    owner: int
    handle: str
    skills: tuple[str, ...]
    assignees: list[int]
    sure: bool = False  # the tour's assignment is always completed


class Simulation:
    """A year of work decided by ``rng``; every statement goes to ``sink``.

    Iterating runs the simulation; it yields whenever the sink may have filled
    a batch. The simulation keeps its own copy of who works where.
    """

    def __init__(self, roster: Roster, sink: Sink, rng: random.Random) -> None:
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
        self.lingering: set[int] = set()  # owners of assignments left open for good
        self.visibility: dict[tuple[int, str], str] = {}  # as the owners set it
        self.asked: list[tuple[_Access, str]] = []  # requests to answer this round
        self.open_requests: set[_Access] = set()
        self.granted: dict[_Access, str] = {}  # grants not revoked, by key
        self.kept: _Access | None = None  # the tour's grant, never revoked
        # the README's tour has the featured manager ask the featured employee: left to it
        self.tour_pair = (featured["employee"], featured["manager"])
        self.gone: set[int] = set()  # erased: nothing more by, on or about them
        self.withdrawals: list[tuple[int, str]] = []
        self.unendorse: list[tuple[int, int, str]] = []
        self.schedule = self._schedule()

    # -- helpers ---------------------------------------------------------------------------
    def org_of(self, person: int) -> int:
        return self.roster.teams[self.team_of[person]].org

    def dept_of(self, person: int) -> str:
        return self.roster.teams[self.team_of[person]].department

    def grade(self, person: int) -> int:
        cum = GRADE_CUM[self.roster.people[person].quality]
        return self.r.choices(GRADES, cum_weights=cum)[0]

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
        """Someone who is neither featured, an admin, a manager nor erased (None if none
        is found)."""
        for _ in range(20):
            p = self.r.randrange(1, self.n)
            if p not in self.protected and p not in self.manages and p not in self.gone:
                return p
        return None

    def _outsider(self, person: int) -> int | None:
        """Someone from another organisation (None if none is found quickly)."""
        org = self.org_of(person)
        for _ in range(8):
            c = self.r.randrange(1, self.n)
            if self.org_of(c) != org and c not in self.gone:
                return c
        return None

    def _on_request(self, person: int, part: str) -> bool:
        return self.visibility.get((person, part), _DEFAULT_VISIBILITY[part]) == "on_request"

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
        sink.register(0, 0, roster.orgs[0].slug, OPERATOR_DEPARTMENT)
        for o, admin in enumerate(roster.admins):
            sink.register(0, admin, roster.orgs[o].slug, self.dept_of(admin))
            sink.grant_role(0, admin, "admin", roster.orgs[o].slug)
        linked = False
        for team in roster.teams:
            admin, org = roster.admins[team.org], roster.orgs[team.org].slug
            for m in team.members:
                if m != admin:
                    sink.register(admin, m, org, team.department)
            sink.grant_role(admin, team.members[0], "manager", team.department)
            newcomer = next((m for m in team.members[1:] if m != admin), None)
            if not linked and newcomer is not None:
                # a newcomer brings a record from a former employer's ledger; their key
                # there is lost, so the admin countersigns the link (docs/bundle.md §10)
                sink.link(admin, newcomer)
                linked = True
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
        part, visibility = self.r.choices(VISIBILITY, weights=VISIBILITY_WEIGHTS)[0]
        self.sink.change_visibility(person, part, visibility)
        self.visibility[person, part] = visibility

    def _tour(self) -> None:
        """The featured employee's work, reviewed on request by the featured manager, peer
        and client."""
        f, sink = self.roster.featured, self.sink
        e, m, peer, client = f["employee"], f["manager"], f["peer"], f["client"]
        skills = self.roster.people[e].skills[:2]
        work = sink.claim(e, "work", "dossier", skills)
        asked: list[tuple[int, str]] = []
        if m != e and self.manages.get(m) == self.dept_of(e):
            asked.append((m, "manager"))
        if peer not in (e, m):
            asked.append((peer, "peer"))
        with_client = self.org_of(client) != self.org_of(e) and client in self.manages
        if with_client:
            asked.append((client, "client"))
        self._reviewed(e, work, asked)
        if not with_client:
            return
        org = self.roster.orgs[self.org_of(client)].slug
        job = sink.post(client, org, self.manages[client], skills, 8, "government")
        sink.apply(e, job, 8)
        if self._on_request(e, "dossier"):  # the client reads the dossier before assigning
            key = (e, client, "dossier")
            self.granted[key] = sink.grant_access(
                e, client, "dossier", sink.request_access(client, e, "dossier")
            )
            self.kept = key
        sink.assign(client, job, e)
        self.posted.append(_Posted(client, job, tuple(skills), [e], sure=True))

    def _contributions(self) -> Iterator[None]:
        """Work claimed by about a third of everyone, each with its 360° endorsements."""
        r = self.r
        for p in r.sample(range(1, self.n), round(P_CLAIM * (self.n - 1))):
            if p in self.gone:
                continue
            kind, part = r.choices(WORK_KINDS, weights=WORK_KIND_WEIGHTS)[0]
            work = self.sink.claim(p, kind, part, self.some(self.roster.people[p].skills, 3))
            self._endorse(p, work)
            if r.random() < 0.015:
                self.withdrawals.append((p, work))
            yield

    def _endorse(self, person: int, work: str) -> None:
        """``person`` asks their manager, some team mates and maybe a client to review
        ``work``; each answers the request."""
        r, team = self.r, self.team_of[person]
        boss = self.manager[team]
        asked: list[tuple[int, str]] = []
        if boss != person and r.random() < 0.75:
            asked.append((boss, "manager"))
        mates = [m for m in self.members[team] if m not in (person, boss)]
        asked += [(q, "peer") for q in r.sample(mates, min(len(mates), r.choice((0, 1, 1, 2))))]
        if r.random() < 0.3 and (client := self._outsider(person)) is not None:
            asked.append((client, "client"))
        for q, role, endorsement in self._reviewed(person, work, asked):
            if role == "peer" and r.random() < 0.01:
                self.unendorse.append((q, person, endorsement))

    def _reviewed(
        self, person: int, work: str, asked: list[tuple[int, str]]
    ) -> list[tuple[int, str, str]]:
        """``person``'s review request of ``work`` to ``asked`` (reviewer, role), each
        answered with an endorsement: ``(reviewer, role, endorsement)`` in order."""
        if not asked:
            return []
        request = self.sink.request_review(person, work, asked)
        return [
            (q, role, self.sink.endorse(q, person, work, self.grade(person), role, request))
            for q, role in asked
        ]

    def _post_assignments(self) -> Iterator[None]:
        """Managers post assignments; people apply; the owners assign."""
        r, sink = self.r, self.sink
        for t, team in enumerate(self.roster.teams):
            if r.random() >= P_POST:
                continue
            owner, skills = self.manager[t], self.some(team.core, 3)
            hours, ring = r.choice(HOURS), r.choices(RINGS, weights=RING_WEIGHTS)[0]
            org = self.roster.orgs[team.org].slug
            job = sink.post(owner, org, team.department, skills, hours, ring)
            applicants = self._applicants(owner, team, skills, ring, r.choice((0, 1, 2, 2, 3, 4)))
            for a in applicants:
                sink.apply(a, job, min(hours, r.choice(HOURS)))
                if r.random() < P_REQUEST_APPLICANT:
                    self._request(owner, a, r.choice(_ASKED_PARTS))
            chosen = applicants[: 2 if len(applicants) > 1 and r.random() < 0.1 else 1]
            for a in chosen:
                sink.assign(owner, job, a)
            self.posted.append(_Posted(owner, job, tuple(skills), chosen))
            yield

    def _applicants(
        self, owner: int, team: Team, skills: list[str], ring: str, k: int
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
            if c != owner and c not in out and c not in self.gone and self._in_ring(c, team, ring):
                out.append(c)
        return out

    def _in_ring(self, person: int, team: Team, ring: str) -> bool:
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
                else:
                    self.lingering.add(job.owner)
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
            request = self.sink.request_review(
                assignee, work, [(job.owner, "manager" if as_manager else "client")]
            )
            self.sink.endorse(
                job.owner, assignee, work, grade, "manager" if as_manager else "client", request
            )

    def _events(self, rnd: int) -> None:
        """Transfers, key rotations, the stolen key, manager changes, corrections, access
        requests and their answers, updates and, near the end, erasures."""
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
        self._revoke_grants()
        self._manager_requests()
        self._answer_requests()
        for p in self.r.sample(range(1, self.n), round(0.02 * (self.n - 1))):
            if p not in self.gone:
                self._ambition(p)
        for p in self.r.sample(range(1, self.n), round(0.01 * (self.n - 1))):
            if p not in self.gone:
                self._visibility(p)
        if rnd == ROUNDS - 1:
            for _ in range(max(1, self.n // ERASED_PER)):
                self._erase()
            self._leave()

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
        if dest != org:  # a move to another organisation needs the person's consent
            self.sink.consent(p, roster.orgs[dest].slug, dept)
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
        self.protected.add(victim)  # stays where the tour finds them, with that admin

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

    # -- access on request ---------------------------------------------------------------------
    def _request(self, viewer: int, owner: int, part: str) -> None:
        """``viewer`` asks to read ``owner``'s ``part``, if it is on_request and not yet asked."""
        key = (owner, viewer, part)
        if (
            viewer == owner
            or (owner, viewer) == self.tour_pair
            or not self._on_request(owner, part)
            or key in self.open_requests
            or key in self.granted
        ):
            return
        self.asked.append((key, self.sink.request_access(viewer, owner, part)))
        self.open_requests.add(key)

    def _manager_requests(self) -> None:
        """Managers staffing a project ask to see people of their own organisation."""
        r = self.r
        for _ in range(round(P_REQUEST_MANAGER * self.n)):
            t = r.randrange(len(self.roster.teams))
            mates = self.members[r.choice(self.org_teams[self.roster.teams[t].org])]
            if mates:
                self._request(self.manager[t], r.choice(mates), r.choice(_ASKED_PARTS))

    def _answer_requests(self) -> None:
        """The owners answer this round's requests: most grant, some refuse."""
        for key, request in self.asked:
            owner, viewer, part = key
            if self._on_request(owner, part) and self.r.random() < P_GRANT:
                self.granted[key] = self.sink.grant_access(owner, viewer, part, request)
            else:
                self.sink.refuse_access(owner, request)
            self.open_requests.discard(key)
        self.asked = []

    def _revoke_grants(self) -> None:
        """A few owners withdraw a grant they gave in an earlier round."""
        for key in [k for k in self.granted if k != self.kept]:
            if self.r.random() < P_REVOKE_GRANT:
                self.sink.revoke_access(key[0], self.granted.pop(key))

    # -- erasure -------------------------------------------------------------------------------
    def _leave(self) -> None:
        """Someone leaves for an employer on another ledger (``EmployeeLeft``): they own and
        hold no open assignment, and nothing more is signed by or on them here (the ledger
        would refuse it with ``departed``)."""
        if (p := self._free_to_go()) is None:
            return
        self.sink.leave(p)
        self._forget(p)

    def _free_to_go(self) -> int | None:
        """Someone neither featured, managing, gone nor busy with an assignment (None if
        none is found quickly)."""
        busy = self.lingering.union(*({j.owner, *j.assignees} for j in self.posted))
        for _ in range(20):
            p = self.r.randrange(1, self.n)
            if p in self.protected or p in self.manages or p in self.gone or p in busy:
                continue
            return p
        return None

    def _forget(self, p: int) -> None:
        """``p`` takes part in nothing more (erased or left)."""
        self.gone.add(p)
        self.members[self.team_of[p]].remove(p)
        self.granted = {k: g for k, g in self.granted.items() if p not in (k[0], k[1])}

    def _erase(self) -> None:
        """Someone who left is erased by an admin, on their request or after the retention
        period; they own and hold no open assignment, and nothing more is signed by, on
        or about them (the ledger would refuse it with ``erased``)."""
        if (p := self._free_to_go()) is None:
            return
        admin = self.roster.admins[self.org_of(p)]
        self.sink.erase(admin, p, self.r.choice(("request", "retention")))
        self._forget(p)
