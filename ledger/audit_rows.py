"""The audit of what the store keeps beside the log: checkpoints and imported bundles.

The log's audit (:mod:`ledger.audit`) checks each stored checkpoint against the
entries. This module checks what the entries cannot vouch for:

- **the checkpoints between stored ones**: every checkpoint names, in its signed
  ``trackrecord-previous`` line, the size of the checkpoint stored before it (0 for
  the first). A stored checkpoint whose previous one is no longer stored means that
  checkpoint was deleted (``checkpoint_missing``). Checkpoints signed before the
  line existed name nothing and are not chained; the latest checkpoint, or all of
  them, deleted leave nothing to compare with: that is what a monitor that
  remembers a checkpoint, and the service's own record of the last one it signed
  (:mod:`ledger.rollback`), are for.

- **trusted origins**: :meth:`~ledger.imports.ImportRegistry.trust` writes a MAC of
  each row under the row key (in ``ledger_meta``); a row without a valid one was
  added or edited in the database, is not trusted, and is ``trusted_origin_unbound``;
  likewise each declared trust weight (:meth:`~ledger.imports.ImportRegistry.set_weight`):
  one without a valid MAC is ``trust_weight_tampered``, with its origin and stored weight;
- **imported bundles** (:mod:`ledger.imports`): each stored import is verified
  again — its row MAC under the service key's row key, its bundle against the key
  it was imported under, its columns against the bundle; the first that fails is
  ``import_tampered``, with its origin, person and checkpoint size.

Each check returns None or the first :class:`Failure` it finds (the audit's failures are
of this type too: :func:`ledger.audit.audit` runs these checks last).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checkpoint import parse_checkpoint_body
from .errors import LedgerError
from .imports import ImportRegistry, TrustWeightTampered
from .store import Store
from .transparency import PREVIOUS_LINE

__all__ = [
    "Failure",
    "check_checkpoint_chain",
    "check_imports",
    "check_store_rows",
    "check_trust_weights",
    "check_trusted_origins",
]


@dataclass(frozen=True)
class Failure:
    """The first thing found wrong: what, where, and the evidence."""

    code: str
    message: str
    log_index: int | None = None
    stream: str | None = None
    seq: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "log_index": self.log_index,
            "stream": self.stream,
            "seq": self.seq,
            "evidence": self.evidence,
        }


def check_store_rows(store: Store) -> Failure | None:
    """Every check of this module, in turn; the first failure."""
    return (
        check_checkpoint_chain(store)
        or check_trusted_origins(store)
        or check_trust_weights(store)
        or check_imports(store)
    )


def check_trusted_origins(store: Store) -> Failure | None:
    """The first trusted origin whose row has no valid MAC (:meth:`ImportRegistry.trust`
    writes one): added or edited in the database, it is not trusted."""
    for origin, key in ImportRegistry(store).unbound_trusted():
        return Failure(
            code="trusted_origin_unbound",
            message=f"the trusted origin {origin} ({key}) was not recorded by 'trackrecord "
            "trust' (its MAC is missing or wrong): it was added or edited in the database "
            "and is not trusted",
            evidence={"origin": origin, "verifier_key": key},
        )
    return None


def check_trust_weights(store: Store) -> Failure | None:
    """The first declared trust weight whose row has no valid MAC
    (:meth:`ImportRegistry.set_weight` writes one): added or edited in the database."""
    for origin, weight in ImportRegistry(store).unbound_weights():
        error = TrustWeightTampered(origin, weight)
        return Failure(
            code=error.code,
            message=error.message,
            evidence={"table": "trust_weights", "origin": origin, "weight": weight},
        )
    return None


def check_imports(store: Store) -> Failure | None:
    """The first stored import that no longer verifies (:meth:`ImportRegistry.problems`)."""
    for origin, person, size, problem in ImportRegistry(store).problems():
        return Failure(
            code="import_tampered",
            message=f"the imported bundle of {person} at checkpoint {size} of {origin}: {problem}",
            evidence={"origin": origin, "person": person, "checkpoint_size": size},
        )
    return None


def check_checkpoint_chain(store: Store) -> Failure | None:
    """A stored checkpoint whose signed ``trackrecord-previous`` is not stored: deleted."""
    sizes = store.checkpoint_sizes()
    stored = set(sizes)
    for size in sizes:
        found = store.get_checkpoint(size)
        if found is None:
            continue
        previous = _previous_of(found[1])
        if previous is None or previous == 0 or previous in stored:
            continue
        return Failure(
            code="checkpoint_missing",
            message=f"checkpoint {size} follows checkpoint {previous}, which is no longer "
            f"stored: it was deleted",
            log_index=previous - 1,
            evidence={"checkpoint_size": size, "previous": previous},
        )
    return None


def _previous_of(note: str) -> int | None:
    """The size a note's ``trackrecord-previous`` line names (None: no such line, or a
    note that does not parse; the log's audit reports a bad note itself)."""
    text, sep, _ = note.rpartition("\n\n")
    try:
        checkpoint = parse_checkpoint_body(text + "\n" if sep else note)
    except LedgerError:
        return None
    lines = [x for x in checkpoint.extensions if x.startswith(PREVIOUS_LINE)]
    value = lines[0][len(PREVIOUS_LINE) :] if len(lines) == 1 else ""
    return int(value) if value.isascii() and value.isdigit() else None
