"""The store contract and its construction from a database URL.

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

import os
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.utils import Environment

from ..errors import ConcurrencyConflict, LedgerError, NoLedger, StoreError
from ..vault import (
    SERVICE_KEY_META,
    Opened,
    Sealing,
    Vault,
    load_service_key,
    pending_key_path,
    service_key_id,
    service_key_path,
    write_pending_service_key,
)
from .recorder import ImportRow, LedgerRecorder
from .rule_state import StateRow
from .sqlite import sqlite_holds_ledger

__all__ = [
    "ENTRY_TOPIC",
    "SCHEMA_LOCK",
    "STREAM_NAMESPACE",
    "RawRecord",
    "Store",
    "StoredRecord",
    "open_store",
]


STREAM_NAMESPACE = uuid.UUID("5f0c6e1e-6a64-4b86-9f0e-7472616b7265")
ENTRY_TOPIC = "ledger.entry:Entry"
APP_NAME = "ledger"
SCHEMA_LOCK = 0x7472_6B72_0001
"""The PostgreSQL advisory lock key held while the ledger's or the read models' tables are
created: ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent ``CREATE`` of the
same table (both pass the check, one fails on the catalogue's unique key), so processes
starting together create tables one at a time."""


def stream_originator_id(stream: str) -> uuid.UUID:
    """The event store's originator id of a stream."""
    return uuid.uuid5(STREAM_NAMESPACE, stream)


@dataclass(frozen=True)
class StoredRecord:
    """One stored entry as read back: notification position, row keys and record bytes.

    ``head`` is ``JCS(entry)`` as stored (the bytes before the first line feed) and
    ``disclosures`` the opened ``JCS(disclosures)``, ``[]`` unless ``sealing`` is
    ``open``; ``sealed_for`` is the person the sealed disclosures name and
    ``sealing_problem`` why they are ``corrupt``.
    """

    position: int
    originator_id: uuid.UUID
    version: int
    head: bytes
    disclosures: bytes = b"[]"
    sealing: Sealing = "none"
    sealed_for: str | None = None
    sealing_problem: str = ""

    @property
    def blob(self) -> bytes:
        """The plaintext record form ``JCS(entry) ‖ 0x0A ‖ JCS(disclosures)``."""
        return self.head + b"\n" + self.disclosures

    @classmethod
    def opened(
        cls, position: int, originator_id: Any, version: int, head: bytes, opened: Opened
    ) -> StoredRecord:
        return cls(
            position,
            originator_id if type(originator_id) is uuid.UUID else uuid.UUID(str(originator_id)),
            version,
            head,
            opened.disclosures,
            opened.sealing,
            opened.owner,
            opened.problem,
        )


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One stored entry as the read models read it (:meth:`Store.read_records`): its
    notification ``position``, ``head`` (``JCS(entry)``) and opened ``disclosures``
    (``JCS(disclosures)``, ``[]`` if withheld, erased or unreadable)."""

    position: int
    head: bytes
    disclosures: bytes


class Store:
    """A ledger's storage: the event store plus the Merkle node table."""

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

    def append(
        self,
        records: Sequence[tuple[str, int, bytes, str | None]],
        nodes: Sequence[tuple[int, int, bytes]],
        rule_state: Sequence[StateRow] | None = None,
    ) -> list[int]:
        """Atomically store ``(stream, seq, record, owner)`` rows, Merkle ``nodes`` and the
        ``rule_state`` rows the entries change (:mod:`ledger.store.rule_state`; with them
        the state's position becomes the last entry's).

        ``record`` is :func:`ledger.entry.encode_record` output; its disclosures are
        stored sealed under the data key of ``owner``, the person they belong to (a
        new data key is committed before the entries); ``owner`` is None for an entry
        that commits to no personal field (:meth:`ledger.vault.Vault.seal_record`).
        Returns the notification positions. Raises :class:`ConcurrencyConflict` if
        another writer took one of the stream positions or log indexes first (nothing
        is written then).
        """
        try:
            events = [
                StoredEvent(
                    originator_id=stream_originator_id(stream),
                    originator_version=seq,
                    topic=ENTRY_TOPIC,
                    state=self.vault.seal_record(blob, owner),
                )
                for stream, seq, blob, owner in records
            ]
            ids = self._recorder.insert_events(
                events, merkle_nodes=list(nodes), rule_state=rule_state
            )
        except (IntegrityError, OperationalError) as exc:
            raise _write_error(exc) from exc
        return list(ids or [])

    # -- rule state (ledger.store.rule_state) ----------------------------------------------
    def state_values(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored rule-state values of ``(table, key)`` pairs (absent ones left out)."""
        return dict(self._recorder.select_state(list(keys)))

    def state_scan(self, table: str, *, chunk: int = 1000) -> Iterator[tuple[str, str]]:
        """Every ``(key, value)`` row of a rule-state table in the order the rows were first
        written, ``chunk`` at a time."""
        after = (-1, "")
        while True:
            rows = self._recorder.select_state_range(table, after, chunk)
            for _, key, value in rows:
                yield key, value
            if len(rows) < chunk:
                return
            after = rows[-1][:2]

    def state_count(self, table: str) -> int:
        """How many rows a rule-state table holds."""
        return int(self._recorder.count_state(table))

    def write_state(self, rows: Sequence[StateRow], *, expect_size: int) -> None:
        """Store rule-state ``rows`` (value None: delete) in one transaction, if the stored
        state still follows ``expect_size`` entries; raise :class:`ConcurrencyConflict` if
        another process moved it first (nothing is written then)."""
        try:
            self._recorder.write_state(rows, expect_size)
        except (IntegrityError, OperationalError) as exc:
            raise _write_error(exc) from exc

    def read(self, *, after: int = 0, limit: int = 1000) -> list[StoredRecord]:
        """Return up to ``limit`` stored entries with position > ``after``, in log order."""
        notes = self._recorder.select_notifications(
            start=after, limit=limit, topics=(ENTRY_TOPIC,), inclusive_of_start=False
        )
        opened = self.vault.open_tails([n.state for n in notes])
        return [
            StoredRecord.opened(n.id, n.originator_id, n.originator_version, head, o)
            for n, (head, o) in zip(notes, opened, strict=True)
        ]

    def read_records(self, *, after: int, limit: int) -> list[RawRecord]:
        """Up to ``limit`` stored entries with position > ``after``, in log order, as
        :class:`RawRecord` values: the read models' fast path, without the row keys and
        sealing outcome of :meth:`read`. Data keys are looked up afresh (one query, no
        cache), so an erasure made by another process shows at once; erased or unreadable
        disclosures read as ``[]``."""
        notes = self._recorder.select_notifications(
            start=after, limit=limit, topics=(ENTRY_TOPIC,), inclusive_of_start=False
        )
        opened = self.vault.open_tails([n.state for n in notes], use_cache=False)
        return [
            RawRecord(n.id, head, o.disclosures) for n, (head, o) in zip(notes, opened, strict=True)
        ]

    def read_stream(self, stream: str) -> list[StoredRecord]:
        """Return the stored entries of ``stream`` in seq order (position is 0: unknown here)."""
        events = self._recorder.select_events(stream_originator_id(stream))
        opened = self.vault.open_tails([e.state for e in events])
        return [
            StoredRecord.opened(0, e.originator_id, e.originator_version, head, o)
            for e, (head, o) in zip(events, opened, strict=True)
        ]

    def open_records(
        self, records: Sequence[bytes], *, use_cache: bool = True
    ) -> list[tuple[bytes, Opened]]:
        """Split raw stored records into ``(JCS(entry), opened disclosures)`` (for readers
        that select rows themselves, such as the read models' log). With ``use_cache``
        false, data keys are looked up afresh (one query), so an erasure made by another
        process shows at once."""
        return self.vault.open_tails(records, use_cache=use_cache)

    # -- data keys (ledger.vault) -----------------------------------------------------------
    def has_data_key(self, person: str) -> bool:
        """True if ``person`` has a data key (content of theirs can still be opened)."""
        return self.vault.has_key(person)

    def destroy_data_key(self, person: str) -> bool:
        """Destroy ``person``'s data key beyond recovery from the database files, so
        their sealed disclosures never open again; True if there was one (idempotent).

        SQLite: deleted with ``secure_delete`` on, then the WAL is checkpointed and
        truncated. PostgreSQL: deleted, then ``VACUUM FULL`` rewrites the table; WAL
        segments, replicas and backups keep the old row until they are recycled.
        """
        return self.vault.destroy(person)

    def rotate_service_key(self) -> int:
        """Wrap every data key under a new service key and replace the key file with it;
        return how many data keys were rewrapped.

        The new key is written to ``<key file>.new`` first; the data keys are rewrapped
        and the ledger's key id changed in one transaction (the old wrappings scrubbed
        from the database files as an erasure's are); then the new file replaces the
        old one. A backup taken before holds data keys wrapped under the old key, which
        is gone: such a backup no longer opens anyone's content. Other processes using
        the ledger must be restarted (they refuse to add a data key under the old key).
        """
        path = self.service_key_file
        if path is None:
            raise StoreError("this store was opened with a service key given in code, not a file")
        pending = pending_key_path(path)
        new_key = write_pending_service_key(path)
        try:
            count = self.vault.rotate(new_key)
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
        os.replace(pending, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return count

    def forget_data_key(self, person: str) -> None:
        """Drop ``person``'s data key from this process's cache."""
        self.vault.forget(person)

    def max_position(self) -> int:
        """The highest notification position, 0 for an empty store."""
        return int(self._recorder.max_notification_id() or 0)

    def get_node(self, level: int, index: int) -> bytes:
        """Return the stored Merkle node ``(level, index)``; raise ``KeyError`` if absent."""
        node: bytes | None = self._recorder.select_node(level, index)
        if node is None:
            raise KeyError((level, index))
        return node

    def nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        """Return stored nodes ``(index, hash)`` of ``level`` with start <= index < stop."""
        return list(self._recorder.select_nodes(level, start, stop))

    def count_nodes(self, level: int) -> int:
        """Number of stored nodes at ``level`` (level 0: the number of leaves)."""
        return int(self._recorder.count_nodes(level))

    def put_checkpoint(self, size: int, note: str) -> str:
        """Store a signed checkpoint note for ``size`` (first one wins); return the stored note."""
        return str(self._recorder.insert_checkpoint(size, note))

    def get_checkpoint(self, size: int | None = None) -> tuple[int, str] | None:
        """Return ``(size, note)`` of the checkpoint of ``size``, or of the latest one."""
        found: tuple[int, str] | None = self._recorder.select_checkpoint(size)
        return found

    def checkpoint_sizes(self) -> list[int]:
        """The sizes of all stored checkpoints, ascending."""
        return list(self._recorder.select_checkpoint_sizes())

    def set_meta(self, key: str, value: str) -> str:
        """Record a ledger setting once (e.g. the log's origin); return the stored value."""
        return str(self._recorder.set_meta(key, value))

    def get_meta(self, key: str) -> str | None:
        """Return a ledger setting, or None."""
        value: str | None = self._recorder.get_meta(key)
        return value

    # -- trusted origins and imported bundles (ledger.imports) ---------------------------
    def put_trusted_key(self, origin: str, verifier_key: str) -> None:
        """Record ``verifier_key`` as trusted for checkpoints of ``origin`` (idempotent)."""
        self._recorder.insert_trusted_key(origin, verifier_key)

    def remove_trusted_keys(self, origin_or_key: str) -> int:
        """Forget every trusted key of an origin, or one key string; return how many."""
        return int(self._recorder.delete_trusted_keys(origin_or_key))

    def trusted_keys(self) -> list[tuple[str, str]]:
        """All trusted ``(origin, verifier key)`` pairs, sorted."""
        return list(self._recorder.select_trusted_keys())

    def put_import(self, row: ImportRow) -> bool:
        """Store an imported bundle row ``(origin, person, size, verifier_key, entry_count,
        imported_at, report, bundle)`` unless one with its (origin, person, size) exists;
        return True if it was stored."""
        return bool(self._recorder.insert_import(row))

    def imports(self, person: str | None = None) -> list[tuple[str, str, int, str, int, str, str]]:
        """Imported bundle rows without the bundle text, of ``person`` or of everyone."""
        return list(self._recorder.select_imports(person))

    def imports_stamp(self) -> tuple[int, str]:
        """How many bundles are imported, and the latest ``imported_at`` ('' if none)."""
        count, latest = self._recorder.select_imports_stamp()
        return int(count), str(latest)

    def import_bundle_text(self, origin: str, person: str, size: int) -> str | None:
        """The stored text of one imported bundle, or None."""
        found: str | None = self._recorder.select_import_bundle(origin, person, size)
        return found

    def close(self) -> None:
        self._factory.close()


def _write_error(exc: Exception) -> LedgerError:
    """The ledger's error for a failed write: a conflict with another writer, or a failure."""
    if isinstance(exc, IntegrityError):
        return ConcurrencyConflict(f"another writer appended first: {exc}")
    if "locked" in str(exc) or "lock timeout" in str(exc):
        return ConcurrencyConflict(f"the store is busy: {exc}")
    return StoreError(f"the store failed: {exc}")


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
