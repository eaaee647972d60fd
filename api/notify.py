"""E-mail notifications: tell people by e-mail that something waits for them (issue 16).

Only with an SMTP server configured (``serve --smtp-host ...``: :class:`SmtpServer`). A
:class:`Notifier` thread in each service process does two things every few seconds:

1. **gather**: it reads the entries appended since the position in ``notice_cursor``,
   names who is to be told about each (:func:`ledger.notifications.notices_of`) and writes
   those notices to ``notice_outbox`` in one transaction with the new position
   (:mod:`projections.notices`). The ledger's own append is untouched: a notice is derived
   from the committed log, so no SMTP trouble can slow or refuse a write, and a crash
   between the two leaves either both or neither (the next round redoes it). Processes
   race for it by compare-and-set on the position: one wins, none doubles a notice.
   Registration requests (a table, not the log) put their notices in the outbox in the
   request's own transaction (:meth:`api.onboarding.OnboardingStore.file`).
2. **deliver**: it claims the outbox rows that are due (moving their due time on, so
   another process leaves them alone meanwhile), renders each in the recipient's language
   (their page language when known, else Dutch) from the pages' catalogue and sends it.
   A failed delivery is logged and tried again later (30 s, doubling, at most an hour
   apart), and given up after :data:`MAX_ATTEMPTS`; a recipient without an address is
   marked ``no_address``. The outbox keeps what happened to every notice for
   :data:`KEPT_FOR` (30 days) after it was settled.

Sending uses the standard library's :mod:`smtplib` and :mod:`email`: they do all that
submission to an organisation's relay needs (STARTTLS or implicit TLS, AUTH, UTF-8
headers) and are maintained with Python itself; an asynchronous client (aiosmtplib)
would buy nothing on a background thread.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, cast

from sqlalchemy import Engine, insert, select, update

from ledger.notifications import Notice, NoticeKind, notices_of
from ledger.service import LedgerService
from projections.db import writing
from projections.notices import (
    Contact,
    add_notices,
    contact_of,
    create_notice_tables,
    cursor,
    outbox,
    prune_outbox,
)

from .i18n import DEFAULT, LANGUAGES, N_, language
from .periodic import Periodic
from .wording import TERMS

__all__ = ["KEPT_FOR", "MAX_ATTEMPTS", "Mail", "Notifier", "SmtpServer", "render", "smtp_send"]

_LOG = logging.getLogger("api.notify")

Security = Literal["starttls", "tls", "none"]
#: deliveries of one notice tried before it is given up (about 9 hours of retries)
MAX_ATTEMPTS = 12
_LONGEST_WAIT = 3600.0
#: how long a settled notice stays in the outbox, for the operator to look into (seconds)
KEPT_FOR = 30 * 24 * 3600.0
#: how long a claimed row is left alone by the other processes while it is being sent
_LEASE = 120.0
_BATCH = 20
_CURSOR = "log"


@dataclass(frozen=True)
class SmtpServer:
    """The SMTP server (the organisation's relay) notifications are submitted to."""

    host: str
    #: the From address of every message
    sender: str
    port: int = 587
    #: ``starttls`` (port 587, the default), ``tls`` (implicit TLS, port 465) or ``none``
    #: (plain SMTP: a relay on the same host or a test server only)
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class Mail:
    """One rendered message."""

    to: str
    subject: str
    body: str
    language: str


_SUBJECTS = {
    "access_request": N_("%(sender)s asks to see part of your portfolio"),
    "review_request": N_("%(sender)s asks you to review a contribution"),
    "application": N_("%(sender)s applied to your assignment %(about)s"),
    "registration": N_("%(sender)s asks to be registered in %(about)s"),
}
_BODIES = {
    "access_request": N_(
        "%(sender)s asks for access to the part “%(part)s” of your portfolio. "
        "You decide whether to give it."
    ),
    "review_request": N_(
        "%(sender)s asks you to review their contribution %(about)s. The request lets you read it."
    ),
    "application": N_("%(sender)s applied to your assignment %(about)s."),
    "registration": N_(
        "%(sender)s asks to be registered in organisation %(about)s. "
        "As its admin you approve or refuse the request."
    ),
}
_PATHS = {
    "access_request": "/inbox",
    "review_request": "/employee#tab-reviews",
    "application": "/inbox",
    "registration": "/admin",
}


def render(notice: Notice, contact: Contact, *, public_url: str) -> Mail:
    """The message telling ``contact`` about ``notice``, in their language (else Dutch)."""
    code = contact.language if contact.language in LANGUAGES else DEFAULT
    lang = language(code)
    part = lang.gettext(TERMS.get(notice.about, notice.about))
    values = {"sender": notice.sender, "about": notice.about, "part": part}
    link = public_url.rstrip("/") + _PATHS[notice.kind]
    lines = [
        lang.gettext(N_("Hello %(person)s,"), person=contact.person),
        "",
        lang.gettext(_BODIES[notice.kind], **values),
        "",
        lang.gettext(N_("Answer it on trackrecord: %(link)s"), link=link),
        "",
        lang.gettext(
            N_(
                "You receive this message because something waits for you on trackrecord. "
                "Your inbox there lists everything that does."
            )
        ),
    ]
    subject = lang.gettext(_SUBJECTS[notice.kind], **values)
    return Mail(contact.email, subject, "\n".join(lines) + "\n", code)


def smtp_send(server: SmtpServer, mail: Mail) -> None:
    """Submit ``mail`` to ``server``; raises :class:`OSError` or
    :class:`smtplib.SMTPException` when it is not accepted."""
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=server.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(mail.body)
    message["Content-Language"] = mail.language  # after set_content, which clears Content-*
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.security == "tls":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    with smtp:
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.username is not None:
            smtp.login(server.username, server.password or "")
        smtp.send_message(message)


class Notifier:
    """Gathers notices from the log into the outbox and delivers them, on a thread."""

    def __init__(
        self,
        service: LedgerService,
        engine: Engine,
        server: SmtpServer,
        *,
        public_url: str,
        clock: Callable[[], float],
        interval: float = 2.0,
        first_retry: float = 30.0,
        send: Callable[[SmtpServer, Mail], None] = smtp_send,
    ) -> None:
        self.service = service
        self.engine = engine
        self.server = server
        self.public_url = public_url
        self.clock = clock
        self.interval = interval
        self.first_retry = first_retry
        self._send = send
        self._rounds = Periodic(
            "notifier",
            self.round,
            interval,
            log=_LOG,
            failed="gathering or delivering notices failed",
        )
        create_notice_tables(engine)

    def gather(self) -> int:
        """Turn the entries appended since the cursor into outbox rows; how many.

        The first round of a fresh outbox starts at the log's end: what was appended before
        notifications were switched on is not announced.
        """
        with self.engine.connect() as conn:
            at = conn.execute(select(cursor.c.position).where(cursor.c.name == _CURSOR)).scalar()
        if at is None:
            end = self.service.store.max_position()
            with writing(self.engine) as conn:
                if conn.execute(select(cursor.c.name).where(cursor.c.name == _CURSOR)).first():
                    return 0
                conn.execute(insert(cursor).values(name=_CURSOR, position=end))
            return 0
        records = self.service.read_log(after=int(at), limit=500)
        if not records:
            return 0
        with self.service.reading() as state:  # at or after the entries read
            notices = [n for _pos, stored in records for n in notices_of(stored.entry, state)]
        with writing(self.engine) as conn:
            moved = conn.execute(
                update(cursor)
                .where(cursor.c.name == _CURSOR, cursor.c.position == int(at))
                .values(position=records[-1][0])
            ).rowcount
            if moved != 1:
                return 0  # another process gathered them
            prune_outbox(conn, before=self.clock() - KEPT_FOR)
            return add_notices(conn, notices, now=self.clock())

    def deliver(self) -> int:
        """Send the outbox rows that are due; how many were sent."""
        now = self.clock()
        o = outbox.c
        with writing(self.engine) as conn:
            rows = conn.execute(
                select(o.id, o.recipient, o.kind, o.sender, o.about, o.attempts)
                .where(o.outcome.is_(None), o.due <= now)
                .order_by(o.id)
                .limit(_BATCH)
            ).all()
            if rows:
                conn.execute(
                    update(outbox).where(o.id.in_([r[0] for r in rows])).values(due=now + _LEASE)
                )
        sent = 0
        for row_id, recipient, kind, sender, about, attempts in rows:
            notice = Notice(recipient, cast(NoticeKind, kind), sender, about)
            with self.engine.connect() as conn:
                contact = contact_of(conn, recipient)
            if contact is None:
                self._settle(row_id, outcome="no_address")
                continue
            try:
                self._send(self.server, render(notice, contact, public_url=self.public_url))
            except (OSError, smtplib.SMTPException) as exc:
                tried = attempts + 1
                given_up = tried >= MAX_ATTEMPTS
                _LOG.warning(
                    "notice %s to %s not delivered (attempt %s%s): %s",
                    row_id, recipient, tried, ", given up" if given_up else "", exc,
                )  # fmt: skip
                wait = min(self.first_retry * 2 ** (tried - 1), _LONGEST_WAIT)
                with writing(self.engine) as conn:
                    conn.execute(
                        update(outbox)
                        .where(o.id == row_id)
                        .values(
                            attempts=tried,
                            due=self.clock() + wait,
                            error=f"{type(exc).__name__}: {exc}"[:500],
                            outcome="failed" if given_up else None,
                            done_at=self.clock() if given_up else None,
                        )
                    )
                continue
            self._settle(row_id, outcome="sent")
            sent += 1
        return sent

    def _settle(self, row_id: int, *, outcome: str) -> None:
        with writing(self.engine) as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(outcome=outcome, done_at=self.clock(), error=None)
            )

    def round(self) -> None:
        """One round: gather what is new, deliver what is due."""
        self.gather()
        self.deliver()

    def start(self) -> None:
        self._rounds.start()

    def close(self) -> None:
        self._rounds.close()
