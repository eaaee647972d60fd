"""HR import: a CSV of the organisation's people, turned into what the ledger must record.

The file is what Dutch HR systems export: UTF-8 (a byte order mark is accepted),
semicolon-separated (a comma-separated file is recognised by its header), one person a
row, a header naming the columns (any order, case and surrounding spaces ignored):

=================  ========  =============================================================
column             required  what
=================  ========  =============================================================
``person_id``      yes       the person id (a slug, e.g. the HR number ``hr-104233``)
``name``           yes       the display name (a personal field of the registration)
``organisation``   yes       the organisation id
``department``     yes       ``organisation/department``
``email``          no        the work e-mail address (checked for shape; kept for e-mail
                             notifications, not in the ledger: :func:`contact_addresses`)
``manages``        no        departments the person manages, separated by ``,`` or spaces
``public_key``     no        the person's Ed25519 public key (base64), to register them
=================  ========  =============================================================

:func:`parse_people_csv` reads the file and names what is wrong with each row;
:func:`plan_people_import` compares each row with the ledger state and says what it will
do — ``register`` (not registered yet, with a public key), ``transfer`` (another
department), ``grant`` (manager roles they do not hold yet), ``unchanged``,
``awaits_key`` (not registered and no public key: they register in the browser, see
docs/onboarding.md) or ``refused`` with the reason. It is pure: running the same file
again against the state it produced plans nothing but ``unchanged`` rows.
:func:`statements_for` signs the statements of a plan's row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from keys import key_id_for

from .canonical import b64decode
from .catalogue import DEPARTMENT_RE, RESERVED_PERSON_IDS, SLUG_RE
from .errors import LedgerError, MalformedInput
from .onboarding import MAX_DISPLAY_NAME
from .state import LedgerState, Person
from .statement import SignedStatement, Signer, sign_statement

__all__ = [
    "COLUMNS",
    "PeopleFileError",
    "PersonRow",
    "RowPlan",
    "StatementSpec",
    "contact_addresses",
    "count_actions",
    "parse_people_csv",
    "plan_people_import",
    "statement_batches",
    "statement_specs",
    "statements_for",
]

COLUMNS = ("person_id", "name", "organisation", "department", "email", "manages", "public_key")
_REQUIRED = ("person_id", "name", "organisation", "department")
_SLUG = re.compile(SLUG_RE)
_DEPARTMENT = re.compile(DEPARTMENT_RE)
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
Action = Literal["register", "transfer", "grant", "unchanged", "awaits_key", "refused"]


class PeopleFileError(MalformedInput):
    """The file as a whole cannot be read (not UTF-8, no header, a required column missing)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="bad_people_file")


@dataclass(frozen=True)
class PersonRow:
    """One row of the file, as read; ``problem`` says what is wrong with it, if anything."""

    line: int
    person: str
    name: str = ""
    organisation: str = ""
    department: str = ""
    email: str | None = None
    manages: tuple[str, ...] = ()
    public_key: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class RowPlan:
    """What importing a row does: its ``actions`` (``register``, ``transfer``, ``grant``;
    or one of ``unchanged``, ``awaits_key``, ``refused``) and the details, in words."""

    row: PersonRow
    actions: tuple[Action, ...]
    details: tuple[str, ...] = ()
    grants: tuple[str, ...] = field(default=(), repr=False)

    @property
    def refused(self) -> bool:
        return self.actions == ("refused",)

    @property
    def changes(self) -> bool:
        return any(a in ("register", "transfer", "grant") for a in self.actions)

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.row.line,
            "person": self.row.person,
            "actions": list(self.actions),
            "details": list(self.details),
        }


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PeopleFileError(
            f"the file is not UTF-8 (byte {exc.start}): export it as UTF-8 (CSV UTF-8)"
        ) from exc


def _header(line: str) -> tuple[str, list[str]]:
    delimiter = ";" if ";" in line or "," not in line else ","
    names = [n.strip().lower() for n in next(csv.reader([line], delimiter=delimiter))]
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        raise PeopleFileError(
            f"the header names no column {', '.join(missing)} (it has: {', '.join(names)}); "
            f"the columns are {', '.join(COLUMNS)}"
        )
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise PeopleFileError(
            f"unknown column {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}"
        )
    return delimiter, names


def parse_people_csv(data: bytes) -> list[PersonRow]:
    """The rows of an HR file, each with its ``problem`` if it has one; raise
    :class:`PeopleFileError` if the file as a whole cannot be read."""
    text = _decode(data)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PeopleFileError("the file is empty: it needs a header line and a row per person")
    delimiter, names = _header(lines[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader)
    rows: list[PersonRow] = []
    seen: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # a blank line
        row = _row(line, names, values)
        if row.problem is None and row.person in seen:
            row = PersonRow(
                line, row.person, problem=f"{row.person} is on line {seen[row.person]} too"
            )
        seen.setdefault(row.person, line)
        rows.append(row)
    return rows


def _row(line: int, names: list[str], values: list[str]) -> PersonRow:
    if len(values) != len(names):
        return PersonRow(
            line, values[0].strip() if values else "",
            problem=f"{len(values)} fields where the header has {len(names)}",
        )  # fmt: skip
    v = {name: value.strip() for name, value in zip(names, values, strict=True)}
    person = v["person_id"]
    manages = tuple(d for d in re.split(r"[,\s]+", v.get("manages", "")) if d)
    row = PersonRow(
        line, person, v["name"], v["organisation"], v["department"], v.get("email") or None,
        manages, v.get("public_key") or None,
    )  # fmt: skip
    problem = _problem(row)
    return row if problem is None else PersonRow(line, person, problem=problem)


def _problem(row: PersonRow) -> str | None:
    if not _SLUG.fullmatch(row.person):
        return f"person_id {row.person[:64]!r} is no person id (lowercase letters, digits, . _ -)"
    if not row.name or len(row.name) > MAX_DISPLAY_NAME:
        return f"name must have 1 to {MAX_DISPLAY_NAME} characters"
    if not _SLUG.fullmatch(row.organisation):
        return f"organisation {row.organisation[:64]!r} is no organisation id"
    if not _DEPARTMENT.fullmatch(row.department) or not row.department.startswith(
        row.organisation + "/"
    ):
        return f"department {row.department[:129]!r} is not a department of {row.organisation}"
    if row.email is not None and not _EMAIL.fullmatch(row.email):
        return f"email {row.email[:100]!r} is no e-mail address"
    for department in row.manages:
        if not _DEPARTMENT.fullmatch(department):
            return f"manages {department[:129]!r}: not a department (organisation/department)"
    if row.public_key is not None:
        try:
            b64decode(row.public_key, length=32, what="public_key")
        except LedgerError:
            return "public_key is not an Ed25519 public key (32 bytes, base64)"
    return None


def plan_people_import(
    state: LedgerState, rows: Iterable[PersonRow], *, admin: Person
) -> list[RowPlan]:
    """What importing ``rows`` as ``admin`` does to ``state``, row by row (nothing is
    written). A row is refused for a problem of its own, or when ``admin`` may not act
    for it (``not_admin``), or its person was erased, or its key is someone else's."""
    rows = list(rows)
    key_ids = {r.line: _key_id(r) for r in rows}
    # One read of what the rows consult (a state kept in the store: one query, not three
    # a row), then the plan from what was read.
    found = state.fetch(
        [
            *((table, r.person) for r in rows for table in ("people", "erased")),
            *(("keys", k) for k in key_ids.values() if k is not None),
        ]
    )
    known = _Known(
        {p: v for (t, p), v in found.items() if t == "people"},
        {p for (t, p) in found if t == "erased"},
        {k for (t, k) in found if t == "keys"},
        None if state.is_operator(admin) else {s for r, s in admin.roles if r == "admin"},
    )
    keys_in_file: dict[str, str] = {}
    return [_plan_row(row, admin, known, key_ids[row.line], keys_in_file) for row in rows]


@dataclass(frozen=True)
class _Known:
    """What the plan consults, read once: the rows' people, erasures and keys, and the
    organisations the admin administers (None: every one, the operator)."""

    people: dict[Hashable, Person]
    erased: set[Hashable]
    keys: set[Hashable]
    administers: set[str] | None

    def is_admin(self, organisation: str) -> bool:
        return self.administers is None or organisation in self.administers


def _key_id(row: PersonRow) -> str | None:
    if row.problem is not None or row.public_key is None:
        return None
    return key_id_for(b64decode(row.public_key, length=32, what="public_key"))


def _refused(row: PersonRow, reason: str) -> RowPlan:
    return RowPlan(row, ("refused",), (reason,))


def _plan_row(
    row: PersonRow,
    admin: Person,
    known: _Known,
    key_id: str | None,
    keys_in_file: dict[str, str],
) -> RowPlan:
    if row.problem is not None:
        return _refused(row, row.problem)
    for department in row.manages:
        if not known.is_admin(department.split("/")[0]):
            return _refused(row, f"not_admin: {admin.id} may not grant roles in {department}")
    if row.person in known.erased:
        return _refused(row, f"{row.person} was erased: a new person id is needed")
    person = known.people.get(row.person)
    if person is None:
        return _plan_new(row, admin, known, key_id, keys_in_file)
    actions: list[Action] = []
    details: list[str] = []
    if (person.organisation, person.department) != (row.organisation, row.department):
        if not (known.is_admin(person.organisation) or known.is_admin(row.organisation)):
            return _refused(row, f"not_admin: {admin.id} administers neither organisation")
        actions.append("transfer")
        details.append(f"{person.department} → {row.department}")
    elif not known.is_admin(person.organisation):
        return _refused(row, f"not_admin: {admin.id} is no admin of {person.organisation}")
    grants = tuple(d for d in row.manages if ("manager", d) not in person.roles)
    if grants:
        actions.append("grant")
        details.append("manager of " + ", ".join(grants))
    return RowPlan(row, tuple(actions) or ("unchanged",), tuple(details), grants)


def _plan_new(
    row: PersonRow,
    admin: Person,
    known: _Known,
    key_id: str | None,
    keys_in_file: dict[str, str],
) -> RowPlan:
    if row.person in RESERVED_PERSON_IDS:
        return _refused(
            row, f"reserved_id: {row.person!r} is a word of the service's addresses, no person id"
        )
    if not known.is_admin(row.organisation):
        return _refused(row, f"not_admin: {admin.id} is no admin of {row.organisation}")
    if key_id is None:
        return RowPlan(
            row, ("awaits_key",), ("not registered: signs in and asks to be registered",)
        )
    if key_id in known.keys or keys_in_file.setdefault(key_id, row.person) != row.person:
        return _refused(row, "key_in_use: this public key belongs to someone else")
    actions: tuple[Action, ...] = ("register", "grant") if row.manages else ("register",)
    details = [f"in {row.department}"]
    if row.manages:
        details.append("manager of " + ", ".join(row.manages))
    return RowPlan(row, actions, tuple(details), row.manages)


@dataclass(frozen=True)
class StatementSpec:
    """A statement still to be signed: its type, subject, clear body and personal fields
    (signed by the CLI with the admin's keystore, or by the admin's browser)."""

    type: str
    subject: str
    body: dict[str, Any]
    personal: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "subject": self.subject,
            "body": self.body,
            "personal": self.personal,
        }


def statement_specs(plan: RowPlan) -> list[StatementSpec]:
    """The statements that carry out ``plan``'s row, to be signed by the acting admin."""
    row, out = plan.row, []
    if "register" in plan.actions:
        assert row.public_key is not None  # a register plan has a key
        body = {
            "public_key": row.public_key,
            "organisation": row.organisation,
            "department": row.department,
        }
        out.append(
            StatementSpec("IdentityRegistered", row.person, body, {"display_name": row.name})
        )
    if "transfer" in plan.actions:
        body = {"organisation": row.organisation, "department": row.department}
        out.append(StatementSpec("EmployeeTransferred", row.person, body))
    out.extend(
        StatementSpec("RoleGranted", row.person, {"role": "manager", "scope": d})
        for d in plan.grants
    )
    return out


def statements_for(plan: RowPlan, signer: Signer) -> list[SignedStatement]:
    """:func:`statement_specs` of ``plan``'s row, signed by ``signer`` (the admin)."""
    return [
        sign_statement(
            signer, type=spec.type, subject=spec.subject, body=spec.body, personal=spec.personal
        )
        for spec in statement_specs(plan)
    ]


def count_actions(plans: Iterable[RowPlan]) -> dict[str, int]:
    """How many rows plan each action (a row that transfers and grants counts for both)."""
    counts = dict.fromkeys(
        ("register", "transfer", "grant", "unchanged", "awaits_key", "refused"), 0
    )
    for plan in plans:
        for action in plan.actions:
            counts[action] += 1
    return counts


def statement_batches(
    plans: Sequence[RowPlan], signer: Signer, *, max_statements: int
) -> Iterator[tuple[int, list[SignedStatement]]]:
    """The statements of the changing rows of ``plans``, signed by ``signer``, in batches of
    at most ``max_statements`` (a row's statements never split): ``(rows, statements)``
    for each, each batch to be appended atomically."""
    rows, statements = 0, list[SignedStatement]()
    for plan in plans:
        if not plan.changes:
            continue
        signed = statements_for(plan, signer)
        if statements and len(statements) + len(signed) > max_statements:
            yield rows, statements
            rows, statements = 0, list[SignedStatement]()
        rows += 1
        statements.extend(signed)
    if statements:
        yield rows, statements


def contact_addresses(
    state: LedgerState, rows: Iterable[PersonRow], *, scope: frozenset[str] | None
) -> list[tuple[str, str]]:
    """The ``(person, e-mail)`` pairs of an HR file to keep for e-mail notifications: the
    rows without a problem that give an address, of people registered (and not erased) in
    the organisation the row names, one that ``scope`` covers (the organisations of the
    admin importing; None: every one). The address is no statement: nothing is signed."""
    out = []
    for row in rows:
        person = state.people.get(row.person)
        if (
            row.problem is None
            and row.email is not None
            and person is not None
            and not state.is_erased(person.id)
            and person.organisation == row.organisation
            and (scope is None or row.organisation in scope)
        ):
            out.append((row.person, row.email))
    return out
