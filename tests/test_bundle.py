"""Portable records: export, offline verify, import (ledger.bundle, ledger.imports, the CLI).

The scenario ledger (:mod:`tests.support.bundles`) has an operator, an admin, an employee
(alice) who claims work, is endorsed by a manager, a peer and a client from another
organisation, completes an assignment, is transferred and rotates her key. Her bundle
must verify with no database, import into a second ledger only after its origin is
trusted, and refuse every tampering and every omission.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from keys import save_keystore
from ledger import commands
from ledger.bundle import (
    BundleError,
    IncompleteBundle,
    disclose_for_viewer,
    dump_bundle,
    load_bundle,
    verify_bundle,
)
from ledger.checkpoint import (
    NoteVerifier,
    parse_verifier_key,
    verifier_key,
)
from ledger.disclosures import Disclosure
from ledger.export import export_bundle
from ledger.service import LedgerService
from ledger.state import AccessGrant
from ledger.statement import SignedStatement, Signer
from ledger.transparency import TransparencyLog
from tests import pgcluster
from tests.factories import identity_for, in_memory
from tests.support.bundles import (
    ORIGIN,
    Scenario,
    build_scenario,
    forged,
    log_entries,
    reference_bundle,
)
from tests.support.links import link_record, receiving_ledger
from trackrecord.cli import create_app


@pytest.fixture
def second_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second, independent empty database of the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite://{(tmp_path / 'second.db').resolve().as_posix()}"
        return
    with pgcluster.fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        yield url


@dataclass(frozen=True)
class Honest:
    scenario: Scenario
    alice: str  # bundle text
    dave: str  # a person with no record stream: carries an absence proof


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Honest:
    url = f"sqlite://{(tmp_path_factory.mktemp('honest') / 'a.db').resolve().as_posix()}"
    sc = build_scenario(url)
    return Honest(
        sc, dump_bundle(export_bundle(sc.log, "alice")), dump_bundle(export_bundle(sc.log, "dave"))
    )


# -- export, offline verify, import ---------------------------------------------------------------
_OFFLINE_VERIFY = """
import json, sys
from ledger.bundle import verify_bundle
from ledger.checkpoint import parse_verifier_key
report = verify_bundle(open(sys.argv[1], "rb").read(), trusted=[parse_verifier_key(sys.argv[2])])
drivers = [m for m in sys.modules if m.split(".")[0] in ("eventsourcing", "psycopg", "sqlite3")]
print(json.dumps({"report": report.as_json(), "drivers": drivers}))
"""


def test_export_verifies_offline_and_imports_into_a_second_ledger(
    database_url: str, second_url: str, tmp_path: Path
) -> None:
    sc = build_scenario(database_url)
    bundle = export_bundle(sc.log, "alice")
    text = dump_bundle(bundle)
    assert json.loads(text) == bundle
    size = sc.checkpoint.size
    assert bundle["checkpoint"] == sc.checkpoint.note
    assert all(item["log_index"] < size for item in bundle["entries"])
    assert [i["log_index"] for i in bundle["entries"]] == sorted(
        i["log_index"] for i in bundle["entries"]
    )
    assert set(bundle["heads"]) == {
        "identity/operator", "identity/admin", "identity/alice", "identity/bob", "identity/carol",
        "identity/dave", "record/alice", f"assignment/{sc.assignment}", "involved/alice",
    }  # fmt: skip

    # offline: another process, the bundle file and the operator's key, no store module loaded
    path = tmp_path / "alice.bundle.json"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_VERIFY, str(path), str(sc.key)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    offline = json.loads(done.stdout)
    assert offline["drivers"] == []
    report = verify_bundle(json.loads(text), trusted=[sc.key])
    assert offline["report"] == report.as_json()

    assert (report.person, report.display_name, report.department) == (
        "alice",
        "Alice",
        "minbzk/cio",
    )
    assert (report.origin, report.checkpoint_size, report.key_pinned) == (ORIGIN, size, True)
    assert report.warnings == ()
    assert [c.title for c in report.contributions] == ["Policy brief", "Second"]
    assert report.endorsements_by_role() == {"manager": {4: 1}, "peer": {5: 1}, "client": {3: 1}}
    assert report.endorsers() == ("bob", "carol", "dave")
    [done_assignment] = report.assignments_completed
    assert (done_assignment.title, done_assignment.owner, done_assignment.grade) == (
        "Data migration", "bob", 4,
    )  # fmt: skip
    assert report.withheld_fields == 1  # carol's motivation: another person's personal field
    summary = report.summary()
    assert "Policy brief" in summary
    assert "Bob (manager, 4)" in summary

    # the receiving ledger, where alice linked her record: untrusted first, then trusted
    receiving = receiving_ledger(second_url, identity_for("operator-b"))
    last_on_a = sc.ids["alice2"]
    link_record(
        receiving.service, text, here=identity_for("alice-on-b"), there=last_on_a,
        registrar=identity_for("operator-b"),
    )  # fmt: skip
    registry = receiving.imports
    log_size = TransparencyLog(receiving.service).size()
    with pytest.raises(BundleError) as refused:
        receiving.import_bundle(text)
    assert refused.value.code == "untrusted_key"
    registry.trust(verifier_key("trackrecord.example/a", identity_for("mallory").public_key.raw))
    with pytest.raises(BundleError):
        receiving.import_bundle(text)
    assert registry.imported_records() == []
    registry.trust(str(sc.key))
    record = receiving.import_bundle(text)
    assert record.new
    assert (record.origin, record.person, record.checkpoint_size) == (ORIGIN, "alice", size)
    assert record.entry_count == len(bundle["entries"])
    assert record.report == report
    assert registry.imported_records("alice") == [record]
    assert registry.imported_records("bob") == []
    assert registry.bundle_text(ORIGIN, "alice", size) == text  # kept as is: proofs intact
    assert not receiving.import_bundle(text).new
    # imported entries stay anchored to their origin
    assert TransparencyLog(LedgerService(registry.store)).size() == log_size


def test_a_failing_bundle_is_refused_whole_and_nothing_is_stored(
    honest: Honest, sqlite_url: str
) -> None:
    receiving = receiving_ledger(sqlite_url, identity_for("operator-b"))
    link_record(
        receiving.service, honest.alice, here=identity_for("alice-on-b"),
        there=honest.scenario.ids["alice2"], registrar=identity_for("operator-b"),
    )  # fmt: skip
    registry = receiving.imports
    registry.trust(str(honest.scenario.key))
    doc = json.loads(honest.alice)
    doc["entries"][3]["disclosures"][0][2] += "!"
    with pytest.raises(BundleError) as refused:
        receiving.import_bundle(json.dumps(doc))
    assert refused.value.code == "bad_disclosure"
    assert registry.imported_records() == []
    assert registry.untrust(ORIGIN) == 1
    assert registry.trusted() == []


def test_the_export_matches_a_reference_built_in_memory(honest: Honest) -> None:
    sc = honest.scenario
    bundle = json.loads(honest.alice)
    entries = log_entries(sc)[: sc.checkpoint.size]
    ref = reference_bundle(
        entries, person="alice", streams=set(bundle["heads"]), signer=sc.ids["operator"]
    )
    assert ref["heads"] == bundle["heads"]
    strip = [{k: v for k, v in i.items() if k != "disclosures"} for i in bundle["entries"]]
    assert strip == [{k: v for k, v in i.items() if k != "disclosures"} for i in ref["entries"]]
    verify_bundle(ref, trusted=None)


def test_disclosures_of_other_people_are_withheld(honest: Honest) -> None:
    doc = json.loads(honest.alice)
    fields = {
        (i["entry"]["stream"], i["entry"]["statement"]["type"]): sorted(
            d[1] for d in i["disclosures"]
        )
        for i in doc["entries"]
    }
    assert fields[("identity/carol", "IdentityRegistered")] == ["display_name"]
    assert fields[("record/alice", "EndorsementGiven")] == ["comment"]
    applied = [
        (i["entry"]["statement"]["author"], [d[1] for d in i["disclosures"]])
        for i in doc["entries"]
        if i["entry"]["statement"]["type"] == "AssignmentApplied"
    ]
    assert sorted(applied) == sorted(
        [
            (honest.scenario.ids["alice"].key_id, ["motivation"]),
            (honest.scenario.ids["carol"].key_id, []),
        ]
    )
    report = verify_bundle(honest.dave, trusted=[honest.scenario.key])
    assert (report.person, report.contributions, report.entry_count) == ("dave", (), 2)


def test_without_a_pinned_key_the_report_says_so(honest: Honest) -> None:
    report = verify_bundle(honest.alice, trusted=None)
    assert not report.key_pinned
    assert "not pinned" in report.warnings[0]
    with pytest.raises(BundleError) as refused:
        verify_bundle(
            honest.alice, trusted=[NoteVerifier.for_key(ORIGIN, identity_for("x").public_key.raw)]
        )
    assert refused.value.code == "untrusted_key"


# -- tampering --------------------------------------------------------------------------------
def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value: leaves, and object keys (as ``("key", name)``)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, ("key", k))
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))
    else:
        yield prefix


def _mutate(doc: Any, path: tuple[Any, ...], position: int, bit: int) -> Any:
    """A copy of ``doc`` with one character (or number) at ``path`` changed."""
    doc = copy.deepcopy(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if isinstance(last, tuple):  # an object key
        old = last[1]
        i = position % len(old)
        parent[old[:i] + chr(ord(old[i]) ^ (1 << bit)) + old[i + 1 :]] = parent.pop(old)
        return doc
    value = parent[last]
    if value is None or isinstance(value, bool):
        parent[last] = 0
    elif isinstance(value, int):
        parent[last] = value + (1 if bit % 2 else -1)
    else:
        assert isinstance(value, str)
        assert value
        i = position % len(value)
        parent[last] = value[:i] + chr(ord(value[i]) ^ (1 << bit)) + value[i + 1 :]
    return doc


def _refused(text: str | dict[str, Any], key: NoteVerifier) -> BundleError:
    for trusted in (None, [key]):
        with pytest.raises(BundleError) as refused:
            verify_bundle(text, trusted=trusted)
    return refused.value


@given(data=st.data())
def test_every_one_character_change_anywhere_is_refused(
    honest: Honest, data: st.DataObject
) -> None:
    text = data.draw(st.sampled_from([honest.alice, honest.dave]))
    doc = json.loads(text)
    path = data.draw(st.sampled_from(list(_paths(doc))))
    changed = _mutate(doc, path, data.draw(st.integers(0, 10_000)), data.draw(st.integers(0, 6)))
    assert changed != doc
    _refused(changed, honest.scenario.key)


@given(data=st.data())
def test_every_byte_change_of_the_file_is_refused(honest: Honest, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from([honest.alice, honest.dave]))
    raw = bytearray(text.encode())
    raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    try:
        same = json.loads(bytes(raw)) == json.loads(text)
    except ValueError:
        same = False
    assume(not same)  # white space between tokens carries no meaning
    for trusted in (None, [honest.scenario.key]):
        with pytest.raises(BundleError):
            verify_bundle(bytes(raw), trusted=trusted)


def _where(doc: dict[str, Any], kind: str) -> list[tuple[Any, ...]]:
    """The paths of one kind of content in an exported bundle."""
    paths = list(_paths(doc))
    chosen = {
        "checkpoint": [("checkpoint",)],
        "verifier key": [("verifier_key",)],
        "signature": [p for p in paths if p[-1] == "signature"],
        "inclusion proof hash": [p for p in paths if "inclusion_proof" in p],
        "heads proof": [p for p in paths if p[:1] == ("heads",)],
        "absence proof": [p for p in paths if p[:1] == ("absent",)],
        "disclosure": [p for p in paths if "disclosures" in p],
        "statement": [p for p in paths if "statement" in p],
        "log index": [p for p in paths if p[-1] == "log_index"],
    }[kind]
    assert chosen
    return chosen


@pytest.mark.parametrize(
    "kind",
    ["checkpoint", "verifier key", "signature", "inclusion proof hash", "heads proof",
     "absence proof", "disclosure", "statement", "log index"],
)  # fmt: skip
def test_each_kind_of_content_is_covered(honest: Honest, kind: str) -> None:
    """Checkpoint (every character), key, signatures, proof hashes, disclosures, statements...

    Up to 24 places of each kind, spread over the bundle; hypothesis above covers the rest.
    """
    for text in (honest.alice, honest.dave):
        doc = json.loads(text)
        paths = _where(doc, kind) if kind != "absence proof" or doc["absent"] else []
        for path in paths[:: max(1, len(paths) // 24)]:
            value = doc
            for step in path:
                value = value[step] if not isinstance(step, tuple) else step[1]
            whole = isinstance(value, str) and kind == "checkpoint"
            for position in range(len(value)) if whole else [0, 31]:
                _refused(_mutate(doc, path, position, position % 7), honest.scenario.key)


# -- completeness ------------------------------------------------------------------------------
def test_leaving_out_any_entry_is_refused_as_incomplete(honest: Honest) -> None:
    doc = json.loads(honest.alice)
    for i in range(len(doc["entries"])):
        cut = copy.deepcopy(doc)
        del cut["entries"][i]
        with pytest.raises(IncompleteBundle) as refused:
            verify_bundle(cut, trusted=None)
        assert refused.value.code in ("entry_missing", "stream_cut", "stream_missing")


def test_cutting_a_stream_before_its_head_is_refused(honest: Honest) -> None:
    doc = json.loads(honest.alice)
    for stream in doc["heads"]:
        positions = [
            i for i, item in enumerate(doc["entries"]) if item["entry"]["stream"] == stream
        ]
        for keep in range(len(positions)):
            cut = copy.deepcopy(doc)
            cut["entries"] = [e for i, e in enumerate(doc["entries"]) if i not in positions[keep:]]
            with pytest.raises(IncompleteBundle) as refused:
                verify_bundle(cut, trusted=None)
            assert refused.value.code == ("stream_cut" if keep else "stream_missing")


@pytest.mark.parametrize(
    "stream", ["record/alice", "identity/alice", "identity/bob", "identity/operator"]
)
def test_leaving_out_a_whole_stream_is_refused(honest: Honest, stream: str) -> None:
    doc = json.loads(honest.alice)
    doc["entries"] = [e for e in doc["entries"] if e["entry"]["stream"] != stream]
    del doc["heads"][stream]
    with pytest.raises(IncompleteBundle) as refused:
        verify_bundle(doc, trusted=None)
    assert refused.value.code == "stream_missing"


def test_a_stream_that_is_not_part_of_the_record_is_refused(honest: Honest) -> None:
    sc = honest.scenario
    entries = log_entries(sc)[: sc.checkpoint.size]
    streams = set(json.loads(honest.alice)["heads"]) | {"record/carol"}
    doc = reference_bundle(entries, person="alice", streams=streams, signer=sc.ids["operator"])
    with pytest.raises(BundleError) as refused:
        verify_bundle(doc, trusted=None)
    assert (refused.value.code, refused.value.details["stream"]) == (
        "superfluous_stream",
        "record/carol",
    )


# -- the §6 rules, re-checked: a dishonest operator signs a log with a bad entry ---------------
def _dishonest(honest: Honest, signed: SignedStatement) -> dict[str, Any]:
    sc = honest.scenario
    entries = forged(log_entries(sc)[: sc.checkpoint.size], signed)
    streams = set(json.loads(honest.alice)["heads"])
    return reference_bundle(entries, person="alice", streams=streams, signer=sc.ids["operator"])


def test_rules_are_rechecked_against_a_dishonest_operator(honest: Honest) -> None:
    sc = honest.scenario
    ids, c = sc.ids, sc.contribution
    cases = {
        "self_endorsement": commands.endorse(
            Signer(ids["alice2"], ORIGIN), person="alice", contribution=c, grade=5, role="peer"
        ),
        "key_superseded": commands.claim_contribution(
            Signer(ids["alice"], ORIGIN),
            person="alice",
            title="Old key",
            skills=["x"],
            start="2026-01-01",
        ),
        # a genuine statement of alice's current key, but signed for another ledger: the
        # checkpoint's origin names the ledger every entry must be addressed to
        "wrong_ledger": commands.claim_contribution(
            Signer(ids["alice2"], "other.example/ledger"),
            person="alice",
            title="Elsewhere",
            skills=["x"],
            start="2026-01-01",
        ),
        "manager_role_required": commands.endorse(
            Signer(ids["admin"], ORIGIN),
            person="alice",
            contribution=c,
            grade=1,
            role="manager",
        ),
    }
    for rule, signed in cases.items():
        with pytest.raises(BundleError) as refused:
            verify_bundle(_dishonest(honest, signed), trusted=[sc.key])
        assert refused.value.code == "rule_violation"
        assert refused.value.details["rule"] == rule
        assert refused.value.details["stream"] == "record/alice"


def test_a_checkpoint_not_signed_by_the_operator_is_refused(honest: Honest) -> None:
    sc = honest.scenario
    entries = log_entries(sc)[: sc.checkpoint.size]
    streams = set(json.loads(honest.alice)["heads"])
    doc = reference_bundle(entries, person="alice", streams=streams, signer=sc.ids["bob"])
    with pytest.raises(BundleError) as refused:
        verify_bundle(doc, trusted=None)
    assert refused.value.code == "not_operator_key"


def test_malformed_input_is_refused_with_bad_format() -> None:
    for text in (b"\xff", "[]", "{}", '{"a": 1, "a": 2}', '{"x": 1.5}', "{"):
        with pytest.raises(BundleError) as refused:
            verify_bundle(text, trusted=None)
        assert refused.value.code == "bad_format"
    with pytest.raises(BundleError):
        load_bundle('{"x": NaN}')


# -- the command line ----------------------------------------------------------------------------
def test_cli_export_verify_trust_import(sqlite_url: str, tmp_path: Path) -> None:
    sc = build_scenario(sqlite_url)
    keys = tmp_path / "keys"
    save_keystore(keys / "operator.key", sc.ids["operator"], "pw", opslimit=1, memlimit=8192)
    env = {"TRACKRECORD_PASSPHRASE": "pw", "COLUMNS": "200"}

    def run(*args: str, db: str = sqlite_url) -> Any:
        return CliRunner().invoke(create_app(), ["--db", db, "--keys", str(keys), *args], env=env)

    issued = run("--as", "operator", "checkpoint", "--issue", "--json")
    assert issued.exit_code == 0, issued.output
    assert json.loads(issued.stdout)["size"] == sc.checkpoint.size + 1
    shown = run("checkpoint", "--size", str(sc.checkpoint.size))
    assert shown.stdout == sc.checkpoint.note
    proof = json.loads(run("proof", "inclusion", "3").stdout)
    assert proof["size"] == sc.checkpoint.size + 1
    assert len(proof["proof"]) == 5
    consistency = json.loads(run("proof", "consistency", str(sc.checkpoint.size)).stdout)
    assert consistency["size2"] == sc.checkpoint.size + 1

    out = tmp_path / "alice.json"
    assert run("export", "alice", "-o", str(out)).exit_code == 0
    verified = run("verify", str(out), "--key", str(sc.key), db="sqlite:///nonexistent/never.db")
    assert verified.exit_code == 0, verified.output
    assert "alice (Alice)" in verified.stdout
    assert "Policy brief" in verified.stdout
    unpinned = run("verify", str(out))
    assert unpinned.exit_code == 0
    assert "not pinned" in unpinned.stdout
    doc = json.loads(out.read_text())
    doc["entries"][0]["entry"]["recorded_at"] = "2020-01-01T00:00:00.000000Z"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    failed = run("verify", str(bad), "--key", str(sc.key))
    assert failed.exit_code == 3
    assert "bad_inclusion_proof" in failed.output

    second = f"sqlite://{(tmp_path / 'b.db').resolve().as_posix()}"
    assert run("import", str(out), db=second).exit_code == 5  # no ledger there: nothing created
    assert not (tmp_path / "b.db").exists()
    made = run("init", "--operator", "op-b", "--department", "minfin/dgo", "--name", "B", db=second)
    assert made.exit_code == 0, made.output
    assert run("import", str(out), db=second).exit_code == 3  # untrusted
    assert run("trust", str(sc.key), db=second).stdout.strip() == str(sc.key)
    unlinked = run("import", str(out), db=second)
    assert unlinked.exit_code == 2, unlinked.output  # alice here has not linked it
    assert "identity_unproven" in unlinked.output
    alice_here = json.loads(run("keys", "create", "alice", "--json", db=second).stdout)
    registered = run(
        "--as", "op-b", "register", "alice", "--department", "minfin/dgo", "--name", "Alice",
        "--public-key", alice_here["public_key"], db=second,
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    old_key = tmp_path / "alice-on-a.key"
    save_keystore(old_key, sc.ids["alice2"], "pw", opslimit=1, memlimit=8192)
    linked = run("--as", "alice", "link", str(out), "--old-keystore", str(old_key), db=second)
    assert linked.exit_code == 0, linked.output
    imported = run("import", str(out), db=second)
    assert imported.exit_code == 0, imported.output
    listed = json.loads(run("--as", "alice", "imported", "alice", "--json", db=second).stdout)
    assert [(r["origin"], r["person"]) for r in listed] == [(ORIGIN, "alice")]


def test_the_worked_example_in_the_docs_verifies() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "bundle.md").read_text(encoding="utf-8")
    block = doc.split("<!-- example bundle: begin -->\n```json\n")[1].split("```\n<!--")[0]
    key = doc.split("Verifier key: `")[1].split("`")[0]
    report = verify_bundle(block, trusted=[parse_verifier_key(key)])
    assert (report.person, report.checkpoint_size, report.entry_count) == ("alice", 3, 3)
    assert [c.title for c in report.contributions] == ["Policy brief"]


def test_leaving_out_a_whole_assignment_stream_is_refused(honest: Honest) -> None:
    """The heads index commits to the assignment streams each person owns or is assigned
    to (``involved/<person>``), so dropping one whole (and whatever only it needed) fails."""
    bundle = json.loads(honest.alice)
    dropped = {f"assignment/{honest.scenario.assignment}"}

    def without(streams: set[str]) -> dict[str, Any]:
        doc = copy.deepcopy(bundle)
        doc["entries"] = [i for i in doc["entries"] if i["entry"]["stream"] not in streams]
        doc["heads"] = {k: v for k, v in doc["heads"].items() if k not in streams}
        return doc

    for _ in range(10):  # drop, too, the identity streams only the assignment needed
        try:
            verify_bundle(without(dropped), trusted=[honest.scenario.key])
        except BundleError as exc:
            if exc.code != "superfluous_stream":
                break
            dropped.add(exc.details["stream"])
    with pytest.raises(IncompleteBundle) as info:
        verify_bundle(without(dropped), trusted=[honest.scenario.key])
    assert info.value.code == "stream_missing"
    assert "assignment stream" in info.value.message


# -- selective disclosure: a bundle as one viewer may read it ---------------------------------
def _viewer_bundle(honest: Honest, viewer: str, *, today: str | None = None, **grant: str) -> Any:
    """alice's bundle as disclosed to ``viewer``; ``grant``: a grant of alice's to add first
    (``part``, ``until``), put into a copy of the ledger state as the rules would."""
    state = in_memory(honest.scenario.log.service.state)
    if grant:
        g = AccessGrant("g-1", "alice", viewer, grant["part"], grant.get("until"))
        state.access_grants[g.id] = g
        state.active_grants[("alice", viewer, g.part)] = g.id
    doc = json.loads(honest.alice)
    disclose_for_viewer(doc, state, viewer, today=today)
    return doc


def _disclosed_fields(doc: Any, stream: str, statement_type: str) -> list[list[str]]:
    return [
        sorted(d[1] for d in i["disclosures"])
        for i in doc["entries"]
        if i["entry"]["stream"] == stream and i["entry"]["statement"]["type"] == statement_type
    ]


def test_a_bundle_for_a_viewer_verifies_and_its_report_lists_the_withheld_fields(
    honest: Honest,
) -> None:
    whole = verify_bundle(honest.alice, trusted=[honest.scenario.key])
    doc = _viewer_bundle(honest, "bob")  # alice's dossier and analytical part: on request
    report = verify_bundle(doc, trusted=[honest.scenario.key])
    assert report.entry_count == whole.entry_count  # every entry stays
    assert report.display_name == "Alice"  # the identity stream stays disclosed
    # alice asked bob to review her first contribution: he reads that one (privacy.md §4)
    assert [c.title for c in report.contributions] == ["Policy brief", None]
    assert _disclosed_fields(doc, "record/alice", "EndorsementGiven") == [[], [], []]
    assert report.withheld_fields == len(report.withheld) > whole.withheld_fields
    claimed = [
        f"{i['entry']['stream']}#{i['entry']['seq']}"
        for i in doc["entries"]
        if i["entry"]["statement"]["type"] == "ContributionClaimed"
        and i["entry"]["statement"]["id"] != honest.scenario.contribution
    ]
    assert {f"{where} title" for where in claimed} <= set(report.withheld)
    assert set(whole.withheld) < set(report.withheld)


def test_a_grant_discloses_its_part_to_its_viewer_until_its_last_day(honest: Honest) -> None:
    granted = _viewer_bundle(honest, "bob", today="2026-03-01", part="dossier", until="2026-03-01")
    report = verify_bundle(granted, trusted=[honest.scenario.key])
    assert [c.title for c in report.contributions] == ["Policy brief", "Second"]
    assert _disclosed_fields(granted, "record/alice", "EndorsementGiven") == [[], [], []]
    ended = _viewer_bundle(honest, "bob", today="2026-03-02", part="dossier", until="2026-03-01")
    # the first stays readable to bob and carol: alice asked them to review it
    ended_titles = [c.title for c in verify_bundle(ended, trusted=None).contributions]
    assert ended_titles == ["Policy brief", None]
    other = _viewer_bundle(honest, "carol", today="2026-03-01")
    other_titles = [c.title for c in verify_bundle(other, trusted=None).contributions]
    assert other_titles == ["Policy brief", None]


def test_revealing_a_withheld_field_with_a_wrong_value_is_refused(honest: Honest) -> None:
    doc = _viewer_bundle(honest, "bob")
    [item] = [
        i
        for i in doc["entries"]
        if i["entry"]["statement"]["type"] == "ContributionClaimed"
        and i["entry"]["stream"] == "record/alice"
        and i["entry"]["statement"]["id"] != honest.scenario.contribution  # not asked to review
    ]
    assert item["disclosures"] == []
    item["disclosures"] = [Disclosure("0" * 32, "title", "A forged title").as_json()]
    with pytest.raises(BundleError) as refused:
        verify_bundle(doc, trusted=[honest.scenario.key])
    assert refused.value.code == "bad_disclosure"
