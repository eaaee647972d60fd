"""The trusted origins and the imported bundles in a store (:mod:`ledger.imports`)."""

from __future__ import annotations

from .recorder import ImportRow, LedgerRecorder

__all__ = ["TrustTables"]


class TrustTables:
    """Trusted origins and imported bundles (a part of :class:`~ledger.store.Store`)."""

    _recorder: LedgerRecorder

    def put_trusted_key(self, origin: str, verifier_key: str) -> None:
        """Record ``verifier_key`` as trusted for checkpoints of ``origin`` (idempotent)."""
        self._recorder.insert_trusted_key(origin, verifier_key)

    def remove_trusted_keys(self, origin_or_key: str) -> int:
        """Forget every trusted key of an origin, or one key string; return how many."""
        return int(self._recorder.delete_trusted_keys(origin_or_key))

    def trusted_keys(self) -> list[tuple[str, str]]:
        """All trusted ``(origin, verifier key)`` pairs, sorted."""
        return list(self._recorder.select_trusted_keys())

    def put_trust_weight(self, origin: str, weight: str, mac: str) -> None:
        """Record the declared trust weight of ``origin`` (a decimal string) and its MAC,
        replacing an earlier one."""
        self._recorder.upsert_trust_weight(origin, weight, mac)

    def trust_weights(self) -> list[tuple[str, str, str]]:
        """Every declared ``(origin, weight, MAC)``, by origin."""
        return list(self._recorder.select_trust_weights())

    def put_import(self, row: ImportRow) -> bool:
        """Store an imported bundle row ``(origin, person, size, verifier_key, entry_count,
        imported_at, report, bundle)`` unless one with its (origin, person, size) exists;
        return True if it was stored."""
        return bool(self._recorder.insert_import(row))

    def imports(self, person: str | None = None) -> list[tuple[str, str, int, str, int, str, str]]:
        """Imported bundle rows without the bundle text, of ``person`` or of everyone."""
        return list(self._recorder.select_imports(person))

    def imports_stamp(self) -> tuple[int, str]:
        """How many bundles are imported, and the latest ``imported_at`` ('' if none): stored
        with each import, so reading it costs two look-ups by key (a ledger written before
        it was stored counts its imports until :meth:`store_imports_stamp` or its next
        import stores it)."""
        count, latest = self._recorder.select_imports_stamp()
        return int(count), str(latest)

    def store_imports_stamp(self) -> bool:
        """Store :meth:`imports_stamp` if a ledger written before it was stored lacks it
        (``trackrecord migrate``); return True if it was stored now."""
        return bool(self._recorder.store_imports_stamp())

    def import_bundle_text(self, origin: str, person: str, size: int) -> str | None:
        """The stored text of one imported bundle, or None."""
        found: str | None = self._recorder.select_import_bundle(origin, person, size)
        return found
