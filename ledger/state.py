"""The ledger state: what the rules need to know, folded from entries in log order.

Pure data, no I/O. Records are immutable; every change goes through
:meth:`LedgerState.put`, which journals the old value while a batch is open, so
a rejected batch is rolled back exactly (nothing partly applied).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "META_DEFAULTS",
    "AccessGrant",
    "AccessRequest",
    "Assignment",
    "Contribution",
    "Departure",
    "Endorsement",
    "Head",
    "KeyRecord",
    "LedgerState",
    "Link",
    "Person",
    "ReviewRequest",
    "TransferConsent",
]

_MISSING = object()


@dataclass(frozen=True)
class Head:
    """The last entry of a stream."""

    seq: int
    hash: str


@dataclass(frozen=True)
class KeyRecord:
    """An Ed25519 key of a person and the log interval in which it may sign.

    The key may sign entries at log index ``i`` with ``valid_from <= i`` and
    (``retired_at`` is None or ``i <= retired_at``): the rotation or revocation
    entry itself is the last one the key signs.
    """

    key_id: str
    person: str
    public_key: bytes
    valid_from: int
    retired_at: int | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Person:
    id: str
    organisation: str
    department: str
    current_key: str | None
    next_key_digest: str | None
    roles: frozenset[tuple[str, str]]
    registered_at: int


@dataclass(frozen=True)
class Contribution:
    id: str
    owner: str
    skills: tuple[str, ...]
    part: str  # the portfolio part it was claimed into
    withdrawn: bool = False


@dataclass(frozen=True)
class Endorsement:
    id: str
    endorser: str
    subject: str
    contribution: str
    grade: int
    role: str
    revoked: bool = False


@dataclass(frozen=True)
class Assignment:
    id: str
    owner: str
    organisation: str
    department: str
    skills: tuple[str, ...]
    status: str  # open | assigned | completed | cancelled
    applicants: frozenset[str] = frozenset()
    assignees: frozenset[str] = frozenset()
    completed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AccessRequest:
    """A viewer's request to read a part of an owner's portfolio, and its answer."""

    id: str
    owner: str
    viewer: str
    part: str
    answer: str | None = None  # None (open) | "granted" | "refused"


@dataclass(frozen=True)
class AccessGrant:
    """An owner's grant of read access to one part of their portfolio, to one viewer.

    ``until`` is the last day (``YYYY-MM-DD``, UTC) on which it gives access, or None.
    """

    id: str
    owner: str
    viewer: str
    part: str
    until: str | None = None
    revoked: bool = False


@dataclass(frozen=True)
class ReviewRequest:
    """An owner's request that named people review one of their contributions
    (``ReviewRequested``): ``reviewers`` holds ``(person, role)`` pairs, the role one of
    ``manager``, ``peer``, ``client``."""

    id: str
    owner: str
    contribution: str
    reviewers: frozenset[tuple[str, str]]

    def role_of(self, person: str) -> str | None:
        """The role ``person`` is asked to review in, or None if the request does not name them."""
        return next((role for who, role in self.reviewers if who == person), None)


#: the meta table's rows before any entry
META_DEFAULTS: dict[str, Any] = {"size": 0, "operator": None}


@dataclass(frozen=True)
class Link:
    """A person's record on another ledger bound to them here (``IdentityLinked``).

    ``public_key`` is the key the person held last on the ``origin`` ledger;
    ``countersigned_by`` is ``"key"`` when that key countersigned the link, else the
    id of the admin of this ledger who countersigned it because the key was lost.
    """

    id: str
    person: str
    origin: str
    public_key: bytes
    countersigned_by: str


@dataclass(frozen=True)
class TransferConsent:
    """A person's consent to be transferred to ``department`` of ``organisation``
    (``TransferConsented``), open until a transfer there uses it."""

    id: str
    person: str
    organisation: str
    department: str


@dataclass(frozen=True)
class Departure:
    """A person's leaving this ledger for the ledger ``destination`` (``EmployeeLeft``),
    at log index ``log_index``: the last word of their record here."""

    id: str
    person: str
    destination: str
    log_index: int


class LedgerState:
    """Everything the §6 rules consult, as of ``size`` entries of the log, held in memory.

    The rules read and change it through its tables (mappings: ``get``, ``[]``,
    ``in``) and :meth:`put`. :class:`ledger.store.rule_state.StoredState` is the
    same interface over the store's ``rule_state`` table (what a service appends
    against); this in-memory one serves bundle verification, tests and the audit's
    independent re-derivation.
    """

    def __init__(self, *, origin: str | None = None) -> None:
        # meta also gets, once written, "origin": the ledger's name as its version 2
        # genesis gave it; "bound_from": the log index of the first version 2 entry (no
        # version 1 entry may follow it)
        self.meta: MutableMapping[str, Any] = dict(META_DEFAULTS)
        #: the ledger's name given from outside: the store's setting, a bundle's checkpoint
        self.named = origin
        self.heads: MutableMapping[str, Head] = {}
        self.people: MutableMapping[str, Person] = {}
        self.keys: MutableMapping[str, KeyRecord] = {}
        self.statement_ids: MutableMapping[str, int] = {}
        self.contributions: MutableMapping[str, Contribution] = {}
        self.endorsements: MutableMapping[str, Endorsement] = {}
        self.active_endorsements: MutableMapping[tuple[str, str], str] = {}
        self.assignments: MutableMapping[str, Assignment] = {}
        # person -> log index of the PersonErased entry
        self.erased: MutableMapping[str, int] = {}
        # (person, part) -> visibility, for the parts a VisibilityChanged has set
        self.visibility: MutableMapping[tuple[str, str], str] = {}
        self.access_requests: MutableMapping[str, AccessRequest] = {}
        self.access_grants: MutableMapping[str, AccessGrant] = {}
        # (owner, viewer, part) -> the open request's / the active grant's statement id
        self.open_requests: MutableMapping[tuple[str, str, str], str] = {}
        self.active_grants: MutableMapping[tuple[str, str, str], str] = {}
        # (person, origin) -> their record on the ledger of that origin, bound to them here
        self.links: MutableMapping[tuple[str, str], Link] = {}
        self.review_requests: MutableMapping[str, ReviewRequest] = {}
        # (contribution, person) -> the first review request naming them for it: they read it
        self.reviewers: MutableMapping[tuple[str, str], str] = {}
        # (person, person), in sorted order -> the first assignment both were assigned to
        self.coworkers: MutableMapping[tuple[str, str], str] = {}
        # (owner, person) -> the first assignment of that owner completed for that person
        self.completed_for: MutableMapping[tuple[str, str], str] = {}
        # person -> their open consent to a transfer to another organisation
        self.consents: MutableMapping[str, TransferConsent] = {}
        # person -> where they went when they left this ledger
        self.departures: MutableMapping[str, Departure] = {}
        self._journal: list[tuple[MutableMapping[Any, Any], Hashable, Any]] | None = None

    @property
    def size(self) -> int:
        """Number of entries folded into this state (the next entry's log index)."""
        return int(self.meta["size"])

    @property
    def operator(self) -> str | None:
        """The person registered by the genesis entry: the ledger operator."""
        op = self.meta["operator"]
        return None if op is None else str(op)

    @property
    def origin(self) -> str | None:
        """The ledger's name, its checkpoint origin: what a statement must name to be
        accepted here (None while unknown: an empty ledger that was not given one)."""
        origin = self.meta.get("origin") or self.named
        return None if origin is None else str(origin)

    # -- journaled mutation --------------------------------------------------
    def put(self, table: MutableMapping[Any, Any], key: Hashable, value: Any) -> None:
        """Set ``table[key] = value``, journaling the old value inside a batch."""
        if self._journal is not None:
            self._journal.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def begin(self) -> None:
        """Open a batch: changes from now on can be rolled back."""
        if self._journal is not None:
            raise RuntimeError("a batch is already open")
        self._journal = []

    def commit(self) -> None:
        """Close the batch, keeping its changes."""
        self._journal = None

    def rollback(self) -> None:
        """Close the batch, undoing every change made since :meth:`begin`."""
        journal, self._journal = self._journal or [], None
        for table, key, old in reversed(journal):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old

    # -- queries -------------------------------------------------------------
    def snapshot(self) -> LedgerState:
        """A view of this state for reading many facts at once (one request): the
        in-memory state is its own; a stored one gives a read-only view that keeps what it
        read (:meth:`ledger.store.rule_state.StoredState.snapshot`)."""
        return self

    def tables_at_once(self, names: Sequence[str]) -> LedgerState:
        """The tables ``names`` (and ``meta``) as of one moment, for a reader that needs
        whole tables consistent with each other and with :attr:`size`: the in-memory state
        is one moment itself; a stored one reads them by one statement
        (:meth:`ledger.store.rule_state.StoredState.tables_at_once`)."""
        return self

    def prefetch(self, wanted: Iterable[tuple[str, Hashable]]) -> None:
        """Read ahead the ``(table, key)`` rows about to be consulted: nothing to do in
        memory (a stored state reads them in one query while it keeps what it reads)."""

    def fetch(self, wanted: Iterable[tuple[str, Hashable]]) -> dict[tuple[str, Hashable], Any]:
        """The values of ``(table, key)`` pairs, absent ones left out (a state kept in the
        store, :class:`ledger.store.rule_state.StoredState`, reads them in one query)."""
        out: dict[tuple[str, Hashable], Any] = {}
        for table, key in wanted:
            rows: MutableMapping[Any, Any] = getattr(self, table)
            if key in rows:
                out[(table, key)] = rows[key]
        return out

    def person_of_key(self, key_id: str) -> Person | None:
        record = self.keys.get(key_id)
        return None if record is None else self.people.get(record.person)

    def is_operator(self, person: Person) -> bool:
        return self.operator == person.id

    def is_admin(self, person: Person, organisation: str) -> bool:
        return self.is_operator(person) or ("admin", organisation) in person.roles

    def is_manager(self, person: Person, department: str) -> bool:
        return ("manager", department) in person.roles

    def is_erased(self, person: str) -> bool:
        return person in self.erased
