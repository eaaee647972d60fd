"""Records brought from other ledgers show where people look at a person's record.

alice's record on the origin ledger (:mod:`tests.support.bundles`: a dossier
contribution endorsed by a manager, a peer and a client, and a completed assignment)
is imported into a receiving ledger where she, bob, carol and dave are registered.
There she makes her dossier public and leaves the analytical part ``on_request``;
what a viewer then reads of the imported record follows *her settings and grants on
the receiving ledger* (:mod:`ledger.imported_view`), through the portfolio API, the
pages and ``trackrecord show``; after her erasure nothing personal of hers shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.models import PortfolioOut
from keys import Identity
from ledger.app import Ledger
from ledger.bundle import dump_bundle, verify_bundle
from ledger.catalogue import Part
from ledger.export import export_bundle
from ledger.imported_view import ImportedRecordView, imported_view, imported_views
from ledger.imports import ImportedRecord
from ledger.store import open_store
from tests.factories import MemoryLedger, World, identity_for, standard_world
from tests.support.api_server import Live, live_server, login
from tests.support.bundles import ORIGIN, build_scenario
from tests.support.cli import Cli
from tests.support.links import link_record, link_signed, receiving_ledger
from tests.support.sql import execute_sql

IMPORTED_AT = "2026-11-23T14:00:00.000000Z"
COMMENTS = {"comment by manager", "comment by peer", "comment by client"}


@dataclass(frozen=True)
class Origin:
    """alice's bundles from the origin ledger: at its first checkpoint and at a later one."""

    key: str
    first: str
    later: str
    last_key: Identity  # alice's key at the end of her identity stream in both bundles


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    path = tmp_path_factory.mktemp("origin") / "origin.db"
    sc = build_scenario(f"sqlite://{path.resolve().as_posix()}")
    first = dump_bundle(export_bundle(sc.log, "alice", size=sc.checkpoint.size))
    sc.log.issue_checkpoint(sc.ids["operator"])  # now with alice's "Late" claim
    later = dump_bundle(export_bundle(sc.log, "alice"))
    key = str(sc.key)
    sc.log.service.store.close()
    return Origin(key, first, later, sc.ids["alice2"])


def stored(text: str, key: str) -> tuple[ImportedRecord, str]:
    """An import of ``text`` as the registry would store it."""
    report = verify_bundle(text, trusted=None)
    assert report.verifier_key == key
    r = report
    return ImportedRecord(
        r.origin, r.person, r.checkpoint_size, r.verifier_key, r.entry_count, IMPORTED_AT, r
    ), text


def receiving_world(ledger: Any) -> World:
    """The receiving ledger's people; alice's dossier public, her analytical part on request."""
    w = standard_world(ledger, seed="receiving")
    w.do(w.visibility(w["alice"], "dossier", "public"))
    return w


def titles(view: ImportedRecordView | dict[str, Any]) -> list[str | None]:
    doc = view.as_json() if isinstance(view, ImportedRecordView) else view
    return [c["title"] for part in doc["parts"].values() for c in part["contributions"]]


def parts_of(view: ImportedRecordView | None) -> list[Part] | None:
    return None if view is None else list(view.parts)


def personal(doc: Any) -> set[str]:
    """Every comment and contribution title in ``doc`` (imported records as JSON)."""
    out: set[str] = set()
    for record in doc:
        for part in record["parts"].values():
            out |= {c["title"] for c in part["contributions"] if c["title"]}
            out |= {e["comment"] for e in part["endorsements"] if e["comment"]}
    return out


# -- the view itself (pure, on an in-memory receiving ledger) --------------------------------


def test_each_viewer_reads_the_parts_the_receiving_ledger_lets_them_read(origin: Origin) -> None:
    w = receiving_world(MemoryLedger())
    alice, dave = w["alice"], w["dave"]
    record, text = stored(origin.first, origin.key)

    mine = imported_view(record, text, w.state, "alice")
    assert mine is not None
    assert (mine.origin, mine.checkpoint_size, mine.verifier_key) == (
        ORIGIN, record.checkpoint_size, origin.key,
    )  # fmt: skip
    assert list(mine.parts) == [Part.DOSSIER, Part.ANALYTICAL]
    assert titles(mine) == ["Policy brief", "Second"]
    analytical = mine.parts[Part.ANALYTICAL]
    assert [(e.endorser, e.endorser_name, e.role, e.grade) for e in analytical.endorsements] == [
        ("bob", "Bob", "manager", 4), ("carol", "Carol", "peer", 5), ("dave", "Dave", "client", 3),
    ]  # fmt: skip
    assert {e.comment for e in analytical.endorsements} == COMMENTS
    [done] = analytical.assignments_completed
    assert (done.title, done.outcome, done.grade) == ("Data migration", "delivered", 4)

    for stranger in ("carol", None):  # public dossier: read by everyone, no session needed
        theirs = imported_view(record, text, w.state, stranger)
        assert theirs is not None
        assert list(theirs.parts) == [Part.DOSSIER]
        assert titles(theirs) == ["Policy brief", "Second"]

    granted = w.do(w.grant_access(alice, dave, "analytical", until="2026-12-31"))
    shown = imported_view(record, text, w.state, "dave", today="2026-12-31")
    assert shown is not None
    assert list(shown.parts) == [Part.DOSSIER, Part.ANALYTICAL]
    assert shown.parts[Part.ANALYTICAL] == analytical
    ran_out = imported_view(record, text, w.state, "dave", today="2027-01-01")
    assert parts_of(ran_out) == [Part.DOSSIER]
    assert parts_of(imported_view(record, text, w.state, "bob")) == [Part.DOSSIER]  # not his

    w.do(w.revoke_access(alice, granted.statement.id))
    assert parts_of(imported_view(record, text, w.state, "dave")) == [Part.DOSSIER]
    w.do(w.visibility(alice, "dossier", "private"))
    assert imported_view(record, text, w.state, "carol") is None  # nothing readable: left out
    assert imported_view(record, text, w.state, None) is None
    w.do(w.visibility(alice, "analytical", "public"))
    theirs = imported_view(record, text, w.state, "carol")
    assert theirs is not None
    assert list(theirs.parts) == [Part.ANALYTICAL]  # its endorsements, not what they endorse
    assert theirs.parts[Part.ANALYTICAL].contributions == ()
    assert {e.comment for e in theirs.parts[Part.ANALYTICAL].endorsements} == COMMENTS


def test_only_the_newest_import_of_an_origin_shows(origin: Origin) -> None:
    w = receiving_world(MemoryLedger())
    first, later = stored(origin.first, origin.key), stored(origin.later, origin.key)
    assert first[0].checkpoint_size < later[0].checkpoint_size
    for order in ([first, later], [later, first]):
        [view] = imported_views(order, w.state, "alice")
        assert view.checkpoint_size == later[0].checkpoint_size
        assert titles(view) == ["Policy brief", "Second", "Late"]
    elsewhere = dataclasses.replace(first[0], origin="trackrecord.example/b")
    views = imported_views([later, (elsewhere, first[1])], w.state, "carol")
    assert [v.origin for v in views] == [ORIGIN, "trackrecord.example/b"]


def test_the_content_of_people_erased_here_is_not_shown(origin: Origin) -> None:
    """Even from a bundle not yet rewritten by the erasure (ImportRegistry.erase)."""
    w = receiving_world(MemoryLedger())
    record, text = stored(origin.first, origin.key)
    w.do(w.erase(w["carol"]))  # an endorser: her name goes, her grade and comment stay
    view = imported_view(record, text, w.state, "alice")
    assert view is not None
    by = {e.endorser: e for e in view.parts[Part.ANALYTICAL].endorsements}
    assert by["carol"].endorser_name is None
    assert (by["carol"].grade, by["carol"].comment) == (5, "comment by peer")
    assert by["bob"].endorser_name == "Bob"

    w.do(w.erase(w["alice"]))
    view = imported_view(record, text, w.state, None)
    assert view is not None
    assert titles(view) == [None, None]
    assert [c.skills for c in view.parts[Part.DOSSIER].contributions] == [
        ("policy-advice",), ("python",),
    ]  # fmt: skip


# -- the API, the pages and the CLI on a receiving ledger, both backends ------------------------


@dataclass
class Receiving:
    """The receiving ledger: its world, a live server on it and the CLI bound to it."""

    w: World
    live: Live
    cli: Cli

    def bearer(self, name: str) -> dict[str, str]:
        identity: Identity = self.w[name].identity
        return {"Authorization": f"Bearer {login(self.live, identity)}"}

    def imported(self, as_: str | None) -> list[dict[str, Any]]:
        """alice's imported records in her portfolio, as ``as_`` reads them through the API."""
        headers = self.bearer(as_) if as_ else {}
        response = self.live.client.get("/people/alice/portfolio", headers=headers)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["imported"]
        return found


@pytest.fixture
def receiving(database_url: str, tmp_path: Path, origin: Origin) -> Iterator[Receiving]:
    store = open_store(database_url)
    try:
        w = receiving_world(Ledger(store).service)
        # alice here linked her record on the origin ledger: the import is bound to her
        w.do(
            link_signed(origin.first, here=w.signer_for(w["alice"].identity), there=origin.last_key)
        )
        with live_server(database_url) as live:
            yield Receiving(w, live, Cli(database_url, tmp_path / "keys"))
    finally:
        store.close()


def test_an_import_shows_in_the_portfolio_pages_and_cli(
    receiving: Receiving, origin: Origin, tmp_path: Path
) -> None:
    r = receiving
    assert r.imported(None) == []  # cached now, at this log size
    bundle = tmp_path / "alice.json"
    bundle.write_text(origin.first)
    r.cli.ok("trust", origin.key)
    # Through the API, only the person the record is of (or an admin) imports it.
    refused = r.live.client.post("/bundles/import", content=origin.first, headers=r.bearer("dave"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_yours"
    r.cli.ok("import", str(bundle))  # no log entry: the cache must still see it
    listed = {
        who: r.live.client.get("/imports", headers=r.bearer(who)).json()["items"]
        for who in ("alice", "dave")
    }
    assert listed["alice"][0]["report"]["person"] == "alice"
    assert listed["dave"][0]["report"] is None  # her titles and grades are not his to list

    mine = r.imported("alice")
    [record] = mine
    assert (record["origin"], record["verifier_key"]) == (ORIGIN, origin.key)
    assert record["linked_by"] == "key"  # she linked it with her last key there
    assert list(record["parts"]) == ["dossier", "analytical"]
    assert personal(mine) == {"Policy brief", "Second"} | COMMENTS
    analytical = record["parts"]["analytical"]
    assert [e["grade"] for e in analytical["endorsements"]] == [4, 5, 3]
    assert analytical["assignments_completed"][0]["title"] == "Data migration"

    for viewer in (None, "carol", "dave"):
        [theirs] = r.imported(viewer)
        assert list(theirs["parts"]) == ["dossier"]
        assert personal([theirs]) == {"Policy brief", "Second"}

    shown = r.cli.json("show", "alice", who="alice")
    assert shown["imported"] == mine  # the same structure as the API's
    text = r.cli.ok("show", "alice", who="alice").stdout
    assert f"verified at checkpoint {record['checkpoint_size']} of {ORIGIN}" in text
    assert "Policy brief" in text

    page = r.live.client.get("/portfolio/alice").text
    assert "Brought from other ledgers" in page
    assert f"Verified at checkpoint {record['checkpoint_size']} of {ORIGIN}" in page
    assert "Policy brief" in page
    assert f"Bound to alice by their last key on {ORIGIN}." in page
    assert "comment by manager" not in page
    own_page = r.live.client.get("/employee", headers=r.bearer("alice")).text
    assert "Brought from other ledgers" in own_page
    assert "comment by manager" in own_page
    assert "Data migration" in own_page
    assert "on “Policy brief”" in own_page  # the endorsed contribution, read in her dossier

    r.w.do(r.w.grant_access(r.w["alice"], r.w["dave"], "analytical"))
    [granted] = r.imported("dave")
    assert granted["parts"] == record["parts"]
    assert list(r.imported("carol")[0]["parts"]) == ["dossier"]
    assert (
        "comment by manager" in r.live.client.get("/portfolio/alice", headers=r.bearer("dave")).text
    )

    r.w.do(r.w.erase(r.w["alice"]))
    for viewer in (None, "dave"):
        [after] = r.imported(viewer)
        assert personal([after]) == set()  # titles and comments gone
        assert [c["title"] for c in after["parts"]["dossier"]["contributions"]] == [None, None]
    [after] = r.imported("dave")
    analytical = after["parts"]["analytical"]
    assert [e["grade"] for e in analytical["endorsements"]] == [4, 5, 3]  # facts remain
    assert [e["endorser_name"] for e in analytical["endorsements"]] == ["Bob", "Carol", "Dave"]
    assert analytical["assignments_completed"][0]["grade"] == 4
    assert personal(r.cli.json("show", "alice", who="alice")["imported"]) == set()
    page = r.live.client.get("/portfolio/alice").text
    assert "Policy brief" not in page
    assert "(title withheld)" in page


@contextlib.contextmanager
def _alice_linked(database_url: str, origin: Origin) -> Iterator[Ledger]:
    """A receiving ledger where alice linked her record on ``origin`` (closed after)."""
    operator = identity_for("operator-b")
    ledger = receiving_ledger(database_url, operator)
    try:
        link_record(
            ledger.service, origin.first, here=identity_for("alice-on-b"), there=origin.last_key,
            registrar=operator,
        )  # fmt: skip
        yield ledger
    finally:
        ledger.store.close()


def test_imports_stamp_counts_the_imports(database_url: str, origin: Origin) -> None:
    with _alice_linked(database_url, origin) as ledger:
        registry = ledger.imports
        assert registry.stamp() == (0, "")
        registry.trust(origin.key)
        first = ledger.import_bundle(origin.first)
        assert registry.stamp() == (1, first.imported_at)
        later = ledger.import_bundle(origin.later)
        assert registry.stamp() == (2, max(first.imported_at, later.imported_at))
        ledger.import_bundle(origin.later)  # already there: nothing changes
        assert registry.stamp()[0] == 2
        assert [r.checkpoint_size for r, _ in registry.with_bundles("alice")] == [
            first.checkpoint_size, later.checkpoint_size,
        ]  # fmt: skip


def test_the_imports_stamp_is_stored_with_each_import_and_read_by_key(
    database_url: str, origin: Origin
) -> None:
    """Every portfolio answer reads the stamp: it is stored with each import (two meta
    rows), not counted from the imported bundles. A ledger without it (written before it
    was stored, or not yet importing) is counted from the table until its first import,
    ``trackrecord migrate`` or a service's start stores it."""
    with _alice_linked(database_url, origin) as ledger:
        store, registry = ledger.store, ledger.imports
        registry.trust(origin.key)
        assert store.get_meta("imports_count") is None  # none imported yet
        first = ledger.import_bundle(origin.first)  # stores the stamp, counted once
        assert (store.get_meta("imports_count"), store.get_meta("imports_latest")) == (
            "1", first.imported_at,
        )  # fmt: skip
        execute_sql(
            store, "DELETE FROM ledger_meta WHERE key IN ('imports_count', 'imports_latest')"
        )
        assert registry.stamp() == (1, first.imported_at)  # counted from the table
        assert store.store_imports_stamp() is True  # what migrate and a service's start do
        assert store.store_imports_stamp() is False
        later = ledger.import_bundle(origin.later)
        assert registry.stamp() == (2, max(first.imported_at, later.imported_at))
        # what is read is the stored stamp, not a count of the bundles
        execute_sql(store, "UPDATE ledger_meta SET value='41' WHERE key='imports_count'")
        assert registry.stamp()[0] == 41


def test_the_portfolio_response_documents_imported_records() -> None:
    schema = PortfolioOut.model_json_schema()
    assert "imported" in schema["required"]
    record = schema["$defs"]["ImportedRecordOut"]
    assert record["examples"]
    assert set(record["required"]) == {
        "origin", "person", "checkpoint_size", "imported_at", "verifier_key", "parts",
    }  # fmt: skip
    assert all(p.get("description") for p in record["properties"].values())
    PortfolioOut.model_validate(PortfolioOut.model_json_schema()["examples"][0])
