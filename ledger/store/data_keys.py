"""The data keys of a store and the service key that wraps them (:mod:`ledger.vault`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import StoreError
from ..vault import Vault, pending_key_path, write_pending_service_key

__all__ = ["DataKeys"]


class DataKeys:
    """Data keys and the service key file (a part of :class:`~ledger.store.Store`)."""

    vault: Vault
    service_key_file: Path | None

    def has_data_key(self, person: str) -> bool:
        """True if ``person`` has a data key (content of theirs can still be opened)."""
        return self.vault.has_key(person)

    def data_key_holders(self, persons: Sequence[str]) -> set[str]:
        """Those of ``persons`` who have a data key, looked up together."""
        return self.vault.holders(persons)

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
