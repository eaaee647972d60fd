"""The demo's public API: plan a demo ledger, sign it in batches, append it to a ledger."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from keys import Identity
from ledger.catalogue import CATALOGUE
from ledger.service import MAX_BATCH, LedgerService
from ledger.statement import SignedStatement

from .roster import Roster
from .simulation import Simulation
from .sink import Sink

__all__ = [
    "DEFAULT_BATCH",
    "DEMO_ORIGIN",
    "MIN_PEOPLE",
    "DemoPlan",
    "DemoRun",
    "DemoSummary",
    "Progress",
    "generate",
    "populate",
]

DEFAULT_BATCH = 200
DEMO_ORIGIN = "demo.trackrecord/ledger"  # the demo ledger's name, in every statement
MIN_PEOPLE = 5

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run appended.

    ``identities`` maps every person id to their current private key (the demo
    owns everyone's keys; erased people have none and are left out); ``counts``
    holds the statements by type plus ``people``, ``organisations``,
    ``departments`` and ``assignments``;
    ``featured`` names people for a tour by role: ``operator``, ``admin``,
    ``manager``, ``employee``, ``peer`` and ``client``.
    """

    identities: dict[str, Identity]
    counts: dict[str, int]
    featured: dict[str, str]


class DemoPlan:
    """The demo ledger for ``people`` and ``seed``, decided before anything is signed.

    Building a plan runs the simulation once without signing, so ``total`` (the
    number of statements) and ``expected_counts`` (by type) are known up front.
    Raises :class:`ValueError` if ``people`` is below :data:`MIN_PEOPLE`.
    """

    def __init__(self, *, people: int = 60, seed: int = 7, origin: str = DEMO_ORIGIN) -> None:
        if people < MIN_PEOPLE:
            raise ValueError(f"a demo needs at least {MIN_PEOPLE} people, got {people}")
        self.people, self.seed, self.origin = people, seed, origin
        master = random.Random(seed)
        self._roster = Roster(people, random.Random(master.getrandbits(64)))
        self._decision_seed = master.getrandbits(64)
        self._material_seed = master.getrandbits(64)
        dry = Sink(self._roster, None, (), origin=origin)
        for _ in self._simulation(dry).run():
            pass
        self._rounds = tuple(dry.round_counts)
        self.total = sum(self._rounds)
        self.expected_counts = {name: dry.counts[name] for name in CATALOGUE}

    def _simulation(self, sink: Sink) -> Simulation:
        return Simulation(self._roster, sink, random.Random(self._decision_seed))

    def simulation(self, sink: Sink) -> Simulation:
        """A fresh run of this plan's year into ``sink`` (the same decisions every time)."""
        return self._simulation(sink)

    @property
    def roster(self) -> Roster:
        """Who is who at the start (people with their planted quality, teams)."""
        return self._roster

    @property
    def featured(self) -> dict[str, str]:
        """Person ids good for a tour, by role."""
        return {role: self._roster.people[i].pid for role, i in self._roster.featured.items()}

    @property
    def organisations(self) -> list[str]:
        """The slugs of the organisations in the demo."""
        return [o.slug for o in self._roster.orgs]

    @property
    def departments(self) -> list[str]:
        """The departments (``org/dept``) in the demo."""
        return self._roster.departments

    def run(self, *, batch_size: int = DEFAULT_BATCH) -> DemoRun:
        """Start signing: a :class:`DemoRun` over batches of at most ``batch_size``."""
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
        sink = Sink(
            self._roster, random.Random(self._material_seed), self._rounds, origin=self.origin
        )
        return DemoRun(self, sink, self._simulation(sink), batch_size)


class DemoRun:
    """One pass over a plan's signed statements, in batches in a valid append order.

    Iterate it once; afterwards :meth:`summary` tells what was generated.
    """

    def __init__(self, plan: DemoPlan, sink: Sink, simulation: Simulation, size: int) -> None:
        self._plan, self._sink, self._simulation, self._size = plan, sink, simulation, size
        self._started = self._finished = False

    def __iter__(self) -> Iterator[list[SignedStatement]]:
        if self._started:
            raise RuntimeError("a demo run can be iterated only once")
        self._started = True
        return self._batches()

    def _batches(self) -> Iterator[list[SignedStatement]]:
        buffer, size = self._sink.buffer, self._size
        for _ in self._simulation.run():
            while len(buffer) >= size:
                yield buffer[:size]
                del buffer[:size]
        while buffer:
            yield buffer[:size]
            del buffer[:size]
        self._finished = True

    def summary(self) -> DemoSummary:
        """The summary of the finished run; raises :class:`RuntimeError` before the end."""
        if not self._finished:
            raise RuntimeError("the demo run has not been iterated to its end")
        plan, sink = self._plan, self._sink
        people = plan._roster.people
        counts = {
            "people": len(people),
            "organisations": len(plan.organisations),
            "departments": len(plan.departments),
            "assignments": sink.counts["AssignmentPosted"],
        }
        counts.update((name, sink.counts[name]) for name in CATALOGUE)
        identities = {
            p.pid: key
            for i, (p, key) in enumerate(zip(people, sink.keys, strict=True))
            if i not in sink.erased
        }
        return DemoSummary(identities, counts, plan.featured)


def generate(
    *, people: int = 60, seed: int = 7, batch_size: int = DEFAULT_BATCH, origin: str = DEMO_ORIGIN
) -> Iterator[list[SignedStatement]]:
    """Yield the demo's signed statements, addressed to ledger ``origin``, in batches, in a
    valid append order.

    The same ``people``, ``seed`` and ``origin`` yield byte-identical statements. Raises
    :class:`ValueError` for fewer than :data:`MIN_PEOPLE` people or a bad
    ``batch_size``.
    """
    yield from DemoPlan(people=people, seed=seed, origin=origin).run(batch_size=batch_size)


def populate(
    service: LedgerService,
    *,
    people: int = 60,
    seed: int = 7,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> DemoSummary:
    """Append the demo to the empty ledger of ``service`` and return its summary.

    The statements are addressed to the ledger's origin (:data:`DEMO_ORIGIN` when it
    has none yet: its genesis then names it).

    ``progress(done, total)`` is called after each batch (and once at the
    start) with the exact total. Raises :class:`ValueError` if the ledger is not
    empty or the arguments are out of range, and whatever
    :meth:`LedgerService.append_batch` raises (a rule violation here would be a
    bug in the generator).
    """
    service.catch_up()
    if service.state.size:
        raise ValueError(f"the demo needs an empty ledger; this one holds {service.state.size}")
    plan = DemoPlan(people=people, seed=seed, origin=service.origin or DEMO_ORIGIN)
    run = plan.run(batch_size=batch_size)
    done = 0
    if progress is not None:
        progress(0, plan.total)
    for batch in run:
        service.append_batch(batch)
        done += len(batch)
        if progress is not None:
            progress(done, plan.total)
    return run.summary()
