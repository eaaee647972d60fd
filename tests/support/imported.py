"""Ledger B receiving alice's record from ledger A (issue 14): shared by the tests of imported
reputation, matching and people search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.app import Ledger
from ledger.imports import ImportRegistry
from projections import open_projector
from projections.reputation.formula import Score
from projections.reputation.queries import explain
from projections.runner import Projector
from tests.factories import identity_for
from tests.support.bundles import ALICE_LAST_KEY, ORIGIN
from tests.support.links import link_record, receiving_ledger

AT_DAY = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date()
AT = int(dt.datetime.combine(AT_DAY, dt.time(23, 59, 59), tzinfo=dt.UTC).timestamp())
"""The end of tomorrow (UTC): after the scenario's entries; ``--at AT_DAY`` names it."""


@dataclass(frozen=True)
class Origin:
    bundle: str
    key: str


@dataclass
class Receiving:
    ledger: Ledger
    registry: ImportRegistry
    projector: Projector

    def import_(self, origin: Origin, *, weight: float | None = None) -> None:
        """Trust A (at ``weight``, or the default), import alice's bundle, project, refresh."""
        self.registry.trust(origin.key)
        if weight is not None:
            self.registry.set_weight(ORIGIN, weight)
        with self.ledger.service.reading() as state:
            self.registry.import_bundle(origin.bundle, state=state)
        self.projector.catch_up()
        self.projector.refresh(at=AT)

    def explain(self, skill: str) -> Score:
        with self.projector.engine.connect() as conn:
            return explain(conn, "alice", skill, at=AT)


@contextmanager
def receiving_at(url: str, origin: Origin) -> Iterator[Receiving]:
    """Ledger B at ``url`` with alice linked to her record from A, nothing imported yet."""
    operator = identity_for("operator-b")
    ledger = receiving_ledger(url, operator)
    link_record(
        ledger.service, origin.bundle, here=identity_for("alice-b"), there=ALICE_LAST_KEY,
        registrar=operator,
    )  # fmt: skip
    projector = open_projector(ledger.service.store)
    try:
        yield Receiving(ledger, ImportRegistry(ledger.service.store), projector)
    finally:
        projector.engine.dispose()
        ledger.service.store.close()
