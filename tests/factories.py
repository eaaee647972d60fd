"""Builders of valid ledgers for the tests: people with keys, typical sequences of statements.

A :class:`World` signs statements for a cast of :class:`Member` s and appends them to a
:class:`Ledger`: the real :class:`~ledger.service.LedgerService` or the storage-free
:class:`MemoryLedger`, which feeds the same :func:`~ledger.rules.apply_entry` as the
service. The builder methods (``w.claim(alice)``, ``w.endorse(bob, alice, c)``) only
*sign*; ``w.do(signed)`` appends, so a test can build an offending statement without
appending it.

Everything is deterministic given a world's ``seed``: keys come from the member's name,
statement ids, timestamps and disclosure salts from a counter. Two worlds on one ledger
need different seeds (or their statement ids collide as replays).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from keys import Identity, Purpose
from ledger import commands
from ledger.disclosures import Disclosure
from ledger.entry import Entry, next_entry
from ledger.rules import apply_entry
from ledger.state import LedgerState
from ledger.statement import SignedStatement, Signer, parse_statement, utc_timestamp

__all__ = [
    "DEPT",
    "ORG",
    "OTHER_DEPT",
    "TEST_ORIGIN",
    "Ledger",
    "Member",
    "MemoryLedger",
    "RecordingLedger",
    "TickClock",
    "World",
    "forge",
    "identity_for",
    "in_memory",
    "random_statements",
    "standard_cast",
    "standard_world",
    "state_snapshot",
]

ORG = "minbzk"
DEPT = "minbzk/dgo"
OTHER_DEPT = "minbzk/cio"
#: the ledger the tests' statements are addressed to, unless a test names another
TEST_ORIGIN = "trackrecord.test/ledger"
START = "2026-01-01"
_EPOCH = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
_STATE_TABLES = (
    "meta",
    "heads",
    "people",
    "keys",
    "statement_ids",
    "contributions",
    "endorsements",
    "active_endorsements",
    "assignments",
    "erased",
    "visibility",
    "access_requests",
    "access_grants",
    "open_requests",
    "active_grants",
    "review_requests",
    "reviewers",
    "coworkers",
    "completed_for",
)


def identity_for(name: str, generation: int = 0) -> Identity:
    """The deterministic Ed25519 identity of ``name``'s key number ``generation``."""
    return Identity(hashlib.sha256(f"trackrecord-tests:{name}:{generation}".encode()).digest())


class TickClock:
    """A ``recorded_at`` clock that advances one second per call (thread-safe)."""

    def __init__(self, start: dt.datetime = _EPOCH) -> None:
        self._start = start
        self._ticks = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            return utc_timestamp(self._start + dt.timedelta(seconds=next(self._ticks)))


class Ledger(Protocol):
    """What a :class:`World` appends to: a ledger service or a :class:`MemoryLedger`."""

    @property
    def state(self) -> LedgerState: ...

    def append(self, signed: SignedStatement) -> object: ...

    def append_batch(self, batch: Sequence[SignedStatement]) -> Sequence[object]: ...


class MemoryLedger:
    """The rules without storage: entries built and folded exactly as the service does."""

    def __init__(self, *, clock: Callable[[], str] | None = None) -> None:
        self.state = LedgerState()
        self.entries: list[tuple[Entry, tuple[Disclosure, ...]]] = []
        self._clock = clock or TickClock()

    def entry_for(self, signed: SignedStatement) -> Entry:
        """The entry ``signed`` would become if appended now (at its stream's head)."""
        s = signed.statement
        return next_entry(self.state.heads.get(s.stream), s, signed.signature, self._clock())

    def append(self, signed: SignedStatement) -> Entry:
        """Append one statement; raise :class:`~ledger.errors.RuleViolation` if refused."""
        return self.append_batch([signed])[0]

    def append_batch(self, batch: Sequence[SignedStatement]) -> list[Entry]:
        """Append statements all or nothing, like :meth:`LedgerService.append_batch`."""
        self.state.begin()
        out: list[Entry] = []
        try:
            for signed in batch:
                entry = self.entry_for(signed)
                apply_entry(self.state, entry, log_index=self.state.size, submitted=True)
                out.append(entry)
        except BaseException:
            self.state.rollback()
            raise
        self.state.commit()
        self.entries.extend((e, s.disclosures) for e, s in zip(out, batch, strict=True))
        return out


def in_memory(state: LedgerState) -> LedgerState:
    """An in-memory copy of ``state`` (such as the store's), for a test to change."""
    copy = LedgerState()
    for name in _STATE_TABLES:
        getattr(copy, name).update(getattr(state, name))
    return copy


def state_snapshot(state: LedgerState) -> dict[str, dict[Any, Any]]:
    """A copy of every table of ``state`` (their values are immutable), for equality checks.

    Read through ``items()``: a store-backed table answers that with one range read, where
    ``dict(table)`` would read its keys and then fetch each value with a query of its own."""
    return {name: dict(getattr(state, name).items()) for name in _STATE_TABLES}


def forge(
    signed: SignedStatement,
    *,
    signer: Identity,
    author: str | None = None,
    version_1: bool = False,
) -> SignedStatement:
    """``signed``'s statement with ``author`` (default: the signer's key id), signed by ``signer``.

    ``version_1`` drops ``ledger``: the statement as it was signed before statements named
    their ledger. Nothing else changes: id, subject, body and disclosures stay as they were.
    """
    raw = signed.statement.as_json()
    raw["author"] = author or signer.key_id
    if version_1:
        raw.pop("ledger", None)
    statement = parse_statement(raw)
    signature = signer.sign(Purpose.STATEMENT, statement.canonical)
    return SignedStatement(statement, signature, signed.disclosures)


@dataclass
class Member:
    """A person of the cast and the key they currently sign with."""

    id: str
    identity: Identity
    organisation: str
    department: str

    @property
    def key_id(self) -> str:
        return self.identity.key_id

    @property
    def signer(self) -> Signer:
        """The member's current key, signing for :data:`TEST_ORIGIN`."""
        return Signer(self.identity, TEST_ORIGIN)


class World:
    """Signs statements for a cast of people and appends them to ``ledger``."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        seed: str | None = None,
        people: dict[str, Member] | None = None,
        origin: str = TEST_ORIGIN,
    ) -> None:
        self.ledger = ledger
        self.origin = origin  # the ledger every statement of this world is addressed to
        self.people: dict[str, Member] = people if people is not None else {}
        self.identities: dict[str, Identity] = {}
        for member in self.people.values():
            self.identities[member.key_id] = member.identity
        self.seed = seed if seed is not None else uuid.uuid4().hex
        self._counter = itertools.count()
        # what this world appended, for :meth:`endorse` on any ledger (an HTTP one has no
        # local state): contribution id -> owner; (contribution, reviewer) asked
        self._claimed: dict[str, str] = {}
        self._reviewers: set[tuple[str, str]] = set()
        self._erased: set[str] = set()

    # -- plumbing ---------------------------------------------------------------
    def __getitem__(self, name: str) -> Member:
        return self.people[name]

    @property
    def state(self) -> LedgerState:
        return self.ledger.state

    @property
    def operator(self) -> Member:
        return self.people["operator"]

    def signer_for(self, identity: Identity) -> Signer:
        """``identity`` signing for this world's ledger."""
        return Signer(identity, self.origin)

    def new_key(self, name: str, generation: int) -> Identity:
        """``name``'s key number ``generation``, remembered by key id."""
        identity = identity_for(name, generation)
        self.identities[identity.key_id] = identity
        return identity

    def opts(self, **override: Any) -> dict[str, Any]:
        """Deterministic statement id, issue time and disclosure salts for the next statement."""
        n = next(self._counter)
        digest = hashlib.sha256(f"{self.seed}:{n}".encode()).digest()
        salts = itertools.count()

        def salt_source(size: int) -> bytes:
            return hashlib.sha256(f"{self.seed}:{n}:salt:{next(salts)}".encode()).digest()[:size]

        opts: dict[str, Any] = {
            "statement_id": str(uuid.UUID(bytes=digest[:16], version=4)),
            "issued_at": utc_timestamp(_EPOCH + dt.timedelta(seconds=n)),
            "salt_source": salt_source,
        }
        opts.update(override)
        return opts

    def do(self, signed: SignedStatement) -> SignedStatement:
        """Append ``signed``; return it (for its ``statement.id`` or ``.subject``)."""
        self.ledger.append(signed)
        self._remember(signed)
        return signed

    def do_all(self, batch: Sequence[SignedStatement]) -> list[SignedStatement]:
        """Append ``batch`` as one atomic batch."""
        self.ledger.append_batch(batch)
        for signed in batch:
            self._remember(signed)
        return list(batch)

    def _remember(self, signed: SignedStatement) -> None:
        s = signed.statement
        if s.type == "ContributionClaimed":
            self._claimed[s.id] = s.subject
        elif s.type == "ContributionWithdrawn":
            self._claimed.pop(str(s.body["contribution"]), None)
        elif s.type == "PersonErased":
            self._erased.add(s.subject)
        elif s.type == "ReviewRequested":
            for r in s.body["reviewers"]:
                self._reviewers.add((str(s.body["contribution"]), str(r["person"])))

    # -- identity stream --------------------------------------------------------
    def genesis(self, name: str = "operator", *, department: str = OTHER_DEPT) -> SignedStatement:
        """The operator's self-signed registration: the first entry of a ledger."""
        member = self.member(name, ORG, department)
        return commands.register_identity(
            self.signer_for(member.identity),
            person=name,
            public_key=member.identity.public_key.raw,
            organisation=ORG,
            department=department,
            display_name=name.title(),
            **self.opts(),
        )

    def register(
        self,
        name: str,
        *,
        signer: Member | None = None,
        organisation: str = ORG,
        department: str = DEPT,
        next_key: bytes | None = None,
        **opts: Any,
    ) -> SignedStatement:
        """``name``'s registration by ``signer`` (default: the operator)."""
        member = self.member(name, organisation, department)
        return commands.register_identity(
            self.signer_for((signer or self.operator).identity),
            person=name,
            public_key=member.identity.public_key.raw,
            organisation=organisation,
            department=department,
            display_name=f"{name.title()} van Dijk",
            next_key=next_key,
            **self.opts(**opts),
        )

    def member(self, name: str, organisation: str = ORG, department: str = DEPT) -> Member:
        """The cast member ``name``, created (with key number 0) on first use."""
        member = self.people.get(name)
        if member is None:
            member = Member(name, self.new_key(name, 0), organisation, department)
            self.people[name] = member
        return member

    def grant(
        self, person: Member, role: str, scope: str, *, signer: Member | None = None, **opts: Any
    ) -> SignedStatement:
        return commands.grant_role(
            self.signer_for((signer or self.operator).identity),
            person=person.id,
            role=role,
            scope=scope,
            **self.opts(**opts),
        )

    def revoke_role(
        self, person: Member, role: str, scope: str, *, signer: Member | None = None
    ) -> SignedStatement:
        return commands.revoke_role(
            self.signer_for((signer or self.operator).identity),
            person=person.id,
            role=role,
            scope=scope,
            **self.opts(),
        )

    def rotate(
        self,
        person: Member,
        new_key: Identity,
        *,
        signer: Identity | None = None,
        next_key: bytes | None = None,
        **opts: Any,
    ) -> SignedStatement:
        """``person``'s key rotation to ``new_key``, signed by their current key by default.

        The caller sets ``person.identity = new_key`` once the rotation is appended.
        """
        self.identities[new_key.key_id] = new_key
        return commands.rotate_key(
            self.signer_for(signer or person.identity),
            person=person.id,
            new_public_key=new_key.public_key.raw,
            next_key=next_key,
            **self.opts(**opts),
        )

    def revoke_key(
        self, person: Member, key_id: str, *, signer: Identity | None = None, **opts: Any
    ) -> SignedStatement:
        """Revocation of ``person``'s key ``key_id``, signed by ``person`` by default."""
        return commands.revoke_key(
            self.signer_for(signer or person.identity),
            person=person.id,
            key_id=key_id,
            note="laptop stolen",
            **self.opts(**opts),
        )

    def transfer(
        self, person: Member, organisation: str, department: str, *, signer: Member | None = None
    ) -> SignedStatement:
        return commands.transfer_employee(
            self.signer_for((signer or self.operator).identity),
            person=person.id,
            organisation=organisation,
            department=department,
            **self.opts(),
        )

    def consent(self, person: Member, organisation: str, department: str) -> SignedStatement:
        """``person``'s consent to a transfer to ``department`` of another organisation."""
        return commands.consent_to_transfer(
            self.signer_for(person.identity),
            person=person.id,
            organisation=organisation,
            department=department,
            **self.opts(),
        )

    def leave(self, person: Member, destination: str) -> SignedStatement:
        """``person`` leaves this ledger for the ledger ``destination``."""
        return commands.leave_ledger(
            self.signer_for(person.identity), person=person.id, destination=destination,
            **self.opts(),
        )  # fmt: skip

    # -- record stream ----------------------------------------------------------
    def claim(
        self,
        author: Member,
        *,
        person: str | None = None,
        signer: Identity | None = None,
        title: str = "Wrote the Woo implementation guide",
        description: str | None = "Drafted, reviewed with legal, published.",
        skills: Sequence[str] = ("policy-advice", "python"),
        **opts: Any,
    ) -> SignedStatement:
        """A contribution claimed by ``author`` on ``person``'s record (default: their own)."""
        return commands.claim_contribution(
            self.signer_for(signer or author.identity),
            person=person or author.id,
            title=title,
            skills=skills,
            start=START,
            description=description,
            **self.opts(**opts),
        )

    def withdraw(self, person: Member, contribution: str) -> SignedStatement:
        return commands.withdraw_contribution(
            self.signer_for(person.identity),
            person=person.id,
            contribution=contribution,
            reason="duplicate",
            **self.opts(),
        )

    def endorse(
        self,
        endorser: Member,
        subject: Member,
        contribution: str,
        *,
        grade: int = 4,
        role: str = "peer",
        request: str | None = None,
        asked: bool = True,
        **opts: Any,
    ) -> SignedStatement:
        """``endorser``'s endorsement of ``subject``'s ``contribution``.

        With ``asked`` (the default), ``subject`` first asks ``endorser`` to review it in
        ``role`` (appended now, as the pages' "ask for a review" does) unless a request
        already names them, the contribution is not in the ledger yet or ``subject``
        cannot sign: what lets them read it and, as a client, gives the evidence
        (docs/rules.md §4.1). ``asked=False`` signs a blind endorsement."""
        if asked:
            self._ask_first(endorser, subject, contribution, role)
        return commands.endorse(
            self.signer_for(endorser.identity),
            person=subject.id,
            contribution=contribution,
            grade=grade,
            role=role,
            comment="Clear and on time.",
            request=request,
            **self.opts(**opts),
        )

    def ask_review(
        self,
        owner: Member,
        contribution: str,
        *reviewers: tuple[Member, str],
        signer: Identity | None = None,
        **opts: Any,
    ) -> SignedStatement:
        """``owner`` asks ``reviewers`` (``(member, role)`` pairs) to review ``contribution``."""
        return commands.request_review(
            self.signer_for(signer or owner.identity),
            person=owner.id,
            contribution=contribution,
            reviewers=[(m.id, role) for m, role in reviewers],
            message="Could you review this, please?",
            **self.opts(**opts),
        )

    def _ask_first(self, endorser: Member, subject: Member, contribution: str, role: str) -> None:
        if (
            self._claimed.get(contribution) != subject.id
            or endorser.id == subject.id
            or (contribution, endorser.id) in self._reviewers
            or not self._erased.isdisjoint((subject.id, endorser.id))
        ):
            return
        try:
            st = self.state
        except RuntimeError:  # a ledger read through its API: no local state to consult
            st = None
        if st is not None:
            person = st.people.get(subject.id)
            if (
                person is None
                or person.current_key != subject.key_id
                or endorser.id not in st.people
                or st.is_erased(subject.id)
                or st.is_erased(endorser.id)
                or subject.id in st.departures  # left: they ask nothing here any more
            ):
                return
        self.asked(subject, contribution, endorser, role)

    def asked(self, owner: Member, contribution: str, reviewer: Member, role: str = "peer") -> str:
        """Append ``owner``'s request that ``reviewer`` review ``contribution`` as ``role``
        (what lets them read and grade it); return the request's id."""
        return self.do(self.ask_review(owner, contribution, (reviewer, role))).statement.id

    def revoke_endorsement(
        self, endorser: Member, subject: Member, endorsement: str
    ) -> SignedStatement:
        return commands.revoke_endorsement(
            self.signer_for(endorser.identity),
            person=subject.id,
            endorsement=endorsement,
            reason="wrong contribution",
            **self.opts(),
        )

    def ambition(self, person: Member, *, goal: str = "Lead a data team") -> SignedStatement:
        return commands.state_ambition(
            self.signer_for(person.identity),
            person=person.id,
            goal=goal,
            skills=["leadership"],
            **self.opts(),
        )

    def visibility(self, person: Member, part: str, visibility: str) -> SignedStatement:
        return commands.change_visibility(
            self.signer_for(person.identity),
            person=person.id,
            part=part,
            visibility=visibility,
            **self.opts(),
        )

    # -- access on request and erasure --------------------------------------------
    def request_access(
        self, viewer: Member, owner: Member, part: str = "dossier", **opts: Any
    ) -> SignedStatement:
        return commands.request_access(
            self.signer_for(viewer.identity),
            owner=owner.id,
            part=part,
            message="For the staffing of the housing dashboard.",
            **self.opts(**opts),
        )

    def grant_access(
        self,
        owner: Member,
        viewer: Member,
        part: str = "dossier",
        *,
        request: str | None = None,
        until: str | None = None,
    ) -> SignedStatement:
        return commands.grant_access(
            self.signer_for(owner.identity),
            person=owner.id,
            viewer=viewer.id,
            part=part,
            request=request,
            until=until,
            **self.opts(),
        )

    def refuse_access(self, owner: Member, request: str) -> SignedStatement:
        return commands.refuse_access(
            self.signer_for(owner.identity),
            person=owner.id,
            request=request,
            reason="Not now.",
            **self.opts(),
        )

    def revoke_access(self, owner: Member, grant: str) -> SignedStatement:
        return commands.revoke_access(
            self.signer_for(owner.identity), person=owner.id, grant=grant, **self.opts()
        )

    def erase(self, person: Member, *, admin: Member | None = None) -> SignedStatement:
        signer = admin or self.operator
        return commands.erase_person(
            self.signer_for(signer.identity), person=person.id, **self.opts()
        )

    # -- assignment stream ------------------------------------------------------
    def post(
        self,
        owner: Member,
        *,
        department: str | None = None,
        skills: Sequence[str] = ("python", "sql"),
        **opts: Any,
    ) -> SignedStatement:
        """A new assignment owned by ``owner``; its id is ``signed.statement.subject``."""
        o = self.opts(**opts)
        assignment = str(uuid.UUID(bytes=hashlib.sha256(o["statement_id"].encode()).digest()[:16]))
        department = department or owner.department
        return commands.post_assignment(
            self.signer_for(owner.identity),
            assignment=assignment,
            organisation=department.split("/")[0],
            department=department,
            title="Data analyst for the housing dashboard",
            skills=list(skills),
            hours_per_week=8,
            **o,
        )

    def apply(self, applicant: Member, assignment: str) -> SignedStatement:
        return commands.apply_to_assignment(
            self.signer_for(applicant.identity),
            assignment=assignment,
            hours_per_week=8,
            motivation="I built the previous one.",
            **self.opts(),
        )

    def assign(self, owner: Member, assignment: str, assignee: Member) -> SignedStatement:
        return commands.assign(
            self.signer_for(owner.identity),
            assignment=assignment,
            assignee=assignee.id,
            **self.opts(),
        )

    def complete(
        self, owner: Member, assignment: str, assignee: Member, *, grade: int = 4
    ) -> SignedStatement:
        return commands.complete_assignment(
            self.signer_for(owner.identity),
            assignment=assignment,
            assignee=assignee.id,
            grade=grade,
            note="Delivered early.",
            **self.opts(),
        )

    def cancel(self, owner: Member, assignment: str) -> SignedStatement:
        return commands.cancel_assignment(
            self.signer_for(owner.identity),
            assignment=assignment,
            reason="budget cut",
            **self.opts(),
        )


def standard_cast(w: World) -> list[SignedStatement]:
    """The base ledger (6 entries): the operator (of minbzk/cio); alice, bob and carol of
    minbzk/dgo, where bob is manager; dave of minbzk/cio."""
    return [
        w.genesis(),
        w.register("alice"),
        w.register("bob"),
        w.register("carol"),
        w.register("dave", department=OTHER_DEPT),
        w.grant(w["bob"], "manager", DEPT),
    ]


def standard_world(ledger: Ledger, *, seed: str | None = None) -> World:
    """A :class:`World` on ``ledger`` with :func:`standard_cast` appended as one batch."""
    w = World(ledger, seed=seed)
    w.do_all(standard_cast(w))
    return w


# -- random typical ledgers -----------------------------------------------------------
_Op = Callable[[World, random.Random], SignedStatement | None]


def _active(w: World) -> list[Member]:
    """Members whose remembered key is their current key (they can sign)."""
    return [
        m
        for m in w.people.values()
        if (p := w.state.people.get(m.id)) is not None
        and p.current_key == m.key_id
        and m.id not in w.state.departures
    ]


def _op_claim(w: World, rng: random.Random) -> SignedStatement | None:
    author = rng.choice(_active(w))
    skills = rng.sample(["python", "sql", "policy-advice", "procurement", "ux"], k=2)
    return w.claim(author, title=f"Contribution {rng.randrange(1000)}", skills=skills)


def _op_endorse(w: World, rng: random.Random) -> SignedStatement | None:
    """An endorsement with the evidence its role needs: the owner first asks the endorser
    for a review (which lets them read it and makes them a client) unless they already
    did; a manager of the owner's department endorses as manager, a colleague as peer."""
    st = w.state
    active = {m.id: m for m in _active(w)}
    options = [
        (e, c)
        for c in st.contributions.values()
        if not c.withdrawn and (c.owner in active or any(k[0] == c.id for k in st.reviewers))
        if c.owner not in st.departures
        for e in active.values()
        if e.id != c.owner and (e.id, c.id) not in st.active_endorsements
    ]
    if not options:
        return None
    endorser, c = rng.choice(options)
    subject = w.people[c.owner]
    me, owner = st.people[endorser.id], st.people[c.owner]
    if st.is_manager(me, owner.department):
        role = "manager"
    elif me.department == owner.department:
        role = rng.choice(["peer", "client"])
    else:
        role = "client"
    asked = st.reviewers.get((c.id, endorser.id))
    if asked is None or st.review_requests[asked].role_of(endorser.id) != role:
        if c.owner not in active:
            return None
        asked = w.do(w.ask_review(subject, c.id, (endorser, role))).statement.id
    request = asked if rng.random() < 0.5 else None
    return w.endorse(endorser, subject, c.id, grade=rng.randint(1, 5), role=role, request=request)


def _op_withdraw(w: World, rng: random.Random) -> SignedStatement | None:
    active = {m.id: m for m in _active(w)}
    options = [c for c in w.state.contributions.values() if not c.withdrawn and c.owner in active]
    if not options:
        return None
    c = rng.choice(options)
    return w.withdraw(active[c.owner], c.id)


def _op_revoke_endorsement(w: World, rng: random.Random) -> SignedStatement | None:
    active = {m.id: m for m in _active(w)}
    options = [e for e in w.state.endorsements.values() if not e.revoked and e.endorser in active]
    if not options:
        return None
    e = rng.choice(options)
    return w.revoke_endorsement(active[e.endorser], w.people[e.subject], e.id)


def _op_profile(w: World, rng: random.Random) -> SignedStatement | None:
    person = rng.choice(_active(w))
    if rng.random() < 0.5:
        return w.ambition(person)
    part = rng.choice(["dossier", "analytical", "ambitions", "free"])
    return w.visibility(person, part, rng.choice(["public", "on_request", "private"]))


def _op_access(w: World, rng: random.Random) -> SignedStatement | None:
    """Request, grant, refuse or revoke read access to an ``on_request`` part."""
    st = w.state
    active = {m.id: m for m in _active(w)}
    choice = rng.random()
    if choice < 0.4:
        owners = [m for m in active.values() if m.id != "operator"]
        owner = rng.choice(owners) if owners else None
        viewers = [m for m in active.values() if owner is not None and m.id != owner.id]
        if owner is None or not viewers:
            return None
        part = rng.choice(["dossier", "analytical"])
        if st.visibility.get((owner.id, part), "on_request") != "on_request":
            return None
        viewer = rng.choice(viewers)
        if (owner.id, viewer.id, part) in st.open_requests or (
            (owner.id, viewer.id, part) in st.active_grants
        ):
            return None
        return w.request_access(viewer, owner, part)
    open_requests = [r for r in st.access_requests.values() if r.answer is None]
    if choice < 0.8 and open_requests:
        r = rng.choice(open_requests)
        owner = active.get(r.owner)
        if owner is None or r.viewer in st.erased:
            return None
        if st.visibility.get((r.owner, r.part), "on_request") != "on_request" or choice < 0.55:
            return w.refuse_access(owner, r.id)
        return w.grant_access(owner, w.people[r.viewer], r.part, request=r.id)
    grants = [g for g in st.access_grants.values() if not g.revoked]
    if grants:
        g = rng.choice(grants)
        owner = active.get(g.owner)
        return w.revoke_access(owner, g.id) if owner is not None else None
    return None


def _op_post(w: World, rng: random.Random) -> SignedStatement | None:
    options = [
        (m, scope)
        for m in _active(w)
        for role, scope in w.state.people[m.id].roles
        if role == "manager"
    ]
    if not options:
        return None
    owner, department = rng.choice(options)
    return w.post(owner, department=department)


def _op_assignment(w: World, rng: random.Random) -> SignedStatement | None:
    st = w.state
    active = {m.id: m for m in _active(w)}
    live = [a for a in st.assignments.values() if a.status in ("open", "assigned")]
    if not live:
        return None
    a = rng.choice(live)
    owner = active.get(a.owner)
    choice = rng.random()
    if a.status == "open" and choice < 0.3:
        applicants = [m for m in active.values() if m.id != a.owner and m.id not in a.applicants]
        return w.apply(rng.choice(applicants), a.id) if applicants else None
    if owner is None:
        return None
    todo = sorted(a.assignees - a.completed)
    if todo and choice < 0.7:
        return w.complete(owner, a.id, w.people[rng.choice(todo)], grade=rng.randint(1, 5))
    candidates = [
        p
        for p in sorted(st.people)
        if p != a.owner and p not in a.assignees and p not in st.departures
    ]
    if candidates and choice < 0.95:
        return w.assign(owner, a.id, w.people[rng.choice(candidates)])
    return w.cancel(owner, a.id)


def _op_rotate(w: World, rng: random.Random) -> SignedStatement | None:
    person = rng.choice(_active(w))
    generation = sum(1 for k in w.state.keys.values() if k.person == person.id)
    new = w.new_key(person.id, generation)
    signed = w.rotate(person, new)
    w.do(signed)
    person.identity = new
    return None


def _op_revoke_and_recover(w: World, rng: random.Random) -> SignedStatement | None:
    people = [m for m in _active(w) if m.id != "operator"]
    if not people:
        return None
    person = rng.choice(people)
    w.do(w.revoke_key(person, person.key_id))
    generation = sum(1 for k in w.state.keys.values() if k.person == person.id)
    new = w.new_key(person.id, generation)
    w.do(w.rotate(person, new, signer=w.operator.identity))
    person.identity = new
    return None


def _op_register(w: World, rng: random.Random) -> SignedStatement | None:
    name = f"p{len(w.people)}"
    return w.register(name, department=rng.choice([DEPT, OTHER_DEPT]))


def _op_grant(w: World, rng: random.Random) -> SignedStatement | None:
    st = w.state
    options = [
        p
        for p in st.people.values()
        if ("manager", p.department) not in p.roles and p.id not in st.departures
    ]
    if not options:
        return None
    person = rng.choice(options)
    return w.grant(w.people[person.id], "manager", person.department)


def _op_revoke_role(w: World, rng: random.Random) -> SignedStatement | None:
    options = [(p, role) for p in w.state.people.values() for role in sorted(p.roles)]
    if not options:
        return None
    person, (role, scope) = rng.choice(options)
    return w.revoke_role(w.people[person.id], role, scope)


#: the random ledgers' organisations and their departments
_DEPARTMENTS = {ORG: (DEPT, OTHER_DEPT), "minfin": ("minfin/hr", "minfin/it")}


def _op_transfer(w: World, rng: random.Random) -> SignedStatement | None:
    """A move to the other department of the person's organisation (no consent needed)."""
    options = [m for m in w.people.values() if m.id not in ("operator", *w.state.departures)]
    if not options:
        return None
    person = rng.choice(options)
    now = w.state.people[person.id]
    first, second = _DEPARTMENTS[now.organisation]
    return w.transfer(person, now.organisation, second if now.department == first else first)


def _op_move_away(w: World, rng: random.Random) -> SignedStatement | None:
    """A move to another organisation: the person's consent, then the admin's transfer."""
    people = [m for m in _active(w) if m.id != "operator"]
    if not people:
        return None
    person = rng.choice(people)
    consent = w.state.consents.get(person.id)
    if consent is not None:
        return w.transfer(person, consent.organisation, consent.department)
    there = next(o for o in _DEPARTMENTS if o != w.state.people[person.id].organisation)
    return w.consent(person, there, rng.choice(_DEPARTMENTS[there]))


def _op_leave(w: World, rng: random.Random) -> SignedStatement | None:
    people = [m for m in _active(w) if m.id != "operator"]
    if len(people) < 4:  # keep people to act
        return None
    return w.leave(rng.choice(people), "trackrecord.test/elsewhere")


_OPS: list[tuple[_Op, int]] = [
    (_op_claim, 6),
    (_op_endorse, 6),
    (_op_withdraw, 1),
    (_op_revoke_endorsement, 1),
    (_op_profile, 2),
    (_op_post, 2),
    (_op_assignment, 5),
    (_op_rotate, 1),
    (_op_revoke_and_recover, 1),
    (_op_register, 1),
    (_op_grant, 1),
    (_op_revoke_role, 1),
    (_op_transfer, 1),
    (_op_move_away, 1),
    (_op_leave, 1),
    (_op_access, 2),
]


def random_statements(
    rng: random.Random, size: int, *, seed: str = "random"
) -> tuple[World, list[SignedStatement]]:
    """A valid, varied ledger of ``size`` statements, checked by the rules as it is built.

    Starts with :func:`standard_cast`, then draws typical actions (claims, endorsements,
    assignments, key rotations and revocations, transfers...) from ``rng``. Returns the
    world (on a :class:`RecordingLedger`, whose state is the ledger's final state) and
    the signed statements in log order, ready for ``LedgerService.append_batch``.
    """
    if size < 6:
        raise ValueError("a random ledger holds at least the 6 entries of the standard cast")
    ledger = RecordingLedger()
    w = standard_world(ledger, seed=seed)
    ops, weights = zip(*_OPS, strict=True)
    while ledger.state.size < size:
        op = rng.choices(ops, weights=weights)[0]
        if ledger.state.size + 2 > size and op in (_op_revoke_and_recover, _op_endorse):
            continue  # two entries (the endorsement may first need a review request)
        signed = op(w, rng)
        if signed is not None:
            w.do(signed)
    return w, list(ledger.signed)


class RecordingLedger(MemoryLedger):
    """A :class:`MemoryLedger` that also keeps every accepted signed statement, in order."""

    def __init__(self, *, clock: Callable[[], str] | None = None) -> None:
        super().__init__(clock=clock)
        self.signed: list[SignedStatement] = []

    def append_batch(self, batch: Sequence[SignedStatement]) -> list[Entry]:
        out = super().append_batch(batch)
        self.signed.extend(batch)
        return out
