"""The short-lived secrets of credential issuance (OpenID4VCI) and presentation requests.

Four kinds, each a random value of which only a SHA-256 hash is stored, in the table
``api_wallet_grants`` of the ledger's database (so every service process honours them,
as :mod:`api.sessions` does for sessions):

- ``code``: a pre-authorized code, bound to the employee whose session asked for the
  credential offer; single use (deleted as it is redeemed), ``code_ttl`` seconds;
- ``token``: the access token the code was exchanged for, ``token_ttl`` seconds;
- ``c_nonce``: a nonce for the wallet's proof of possession; single use;
- ``vp_nonce``: a nonce a relying party asks a holder to sign into a presentation;
  single use.

Expiry times are on the wall clock (``ApiConfig.session_clock``), like sessions'. The
table is new in this version: a database without it gets it (and its index on
``expires``) when the service starts, so it needs no schema revision
(projections/schema.py).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)

from ledger.credentials import IssuanceError, VerifiedRecord
from ledger.store.base import SCHEMA_LOCK
from projections.db import writing, xact_lock

from .errors import ApiError

__all__ = ["MAX_PENDING", "Grant", "VerifiedRecords", "WalletGrants"]

#: live secrets of one kind at most: anyone may ask for nonces, so a flood of them is
#: answered 503 ``busy`` instead of filling the table (as login challenges are)
MAX_PENDING = 10_000

_metadata = MetaData()
_grants = Table(
    "api_wallet_grants",
    _metadata,
    Column("secret_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("person", String(200), nullable=False),
    # every secret handed out deletes the expired ones: by this index, not a table scan
    Column("expires", Float, nullable=False, index=True),
)


def _hash(kind: str, secret: str) -> str:
    return hashlib.sha256(f"{kind}:{secret}".encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    """A secret handed out: its value, the person it is bound to, and its lifetime."""

    secret: str
    person: str
    expires_in: int


class WalletGrants:
    """Pre-authorized codes, access tokens and nonces of every service process. Thread-safe."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float],
        code_ttl: int = 300,
        token_ttl: int = 300,
        nonce_ttl: int = 300,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self._ttl = {"code": code_ttl, "token": token_ttl, "c_nonce": nonce_ttl}
        self._ttl["vp_nonce"] = nonce_ttl
        with writing(engine) as conn:
            xact_lock(conn, SCHEMA_LOCK)
            _metadata.create_all(conn)

    def issue(self, kind: str, person: str = "") -> Grant:
        """Hand out a fresh secret of ``kind`` bound to ``person``; raise a 503
        :class:`ApiError` (``busy``) while :data:`MAX_PENDING` of its kind are live."""
        now, ttl = self._clock(), self._ttl[kind]
        secret = secrets.token_urlsafe(32)
        with writing(self.engine) as conn:
            conn.execute(delete(_grants).where(_grants.c.expires <= now))
            pending = conn.execute(
                select(func.count()).select_from(_grants).where(_grants.c.kind == kind)
            ).scalar_one()
            if pending >= MAX_PENDING:
                raise ApiError(503, "busy", "too many requests in progress; try again soon")
            conn.execute(
                insert(_grants).values(
                    secret_hash=_hash(kind, secret), kind=kind, person=person, expires=now + ttl
                )
            )
        return Grant(secret, person, ttl)

    def use(self, kind: str, secret: str, *, refusal: IssuanceError) -> str:
        """Use up a single-use secret of ``kind``; return its person. Raise ``refusal`` if
        it is unknown, used or expired."""
        with writing(self.engine) as conn:
            row = conn.execute(
                delete(_grants)
                .where(_grants.c.secret_hash == _hash(kind, secret))
                .returning(_grants.c.person, _grants.c.expires)
            ).first()
        if row is None or float(row[1]) <= self._clock():
            raise refusal
        return str(row[0])

    def holder(self, kind: str, secret: str, *, refusal: IssuanceError) -> str:
        """The person a live secret of ``kind`` is bound to (not used up); raise ``refusal``."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_grants.c.person, _grants.c.expires).where(
                    _grants.c.secret_hash == _hash(kind, secret)
                )
            ).first()
        if row is None or float(row[1]) <= self._clock():
            raise refusal
        return str(row[0])


class VerifiedRecords:
    """The verified records credentials are issued from, by person and checkpoint size, so
    that a wallet's token and credential requests export and verify a bundle once (a
    thousand entries take a second). Bounded (least recently used out); thread-safe;
    :meth:`clear` drops them all (the context does when someone is erased)."""

    def __init__(self, limit: int = 32) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], VerifiedRecord] = OrderedDict()

    def get(self, person: str, size: int, compute: Callable[[], VerifiedRecord]) -> VerifiedRecord:
        """The record of ``person`` at checkpoint ``size``, computed if not held."""
        key = (person, size)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        record = compute()  # outside the lock: another person's request need not wait
        with self._lock:
            self._items[key] = record
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return record

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._items.clear()
