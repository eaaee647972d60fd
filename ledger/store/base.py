"""The store contract and its construction from a database URL.

:class:`Store` is made of one part per concern, each in its own module (entries and
Merkle nodes, rule state, checkpoints, trust and imports, data keys), over one typed
recorder (:class:`~ledger.store.recorder.LedgerRecorder`).

Each entry is one stored event of the ``eventsourcing`` library: the
originator id is ``uuid5(STREAM_NAMESPACE, stream)``, the originator version is
the entry's ``seq`` and the state is the record bytes of
:func:`ledger.entry.encode_record`. The library's notification log gives the
one total order of all entries; its unique ``(originator_id, version)`` key
keeps a stream from forking. The Merkle tree's nodes live in a table beside the
events and are written in the same transaction; the unique key of the leaf
``(0, log index)`` makes concurrent appenders to *different* streams conflict
too, so the log is extended by one writer at a time and the rules always see
the whole log before an entry.

The record's disclosures are stored sealed under the data key of the person they
belong to (:mod:`ledger.vault`): :meth:`Store.append` seals them and
:meth:`Store.read` / :meth:`Store.read_stream` open them again, so callers see the
plaintext record form, with the outcome in :attr:`StoredRecord.sealing`.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any, cast

from eventsourcing.persistence import (
    InfrastructureFactory,
)
from eventsourcing.utils import Environment

from ..errors import NoLedger, StoreError
from ..vault import (
    SERVICE_KEY_META,
    Vault,
    load_service_key,
    pending_key_path,
    service_key_id,
    service_key_path,
)
from .checkpoint_tables import CheckpointTables
from .data_keys import DataKeys
from .entry_tables import (
    ENTRY_TOPIC,
    STREAM_NAMESPACE,
    EntryTables,
    RawRecord,
    StoredRecord,
    stream_originator_id,
)
from .position_tables import EntryPositionTables
from .recorder import LedgerRecorder
from .sqlite import sqlite_holds_ledger
from .state_tables import RuleStateTables
from .trust_tables import TrustTables

__all__ = [
    "ENTRY_TOPIC",
    "SCHEMA_LOCK",
    "STREAM_NAMESPACE",
    "RawRecord",
    "Store",
    "StoredRecord",
    "open_store",
    "stream_originator_id",
]


APP_NAME = "ledger"
SCHEMA_LOCK = 0x7472_6B72_0001
"""The PostgreSQL advisory lock key held while the ledger's or the read models' tables are
created: ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent ``CREATE`` of the
same table (both pass the check, one fails on the catalogue's unique key), so processes
starting together create tables one at a time."""


class Store(
    EntryTables, EntryPositionTables, RuleStateTables, CheckpointTables, TrustTables, DataKeys
):
    """A ledger's storage on one backend, by concern: entries and Merkle nodes
    (:class:`~ledger.store.entry_tables.EntryTables`), their log indexes and positions
    (:class:`~ledger.store.position_tables.EntryPositionTables`), the rule state
    (:class:`~ledger.store.state_tables.RuleStateTables`), checkpoints and metadata
    (:class:`~ledger.store.checkpoint_tables.CheckpointTables`), trusted origins and
    imported bundles (:class:`~ledger.store.trust_tables.TrustTables`), data keys
    (:class:`~ledger.store.data_keys.DataKeys`); all over one typed recorder
    (:class:`~ledger.store.recorder.LedgerRecorder`)."""

    def __init__(
        self,
        url: str,
        factory: Any,
        recorder: LedgerRecorder,
        *,
        service_key: bytes,
        service_key_file: Path | None = None,
    ) -> None:
        self.url = url
        self._factory = factory
        self._recorder = recorder
        self.vault = Vault(service_key, recorder)
        self.service_key_file = service_key_file  # None: the key was given, not read

    @property
    def backend(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    def close(self) -> None:
        self._factory.close()


def _sqlite_env(path: str, *, create: bool) -> dict[str, str]:
    if create and path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot open the store at {path}: cannot create its directory: {exc}"
            ) from exc
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
        "CREATE_TABLE": "no",  # open_store creates the tables itself, or refuses
        "APPLICATION_RECORDER_TOPIC": "ledger.store.sqlite:LedgerSQLiteRecorder",
    }


def _query_value(parsed: urllib.parse.SplitResult, name: str) -> str | None:
    values = urllib.parse.parse_qs(parsed.query).get(name)
    return values[-1] if values else None


def _postgres_env(parsed: urllib.parse.SplitResult) -> dict[str, str]:
    dbname = parsed.path.lstrip("/")
    if not dbname or not parsed.hostname:
        raise StoreError("a PostgreSQL URL needs a host and a database name")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": urllib.parse.unquote(dbname),
        "POSTGRES_HOST": parsed.hostname,
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": urllib.parse.unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": urllib.parse.unquote(parsed.password or ""),
        "CREATE_TABLE": "no",  # open_store creates the tables itself, or refuses
        "POSTGRES_LOCK_TIMEOUT": "10",
        # libpq's connect_timeout in the URL's query (?connect_timeout=5), else 10 s: how
        # long a request waits for a connection while the server is unreachable.
        "POSTGRES_CONNECT_TIMEOUT": _query_value(parsed, "connect_timeout") or "10",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
        "APPLICATION_RECORDER_TOPIC": "ledger.store.postgres:LedgerPostgresRecorder",
    }


def open_store(url: str, *, service_key: bytes | None = None, create: bool = True) -> Store:
    """Open the store at ``url``; raise :class:`StoreError`.

    With ``create`` (the default) a missing ledger is created: the SQLite file and its
    directory, the tables, and the service key file. Without it a missing ledger raises
    :class:`~ledger.errors.NoLedger` and nothing is created, so a command that only reads
    never leaves a database, a directory or a key file behind (nor tables in an empty
    PostgreSQL database).

    ``service_key`` wraps the data keys of personal content; by default it is read
    from (or, with ``create``, created at) :func:`ledger.vault.service_key_path`. The
    first key a ledger is opened with is the only one it accepts afterwards.
    """
    parsed = urllib.parse.urlsplit(url)
    sqlite_path: str | None = None
    if parsed.scheme == "sqlite":
        if not parsed.path or parsed.netloc:
            raise StoreError(f"an SQLite URL looks like sqlite:///path/to/ledger.db, not {url!r}")
        sqlite_path = parsed.path
        if not create and not sqlite_holds_ledger(sqlite_path):
            raise NoLedger(url=redact(url))
        env = _sqlite_env(sqlite_path, create=create)
    elif parsed.scheme in ("postgresql", "postgres"):
        env = _postgres_env(parsed)
    else:
        raise StoreError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    try:
        factory = InfrastructureFactory.construct(Environment(name=APP_NAME, env=env))
        # the environment names the ledger's recorder class of the backend, and each
        # backend module checks that its class is a LedgerRecorder
        recorder = cast(LedgerRecorder, factory.application_recorder())
    except Exception as exc:  # the library raises many kinds; all mean "cannot open"
        raise StoreError(f"cannot open the store at {redact(url)}: {exc}") from exc
    try:
        _create_tables(recorder, url, create=create)
        where, key_file = "given", None
        if service_key is None:
            key_file = service_key_path(sqlite_path)
            service_key, where = load_service_key(key_file, create=create), str(key_file)
    except BaseException:
        factory.close()
        raise
    store = Store(url, factory, recorder, service_key=service_key, service_key_file=key_file)
    try:
        expected = service_key_id(service_key)
        stored = store.set_meta(SERVICE_KEY_META, expected)
    except BaseException:
        store.close()
        raise
    if stored != expected:
        store.close()
        hint = ""
        pending = None if key_file is None else pending_key_path(key_file)
        if (
            pending is not None
            and pending.is_file()
            and service_key_id(pending.read_bytes()) == stored
        ):
            hint = (
                f"; a key rotation was interrupted: the ledger's key is {pending}, "
                f"move it to {key_file}"
            )
        raise StoreError(
            f"the service key at {where} does not belong to this ledger "
            f"(key id {expected}, ledger expects {stored}){hint}"
        )
    return store


def _create_tables(recorder: LedgerRecorder, url: str, *, create: bool) -> None:
    """Create the ledger's tables (idempotent); without ``create``, only if a ledger is there."""
    try:
        if not create and not recorder.holds_ledger():
            raise NoLedger(url=redact(url))
        recorder.create_table()
    except (NoLedger, StoreError):
        raise
    except Exception as exc:  # the library and the drivers raise many kinds
        raise StoreError(f"cannot open the store at {redact(url)}: {exc}") from exc


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))
    return url
