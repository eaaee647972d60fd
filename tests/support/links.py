"""Linking a record from another ledger before importing it (issue 14, item 2).

A ledger imports a person's bundle only once that person linked it (``IdentityLinked``,
:mod:`ledger.link`): signed by their key here and countersigned by the key current at
the end of their identity stream in the bundle. The tests that import a bundle do what a
real holder does: :func:`link_record` signs the link with the person's keys on both
ledgers and appends it, registering the person here first when they are not yet.
"""

from __future__ import annotations

from keys import Identity
from ledger import commands
from ledger.app import Ledger
from ledger.bundle import load_bundle
from ledger.link import last_key_in_bundle
from ledger.service import LedgerService
from ledger.statement import SignedStatement, Signer
from ledger.store import open_store

__all__ = ["RECEIVING", "link_record", "link_signed", "receiving_ledger"]

#: the receiving ledger's origin in the tests that import a bundle into a fresh ledger
RECEIVING = "trackrecord.example/b"


def receiving_ledger(url: str, operator: Identity, *, origin: str = RECEIVING) -> Ledger:
    """A fresh ledger at ``url`` (the caller closes its store): ``operator`` registered
    itself (the genesis entry), addressed to ``origin``."""
    ledger = Ledger(open_store(url))
    ledger.service.append(
        commands.register_identity(
            Signer(operator, origin), person="operator-b", public_key=operator.public_key.raw,
            organisation="minbzk", department="minbzk/cio", display_name="Operator B",
        )
    )  # fmt: skip
    return ledger


def link_signed(bundle: str, *, here: Signer, there: Identity) -> SignedStatement:
    """The ``IdentityLinked`` that binds ``bundle``'s person on its ledger to the same
    person on ``here.ledger``: signed by ``here`` (their key here), countersigned by
    ``there`` (their last key in the bundle; anything else is a test's mistake)."""
    doc = load_bundle(bundle)
    person = str(doc["person"])
    last = last_key_in_bundle(doc, person)
    if last != there.public_key.raw:
        raise ValueError(f"{there.key_id} is not {person}'s last key in the bundle")
    return commands.link_identity(
        here, person=person, origin=str(doc["origin"]), public_key=last, countersigner=there
    )


def link_record(
    service: LedgerService,
    bundle: str,
    *,
    here: Identity,
    there: Identity,
    registrar: Identity | None = None,
) -> None:
    """Append to ``service``'s ledger the link of ``bundle``'s person (:func:`link_signed`),
    their key here being ``here``. When the person is not registered here yet,
    ``registrar`` (the operator or an admin) registers them first, in its own department."""
    with service.reading() as state:
        origin = state.origin
        person = str(load_bundle(bundle)["person"])
        registered = person in state.people
        key = None if registrar is None else state.keys.get(registrar.key_id)
        department = None if key is None else state.people[key.person].department
    if origin is None:
        raise ValueError("the receiving ledger has no origin yet (no genesis)")
    if not registered:
        if registrar is None or department is None:
            raise ValueError(f"{person} is not registered on {origin}: give their registrar")
        service.append(
            commands.register_identity(
                Signer(registrar, origin), person=person, public_key=here.public_key.raw,
                organisation=department.split("/")[0], department=department,
                display_name=person.title(),
            )
        )  # fmt: skip
    service.append(link_signed(bundle, here=Signer(here, origin), there=there))
