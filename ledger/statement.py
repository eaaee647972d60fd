"""Statements: what a person asserts, signed with their Ed25519 key, for one ledger.

A statement is the JSON object ``{type, id, subject, author, issued_at, ledger,
body}`` (DESIGN.md §4, byte-level rules in docs/entry.md): ``ledger`` is the
origin of the ledger it is addressed to, so a signature is good for that ledger
only. That is format version 2; version 1, the same object without ``ledger``,
is what ledgers recorded before statements were bound to their ledger, and still
parses and verifies (a ledger accepts no new one: :mod:`ledger.rules`,
``wrong_ledger``). The signature covers ``signing_message(Purpose.STATEMENT,
JCS(statement))``. A submission (what a client sends) is ``{statement,
signature, disclosures}``.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keys import BadSignature, Identity, Purpose, verify_signature

from .canonical import b64decode, b64encode, canonical_bytes
from .catalogue import (
    StatementType,
    check_subject,
    origin_problem,
    statement_type,
    validate_body,
)
from .disclosures import Disclosure, disclose, parse_disclosures, verify_disclosures
from .errors import MalformedInput, RuleViolation

__all__ = [
    "MAX_STATEMENT_BYTES",
    "SignedStatement",
    "Signer",
    "Statement",
    "check_origin",
    "parse_signed_statement",
    "parse_statement",
    "sign_statement",
    "signatures_that_verify",
    "utc_timestamp",
]

MAX_STATEMENT_BYTES = 16 * 1024
STATEMENT_FIELDS_V1 = frozenset({"type", "id", "subject", "author", "issued_at", "body"})
STATEMENT_FIELDS = STATEMENT_FIELDS_V1 | {"ledger"}
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_KEY_ID_RE = re.compile(r"^ed25519:[0-9a-f]{32}$")


def utc_timestamp(when: _dt.datetime | None = None) -> str:
    """Return an RFC 3339 UTC timestamp with microseconds, e.g. ``2026-11-23T14:00:00.000000Z``."""
    moment = when or _dt.datetime.now(_dt.UTC)
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_timestamp(value: Any, field_name: str) -> str:
    """Return ``value`` if it is an RFC 3339 UTC timestamp; raise :class:`MalformedInput`."""
    if not isinstance(value, str) or not _TIMESTAMP_RE.fullmatch(value):
        raise MalformedInput(
            f"{field_name} must be an RFC 3339 UTC timestamp like 2026-11-23T14:00:00Z",
            field=field_name,
        )
    try:
        _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedInput(
            f"{field_name} is not a valid date and time", field=field_name
        ) from exc
    return value


@dataclass(frozen=True)
class Statement:
    """A parsed, well-formed statement (not yet checked against the ledger's rules)."""

    type: str
    id: str
    subject: str
    author: str
    issued_at: str
    body: Mapping[str, Any]
    canonical: bytes = field(repr=False)
    stype: StatementType = field(repr=False)
    model: Any = field(repr=False, compare=False)
    #: the origin of the ledger the statement is addressed to; None for a version 1
    #: statement, written before statements named their ledger
    ledger: str | None = None

    @property
    def version(self) -> int:
        """The statement format: 2 when it names its ledger, 1 (the old form) when not."""
        return 1 if self.ledger is None else 2

    @property
    def stream(self) -> str:
        """The stream this statement is appended to: ``"<kind>/<subject>"``."""
        return f"{self.stype.stream_kind.value}/{self.subject}"

    @property
    def commitments(self) -> Mapping[str, str]:
        """The digests of the personal fields it commits to (field -> hex), maybe none."""
        found: Mapping[str, str] = self.body.get("commitments", {})
        return found

    def as_json(self) -> dict[str, Any]:
        raw = {
            "type": self.type,
            "id": self.id,
            "subject": self.subject,
            "author": self.author,
            "issued_at": self.issued_at,
            "body": dict(self.body),
        }
        if self.ledger is not None:
            raw["ledger"] = self.ledger
        return raw

    def check_disclosures(self, disclosures: Iterable[Disclosure]) -> None:
        """Check ``disclosures`` against this statement's commitments and field limits.

        Raises :class:`MalformedInput` (``bad_disclosure``, ``too_long``); withheld
        fields are fine (see :func:`ledger.disclosures.verify_disclosures`).
        """
        verify_disclosures(
            self.commitments,
            disclosures,
            max_lengths={p.name: p.max_length for p in self.stype.personal},
        )

    def verify_signature(self, *, public_key: bytes, signature: bytes) -> None:
        """Raise :class:`keys.BadSignature` unless ``signature`` is valid for this statement."""
        verify_signature(
            public_key=public_key,
            purpose=Purpose.STATEMENT,
            payload=self.canonical,
            signature=signature,
        )


def parse_statement(raw: Any) -> Statement:
    """Parse and validate a statement JSON object; raise :class:`MalformedInput`.

    Checks the exact field set (``ledger`` may be absent: a version 1
    statement), the catalogue type, the subject form, the author key id form,
    the ledger origin form, the timestamp, the typed body and the size limit.
    """
    if not isinstance(raw, dict):
        raise MalformedInput("a statement must be a JSON object", field="statement")
    unknown = set(raw) - STATEMENT_FIELDS
    if unknown:
        raise MalformedInput(
            f"statement has unknown field(s): {', '.join(sorted(map(str, unknown)))}",
            code="unknown_field",
            field=sorted(map(str, unknown))[0],
        )
    missing = STATEMENT_FIELDS_V1 - set(raw)
    if missing:
        raise MalformedInput(
            f"statement lacks field(s): {', '.join(sorted(missing))}",
            code="missing_field",
            field=sorted(missing)[0],
        )
    stype = statement_type(raw["type"])
    sid = raw["id"]
    if not isinstance(sid, str) or not _UUID_RE.fullmatch(sid):
        raise MalformedInput("id must be a lowercase hyphenated UUID", field="id")
    subject = check_subject(stype.stream_kind, raw["subject"])
    author = raw["author"]
    if not isinstance(author, str) or not _KEY_ID_RE.fullmatch(author):
        raise MalformedInput("author must be a key id 'ed25519:<32 hex digits>'", field="author")
    issued_at = check_timestamp(raw["issued_at"], "issued_at")
    ledger = raw.get("ledger")
    if "ledger" in raw:
        ledger = check_origin(raw["ledger"], field_name="ledger")
    model = validate_body(stype, raw["body"])
    canonical = canonical_bytes(raw)
    if len(canonical) > MAX_STATEMENT_BYTES:
        raise MalformedInput(
            f"statement is {len(canonical)} bytes; at most {MAX_STATEMENT_BYTES} allowed",
            code="oversized",
            field="body",
        )
    return Statement(
        type=stype.name,
        id=sid,
        subject=subject,
        author=author,
        issued_at=issued_at,
        body=raw["body"],
        canonical=canonical,
        stype=stype,
        model=model,
        ledger=ledger,
    )


def check_origin(value: Any, *, field_name: str = "origin") -> str:
    """Return ``value`` if it can name a ledger (its checkpoint origin); raise
    :class:`MalformedInput` (:func:`ledger.catalogue.origin_problem` says why not)."""
    problem = origin_problem(value)
    if problem is not None:
        raise MalformedInput(
            f"{field_name} {value!r} names a ledger by its checkpoint origin and {problem}",
            field=field_name,
        )
    return str(value)


@dataclass(frozen=True)
class SignedStatement:
    """A statement with its signature and the disclosures of its personal fields."""

    statement: Statement
    signature: bytes
    disclosures: tuple[Disclosure, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The submission format ``{statement, signature, disclosures}``."""
        return {
            "statement": self.statement.as_json(),
            "signature": b64encode(self.signature),
            "disclosures": [d.as_json() for d in self.disclosures],
        }

    def disclosed(self) -> dict[str, str]:
        """The disclosed personal fields, by name."""
        return {d.field: d.value for d in self.disclosures}


SUBMISSION_FIELDS = frozenset({"statement", "signature", "disclosures"})


def parse_signed_statement(raw: Any) -> SignedStatement:
    """Parse a submission ``{statement, signature, disclosures}``; raise :class:`MalformedInput`.

    Checks that every disclosure matches its commitment. Does not check the
    signature (that needs the ledger's key history): see :mod:`ledger.rules`.
    """
    if not isinstance(raw, dict):
        raise MalformedInput("a submission must be a JSON object")
    unknown = set(raw) - SUBMISSION_FIELDS
    if unknown:
        raise MalformedInput(
            f"submission has unknown field(s): {', '.join(sorted(map(str, unknown)))}",
            code="unknown_field",
        )
    if "statement" not in raw or "signature" not in raw:
        raise MalformedInput("a submission needs 'statement' and 'signature'", code="missing_field")
    statement = parse_statement(raw["statement"])
    sig = raw["signature"]
    if not isinstance(sig, str):
        raise MalformedInput("signature must be a base64 string", field="signature")
    signature = b64decode(sig, length=64, what="signature")
    disclosures = parse_disclosures(raw.get("disclosures", []))
    statement.check_disclosures(disclosures)
    return SignedStatement(statement, signature, tuple(disclosures))


@dataclass(frozen=True)
class Signer:
    """A person's key signing statements addressed to one ledger (its checkpoint origin).

    Every statement a :class:`Signer` signs names ``ledger`` inside its signed
    bytes, so no other ledger accepts it (rule ``wrong_ledger``).
    """

    identity: Identity
    ledger: str

    def __post_init__(self) -> None:
        check_origin(self.ledger, field_name="ledger")

    @property
    def key_id(self) -> str:
        return self.identity.key_id


def sign_statement(
    signer: Signer,
    *,
    type: str,
    subject: str,
    body: Mapping[str, Any],
    personal: Mapping[str, str] | None = None,
    statement_id: str | None = None,
    issued_at: str | None = None,
    salt_source: Callable[[int], bytes] | None = None,
) -> SignedStatement:
    """Build, commit and sign a statement as ``signer``, addressed to ``signer.ledger``;
    the client side of an append.

    Personal fields are turned into disclosures and their digests put into
    ``body.commitments``. Raises :class:`MalformedInput` if the result is not a
    valid statement.
    """
    personal = {k: v for k, v in (personal or {}).items() if v is not None}
    disclosures = disclose(personal, salt_source=salt_source)
    clear = dict(body)
    if disclosures:
        clear["commitments"] = {d.field: d.digest for d in disclosures}
    raw = {
        "type": type,
        "id": statement_id or str(uuid.uuid4()),
        "subject": subject,
        "author": signer.key_id,
        "issued_at": issued_at or utc_timestamp(),
        "ledger": signer.ledger,
        "body": clear,
    }
    statement = parse_statement(raw)
    statement.check_disclosures(disclosures)
    signature = signer.identity.sign(Purpose.STATEMENT, statement.canonical)
    return SignedStatement(statement, signature, tuple(disclosures))


def check_statement_signature(
    statement: Statement, signature: bytes, public_key: bytes, **where: Any
) -> None:
    """Raise ``RuleViolation(bad_signature)`` unless the signature verifies."""
    try:
        statement.verify_signature(public_key=public_key, signature=signature)
    except BadSignature as exc:
        raise RuleViolation(
            "bad_signature",
            f"the signature of statement {statement.id} does not verify for key {statement.author}",
            statement_id=statement.id,
            **where,
        ) from exc


def signatures_that_verify(jobs: Iterable[tuple[int, Statement, bytes, bytes]]) -> set[int]:
    """The positions among ``jobs`` — (position, statement, public key, signature) —
    whose signature verifies.

    The one signature pre-check: the service (a batch), bundle verification and the
    audit run it on worker threads (PyNaCl releases the GIL) and then apply the rules
    without checking these signatures again; a position missing from the result is
    checked again inline, where the refusal gets its evidence.
    """
    ok: set[int] = set()
    for position, statement, public_key, signature in jobs:
        try:
            statement.verify_signature(public_key=public_key, signature=signature)
        except BadSignature:
            continue
        ok.add(position)
    return ok
