"""The bundle scenario ledger, and a reference exporter built in memory.

The scenario ledger (:func:`build_scenario`) has an operator, an admin, an employee
(alice) who claims work, asks a manager, a peer and a client from another organisation
to review it and is endorsed by them, completes an assignment, is transferred and
rotates her key.
:func:`reference_bundle` builds a bundle from a list of entries independently of
:mod:`ledger.bundle`; :func:`forged` appends a statement without checking any rule.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys import Identity, key_id_for
from ledger import commands
from ledger.bundle import (
    FORMAT,
    AbsenceProof,
    dump_bundle,
)
from ledger.canonical import b64encode
from ledger.checkpoint import (
    Checkpoint,
    NoteVerifier,
    sign_checkpoint,
    verifier_key,
)
from ledger.disclosures import Disclosure
from ledger.entry import Entry, next_entry
from ledger.export import export_bundle
from ledger.heads import HeadsIndex
from ledger.imports import ImportRegistry
from ledger.merkle import MemoryNodes, inclusion_proof, leaf_hash, root
from ledger.service import LedgerService
from ledger.state import Head
from ledger.statement import SignedStatement, Signer
from ledger.store import open_store
from ledger.transparency import HEADS_LINE, SignedCheckpoint, TransparencyLog
from projections import open_projector
from tests.factories import identity_for

__all__ = [
    "ALICE_LAST_KEY",
    "ORIGIN",
    "LogEntries",
    "Scenario",
    "build_scenario",
    "forged",
    "import_and_project",
    "log_entries",
    "origin_bundle",
    "reference_bundle",
]

ORIGIN = "trackrecord.example/a"
#: alice's key at the end of her identity stream on the scenario ledger (she rotated to it):
#: the key that countersigns her link on a receiving ledger (tests.support.links)
ALICE_LAST_KEY = identity_for("alice", 1)
LogEntries = list[tuple[Entry, tuple[Disclosure, ...]]]


# -- the scenario ---------------------------------------------------------------------------
@dataclass
class Scenario:
    """The scenario ledger's log, its people's identities, and what the tests refer to."""

    log: TransparencyLog
    ids: dict[str, Identity]
    assignment: str
    contribution: str
    checkpoint: SignedCheckpoint

    @property
    def key(self) -> NoteVerifier:
        return self.log.verifier()


def build_scenario(url: str, *, origin: str = ORIGIN) -> Scenario:
    """The scenario ledger with a checkpoint, and one entry appended after it."""
    service = LedgerService(open_store(url))
    names = ["operator", "admin", "alice", "bob", "carol", "dave"]
    ids = {n: identity_for(n) for n in names} | {"alice2": ALICE_LAST_KEY}
    signers = {n: Signer(i, origin) for n, i in ids.items()}
    op, admin, alice = signers["operator"], signers["admin"], signers["alice"]
    alice2, bob, carol, dave = signers["alice2"], signers["bob"], signers["carol"], signers["dave"]

    def register(signer: Signer, who: str, dept: str, **kw: Any) -> None:
        service.append(
            commands.register_identity(
                signer,
                person=who,
                public_key=ids[who].public_key.raw,
                organisation=dept.split("/")[0],
                department=dept,
                display_name=who.title(),
                **kw,
            )
        )

    register(op, "operator", "ops/ledger")
    register(op, "admin", "minbzk/hr")
    service.append(commands.grant_role(op, person="admin", role="admin", scope="minbzk"))
    register(admin, "alice", "minbzk/dgo", next_key=ids["alice2"].public_key.raw)
    register(admin, "bob", "minbzk/dgo")
    service.append(commands.grant_role(admin, person="bob", role="manager", scope="minbzk/dgo"))
    register(admin, "carol", "minbzk/cio")
    register(op, "dave", "minfin/budget")
    claim = commands.claim_contribution(
        alice, person="alice", title="Policy brief", skills=["policy-advice"], start="2026-01-01"
    )
    contribution = service.append(claim).entry.statement.id
    reviewers = [("bob", "manager"), ("carol", "peer"), ("dave", "client")]
    asked = service.append(
        commands.request_review(
            alice, person="alice", contribution=contribution, reviewers=reviewers,
            message="Please review my brief",
        )
    ).entry.statement.id  # fmt: skip

    def endorse(signer: Signer, grade: int, role: str) -> None:
        service.append(
            commands.endorse(
                signer, person="alice", contribution=contribution, grade=grade, role=role,
                comment=f"comment by {role}", request=asked,
            )
        )  # fmt: skip

    endorse(bob, 4, "manager")
    a = str(uuid.uuid4())
    service.append(
        commands.post_assignment(
            bob, assignment=a, organisation="minbzk", department="minbzk/dgo",
            title="Data migration", description="Move the data", skills=["python"],
            hours_per_week=8,
        )
    )  # fmt: skip
    service.append(
        commands.apply_to_assignment(alice, assignment=a, hours_per_week=8, motivation="Mine")
    )
    service.append(
        commands.apply_to_assignment(carol, assignment=a, hours_per_week=4, motivation="Hers")
    )
    service.append(commands.assign(bob, assignment=a, assignee="alice"))
    service.append(
        commands.complete_assignment(bob, assignment=a, assignee="alice", grade=4, note="Ok")
    )
    service.append(
        commands.transfer_employee(
            admin, person="alice", organisation="minbzk", department="minbzk/cio"
        )
    )
    # carol, a peer now that alice works in her department too; dave, a client she asked
    endorse(carol, 5, "peer")
    endorse(dave, 3, "client")
    service.append(
        commands.rotate_key(alice, person="alice", new_public_key=ids["alice2"].public_key.raw)
    )
    service.append(
        commands.claim_contribution(
            alice2, person="alice", title="Second", skills=["python"], start="2026-02-01"
        )
    )
    service.append(
        commands.claim_contribution(
            carol, person="carol", title="Hers", skills=["go"], start="2026-02-01"
        )
    )
    log = TransparencyLog(service)
    log.set_origin(origin)
    checkpoint = log.issue_checkpoint(op.identity)
    service.append(
        commands.claim_contribution(
            alice2, person="alice", title="Late", skills=["go"], start="2026-03-01"
        )
    )
    return Scenario(log, ids, a, contribution, checkpoint)


def origin_bundle(directory: Path) -> tuple[str, str]:
    """alice's bundle from a scenario ledger built in ``directory`` (:func:`build_scenario`),
    and that ledger's verifier key. Her last key there is :data:`ALICE_LAST_KEY`."""
    sc = build_scenario(f"sqlite://{(directory / 'origin.db').resolve().as_posix()}")
    try:
        return dump_bundle(export_bundle(sc.log, "alice")), str(sc.key)
    finally:
        sc.log.service.store.close()


def log_entries(scenario: Scenario) -> LogEntries:
    """Every entry of the scenario's log with its disclosures, in log order."""
    return [(s.entry, s.disclosures) for _, s in scenario.log.service.read_log(limit=10_000)]


# -- a reference exporter: the bundle built in memory from a list of entries -----------------
def reference_bundle(
    entries: LogEntries, *, person: str, streams: set[str], signer: Identity, origin: str = ORIGIN
) -> dict[str, Any]:
    """A bundle of ``streams`` over the log ``entries``, checkpoint signed by ``signer``."""
    nodes = MemoryNodes()
    nodes.append([leaf_hash(e.canonical) for e, _ in entries])
    n = len(entries)
    index = HeadsIndex(
        {**{e.stream: Head(e.seq, e.hash) for e, _ in entries}, **_involvement(entries)}
    )
    checkpoint = Checkpoint(
        origin, n, root(n, nodes.get_node), (HEADS_LINE + b64encode(index.root()),)
    )
    record, involved = f"record/{person}", f"involved/{person}"
    proven = sorted(streams | ({involved} & set(index.heads)))
    return {
        "format": FORMAT,
        "person": person,
        "origin": origin,
        "verifier_key": verifier_key(origin, signer.public_key.raw),
        "checkpoint": sign_checkpoint(checkpoint, name=origin, signer=signer),
        "entries": [
            {
                "log_index": i,
                "entry": json.loads(e.canonical),
                "disclosures": [d.as_json() for d in ds],
                "inclusion_proof": [b64encode(h) for h in inclusion_proof(i, n, nodes.get_node)],
            }
            for i, (e, ds) in enumerate(entries)
            if e.stream in streams
        ],
        "heads": {s: index.prove(s).as_json() for s in proven},
        "absent": {
            name: AbsenceProof.build(index, name).as_json()
            for name in (record, involved)
            if name not in index.heads
        },
    }


def _involvement(entries: LogEntries) -> dict[str, Head]:
    """The ``involved/<person>`` leaves, computed here independently of ledger.heads."""
    owners: dict[str, str] = {}
    involved: dict[str, set[str]] = {}
    for e, _ in entries:
        s = e.statement
        if s.type in ("IdentityRegistered", "KeyRotated"):
            owners[key_id_for(base64.b64decode(s.body["public_key"]))] = s.subject
        elif s.type == "AssignmentPosted":
            involved.setdefault(owners[s.author], set()).add(e.stream)
        elif s.type == "AssignmentAssigned":
            involved.setdefault(s.body["assignee"], set()).add(e.stream)
    return {
        f"involved/{p}": Head(
            len(v),
            hashlib.sha256(
                b"trackrecord:involved:v1\x00"
                + json.dumps(sorted(v), separators=(",", ":")).encode()
            ).hexdigest(),
        )
        for p, v in involved.items()
    }


def forged(entries: LogEntries, signed: SignedStatement) -> LogEntries:
    """``entries`` plus ``signed`` appended at its stream's head, without checking any rule."""
    heads = {e.stream: e for e, _ in entries}
    s = signed.statement
    entry = next_entry(heads.get(s.stream), s, signed.signature, "2026-06-01T00:00:00.000000Z")
    return [*entries, (entry, signed.disclosures)]


def import_and_project(service: LedgerService, bundle: str | bytes, key: str) -> ImportRegistry:
    """Trust ``key`` in ``service``'s ledger, import ``bundle`` (its holder linked first),
    then build and refresh the read models: the receiving ledger a scan or an edit starts
    from. Returns the ledger's import registry."""
    registry = ImportRegistry(service.store)
    registry.trust(key)
    with service.reading() as state:
        registry.import_bundle(bundle, state=state)
    projector = open_projector(service.store)
    projector.catch_up()
    projector.refresh()
    projector.engine.dispose()
    return registry
