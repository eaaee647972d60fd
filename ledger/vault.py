"""Encryption at rest of personal content: data keys, and the sealing of disclosures.

Three layers of keys, each with one job:

- the **service key**: 32 random bytes in a file (mode 0600) outside the database
  (:func:`service_key_path`); it only wraps data keys. The ledger remembers which
  key it was first opened with (:func:`service_key_id` in ``ledger_meta``), so a
  wrong key file is refused up front instead of making every entry unreadable;
- one **data key** per person: 32 random bytes, stored in the ``data_keys`` table
  wrapped as ``SecretBox(service_key).encrypt(data_key)`` (24-byte nonce ‖ MAC ‖
  ciphertext). Destroying that row erases every disclosure of the person
  (crypto-shredding) while every hash, signature and proof still holds, because
  those cover only the entry, never the disclosures;
- the **sealed tail** of each stored record, i.e. the disclosures of one entry under
  the data key of the one person the content belongs to.

The sealed tail, byte for byte::

    sealed = b"TRS1"                 4 bytes, magic and format version
             ‖ u8 n                  1 byte, length of the person id (1..255)
             ‖ person                n bytes, the owner's person id in ASCII
             ‖ nonce                 24 random bytes
             ‖ box                   SecretBox(data_key) ciphertext with its 16-byte
                                     Poly1305 MAC (XSalsa20-Poly1305, libsodium
                                     crypto_secretbox_easy) of the plaintext
    plaintext = entry_hash ‖ JCS(disclosures)
                entry_hash is the raw 32-byte SHA-256(JCS(entry)) of the entry the
                disclosures belong to

``nonce ‖ box`` is exactly what :meth:`nacl.secret.SecretBox.encrypt` returns. The
entry hash inside the authenticated plaintext binds a ciphertext to its entry: a
sealed tail copied onto another entry fails to open. The owner in the header is not
authenticated by itself, but it selects the key: a changed owner opens under the
wrong key and fails. An entry that commits to no personal field stores an empty
tail; one that does always stores a sealed tail, ``[]`` if every field was withheld,
so that a tail removed later is told apart from content withheld or erased.

Opening gives one :class:`Opened` value: ``open`` (the disclosures), ``none`` (the
entry stored no disclosures), ``erased`` (no data key row for the owner: the
content was destroyed) or ``corrupt`` (bad magic or header, MAC failure, entry-hash
mismatch, malformed plaintext). Nothing here raises for bad stored bytes: the audit
decides what a ``corrupt`` or ``erased`` tail means.

Limits, stated plainly: the service key sits on the same machine as the database,
so this protects copies of the database files and backups, not a running server's
memory. On PostgreSQL, a destroyed data key row stays in WAL segments, replicas and
base backups until those are recycled (the table itself is rewritten by ``VACUUM
FULL``); on SQLite the row is overwritten (``secure_delete``) and the WAL truncated.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import nacl.exceptions
import nacl.secret

from .errors import StoreError

__all__ = [
    "MAGIC",
    "ROW_KEY_HOLDER",
    "SERVICE_KEY_ENV",
    "SERVICE_KEY_META",
    "DataKeyTable",
    "Opened",
    "Sealing",
    "Vault",
    "load_service_key",
    "open_sealed",
    "pending_key_path",
    "seal",
    "sealed_owner",
    "service_key_id",
    "service_key_path",
    "write_pending_service_key",
]

MAGIC = b"TRS1"
SERVICE_KEY_META = "service_key_id"  # the ledger_meta row holding the service key's id
SERVICE_KEY_ENV = "TRACKRECORD_SERVICE_KEY"
SERVICE_KEY_ID_PREFIX = b"trackrecord:service-key-id:v1\x00"
KEY_SIZE = nacl.secret.SecretBox.KEY_SIZE  # 32
DATA_KEY_CACHE = 50_000  # unwrapped data keys a Vault keeps (about 8 MiB); see Vault.__init__
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE  # 24
_HASH_SIZE = 32
_MIN_BOX = nacl.secret.SecretBox.MACBYTES + _HASH_SIZE + 2  # MAC, entry hash, b"[]"

Sealing = Literal["open", "none", "erased", "corrupt"]
"""What became of an entry's stored disclosures when they were read back."""

_UNWRAP_FAILED = b""  # a data key row that does not open under the service key

ROW_KEY_HOLDER = "@rows"
"""The ``data_keys`` row of the **row key**, which MACs rows the log cannot vouch for
(:meth:`Vault.row_mac`). ``@`` is in no person id, so no person can hold it or erase it;
it is wrapped under the service key like a data key and rotates with them."""
_ROW_MAC_PREFIX = b"trackrecord:row-mac:v1\x00"


@dataclass(frozen=True, slots=True)
class Opened:
    """The result of opening one stored tail.

    ``disclosures`` is ``JCS(disclosures)`` when ``sealing`` is ``open`` and ``b"[]"``
    otherwise; ``owner`` is the person the sealed header names (None if there is no
    readable header); ``problem`` says why a tail is ``corrupt``.
    """

    sealing: Sealing
    disclosures: bytes = b"[]"
    owner: str | None = None
    problem: str = ""


NOT_SEALED = Opened("none")


# -- the service key ----------------------------------------------------------------------


def service_key_path(sqlite_path: str | None) -> Path:
    """Where the service key lives: ``$TRACKRECORD_SERVICE_KEY`` if set; else beside an
    SQLite database (``<db file>.service-key``); else ``~/.trackrecord/service.key``."""
    given = os.environ.get(SERVICE_KEY_ENV)
    if given:
        return Path(given).expanduser()
    if sqlite_path is not None:
        return Path(sqlite_path + ".service-key")
    return Path.home() / ".trackrecord" / "service.key"


def load_service_key(path: Path, *, create: bool = True) -> bytes:
    """Read the service key at ``path``, creating it (32 random bytes, mode 0600) if missing
    and ``create`` is true.

    Creation is a write to a private temporary file then a hard link to ``path``, which
    fails if the file exists: two processes racing both end up with the winner's key.
    Raises :class:`StoreError` if the file cannot be read or created or is not 32 bytes,
    or is missing and ``create`` is false.
    """
    if not create and not path.exists():
        raise StoreError(
            f"no service key at {path}: this ledger's key is kept apart from its database; "
            f"point {SERVICE_KEY_ENV} at it"
        )
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".service-key-")  # mode 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(KEY_SIZE))
                    f.flush()
                    os.fsync(f.fileno())
                with contextlib.suppress(FileExistsError):  # another process was first
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        key = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read or create the service key at {path}: {exc}") from exc
    if len(key) != KEY_SIZE:
        raise StoreError(
            f"the service key at {path} must hold exactly {KEY_SIZE} bytes, not {len(key)}"
        )
    return key


def pending_key_path(path: Path) -> Path:
    """Where a rotation writes the new service key until the ledger has switched to it."""
    return path.with_name(path.name + ".new")


def write_pending_service_key(path: Path) -> bytes:
    """Write a new random service key to :func:`pending_key_path` of ``path`` (mode 0600,
    synced) and return it; refuse if one is there (an earlier rotation was interrupted)."""
    pending = pending_key_path(path)
    key = secrets.token_bytes(KEY_SIZE)
    try:
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise StoreError(
            f"{pending} exists: an earlier rotation was interrupted; open the ledger to see "
            f"which key it expects, keep that one and remove the other"
        ) from exc
    except OSError as exc:
        raise StoreError(f"cannot write the new service key at {pending}: {exc}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


def service_key_id(key: bytes) -> str:
    """The key check value stored in the ledger: 16 hex digits of a domain-separated SHA-256."""
    return hashlib.sha256(SERVICE_KEY_ID_PREFIX + key).hexdigest()[:16]


# -- sealing and opening ------------------------------------------------------------------


def seal(
    data_key: bytes,
    person: str,
    entry_hash: bytes,
    disclosures_json: bytes,
    *,
    nonce: bytes | None = None,
) -> bytes:
    """Return the sealed tail (format in the module docstring) of ``disclosures_json``
    (``JCS(disclosures)``) for the entry whose raw SHA-256 is ``entry_hash``."""
    if not person.isascii():
        raise ValueError(f"a person id is ASCII, not {person!r}")
    owner = person.encode("ascii")
    if not 1 <= len(owner) <= 255:
        raise ValueError(f"a person id is 1 to 255 ASCII bytes, not {person!r}")
    if len(entry_hash) != _HASH_SIZE:
        raise ValueError("entry_hash is the raw 32-byte SHA-256 of the entry")
    box = nacl.secret.SecretBox(data_key).encrypt(
        entry_hash + disclosures_json,
        nonce if nonce is not None else secrets.token_bytes(NONCE_SIZE),
    )
    return MAGIC + bytes([len(owner)]) + owner + box


def sealed_owner(tail: bytes) -> str | None:
    """The person a sealed tail names, or None if the tail has no well-formed header."""
    if len(tail) < 6 or tail[:4] != MAGIC:
        return None
    n = tail[4]
    owner = tail[5 : 5 + n]
    if n == 0 or len(owner) != n or not owner.isascii():
        return None
    return owner.decode("ascii")


def open_sealed(tail: bytes, *, data_key: bytes | None, entry_hash: bytes) -> Opened:
    """Open a stored tail with the data key of the person it names (None: no key row).

    ``entry_hash`` is the raw SHA-256 of the entry the tail is stored with. Never raises.
    """
    if not tail:
        return NOT_SEALED
    owner = sealed_owner(tail)
    if owner is None:
        return Opened("corrupt", problem="the stored disclosures have no sealed header")
    if data_key is None:
        return Opened("erased", owner=owner)
    if data_key == _UNWRAP_FAILED:
        return Opened("corrupt", owner=owner, problem=f"the data key of {owner} does not open")
    body = tail[5 + len(owner) :]
    if len(body) < NONCE_SIZE + _MIN_BOX:
        return Opened("corrupt", owner=owner, problem="the sealed disclosures are truncated")
    try:
        plain = nacl.secret.SecretBox(data_key).decrypt(body)
    except nacl.exceptions.CryptoError:
        return Opened(
            "corrupt",
            owner=owner,
            problem=f"the sealed disclosures do not open under the data key of {owner}",
        )
    if plain[:_HASH_SIZE] != entry_hash:
        return Opened(
            "corrupt", owner=owner, problem="the sealed disclosures belong to another entry"
        )
    disclosures = plain[_HASH_SIZE:]
    # Only the holder of the data key can produce a plaintext that opens, so a cheap
    # look at its form suffices here; every reader parses the disclosures in full
    # (``decode_record`` refuses a malformed list with ``malformed_entry``).
    if disclosures[:1] != b"[" or disclosures[-1:] != b"]":
        return Opened("corrupt", owner=owner, problem="the sealed plaintext is not a JSON array")
    return Opened("open", disclosures, owner)


# -- data keys ------------------------------------------------------------------------------


class DataKeyTable(Protocol):
    """The ``data_keys`` table of a store backend."""

    def insert_data_keys(
        self, keys: Sequence[tuple[str, bytes]], created_at: str, key_id: str
    ) -> None:
        """Insert the ``(person, wrapped)`` rows, each unless a row for its person exists, and
        none if the ledger's service key is no longer the one with id ``key_id`` (committed
        at once, in one transaction)."""

    def select_data_keys(self, persons: Sequence[str]) -> dict[str, bytes]:
        """The wrapped keys of those of ``persons`` that have one."""

    def delete_data_key(self, person: str) -> bool:
        """Delete the row beyond recovery from the database files; True if it existed."""

    def rewrap_data_keys(
        self, rewrap: Callable[[bytes], bytes], old_key_id: str, new_key_id: str
    ) -> int:
        """Replace every wrapped key ``w`` by ``rewrap(w)`` and the ledger's service key id
        ``old_key_id`` by ``new_key_id``, atomically; return how many keys there were."""

    def get_meta(self, key: str) -> str | None:
        """The ledger metadata value of ``key`` (the service key id is one)."""


_NO_SEPARATOR = Opened(
    "corrupt", problem="the stored record has no line feed between the entry and its disclosures"
)


class Vault:
    """Data keys of one ledger, wrapped under its service key, with an in-process cache.

    The cache holds unwrapped keys of people whose row existed when looked up; a
    process that learns of an erasure (``PersonErased``) calls :meth:`forget`.
    """

    def __init__(self, service_key: bytes, table: DataKeyTable) -> None:
        if len(service_key) != KEY_SIZE:
            raise StoreError(f"a service key is {KEY_SIZE} bytes, not {len(service_key)}")
        self._box = nacl.secret.SecretBox(service_key)
        self.key_id = service_key_id(service_key)
        self._table = table
        # unwrapped data keys by person: at most DATA_KEY_CACHE of them (then emptied and
        # filled again on demand), so a process's memory does not grow with the people
        self._keys: dict[str, bytes] = {}

    def data_key(self, person: str) -> bytes:
        """The data key of ``person``, created (and committed) on first use.

        Two processes may race to create it: the insert does nothing on conflict and the
        key is read back, so both use the one that was stored.
        """
        key = self._keys.get(person)
        if key is not None:
            return key
        wrapped = self._table.select_data_keys([person]).get(person)
        if wrapped is None:
            self._insert_new([person])
            wrapped = self._table.select_data_keys([person]).get(person)
            if wrapped is None:
                raise StoreError(
                    "the ledger's service key was rotated after this process opened it: "
                    "restart it, so that it reads the new key"
                )
        key = self._unwrap(wrapped)
        if key == _UNWRAP_FAILED:
            self._check_not_rotated()
            raise StoreError(f"the stored data key of {person} does not open under the service key")
        self._remember(person, key)
        return key

    def _insert_new(self, persons: Sequence[str]) -> None:
        now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        keys = [(p, bytes(self._box.encrypt(secrets.token_bytes(KEY_SIZE)))) for p in persons]
        self._table.insert_data_keys(keys, now, self.key_id)

    def create_data_keys(self, persons: Iterable[str]) -> None:
        """Create (and commit, in one transaction) the data keys of those of ``persons``
        who have none yet: a batch registering many people commits once, not once per
        person (:meth:`data_key` then finds them)."""
        wanted = sorted({p for p in persons if p not in self._keys})
        if not wanted:
            return
        have = self._table.select_data_keys(wanted)
        missing = [p for p in wanted if p not in have]
        if missing:
            self._insert_new(missing)

    def keys_for(
        self, persons: Iterable[str], *, use_cache: bool = True
    ) -> dict[str, bytes | None]:
        """The data keys of ``persons`` (None: no row, the content is erased), for one read.

        Looks up the uncached ones (all of them unless ``use_cache``) in one query; a
        row that does not unwrap maps to a value that makes :func:`open_sealed` report
        ``corrupt``.
        """
        found: dict[str, bytes | None] = {}
        missing = []
        for person in persons:
            key = self._keys.get(person) if use_cache else None
            if key is None:
                missing.append(person)
            found[person] = key
        if missing:
            rows = self._table.select_data_keys(missing)
            for person in missing:
                wrapped = rows.get(person)
                key = None if wrapped is None else self._unwrap(wrapped)
                if key == _UNWRAP_FAILED:
                    self._check_not_rotated()
                elif key:
                    self._remember(person, key)
                found[person] = key
        return found

    def _remember(self, person: str, key: bytes) -> None:
        if len(self._keys) >= DATA_KEY_CACHE:
            self._keys.clear()
        self._keys[person] = key

    def _check_not_rotated(self) -> None:
        """Raise :class:`StoreError` if the ledger's service key is no longer this vault's
        (rotated by another process): then a key that does not unwrap is not corrupt."""
        current = self._table.get_meta(SERVICE_KEY_META)
        if current is not None and current != self.key_id:
            raise StoreError(
                f"the ledger's service key was rotated (now {current}) after this process "
                f"opened it with {self.key_id}: restart it, so that it reads the new key"
            )

    def open_tails(
        self, records: Sequence[bytes], *, use_cache: bool = True
    ) -> list[tuple[bytes, Opened]]:
        """Split stored records into ``(JCS(entry), opened tail)`` pairs, one key lookup in
        all (see :meth:`keys_for` for ``use_cache``)."""
        split = [bytes(r).partition(b"\n") for r in records]
        owners = {o for _, _, tail in split if tail and (o := sealed_owner(tail)) is not None}
        keys = self.keys_for(owners, use_cache=use_cache) if owners else {}
        out = []
        for head, sep, tail in split:
            if not sep:
                out.append((head, _NO_SEPARATOR))
                continue
            if not tail:
                out.append((head, NOT_SEALED))
                continue
            owner = sealed_owner(tail)
            key = keys.get(owner) if owner is not None else None
            digest = hashlib.sha256(head).digest()
            out.append((head, open_sealed(tail, data_key=key, entry_hash=digest)))
        return out

    def seal_record(self, record: bytes, owner: str | None) -> bytes:
        """``record`` (``encode_record`` output) with its tail replaced by the sealed form.

        ``owner`` is the person whose data key seals the disclosures, None for an entry
        that commits to no personal field: then the tail is empty. An entry with
        commitments always gets a sealed tail, even when every field was withheld (a
        sealed ``[]``), so a tail cut off later reads as missing content, not as
        withheld (audit.md, ``content_missing``).
        """
        head, _, tail = record.partition(b"\n")
        if owner is None:
            if tail not in (b"", b"[]"):
                raise ValueError("disclosures need the owner whose data key seals them")
            return head + b"\n"
        tail = tail or b"[]"
        sealed = seal(self.data_key(owner), owner, hashlib.sha256(head).digest(), tail)
        return head + b"\n" + sealed

    def row_mac(self, kind: str, fields: Sequence[str], *, create: bool = True) -> str | None:
        """HMAC-SHA256 (hex) of a stored row of ``kind`` with the values ``fields``, under
        the row key (:data:`ROW_KEY_HOLDER`), which is created (and committed) on first
        use if ``create``; None if there is no row key (or it does not unwrap) and not
        ``create``. Binds rows the log cannot vouch for to the service key: without it
        a row cannot be changed, or made up, so that its MAC still matches."""
        if create:
            key: bytes | None = self.data_key(ROW_KEY_HOLDER)
        else:
            key = self.keys_for([ROW_KEY_HOLDER]).get(ROW_KEY_HOLDER)
        if not key:
            return None
        message = _ROW_MAC_PREFIX + json.dumps([kind, *fields], ensure_ascii=False).encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def rotate(self, new_key: bytes) -> int:
        """Wrap every data key under ``new_key`` instead and make it this vault's service key;
        return how many data keys were rewrapped. The data keys themselves, and so every
        sealed tail, stay as they are."""
        new_box = nacl.secret.SecretBox(new_key)

        def rewrap(wrapped: bytes) -> bytes:
            key = self._unwrap(wrapped)
            if key == _UNWRAP_FAILED:
                raise StoreError("a stored data key does not open under the service key")
            return bytes(new_box.encrypt(key))

        count = self._table.rewrap_data_keys(rewrap, self.key_id, service_key_id(new_key))
        self._box, self.key_id = new_box, service_key_id(new_key)
        return count

    def destroy(self, person: str) -> bool:
        """Delete the data key of ``person`` beyond recovery; True if there was one."""
        self._keys.pop(person, None)
        existed = self._table.delete_data_key(person)
        self._keys.pop(person, None)
        return existed

    def has_key(self, person: str) -> bool:
        """True if ``person`` has a data key row (looks at the table, not the cache)."""
        return person in self.holders([person])

    def holders(self, persons: Sequence[str]) -> set[str]:
        """Those of ``persons`` who have a data key row (the table, not the cache): one
        query (SQLite: one per 500 people)."""
        return set(self._table.select_data_keys(persons)) if persons else set()

    def forget(self, person: str) -> None:
        """Drop ``person``'s unwrapped key from the in-process cache."""
        self._keys.pop(person, None)

    def _unwrap(self, wrapped: bytes) -> bytes:
        try:
            return bytes(self._box.decrypt(bytes(wrapped)))
        except nacl.exceptions.CryptoError:
            return _UNWRAP_FAILED
