"""What the service holds while it runs: the opened ledger and the HTTP layer's state.

Built once per application by the lifespan in :mod:`api.app` (never at import
time) and reached by endpoints through the dependencies in :mod:`api.deps`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.responses import Response

from keys import Identity
from ledger.app import Ledger
from ledger.credentials import revoked_log_indexes
from ledger.erasure import ErasureWatch
from ledger.service import LedgerService
from ledger.state import LedgerState
from ledger.statement import Statement
from ledger.store import Store
from ledger.transparency import TransparencyLog
from ledger.witnessing import Cosigners, httpx_post
from projections.notices import create_notice_tables

from .audits import AuditJobs
from .board import AssignmentBoard
from .cache import ResponseCache
from .checkpointer import Checkpointer
from .config import ApiConfig
from .notify import Notifier
from .oidc import OidcClient
from .onboarding import OnboardingStore
from .positions import EntryPositions
from .ratelimit import RateLimiter
from .readmodels import ReadModels
from .search_counts import SearchAppearances
from .sessions import SessionStore
from .streams import StreamCache
from .visibility import Profiles
from .wallet import VerifiedRecords, WalletGrants

__all__ = ["AppContext"]


@dataclass
class AppContext:
    """The opened ledger plus sessions, rate limits, audits and indexes of one service."""

    ledger: Ledger
    config: ApiConfig
    operator: Identity | None = None
    checkpointer: Checkpointer | None = field(init=False, default=None)
    positions: EntryPositions = field(init=False)
    streams: StreamCache = field(init=False)
    answers: ResponseCache = field(init=False)
    profiles: Profiles = field(init=False)
    board: AssignmentBoard = field(init=False)
    read_models: ReadModels = field(init=False)
    search_appearances: SearchAppearances = field(init=False)
    sessions: SessionStore = field(init=False)
    audits: AuditJobs = field(init=False)
    writes: RateLimiter = field(init=False)
    logins: RateLimiter = field(init=False)
    challenges: RateLimiter = field(init=False)
    refusals: RateLimiter = field(init=False)
    erasures: ErasureWatch = field(init=False)
    wallet: WalletGrants = field(init=False)
    wallet_records: VerifiedRecords = field(init=False)
    #: the revoked log indexes of credential status (:meth:`revoked`) and the log size
    #: they were read at
    _revoked: tuple[int, frozenset[int]] = field(init=False, default=(-1, frozenset()))

    def __post_init__(self) -> None:
        cfg = self.config
        self.erasures = ErasureWatch()
        self.positions = EntryPositions(self.ledger.store)
        self.streams = StreamCache(
            self.ledger.service,
            self.positions,
            max_bytes=cfg.stream_cache_bytes,
            max_streams=cfg.stream_cache_size,
        )
        self.answers = ResponseCache(cfg.answer_cache_bytes, max_answers=cfg.answer_cache_size)
        self.profiles = Profiles(self.streams)
        self.board = AssignmentBoard(self.ledger.service, self.positions)
        self.read_models = ReadModels(
            self.ledger.store,
            log_size=lambda: self.state().size,
            refresh_every=cfg.refresh_every,
            refresh_in=cfg.refresh_in,
        )
        if self.operator is not None:
            self.checkpointer = Checkpointer(
                self.ledger.log,
                self.operator,
                origin=cfg.default_origin,
                interval=cfg.checkpoint_interval,
                issue_in=cfg.checkpoint_in,
                cosigners=Cosigners(
                    cfg.witnesses, self.log.consistency_proof, httpx_post(cfg.witness_timeout)
                )
                if cfg.witnesses
                else None,
            )
        self.sessions = SessionStore(
            self.read_models.projector.engine,
            service=cfg.service_name,
            challenge_ttl=cfg.challenge_ttl,
            session_ttl=cfg.session_ttl,
            clock=cfg.session_clock,
        )
        self.onboarding = OnboardingStore(
            self.read_models.projector.engine, clock=cfg.session_clock
        )
        self.oidc = None if cfg.oidc is None else OidcClient(cfg.oidc)
        create_notice_tables(self.read_models.projector.engine)
        self.notifier = (
            None
            if cfg.smtp is None
            else Notifier(
                self.ledger.service,
                self.read_models.projector.engine,
                cfg.smtp,
                public_url=cfg.public_url,
                clock=cfg.session_clock,
                interval=cfg.notify_interval,
                first_retry=cfg.notify_first_retry,
            )
        )
        self.wallet = WalletGrants(self.read_models.projector.engine, clock=cfg.session_clock)
        self.search_appearances = SearchAppearances(self.read_models.projector.engine)
        self.wallet_records = VerifiedRecords()
        self.audits = AuditJobs(self.ledger.store)
        self.writes = RateLimiter("writes", cfg.write_limit, cfg.clock)
        self.logins = RateLimiter("logins", cfg.login_limit, cfg.clock)
        self.challenges = RateLimiter("login challenges", cfg.challenge_limit, cfg.clock)
        self.refusals = RateLimiter("refused requests", cfg.refusal_limit, cfg.clock)

    @property
    def service(self) -> LedgerService:
        return self.ledger.service

    @property
    def store(self) -> Store:
        return self.ledger.store

    @property
    def log(self) -> TransparencyLog:
        return self.ledger.log

    def state(self) -> LedgerState:
        """The ledger state, caught up with entries other writers appended.

        For single look-ups; code that iterates over the state's tables uses
        :meth:`locked_state`, so no append changes them meanwhile.
        """
        self.service.catch_up()
        self._forget_erased(self.service.state)
        return self.service.state

    def snapshot(self) -> LedgerState:
        """The caught-up ledger state as a view for one answer's many look-ups
        (:meth:`ledger.service.LedgerService.snapshot`): it keeps what it read, so the
        rows an answer consults are read in a bounded number of queries
        (:func:`ledger.entry_view.prefetch_views`). For one answer only: drop it after."""
        state = self.service.snapshot()
        self._forget_erased(state)
        return state

    @contextmanager
    def locked_state(self) -> Iterator[LedgerState]:
        """The caught-up ledger state, with appends held off until the block ends."""
        with self.service.reading() as state:
            self._forget_erased(state)
            yield state

    def revoked(self) -> tuple[int, frozenset[int]]:
        """The log size and the log indexes whose credential status bit is set at it
        (:func:`ledger.credentials.revoked_log_indexes`), read again only when the log
        has grown: it scans the state's contributions, endorsements and assignments."""
        if self._revoked[0] != self.state().size:
            with self.locked_state() as state:
                self._revoked = (state.size, revoked_log_indexes(state, self._statements_of))
        return self._revoked

    def _statements_of(self, stream: str) -> list[Statement]:
        """The statements of ``stream`` in order (for :meth:`revoked`)."""
        return [stored.entry.statement for stored in self.service.read_stream(stream)]

    def _forget_erased(self, state: LedgerState) -> None:
        """Drop every cache that may hold personal content once someone more is erased
        (:mod:`ledger.erasure`): it is read again, without theirs, on demand."""
        if self.erasures.grew(state):
            self.streams.clear()
            self.board.clear()
            self.answers.clear()
            self.wallet_records.clear()
            self.search_appearances.forget(list(state.erased))

    def version(self) -> tuple[int, int, str, tuple[int, str]]:
        """What read-model answers depend on: the log's size (read from the store, so
        another process's appends count), the read models' generation (it moves with
        every reputation refresh, this process's or another's: :mod:`api.readmodels`),
        the day (UTC), on which an access grant's ``until`` runs out, and the imported
        bundles (a portfolio shows them; :meth:`ledger.imports.ImportRegistry.stamp`)."""
        size = self.state().size
        return size, self.read_models.generation, self.today(), self.ledger.imports.stamp()

    def log_version(self) -> tuple[int, str]:
        """What answers computed from the ledger state alone depend on (a person's record):
        the log's size and the day (UTC), on which an access grant's ``until`` runs out.
        Unlike :meth:`version` it needs no look-up besides the state's catch-up."""
        return self.state().size, self.today()

    def today(self) -> str:
        """Today's date (UTC, ``YYYY-MM-DD``) by the service's calendar, ``config.today``."""
        return self.config.today()

    def cached(
        self,
        key: Hashable,
        compute: Callable[[], BaseModel | list[BaseModel]],
        version: Hashable | None = None,
    ) -> Response:
        """``compute()``'s JSON, served from :attr:`answers` while ``version`` (by default
        :meth:`version`) holds."""
        body = self.answers.get(key, self.version() if version is None else version, compute)
        return Response(body, media_type="application/json")

    def close(self) -> None:
        """Stop the background threads, wait for running audits and close the store."""
        if self.checkpointer is not None:
            self.checkpointer.close()
        if self.notifier is not None:
            self.notifier.close()
        self.read_models.close()
        self.audits.join()
        self.ledger.close()
