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

Challenges and sessions are kept in memory: restarting the service logs
everyone out, which is the safe direction.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from keys import BadSignature, Purpose, verify_signature
from ledger.canonical import b64decode
from ledger.errors import MalformedInput
from ledger.state import LedgerState

from .errors import ApiError

__all__ = ["Challenge", "Session", "SessionStore"]

_MAX_CHALLENGES = 10_000


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
    """Challenges and sessions of one service process. Thread-safe."""

    def __init__(
        self, *, service: str, challenge_ttl: float, session_ttl: float, clock: Callable[[], float]
    ) -> None:
        self.service = service
        self.challenge_ttl = challenge_ttl
        self.session_ttl = session_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._challenges: dict[str, Challenge] = {}
        self._sessions: dict[str, Session] = {}

    def challenge(self) -> Challenge:
        """Issue a fresh single-use challenge."""
        now = self._clock()
        nonce = secrets.token_urlsafe(32)
        ch = Challenge(nonce, f"{self.service}:login:{nonce}", now + self.challenge_ttl)
        with self._lock:
            if len(self._challenges) >= _MAX_CHALLENGES:
                self._challenges = {k: c for k, c in self._challenges.items() if c.expires > now}
                if len(self._challenges) >= _MAX_CHALLENGES:
                    raise ApiError(503, "busy", "too many logins in progress; try again soon")
            self._challenges[nonce] = ch
        return ch

    def open(self, state: LedgerState, *, key_id: str, nonce: str, signature: str) -> Session:
        """Exchange a signed challenge for a session; raise a 401 :class:`ApiError`.

        ``state`` is the ledger state, caught up: it says whose key ``key_id`` is
        and whether it is still that person's current key.
        """
        now = self._clock()
        with self._lock:
            ch = self._challenges.pop(nonce, None)
        if ch is None or ch.expires <= now:
            raise unauthenticated(
                "unknown or expired challenge: ask POST /auth/challenge for a new one",
                "bad_challenge",
            )
        key = state.keys.get(key_id)
        person = state.person_of_key(key_id)
        if key is None or person is None or person.current_key != key_id:
            raise unauthenticated(f"{key_id} is not the current key of any person", "unknown_key")
        try:
            raw_signature = b64decode(signature, length=64, what="signature")
            verify_signature(
                public_key=key.public_key,
                purpose=Purpose.CHALLENGE,
                payload=ch.text.encode("utf-8"),
                signature=raw_signature,
            )
        except (BadSignature, MalformedInput) as exc:
            raise unauthenticated(
                "the signature of the challenge does not verify", "bad_signature"
            ) from exc
        session = Session(secrets.token_urlsafe(32), person.id, key_id, now + self.session_ttl)
        with self._lock:
            self._sessions = {t: s for t, s in self._sessions.items() if s.expires > now}
            self._sessions[session.token] = session
        return session

    def get(self, token: str, state: LedgerState) -> Session:
        """The live session of ``token``; raise a 401 :class:`ApiError` if there is none."""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires <= now:
                del self._sessions[token]
                raise unauthenticated("the session has expired: log in again", "session_expired")
        if session is None:
            raise unauthenticated("unknown session: log in again", "session_expired")
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
        with self._lock:
            self._sessions.pop(token, None)
