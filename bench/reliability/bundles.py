"""Tampering with exported bundles: the offline verifier must refuse every change.

The scenario ledger of ``tests/support/bundles.py`` (an employee endorsed by a manager, a peer
and a client, an assignment, a transfer, a key rotation) gets a second checkpoint; the
bundles of alice (at both checkpoints) and of dave (who has no record stream, so his
bundle carries an absence proof) are exported once. Each case changes one of them in one
way — one character of any string or object key, one number, an entry item dropped,
duplicated, swapped or moved, a whole stream or one heads proof dropped, an entry, proof
or disclosure taken from another item, the checkpoint or the verifier key of another
bundle — and ``verify_bundle(..., trusted=[operator key])`` must raise ``BundleError``.
Changes that leave the parsed document equal, or only withhold disclosures (which is
allowed), are not counted.
"""

from __future__ import annotations

import copy
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ledger.bundle import BundleError, verify_bundle
from ledger.checkpoint import verifier_key
from ledger.errors import LedgerError
from ledger.export import export_bundle
from tests.factories import identity_for
from tests.support.bundles import build_scenario

from .report import Tally, timed

__all__ = ["BUNDLE_KINDS", "run_bundle_tampering"]

Doc = dict[str, Any]
Say = Callable[[str], None]
_CHARACTERS = '0123456789abcdefABCDEF+/=-_:. "\\\n\u00e9\u2014\U0001f600'


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every string, number and object key in a JSON value, with its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*path, ("key", k)), k
            yield from _places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _places(v, (*path, i))
    elif isinstance(value, str | int) and not isinstance(value, bool):
        yield path, value


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def _character(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    places = [(p, v) for p, v in _places(doc) if isinstance(v, str) and v]
    path, old = rng.choice(places)
    i = rng.randrange(len(old))
    new = old[:i] + rng.choice([c for c in _CHARACTERS if c != old[i]]) + old[i + 1 :]
    parent, last = _parent(doc, path), path[-1]
    if isinstance(last, tuple):
        parent[new] = parent.pop(old)
    else:
        parent[last] = new
    return f"character {i} of {path} changed"


def _number(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    places = [
        (p, v) for p, v in _places(doc) if isinstance(v, int) and not isinstance(p[-1], tuple)
    ]
    path, old = rng.choice(places)
    _parent(doc, path)[path[-1]] = old + rng.choice([-2, -1, 1, 2, 2**32, -(2**63)])
    return f"number at {path} changed"


def _drop_entry(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    i = rng.randrange(len(doc["entries"]))
    del doc["entries"][i]
    return f"entry item {i} dropped"


def _duplicate_entry(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    i = rng.randrange(len(doc["entries"]))
    doc["entries"].insert(i, copy.deepcopy(doc["entries"][i]))
    return f"entry item {i} duplicated"


def _swap_entries(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    i, j = rng.sample(range(len(doc["entries"])), 2)
    items = doc["entries"]
    items[i], items[j] = items[j], items[i]
    return f"entry items {i} and {j} swapped"


def _move_entry(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    items = doc["entries"]
    i = rng.randrange(len(items))
    item = items.pop(i)
    j = rng.choice([k for k in range(len(items) + 1) if k != i])
    items.insert(j, item)
    return f"entry item {i} moved to {j}"


def _drop_stream(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    stream = rng.choice(sorted(doc["heads"]))
    doc["entries"] = [i for i in doc["entries"] if i["entry"]["stream"] != stream]
    del doc["heads"][stream]
    return f"stream {stream} dropped with its heads proof"


def _drop_head(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    stream = rng.choice(sorted(doc["heads"]))
    del doc["heads"][stream]
    return f"heads proof of {stream} dropped"


def _borrow(field: str) -> Callable[[random.Random, Doc, dict[str, Doc]], str]:
    def borrow(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
        items = doc["entries"]
        i, j = rng.sample(range(len(items)), 2)
        items[i][field] = copy.deepcopy(items[j][field])
        return f"{field} of item {i} replaced by that of item {j}"

    return borrow


def _foreign_disclosure(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    items = doc["entries"]
    i = rng.randrange(len(items))
    donors = [j for j, item in enumerate(items) if j != i and item["disclosures"]]
    j = rng.choice(donors)
    items[i]["disclosures"] = [*items[i]["disclosures"], rng.choice(items[j]["disclosures"])]
    return f"a disclosure of item {j} added to item {i}"


def _other_bundle(field: str) -> Callable[[random.Random, Doc, dict[str, Doc]], str]:
    def other(rng: random.Random, doc: Doc, bundles: dict[str, Doc]) -> str:
        donors = [b for b in bundles.values() if b[field] != doc[field]]
        if donors:
            doc[field] = copy.deepcopy(rng.choice(donors)[field])
        return f"{field} taken from another bundle"

    return other


def _mallory_key(rng: random.Random, doc: Doc, _: dict[str, Doc]) -> str:
    doc["verifier_key"] = verifier_key(
        doc["origin"], identity_for(f"mallory{rng.random()}").public_key.raw
    )
    return "verifier key replaced by another key of the same name"


BUNDLE_KINDS: dict[str, Callable[[random.Random, Doc, dict[str, Doc]], str]] = {
    "character": _character,
    "number": _number,
    "drop_entry": _drop_entry,
    "duplicate_entry": _duplicate_entry,
    "swap_entries": _swap_entries,
    "move_entry": _move_entry,
    "drop_stream": _drop_stream,
    "drop_head": _drop_head,
    "entry_from_other_item": _borrow("entry"),
    "proof_from_other_item": _borrow("inclusion_proof"),
    "disclosure_from_other_item": _foreign_disclosure,
    "checkpoint_of_other_bundle": _other_bundle("checkpoint"),
    "heads_of_other_bundle": _other_bundle("heads"),
    "other_verifier_key": _mallory_key,
}


def _honest_bundles(directory: str) -> tuple[dict[str, Doc], Any]:
    sc = build_scenario(f"sqlite://{Path(directory, 'bundles.db').resolve().as_posix()}")
    first = {"alice@1": export_bundle(sc.log, "alice"), "dave@1": export_bundle(sc.log, "dave")}
    sc.log.issue_checkpoint(sc.ids["operator"])
    latest = {"alice@2": export_bundle(sc.log, "alice"), "dave@2": export_bundle(sc.log, "dave")}
    key = sc.key
    sc.log.store.close()
    return first | latest, key


def _only_withheld(doc: Doc, honest: Doc) -> bool:
    """True if ``doc`` is ``honest`` with at most some disclosures left out (allowed)."""
    entries = doc.get("entries")
    if set(doc) != set(honest) or not isinstance(entries, list):
        return False
    if len(entries) != len(honest["entries"]):
        return False
    restored = []
    for mine, theirs in zip(entries, honest["entries"], strict=True):
        if not isinstance(mine, dict) or not isinstance(mine.get("disclosures"), list):
            return False
        if any(d not in theirs["disclosures"] for d in mine["disclosures"]):
            return False
        restored.append(dict(mine, disclosures=theirs["disclosures"]))
    return dict(doc, entries=restored) == honest


def run_bundle_tampering(total: int, *, seed: int, say: Say) -> Tally:
    """Run ``total`` counted bundle tamperings; count how many ``verify_bundle`` refuses."""
    tally = Tally("Bundle verify refuses tampering", "offline", "refused / tried")
    rng = random.Random(seed)
    with timed(tally), tempfile.TemporaryDirectory(prefix="bench-bundles-") as tmp:
        bundles, key = _honest_bundles(tmp)
        names = sorted(bundles)
        kinds = sorted(BUNDLE_KINDS)
        attempt = 0
        while tally.tried < total and attempt < 2 * total:
            kind = kinds[attempt % len(kinds)]
            attempt += 1
            honest = bundles[rng.choice(names)]
            doc = copy.deepcopy(honest)
            description = f"{kind}: {BUNDLE_KINDS[kind](rng, doc, bundles)}"
            if doc == honest or _only_withheld(doc, honest):
                tally.note("no-op changes not counted")
                continue
            try:
                verify_bundle(doc, trusted=[key])
            except BundleError:
                tally.ok()
            except LedgerError as exc:  # refused, but not with the documented BundleError
                tally.ok()
                tally.note(f"refused with {type(exc).__name__}")
                if len(tally.examples) < 5:
                    tally.examples.append(f"not a BundleError: {description}: {exc}")
            except Exception as exc:
                tally.fail("crash", f"{description}: {type(exc).__name__}: {str(exc)[:120]}")
            else:
                tally.fail("accepted", description)
            if tally.tried % 500 == 0:
                say(f"bundle tampering: {tally.tried:,} / {total:,}")
    return tally
