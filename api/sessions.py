"""Login by signed challenge, and the short-lived sessions it opens.

1. ``POST /auth/challenge`` returns a fresh single-use ``nonce`` and the exact
   ``challenge`` text ``"<service>:login:<nonce>"``.
2. The client signs the UTF-8 bytes of that text with its Ed25519 key for
   :attr:`keys.Purpose.CHALLENGE` (domain-separated: the signature is valid for
   nothing else) and sends ``{key_id, nonce, signature}`` to ``POST /auth/session``.
3. If the key is some person's *current* key and the signature verifies, the
   service opens a session for that person: a random bearer token, also set as
   an ``HttpOnly`` cookie for the pages. Sessions expire after
   ``ApiConfig.session_ttl`` seconds and end at once if the key is rotated or
   revoked.

Challenges and sessions are kept in the ledger's database (tables
``api_login_challenges`` and ``api_sessions``), so every service process over it
knows them: a challenge issued by one process is answered at another, exactly once
(the row is deleted as it is used), and a session opened at one is honoured, or
ended, at all. Only a SHA-256 hash of each bearer token is stored. Expiry times are
on ``ApiConfig.session_clock``, the wall clock: every process, on any host and after
a restart, compares them alike.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)

from keys import BadSignature, Purpose, verify_signature
from ledger.canonical import b64decode
from ledger.errors import MalformedInput
from ledger.state import LedgerState
from ledger.store.base import SCHEMA_LOCK
from projections.db import writing, xact_lock

from .errors import ApiError

__all__ = ["Challenge", "Session", "SessionStore"]

_MAX_CHALLENGES = 10_000

_metadata = MetaData()
_challenges = Table(
    "api_login_challenges",
    _metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires", Float, nullable=False),
    Index("ix_api_login_challenges_expires", "expires"),  # schema revision 0002
)
_sessions = Table(
    "api_sessions",
    _metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("person", String(200), nullable=False),
    Column("key_id", String(200), nullable=False),
    Column("expires", Float, nullable=False),
    Index("ix_api_sessions_expires", "expires"),  # schema revision 0002
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Challenge:
    """A login challenge: the nonce, the text to sign, and when it expires."""

    nonce: str
    text: str
    expires: float


@dataclass(frozen=True)
class Session:
    """An open session of ``person``, opened with the key ``key_id``."""

    token: str
    person: str
    key_id: str
    expires: float


def unauthenticated(message: str, code: str = "unauthenticated") -> ApiError:
    """A 401 problem asking for a session."""
    return ApiError(401, code, message, headers={"WWW-Authenticate": 'Bearer realm="trackrecord"'})


class SessionStore:
    """Challenges and sessions of every service process over one database. Thread-safe."""

    def __init__(
        self,
        engine: Engine,
        *,
        service: str,
        challenge_ttl: float,
        session_ttl: float,
        clock: Callable[[], float],
    ) -> None:
        self.engine = engine
        self.service = service
        self.challenge_ttl = challenge_ttl
        self.session_ttl = session_ttl
        self._clock = clock
        with writing(engine) as conn:
            xact_lock(conn, SCHEMA_LOCK)  # processes starting together create them in turn
            _metadata.create_all(conn)

    def challenge(self) -> Challenge:
        """Issue a fresh single-use challenge."""
        now = self._clock()
        nonce = secrets.token_urlsafe(32)
        ch = Challenge(nonce, f"{self.service}:login:{nonce}", now + self.challenge_ttl)
        with writing(self.engine) as conn:
            conn.execute(delete(_challenges).where(_challenges.c.expires <= now))
            pending = conn.execute(select(func.count()).select_from(_challenges)).scalar_one()
            if pending >= _MAX_CHALLENGES:
                raise ApiError(503, "busy", "too many logins in progress; try again soon")
            conn.execute(insert(_challenges).values(nonce=nonce, expires=ch.expires))
        return ch

    def open(self, state: LedgerState, *, key_id: str, nonce: str, signature: str) -> Session:
        """Exchange a signed challenge for a session; raise a 401 :class:`ApiError`.

        ``state`` is the ledger state, caught up: it says whose key ``key_id`` is
        and whether it is still that person's current key. The challenge is used up
        (deleted) whatever the outcome, in whichever process it was issued.
        """
        now = self._clock()
        with writing(self.engine) as conn:
            expires = conn.execute(
                delete(_challenges)
                .where(_challenges.c.nonce == nonce)
                .returning(_challenges.c.expires)
            ).scalar_one_or_none()
        if expires is None or expires <= now:
            raise unauthenticated(
                "unknown or expired challenge: ask POST /auth/challenge for a new one",
                "bad_challenge",
            )
        text = f"{self.service}:login:{nonce}"
        key = state.keys.get(key_id)
        person = state.person_of_key(key_id)
        if key is None or person is None or person.current_key != key_id:
            raise unauthenticated(f"{key_id} is not the current key of any person", "unknown_key")
        try:
            raw_signature = b64decode(signature, length=64, what="signature")
            verify_signature(
                public_key=key.public_key,
                purpose=Purpose.CHALLENGE,
                payload=text.encode("utf-8"),
                signature=raw_signature,
            )
        except (BadSignature, MalformedInput) as exc:
            raise unauthenticated(
                "the signature of the challenge does not verify", "bad_signature"
            ) from exc
        session = Session(secrets.token_urlsafe(32), person.id, key_id, now + self.session_ttl)
        with writing(self.engine) as conn:
            conn.execute(delete(_sessions).where(_sessions.c.expires <= now))
            conn.execute(
                insert(_sessions).values(
                    token_hash=_hash(session.token),
                    person=session.person,
                    key_id=session.key_id,
                    expires=session.expires,
                )
            )
        return session

    def get(self, token: str, state: LedgerState) -> Session:
        """The live session of ``token``; raise a 401 :class:`ApiError` if there is none."""
        now = self._clock()
        s = _sessions.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.person, s.key_id, s.expires).where(s.token_hash == _hash(token))
            ).first()
        if row is None:
            raise unauthenticated("unknown session: log in again", "session_expired")
        session = Session(token, str(row[0]), str(row[1]), float(row[2]))
        if session.expires <= now:
            self.close(token)
            raise unauthenticated("the session has expired: log in again", "session_expired")
        person = state.people.get(session.person)
        if person is None or person.current_key != session.key_id:
            self.close(token)
            raise unauthenticated(
                "the key that opened this session was rotated or revoked: log in again",
                "session_expired",
            )
        return session

    def close(self, token: str) -> None:
        """End the session of ``token`` (no error if there is none)."""
        with writing(self.engine) as conn:
            conn.execute(delete(_sessions).where(_sessions.c.token_hash == _hash(token)))
