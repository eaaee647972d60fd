"""E-mail notifications (issue 16): a real trackrecord service sends to a real SMTP server
(aiosmtpd) the tests start on loopback.

The addresses come from an HR file uploaded by the operator (``POST
/people-import/addresses``); an access request and a review request, submitted as signed
statements over HTTP, and a registration request (to the admins) each reach the person
asked, in Dutch, with a link to the page where they answer. A person without an address
gets nothing (the outbox says so); with the SMTP server down the write still succeeds and
the notice is delivered once it is back.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from api.notify import SmtpServer
from keys import Purpose
from ledger.canonical import b64encode
from ledger.onboarding import RegistrationRequest, request_payload
from projections.notices import OutboxRow
from tests.factories import DEPT, ORG, OTHER_DEPT, World, identity_for
from tests.support.api_server import (
    BACKENDS,
    UNLIMITED,
    Backend,
    Live,
    live_server,
    login,
    loopback_socket,
    make_cast,
    operator_member,
)
from tests.support.cli import Cli
from tests.support.notices import outbox
from trackrecord.cli.errors import ExitCode

SENDER = "trackrecord@minbzk.example"


class Inbox:
    """aiosmtpd's handler: every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str, *, timeout: float = 20.0) -> EmailMessage:
        """The first message to ``address``, waited for."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for recipients, message in self.messages:
                if address in recipients:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no message to {address} within {timeout} s: {self.messages}")


def _free_port() -> int:
    sock = loopback_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


class Smtp:
    """The SMTP server on one loopback port, stopped and started again by a test."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = _free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        # a stopped Controller cannot start again (its event loop is closed): a new one
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="module")
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, smtp: Smtp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    sock = loopback_socket()
    public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = dataclasses.replace(
        UNLIMITED,
        smtp=SmtpServer("127.0.0.1", SENDER, smtp.port, security="none"),
        public_url=public_url,
        notify_interval=0.1,
        notify_first_retry=0.2,
    )
    with (
        Backend.fresh(request, tmp_path_factory.mktemp("notify")) as url,
        live_server(url, config, sock=sock) as live,
    ):
        smtp.inbox.messages.clear()  # the other backend's messages
        yield live


def _keep_addresses(live: Live, w: World, *names: str) -> None:
    """The operator uploads an HR file with the e-mail addresses of ``names``."""
    token = login(live, operator_member().identity)
    lines = ["person_id;name;organisation;department;email;manages;public_key"]
    for name in names:
        m = w[name]
        lines.append(f"{m.id};{name.title()};{ORG};{m.department};{m.id}@minbzk.example;;")
    response = live.client.post(
        "/people-import/addresses",
        content="\r\n".join(lines).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"kept": len(names)}


def _outbox(live: Live, recipient: str) -> list[OutboxRow]:
    return outbox(live.database_url, recipient)


def _settled(live: Live, recipient: str, timeout: float = 20.0) -> list[OutboxRow]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _outbox(live, recipient)
        if rows and all(r.outcome is not None for r in rows):
            return rows
        time.sleep(0.05)
    raise AssertionError(f"the notices to {recipient} were not settled: {_outbox(live, recipient)}")


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content: Any = body.get_content()
    return str(content)


def test_an_access_request_and_a_review_request_are_mailed_in_dutch(
    server: Live, smtp: Smtp
) -> None:
    inbox = smtp.inbox
    w = make_cast(server, "mail")
    alice, carol, dave = w["alice"], w["carol"], w["dave"]
    assert (alice.department, dave.department) == (DEPT, OTHER_DEPT)
    _keep_addresses(server, w, "alice", "bob", "carol")

    w.do(w.request_access(dave, alice))  # dave asks alice for her dossier
    message = inbox.to("mail-alice@minbzk.example")
    assert message["From"] == SENDER
    assert message["To"] == "mail-alice@minbzk.example"
    assert message["Subject"] == "mail-dave vraagt inzage in een deel van je portfolio"
    assert message["Content-Language"] == "nl"
    text = _text(message)
    assert text.startswith("Beste mail-alice,")
    assert f"Reageer op trackrecord: {server.config.public_url}/inbox" in text

    claimed = w.do(w.claim(alice))
    w.do(w.ask_review(alice, claimed.statement.id, (carol, "peer")))
    message = inbox.to("mail-carol@minbzk.example")
    assert message["Subject"] == "mail-alice vraagt je een bijdrage te beoordelen"
    text = _text(message)
    assert claimed.statement.id in text
    assert f"{server.config.public_url}/employee#tab-reviews" in text
    assert [r.outcome for r in _settled(server, carol.id)] == ["sent"]
    assert not _outbox(server, alice.id + "-nobody")

    # dave has no address kept: the notice is settled as such, nothing is sent
    w.do(w.request_access(alice, dave))
    rows = _settled(server, dave.id)
    assert [(r.notice.kind, r.notice.sender, r.outcome) for r in rows] == [
        ("access_request", alice.id, "no_address")
    ]
    assert not any("mail-dave@minbzk.example" in rcpt for rcpt, _m in inbox.messages)


def test_a_delivery_that_fails_is_tried_again_and_the_write_stands(
    server: Live, smtp: Smtp
) -> None:
    inbox = smtp.inbox
    w = make_cast(server, "retry")
    _keep_addresses(server, w, "alice", "carol")
    size = server.size()
    smtp.stop()  # the SMTP server is down
    try:
        w.do(w.request_access(w["carol"], w["alice"]))  # accepted all the same
        assert server.size() == size + 1
        deadline = time.monotonic() + 20
        while not any(r.attempts for r in _outbox(server, w["alice"].id)):
            assert time.monotonic() < deadline, "no failed attempt was recorded"
            time.sleep(0.05)
        failed = _outbox(server, w["alice"].id)[0]
        assert failed.outcome is None  # to be tried again
        assert failed.error is not None
    finally:
        smtp.start()
    message = inbox.to("retry-alice@minbzk.example")
    assert message["Subject"] == "retry-carol vraagt inzage in een deel van je portfolio"
    assert [r.outcome for r in _settled(server, w["alice"].id)] == ["sent"]


def test_a_registration_request_is_mailed_to_the_admins(server: Live, smtp: Smtp) -> None:
    w = make_cast(server, "reg")
    _keep_addresses(server, w, "operator")  # no admin of ORG: the operator approves
    token = login(server, operator_member().identity)
    invited = server.client.post(
        "/invitations",
        json={"organisation": ORG, "department": DEPT},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert invited.status_code == 201, invited.text
    newcomer = identity_for("reg-newcomer")
    wanted = RegistrationRequest(
        "reg-newcomer", "Nieuw", b64encode(newcomer.public_key.raw), "", "register"
    )
    signature = newcomer.sign(Purpose.REGISTRATION, request_payload(w.origin, wanted))
    filed = server.client.post(
        "/registrations",
        json={
            "person": wanted.person,
            "display_name": wanted.display_name,
            "public_key": wanted.public_key,
            "signature": base64.b64encode(signature).decode(),
            "kind": "register",
            "invitation": invited.json()["link"].rsplit("/join/", 1)[1],
        },
    )
    assert filed.status_code == 201, filed.text
    message = smtp.inbox.to("operator@minbzk.example")
    assert message["Subject"] == f"reg-newcomer vraagt om registratie bij {ORG}"
    assert f"{server.config.public_url}/admin" in _text(message)


def test_someone_who_reads_the_pages_in_english_is_written_to_in_english(
    server: Live, smtp: Smtp
) -> None:
    w = make_cast(server, "lang")
    _keep_addresses(server, w, "alice")
    token = login(server, w["alice"].identity)
    page = server.client.get("/inbox?lang=en", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200  # her inbox, read in English: the language is noted
    w.do(w.request_access(w["dave"], w["alice"]))
    message = smtp.inbox.to("lang-alice@minbzk.example")
    assert message["Subject"] == "lang-dave asks to see part of your portfolio"
    assert message["Content-Language"] == "en"
    assert _text(message).startswith("Hello lang-alice,")


def test_serve_needs_a_from_address_and_a_known_security(tmp_path: Path) -> None:
    cli = Cli(f"sqlite://{(tmp_path / 'l.db').as_posix()}", tmp_path / "keys")
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    result = cli("serve", "--smtp-host", "relay.minbzk.example")
    assert result.exit_code == ExitCode.USAGE
    assert "--smtp-from" in result.output
    result = cli(
        "serve", "--smtp-host", "relay.minbzk.example", "--smtp-from", SENDER,
        "--smtp-security", "ssl",
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert "starttls, tls or none" in result.output
    result = cli(
        "serve", "--smtp-host", "relay.minbzk.example", "--smtp-from", SENDER,
        "--smtp-user", "trackrecord",
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert "TRACKRECORD_SMTP_PASSWORD" in result.output
