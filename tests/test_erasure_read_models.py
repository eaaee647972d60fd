"""After ``PersonErased`` no plaintext of the person's content remains in the read models, the
database files, imported bundles or the API's caches; live read models equal rebuilt ones.

The rebuilt read models have no plaintext because the log reads an erased person's
disclosures as withheld (their data key is destroyed, :mod:`ledger.vault`); the live
ones because they purge when they apply the erasure (:mod:`projections.erasure`).
"""

from __future__ import annotations

import json
import random
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from ledger import commands
from ledger.bundle import dump_bundle, verify_bundle
from ledger.checkpoint import NoteVerifier
from ledger.errors import RuleViolation
from ledger.export import export_bundle
from ledger.service import LedgerService
from ledger.statement import SignedStatement
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from projections import create_read_model_engine, purge_erased
from projections.portfolio import tables as pf
from tests import pgcluster
from tests.factories import (
    _OPS,
    DEPT,
    TEST_ORIGIN,
    RecordingLedger,
    TickClock,
    World,
    standard_world,
)
from tests.support.api_server import live_server, login, make_cast, operator_member
from tests.support.links import link_signed
from tests.support.projections import AT, check_against_reference, ledger_env, snapshot
from tests.support.scan import every_value, holds

ORIGIN = TEST_ORIGIN  # the ledger the world signs for


# -- random ledgers with erasures ---------------------------------------------------------------


def statements_with_erasures(
    rng: random.Random, size: int, erasures: int, *, seed: str
) -> tuple[World, list[SignedStatement], list[str]]:
    """A random ledger of about ``size`` statements (as :func:`random_statements`) with up to
    ``erasures`` people erased at random moments, the last one at the end; returns the world,
    the statements in log order and the erased people."""
    ledger = RecordingLedger()
    w = standard_world(ledger, seed=seed)
    ops, weights = zip(*_OPS, strict=True)
    moments = sorted(rng.sample(range(7, size + 1), k=min(erasures, size - 6)))
    erased: list[str] = []
    while ledger.state.size < size:
        if moments and ledger.state.size >= moments[0]:
            moments.pop(0)
            person = _erase_someone(w, rng)
            if person is not None:
                erased.append(person)
            continue
        op = rng.choices(ops, weights=weights)[0]
        signed = op(w, rng)
        if signed is None:
            continue
        try:  # the random actions do not know about erasures: the rules refuse some
            w.do(signed)
        except RuleViolation:
            continue
    if moments:
        person = _erase_someone(w, rng)
        if person is not None:
            erased.append(person)
    return w, list(ledger.signed), erased


def _erase_someone(w: World, rng: random.Random) -> str | None:
    st = w.state
    operator = st.people.get("operator")
    if operator is None or operator.current_key != w.operator.key_id:
        return None  # the operator's key is revoked for now: no admin signs
    candidates = sorted(p for p in st.people if p != "operator" and p not in st.erased)
    if not candidates:
        return None
    person = rng.choice(candidates)
    w.do(w.erase(w.people[person]))
    return person


def _personal_of(engine: Engine, table: Any, person: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.personal).where(table.c.person == person))
        return [json.loads(r.personal) for r in rows]


_RUN = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "size": st.integers(12, 45),
        "erasures": st.integers(1, 3),
        "cuts": st.lists(st.integers(1, 44), max_size=4),
        "batch": st.integers(1, 9),
    }
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run=_RUN)
def test_live_read_models_equal_rebuilt_ones_after_erasures(
    database_url: str, run: dict[str, Any]
) -> None:
    """Erasures applied live, in random batches, purge exactly the rows a rebuild from the
    log (which reads the erased content as withheld) produces."""
    world, statements, erased = statements_with_erasures(
        random.Random(run["seed"]), run["size"], run["erasures"], seed=str(run["seed"])
    )
    with ledger_env(database_url, batch_size=run["batch"]) as env:
        cuts = sorted({c for c in run["cuts"] if c < len(statements)} | {len(statements)})
        start = 0
        for cut in cuts:
            env.append(statements[start:cut])
            start = cut
            env.projector.catch_up()
        env.projector.refresh(at=AT)
        live = snapshot(env.engine)
        check_against_reference(env.engine, world.state)
        for person in erased:
            for table in (pf.people, pf.contributions, pf.endorsements, pf.ambitions):
                for fields in _personal_of(env.engine, table, person):
                    assert set(fields.values()) <= {None}, (table.name, person, fields)
        env.projector.rebuild()
        env.projector.refresh(at=AT)
        assert snapshot(env.engine) == live


def test_an_erasure_purges_only_the_erased_persons_content(sqlite_url: str) -> None:
    """The endorser's erasure leaves the comment on the subject's record (it is the subject's
    content); the subject's erasure withholds it, with the same fields, as null."""
    ledger = RecordingLedger()
    w = standard_world(ledger, seed="only")
    alice, bob, carol = w["alice"], w["bob"], w["carol"]
    claim = w.do(w.claim(alice, title="Alice's report"))
    w.do(w.endorse(carol, alice, claim.statement.id))
    w.do(w.erase(carol))
    with ledger_env(sqlite_url) as env:
        env.append(ledger.signed)
        env.projector.catch_up()
        [comment] = _personal_of(env.engine, pf.endorsements, alice.id)
        assert comment == {"comment": "Clear and on time."}
        assert _personal_of(env.engine, pf.people, carol.id) == [{"display_name": None}]
        erase_alice = w.erase(alice)
        env.append([erase_alice])
        env.projector.catch_up()
        assert _personal_of(env.engine, pf.endorsements, alice.id) == [{"comment": None}]
        assert _personal_of(env.engine, pf.contributions, alice.id) == [
            {"title": None, "description": None}
        ]
        assert _personal_of(env.engine, pf.people, bob.id) == [{"display_name": "Bob van Dijk"}]


# -- nothing left anywhere in the database ------------------------------------------------------


class Marked:
    """Unique personal values of one person, to look for afterwards."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:12]
        self.values: list[str] = []

    def __call__(self, what: str) -> str:
        value = f"Erasable {what} {self.tag}"
        self.values.append(value)
        return value


def _origin_bundle(url: str, marked: Marked) -> tuple[str, str]:
    """On another ledger at ``url``: erin's record, exported as a bundle; returns the bundle
    text and the origin's verifier key."""
    store = open_store(url)
    try:
        service = LedgerService(store, clock=TickClock())
        w = World(service, seed="origin")
        w.do_all([w.genesis(), w.register("erin"), w.register("frank")])
        erin = w["erin"]
        w.do(w.claim(erin, title=marked("origin title"), description=marked("origin text")))
        log = TransparencyLog(service)
        log.set_origin(ORIGIN)
        log.issue_checkpoint(w.operator.identity)
        bundle = export_bundle(log, "erin")
        key = NoteVerifier.for_key(ORIGIN, w.operator.identity.public_key.raw)
        return dump_bundle(bundle), str(key)
    finally:
        store.close()


def _erin_on_this_ledger(w: World, marked: Marked) -> list[SignedStatement]:
    """erin's content of every kind on this ledger, and other people's about her."""
    bob, carol = w["bob"], w["carol"]
    erin = w.member("erin")
    out = [
        commands.register_identity(
            w.operator.signer,
            person="erin",
            public_key=erin.identity.public_key.raw,
            organisation="minbzk",
            department=DEPT,
            display_name=marked("display name"),
            **w.opts(),
        ),
        w.grant(erin, "manager", DEPT),
    ]
    claim = w.claim(erin, title=marked("title"), description=marked("description"))
    out += [
        claim,
        commands.request_review(
            erin.signer,
            person="erin",
            contribution=claim.statement.id,
            reviewers=[("bob", "manager")],
            message=marked("message"),
            **w.opts(),
        ),
        commands.endorse(
            bob.signer,
            person="erin",
            contribution=claim.statement.id,
            grade=5,
            role="manager",
            comment=marked("comment"),
            **w.opts(),
        ),
        commands.state_ambition(
            erin.signer, person="erin", goal=marked("goal"), courses=marked("courses"), **w.opts()
        ),
    ]
    # an assignment erin posts (its title is hers) and one she completes (the note is hers)
    mine = str(uuid.UUID(int=random.Random(marked.tag).getrandbits(128)))
    posted = commands.post_assignment(
        erin.signer,
        assignment=mine,
        organisation="minbzk",
        department=DEPT,
        title=marked("posting"),
        description=marked("posting text"),
        skills=["python"],
        hours_per_week=4,
        **w.opts(),
    )
    theirs = w.post(bob)
    bobs = theirs.statement.subject
    out += [
        posted,
        theirs,
        w.assign(bob, bobs, erin),
        commands.complete_assignment(
            bob.signer,
            assignment=bobs,
            assignee="erin",
            grade=4,
            note=marked("outcome note"),
            **w.opts(),
        ),
        w.apply(carol, mine),
    ]
    return out


def _review_messages(service: LedgerService, person: str) -> list[str | None]:
    """The message of each review request on ``person``'s record, as the log discloses it."""
    return [
        e.disclosed().get("message")
        for e in service.read_stream(f"record/{person}")
        if e.entry.statement.type == "ReviewRequested"
    ]


@pytest.fixture
def origin_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite://{(tmp_path / 'origin.db').resolve().as_posix()}"
        return
    with pgcluster.fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        yield url


def test_no_plaintext_of_an_erased_person_remains(database_url: str, origin_url: str) -> None:
    marked = Marked()
    bundle, origin_key = _origin_bundle(origin_url, marked)
    with ledger_env(database_url, batch_size=4) as env:
        w = World(env.service, seed=f"scan-{marked.tag}")
        w.do_all(
            [
                w.genesis(),
                w.register("bob"),
                w.register("carol"),
                w.grant(w["bob"], "manager", DEPT),
            ]
        )
        for signed in _erin_on_this_ledger(w, marked):
            w.do(signed)
        # erin holds the same key on both ledgers; she links her record there to her here
        erin = w["erin"].identity
        w.do(link_signed(bundle, here=w.signer_for(erin), there=erin))
        registry = env.ledger.imports
        registry.trust(origin_key)
        env.ledger.import_bundle(bundle)
        env.projector.catch_up()
        values = list(every_value(env.engine))
        # Sealed at rest from the start (privacy.md §8): none of it is in the clear even
        # before the erasure, while the read models opened with their key hold it.
        assert [m for m in marked.values if any(holds(v, m) for *_, v in values)] == []
        # The review request's message is in no read model: the API reads it from erin's
        # record stream (api.views.review_inbox_out), where the log discloses it.
        [asked] = [m for m in marked.values if m.startswith("Erasable message ")]
        assert _review_messages(env.service, "erin") == [asked]
        assert all(m in str(snapshot(env.engine)) for m in marked.values[2:] if m != asked)

        w.do(w.erase(w["erin"]))
        env.projector.catch_up()  # purges the read models (and compacts)
        # The erasure destroyed her data key, which sealed her content in the imported bundle.
        assert registry.erase("erin") == 0  # nothing of hers left to read

        left = [
            (t, c) for t, c, v in every_value(env.engine) if any(holds(v, m) for m in marked.values)
        ]
        assert left == []
        assert [m for m in marked.values if m in str(snapshot(env.engine))] == []
        assert _review_messages(env.service, "erin") == [None]  # withheld: her key is gone
        [record] = registry.imported_records("erin")
        assert record.report.display_name is None
        assert [c.title for c in record.report.contributions] == [None]
        rewritten = registry.bundle_text(record.origin, "erin", record.checkpoint_size)
        again = verify_bundle(rewritten, trusted=registry.trusted())  # still verifies
        assert again.entry_count == record.entry_count
        if database_url.startswith("sqlite"):
            path = urllib.parse.urlsplit(database_url).path
            files = [Path(path), Path(path + "-wal")]
            for f in files:
                raw = f.read_bytes() if f.exists() else b""
                for m in marked.values:
                    assert m.encode() not in raw, (f.name, m)
        bob = w["bob"]
        assert purge_erased(env.engine, "erin") == set()  # nothing left to purge
        with env.engine.connect() as conn:
            kept = conn.execute(select(pf.people.c.personal).where(pf.people.c.person == bob.id))
            assert json.loads(kept.scalar_one()) == {"display_name": "Bob van Dijk"}


def test_purge_erased_skips_read_models_that_were_never_built(sqlite_url: str) -> None:
    engine = create_read_model_engine(sqlite_url)
    try:
        assert purge_erased(engine, "nobody") == set()
    finally:
        engine.dispose()


# -- the API ----------------------------------------------------------------------------------


def _json_text(response: Any) -> str:
    assert response.status_code == 200, response.text
    return str(response.text)


def test_the_api_stops_serving_content_erased_by_another_process(
    database_url: str, tmp_path: Path
) -> None:
    """The CLI appends the erasure through its own service; the running server's caches
    held the content, and it serves none of it after."""
    marked = Marked()
    with live_server(database_url) as live:
        w = make_cast(live, f"api{marked.tag[:6]}")
        alice, bob = w["alice"], w["bob"]
        w.do(w.visibility(alice, "dossier", "public"))
        claim = w.do(w.claim(alice, title=marked("title"), description=marked("description")))
        w.do(w.grant(alice, "manager", DEPT))
        posting = w.do(
            commands.post_assignment(
                alice.signer,
                assignment=str(uuid.uuid4()),
                organisation="minbzk",
                department=DEPT,
                title=marked("posting"),
                skills=["python"],
                hours_per_week=4,
                **w.opts(),
            )
        )
        assignment = posting.statement.subject
        token = login(live, bob.identity)
        auth = {"Authorization": f"Bearer {token}"}
        paths = [
            f"/people/{alice.id}/record",
            f"/people/{alice.id}",
            f"/streams/record/{alice.id}",
            f"/streams/identity/{alice.id}",
            f"/streams/assignment/{assignment}",
            "/entries?limit=200",
            f"/assignments/{assignment}",
            f"/people/{alice.id}/portfolio",
        ]
        before = {p: live.client.get(p, headers=auth) for p in paths}
        served = " ".join(r.text for r in before.values() if r.status_code == 200)
        assert marked.values[0] in served  # the caches hold it now

        store = open_store(database_url)  # the CLI: a second service on the same database
        try:
            cli = LedgerService(store)
            cli.catch_up()
            cli.append(
                commands.erase_person(operator_member().signer, person=alice.id, basis="request")
            )
        finally:
            store.close()

        for path in paths:
            response = live.client.get(path, headers=auth)
            if before[path].status_code != 200:
                continue
            text = _json_text(response)
            for m in marked.values:
                assert m not in text, (path, m)
        record = live.client.get(f"/streams/record/{alice.id}", headers=auth).json()
        claimed = next(
            i for i in record["items"] if i["entry"]["statement"]["id"] == claim.statement.id
        )
        assert claimed["disclosures"] == []
        assert claimed["withheld_fields"] == ["description", "title"]
        assert live.client.get(f"/people/{alice.id}").json()["display_name"] is None
