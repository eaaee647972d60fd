"""Contact addresses and the notice outbox: the e-mail notifications' tables (issue 16).

Three tables in the ledger's database, beside the read models and the service's own:

``contact_addresses``
    a person's work e-mail address (sealed under the read-model key, as the read models'
    personal columns: :mod:`projections.sealed`) and the language they read the pages in,
    when known. Written by the HR import (``trackrecord people import``, the admin page's
    upload) and by an approved sign-in's registration; read only by the sender of
    notices. It is no part of the record: an address is not a statement anybody signed,
    and it changes without a trace. ``PersonErased`` deletes it (:func:`forget`).
``notice_outbox``
    one row per notice (:class:`ledger.notifications.Notice`) to deliver: who is told,
    about what, when it is next due, how many attempts failed and why, and when it was
    sent. A row is written in the same transaction as the position of the log it came
    from (``notice_cursor``) or as the registration request it announces, so a notice is
    never lost between them, and the sender retries a failed delivery later.
``notice_cursor``
    the log position up to which entries were turned into notices.

The SMTP side (rendering, sending, retrying) is the service's: :mod:`api.notify`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    inspect,
    or_,
    select,
    update,
)

from ledger.notifications import Notice, NoticeKind
from ledger.store.base import SCHEMA_LOCK

from .db import writing, xact_lock
from .sealed import SealedText

__all__ = [
    "Contact",
    "OutboxRow",
    "add_notices",
    "contact_of",
    "create_notice_tables",
    "forget",
    "outbox_rows",
    "prune_outbox",
    "remember_addresses",
    "remember_language",
]

_CHUNK = 1000
_metadata = MetaData()
contacts = Table(
    "contact_addresses",
    _metadata,
    Column("person", String(64), primary_key=True),
    Column("email", SealedText, nullable=False),
    Column("language", String(8)),
)
outbox = Table(
    "notice_outbox",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("about", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("due", Float, nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    #: ``sent``, ``no_address`` (nobody to send it to) or ``failed`` (given up); None: due
    Column("outcome", String(12)),
    Column("done_at", Float),
)
cursor = Table(
    "notice_cursor",
    _metadata,
    Column("name", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
)


@dataclass(frozen=True)
class Contact:
    """Where to reach a person: their e-mail address and page language (None: unknown)."""

    person: str
    email: str
    language: str | None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    notice: Notice
    created_at: float
    attempts: int
    error: str | None
    outcome: str | None


def create_notice_tables(engine: Engine) -> None:
    """Create the tables if they are missing (under the schema lock)."""
    with writing(engine) as conn:
        xact_lock(conn, SCHEMA_LOCK)
        _metadata.create_all(conn)


def remember_addresses(
    engine: Engine, addresses: Iterable[tuple[str, str]], *, language: str | None = None
) -> int:
    """Keep ``(person, e-mail)`` pairs (replacing earlier addresses; a language already
    known is kept unless ``language`` is given); return how many. Writes only the pairs
    that change something (none: no write at all)."""
    pairs = dict(addresses)
    if not pairs:
        return 0
    create_notice_tables(engine)
    c = contacts.c
    people = list(pairs)
    known: dict[str, tuple[str, str | None]] = {}
    with engine.connect() as conn:
        for at in range(0, len(people), _CHUNK):  # SQLite takes at most 32,766 parameters
            rows = conn.execute(
                select(c.person, c.email, c.language).where(c.person.in_(people[at : at + _CHUNK]))
            )
            known.update({str(p): (str(e), lang) for p, e, lang in rows})
    changed = [
        {"person": p, "email": e, "language": language or known.get(p, (None, None))[1]}
        for p, e in pairs.items()
        if p not in known or known[p][0] != e or (language and known[p][1] != language)
    ]
    if not changed:
        return len(pairs)
    with writing(engine) as conn:
        for at in range(0, len(changed), _CHUNK):
            chunk = changed[at : at + _CHUNK]
            conn.execute(delete(contacts).where(c.person.in_([r["person"] for r in chunk])))
            conn.execute(insert(contacts), chunk)
    return len(pairs)


def remember_language(engine: Engine, person: str, language: str) -> None:
    """Note the page language of ``person`` (if an address of theirs is kept); a write
    only when it changed."""
    with engine.connect() as conn:
        known = conn.execute(select(contacts.c.language).where(contacts.c.person == person)).first()
    if known is None or known[0] == language:
        return
    with writing(engine) as conn:
        conn.execute(
            update(contacts)
            .where(
                contacts.c.person == person,
                or_(contacts.c.language.is_(None), contacts.c.language != language),
            )
            .values(language=language)
        )


def contact_of(conn: Connection, person: str) -> Contact | None:
    row = conn.execute(
        select(contacts.c.email, contacts.c.language).where(contacts.c.person == person)
    ).first()
    return None if row is None else Contact(person, str(row[0]), row[1])


def add_notices(conn: Connection, notices: Iterable[Notice], *, now: float) -> int:
    """Put ``notices`` in the outbox, due now, in ``conn``'s transaction; how many."""
    rows = [
        {
            "recipient": n.recipient, "kind": n.kind, "sender": n.sender,
            "about": n.about[:200], "created_at": now, "due": now, "attempts": 0,
        }
        for n in notices
    ]  # fmt: skip
    if rows:
        conn.execute(insert(outbox), rows)
    return len(rows)


def outbox_rows(engine: Engine, *, recipient: str | None = None) -> list[OutboxRow]:
    """Every outbox row (of ``recipient``), oldest first: for the operator and the tests."""
    o = outbox.c
    query = select(
        o.id, o.recipient, o.kind, o.sender, o.about, o.created_at, o.attempts, o.error, o.outcome
    ).order_by(o.id)
    if recipient is not None:
        query = query.where(o.recipient == recipient)
    with engine.connect() as conn:
        return [
            OutboxRow(
                r[0], Notice(r[1], cast(NoticeKind, r[2]), r[3], r[4]), r[5], r[6], r[7], r[8]
            )
            for r in conn.execute(query)
        ]


def forget(engine: Engine, person: str) -> None:
    """Erasure: delete ``person``'s address and every notice to or from them."""
    if "contact_addresses" not in set(inspect(engine).get_table_names()):
        return
    with writing(engine) as conn:
        conn.execute(delete(contacts).where(contacts.c.person == person))
        conn.execute(
            delete(outbox).where((outbox.c.recipient == person) | (outbox.c.sender == person))
        )


def prune_outbox(conn: Connection, *, before: float) -> int:
    """Delete the notices settled (sent, no address, given up) before ``before``; how many."""
    o = outbox.c
    return int(
        conn.execute(delete(outbox).where(o.outcome.is_not(None), o.done_at < before)).rowcount
    )
