"""Erasure: everything a ``PersonErased`` entry sets in motion, in one place (docs/privacy.md §3).

An erasure is a signed entry (:func:`ledger.commands.erase_person`, checked by the
rules). Once the service has appended it, or caught up with it:

1. the service calls the *erasure subscribers* it was given at construction
   (:class:`ledger.service.LedgerService`, ``on_erasure``, passed on by the application
   facade :class:`ledger.app.Ledger`): the command-line tool gives the purge of the
   read models (:func:`projections.purge_erased`), so no read model keeps the person's
   content until a projector reaches the entry;
2. then the service destroys the person's data key, so the store opens none of their
   disclosures again: neither of the ledger's own entries nor of the imported bundles,
   sealed under the same key (:mod:`ledger.imports`). A data key still present marks an
   erasure that a process stopped half-way; any later catch-up finishes it (the
   subscribers are idempotent).

What a process may still hold from before is never served: :func:`withhold_erased`
strips the disclosures of an entry whose content owner
(:func:`ledger.privacy.content_owner`) is erased in the state at hand
(:func:`ledger.imports.withhold_content_of` does the same inside a bundle); an
:class:`ErasureWatch` tells a long-running process (the web service) when to drop its
caches. The read models purge their own rows (:mod:`projections.erasure`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import LedgerError
from .privacy import content_owner
from .service import StoredEntry
from .state import LedgerState

__all__ = ["ErasureSubscriber", "ErasureWatch", "is_erased_content", "withhold_erased"]

ErasureSubscriber = Callable[[str], object]
"""Called with the erased person's id before their data key is destroyed; idempotent."""


# -- what a running process holds ----------------------------------------------------------
def is_erased_content(stored: StoredEntry, state: LedgerState) -> bool:
    """True if ``stored``'s personal content belongs to a person erased in ``state``."""
    if not state.erased:
        return False
    try:
        return content_owner(stored.entry.statement, state) in state.erased
    except LedgerError:  # an author unknown to this state: not attributable, so withheld
        return True


def withhold_erased(stored: StoredEntry, state: LedgerState) -> StoredEntry:
    """``stored`` without disclosures if its content owner is erased in ``state``."""
    if stored.disclosures and is_erased_content(stored, state):
        return StoredEntry(stored.entry, ())
    return stored


class ErasureWatch:
    """Notices when more people are erased than last time it looked. Thread-safe.

    A process that keeps decoded entries or rendered answers (the web service's
    caches) drops them when :meth:`grew`; they are read again, without the erased
    people's content, on demand.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = 0

    def grew(self, state: LedgerState) -> bool:
        """True once for each look at which ``state`` holds more erasures than before."""
        count = len(state.erased)
        with self._lock:
            if count <= self._seen:
                return False
            self._seen = count
            return True
