"""Tunable limits of the HTTP service: request sizes, sessions, rate limits.

The ledger itself is configured by :class:`trackrecord.settings.Settings` (where
the database is); :class:`ApiConfig` holds only what the HTTP adapter adds. The
defaults are the production values; tests shorten the session lifetime or give a
fake clock or calendar.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.access import today_utc
from ledger.child_process import RunIn
from ledger.credentials import DEFAULT_PUBLIC_URL
from ledger.witness import Witness
from ledger.witnessing import WitnessEndpoint
from projections import RefreshIn

from .cache import DEFAULT_ANSWER_CACHE_BYTES
from .notify import SmtpServer
from .oidc import OidcProvider
from .streams import DEFAULT_STREAM_CACHE_BYTES

__all__ = ["ApiConfig", "Bucket"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class Bucket:
    """A token bucket: ``capacity`` requests at once, refilled at ``per_second``.

    ``capacity == 0`` switches the limit off (benchmarks on loopback).
    """

    capacity: int
    per_second: float


@dataclass(frozen=True)
class ApiConfig:
    """Limits and lifetimes of the HTTP service."""

    #: largest request body of any endpoint but the bundle uploads (bytes)
    max_body: int = 1 * MiB
    #: largest bundle upload (``POST /bundles/verify``, ``POST /bundles/import``)
    max_bundle_body: int = 16 * MiB
    #: lifetime of a login challenge (seconds)
    challenge_ttl: float = 120.0
    #: lifetime of a session (seconds); an expired session is refused with 401
    session_ttl: float = 15 * 60.0
    #: mark the session cookie ``Secure`` (set when the service is behind HTTPS)
    secure_cookies: bool = False
    #: writes (statement and batch submissions) per author key, charged once the
    #: signature has verified
    write_limit: Bucket = Bucket(capacity=60, per_second=20.0)
    #: logins (session exchanges) per key, charged once the signed challenge has verified
    login_limit: Bucket = Bucket(capacity=10, per_second=0.2)
    #: refused logins and writes (bad signature, unknown key or challenge, broken rule)
    #: per client address: junk spends its sender's budget, never the named key's
    refusal_limit: Bucket = Bucket(capacity=30, per_second=1.0)
    #: login challenges per client address
    challenge_limit: Bucket = Bucket(capacity=30, per_second=1.0)
    #: the clock of rate limits (monotonic seconds)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    #: the clock of login challenges and sessions (seconds since the epoch): their expiry
    #: times are stored in the database and compared by every service process, on any
    #: host and after restarts, so it is the wall clock, not a monotonic one
    session_clock: Callable[[], float] = field(default=time.time, compare=False)
    #: the calendar: today's date in UTC (``YYYY-MM-DD``), the day on which every read
    #: judges whether an access grant's ``until`` has run out
    today: Callable[[], str] = field(default=today_utc, compare=False)
    #: name shown on the pages and in the login challenge
    service_name: str = "trackrecord"
    #: with the operator's key: seconds between checkpoints while the log grows, at
    #: least; and at least ten times as long as the last issuing took
    #: (:data:`api.checkpointer.CHECKPOINT_SPACING`; docs/operations.md, "Checkpoints")
    checkpoint_interval: float = 10.0
    #: with the operator's key: where a checkpoint's heads tree is hashed and stored (4-5 s
    #: of CPU and 180 MiB at 10^6 entries): in a short-lived ``child`` process
    #: (:mod:`ledger.tree_child`; the key stays in the service, which signs) or in the
    #: service's own ``process``
    checkpoint_in: RunIn = "child"
    #: with the operator's key: the log's origin if it has none yet
    default_origin: str = "trackrecord.localhost/ledger"
    #: the bearer token ``GET /metrics`` asks for; None (the default) switches it off
    metrics_token: str | None = field(default=None, repr=False)
    #: ``GET /readyz`` answers "not ready" while a read model is more positions behind
    ready_max_lag: int = 1000
    #: ``GET /readyz`` answers "not ready" when its checks take longer (seconds)
    ready_timeout: float = 2.0
    #: this service acting as a witness of other logs (``POST /add-checkpoint``); None: not
    witness: Witness | None = field(default=None, compare=False)
    #: with the operator's key: the witnesses asked to cosign each new checkpoint
    witnesses: tuple[WitnessEndpoint, ...] = ()
    #: seconds to wait for a witness's answer
    witness_timeout: float = 5.0
    #: memory (bytes, estimated: api.streams.decoded_size) of the streams kept decoded,
    #: least recently read dropped first; 0: none kept; docs/operations.md, "Memory"
    stream_cache_bytes: int = DEFAULT_STREAM_CACHE_BYTES
    #: deprecated (``serve --stream-cache N``): also keep at most this many streams
    stream_cache_size: int | None = None
    #: memory (bytes of JSON) of the read-model answers (portfolio, reputation,
    #: candidates, records) kept, least recently used dropped first; 0: none kept
    answer_cache_bytes: int = DEFAULT_ANSWER_CACHE_BYTES
    #: deprecated (``serve --answer-cache N``): also keep at most this many answers
    answer_cache_size: int | None = None
    #: where the reputation refresh runs: in a short-lived ``child`` process (its memory,
    #: growing with the ratings, given back when it ends; docs/operations.md, "Memory")
    #: or in the service's own ``process``
    refresh_in: RefreshIn = "child"
    #: seconds between reputation refreshes while entries come in (and at least ten times
    #: as long as the last one took: projections.runner.REFRESH_SPACING)
    refresh_every: float = 30.0
    #: the organisation's OpenID Connect provider newcomers sign in with (api.oidc);
    #: None: no sign-in button, only invitation links
    oidc: OidcProvider | None = field(default=None, compare=False)
    #: how long an invitation link an admin creates stays valid (seconds)
    invitation_ttl: float = 7 * 24 * 3600.0
    #: where the service is reached from outside (``TRACKRECORD_PUBLIC_URL``): the URLs of
    #: the credential status lists it serves, as the exported credentials name them
    public_url: str = DEFAULT_PUBLIC_URL
    #: where e-mail notifications are submitted (api.notify); None: no e-mail is sent
    smtp: SmtpServer | None = field(default=None, compare=False)
    #: seconds between the notifier's rounds (gathering notices, delivering them)
    notify_interval: float = 2.0
    #: seconds before a failed delivery is tried again (doubling with each failure)
    notify_first_retry: float = 30.0

    def body_limit(self, path: str) -> int:
        """The largest request body accepted on ``path``."""
        if path.startswith("/bundles/"):
            return self.max_bundle_body
        return self.max_body
