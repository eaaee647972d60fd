"""Imported history counts (issue 14): ratings in a record imported from another ledger
count in the receiving ledger's reputation, weighed by its declared trust in the origin.

alice's record on ledger A (:func:`tests.support.bundles.build_scenario`: a
``policy-advice`` contribution endorsed by a manager (4), a peer (5) and a client (3), and
a ``python`` assignment completed with a 4) is imported into ledger B, where she is
linked to her record and nobody rated her. B's scores and explanations then hold A's
ratings, each naming its origin, at B's declared trust in A as standing; a lower trust
weighs them less; her contributions and completed assignment there make her a matching
candidate on B with no history of her own, at the same trust; and the read models
rebuilt from B's store equal the live ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger import commands
from ledger.audit import audit
from ledger.catalogue import Part
from ledger.errors import MalformedInput
from ledger.imports import DEFAULT_TRUST_WEIGHT, ImportRegistry, TrustWeightTampered
from ledger.statement import Signer
from ledger.store import open_store
from projections.entries import ImportsCounted
from projections.matching.queries import (
    AssignmentSpec,
    ImportedSkill,
    Match,
    assignments_for,
    candidates,
)
from projections.reputation.formula import Score
from projections.reputation.queries import rated_skills, snapshot_scores
from projections.verify import ReadModelMismatch, verify_read_models
from tests.factories import identity_for
from tests.support.bundles import ORIGIN, origin_bundle
from tests.support.cli import Cli
from tests.support.imported import AT, AT_DAY, Origin, Receiving, receiving_at
from tests.support.links import RECEIVING


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    return Origin(*origin_bundle(tmp_path_factory.mktemp("origin")))


@pytest.fixture
def receiving(origin: Origin, database_url: str) -> Iterator[Receiving]:
    """Ledger B (on each storage backend) with alice linked to her record from A, nothing
    imported yet."""
    with receiving_at(database_url, origin) as b:
        yield b


def test_imported_ratings_count_with_their_origin(
    receiving: Receiving, origin: Origin, database_url: str, tmp_path: Path
) -> None:
    receiving.projector.catch_up()
    receiving.projector.refresh(at=AT)
    assert receiving.explain("policy-advice").ratings == ()  # nobody rated her on B

    receiving.import_(origin)

    score = receiving.explain("policy-advice")
    assert {(w.rating.rater, w.rating.role, w.rating.grade) for w in score.ratings} == {
        ("bob", "manager", 4),
        ("carol", "peer", 5),
        ("dave", "client", 3),
    }
    assert {w.rating.origin for w in score.ratings} == {ORIGIN}
    assert {w.standing for w in score.ratings} == {DEFAULT_TRUST_WEIGHT}
    assert {(w.discrimination, w.clique) for w in score.ratings} == {(1.0, 1.0)}
    assert score.weight > 0
    assert score.score > 3.0
    [completion] = receiving.explain("python").ratings
    assert completion.rating[1:4] == ("completion", "bob", "owner")
    assert completion.rating.origin == ORIGIN
    with receiving.projector.engine.connect() as conn:
        assert rated_skills(conn, "alice") == ["policy-advice", "python"]
        refreshed = snapshot_scores(conn, "alice")
    # the refreshed score (what rankings use) is the explained one
    assert refreshed["policy-advice"] == pytest.approx((score.score, score.weight, 3))
    # the CLI's explanation names the origin of every imported rating
    cli = Cli(database_url, tmp_path)
    mine = ("reputation", "alice", "--skill", "policy-advice", "--at", str(AT_DAY))
    [shown] = cli.json(*mine, who="alice")
    assert [r["rating"]["origin"] for r in shown["ratings"]] == [ORIGIN] * 3
    assert shown["score"] == pytest.approx(score.score)
    table = cli.ok(*mine, who="alice")
    assert ORIGIN in table.stdout


def test_matching_counts_imported_ratings_and_names_their_origin(
    receiving: Receiving, origin: Origin
) -> None:
    """alice, findable on B with one claim of her own, ranks with the reputation her
    imported ratings give her, and the reason names the ledger they came from."""
    alice = Signer(identity_for("alice-b"), RECEIVING)
    service = receiving.ledger.service
    service.append(
        commands.claim_contribution(
            alice, person="alice", title="Brief on B", skills=["policy-advice"],
            start="2026-04-01",
        )
    )  # fmt: skip
    for part in ("free", "analytical"):
        service.append(
            commands.change_visibility(alice, person="alice", part=part, visibility="public")
        )
    spec = AssignmentSpec(("policy-advice",), 8, "minbzk", "minbzk/cio")

    def alices_match() -> Match:
        with receiving.projector.engine.connect() as conn:
            [found] = [m for m in candidates(conn, spec, searcher=None) if m.person == "alice"]
        return found

    receiving.projector.catch_up()
    receiving.projector.refresh(at=AT)
    before = alices_match()
    assert before.skills[0].origins == ()
    receiving.import_(origin)
    after = alices_match()
    [skill] = after.skills
    assert skill.origins == (ORIGIN,)
    assert skill.reputation == pytest.approx(receiving.explain("policy-advice").score, abs=1e-3)
    assert f"with ratings imported from {ORIGIN}" in after.reasons[1].text
    assert after.score is not None
    assert before.score is not None
    assert after.score > before.score  # her imported 4, 5 and 3 raise her above the prior


def test_lower_trust_weighs_less(origin: Origin, tmp_path: Path) -> None:
    found: dict[float, Score] = {}
    for weight in (0.9, 0.2):
        url = f"sqlite://{(tmp_path / f'b-{weight}.db').resolve().as_posix()}"
        with receiving_at(url, origin) as b:
            b.import_(origin, weight=weight)
            found[weight] = b.explain("policy-advice")
    high, low = found[0.9], found[0.2]
    assert {w.standing for w in low.ratings} == {0.2}
    assert low.weight == pytest.approx(high.weight * 0.2 / 0.9)
    assert 3.0 < low.score < high.score  # pulled less far from the prior


def test_untrusting_the_origin_stops_its_ratings(receiving: Receiving, origin: Origin) -> None:
    receiving.import_(origin, weight=0.7)
    assert receiving.explain("policy-advice").weight > 0
    receiving.registry.untrust(ORIGIN)
    receiving.projector.refresh(at=AT)
    score = receiving.explain("policy-advice")
    assert {w.standing for w in score.ratings} == {0.0}  # still shown, with their origin
    assert score.weight == 0.0
    assert score.score == 3.0


def test_trust_weight_is_bounded_and_bound_to_its_row(receiving: Receiving, origin: Origin) -> None:
    receiving.registry.trust(origin.key)
    for bad in (-0.1, 1.5):
        with pytest.raises(MalformedInput):
            receiving.registry.set_weight(ORIGIN, bad)
    assert receiving.registry.origin_weights() == {ORIGIN: DEFAULT_TRUST_WEIGHT}
    receiving.registry.set_weight(ORIGIN, 0.8)
    receiving.registry.set_weight(ORIGIN, 0.3)  # a later declaration replaces the earlier
    assert receiving.registry.origin_weights() == {ORIGIN: 0.3}
    store = receiving.ledger.service.store
    assert audit(store).failure is None


@pytest.mark.parametrize("edit", ["edited", "added"])
def test_a_tampered_trust_weight_is_reported_not_replaced(
    receiving: Receiving, origin: Origin, edit: str
) -> None:
    """A trust weight edited (or added) in the database is reported, by the audit and on
    the reading path, with its origin and stored weight; never read as the default."""
    receiving.import_(origin, weight=0.3)
    store = receiving.ledger.service.store
    mac = store.trust_weights()[0][2]
    where = "elsewhere.example/ledger" if edit == "added" else ORIGIN
    store.put_trust_weight(where, "1.0", mac)  # in the database: the MAC does not fit the row
    with pytest.raises(TrustWeightTampered) as tampered:
        receiving.registry.origin_weights()
    evidence = tampered.value.evidence()
    assert (evidence["table"], evidence["origin"], evidence["weight"]) == (
        "trust_weights",
        where,
        "1.0",
    )
    with pytest.raises(TrustWeightTampered):
        receiving.projector.refresh(at=AT)  # nothing is counted at a weight nobody declared
    failure = audit(store).failure
    assert failure is not None
    assert (failure.code, failure.evidence) == (
        "trust_weight_tampered",
        {"table": "trust_weights", "origin": where, "weight": "1.0"},
    )
    receiving.registry.set_weight(where, 0.3)  # declared again by the operator
    assert receiving.registry.origin_weights() == {ORIGIN: 0.3}
    assert audit(store).failure is None


def test_rebuilt_read_models_equal_live_ones_with_imports(
    receiving: Receiving, origin: Origin
) -> None:
    receiving.import_(origin, weight=0.6)
    verify_read_models(receiving.projector.log, receiving.projector.engine)


def test_one_refresh_cycle_reads_the_imported_bundles_once_for_both_steps(
    receiving: Receiving, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reputation counts the imported records' ratings and matching their evidence; a
    refresh cycle reads the stored bundles once (EntryReader.imported_bundles) and hands
    them to both, which record what they counted the same way (projections.refresh)."""
    receiving.import_(origin, weight=0.6)
    store = receiving.ledger.service.store
    read = store.import_bundle_text
    reads: list[tuple[str, str, int]] = []

    def counted_read(origin: str, person: str, size: int) -> str | None:
        reads.append((origin, person, size))
        return read(origin, person, size)

    monkeypatch.setattr(store, "import_bundle_text", counted_read)
    log = receiving.projector.log
    log.imported_bundles()
    once = len(reads)
    assert once > 0
    reads.clear()
    receiving.projector.refresh(at=AT + 60)
    assert len(reads) == once  # not once per refresh step
    with receiving.projector.engine.connect() as conn:
        marks = [
            conn.execute(sa.text(f"SELECT position, at, inputs, inputs_mac FROM {table}")).one()
            for table in ("rep_refresh", "mt_refresh")
        ]
    assert marks[0].inputs == marks[1].inputs  # the same imports, counted once
    for position, at, inputs, mac in marks:
        assert at == AT + 60
        counted = ImportsCounted.from_json(inputs)
        assert counted is not None
        assert counted.weights == {ORIGIN: 0.6}
        assert log.counted_is_bound(position, at, counted, mac)
    verify_read_models(log, receiving.projector.engine)  # each rebuilt on its own


def test_trust_weight_on_the_command_line(origin: Origin, tmp_path: Path) -> None:
    cli = Cli(f"sqlite://{(tmp_path / 'cli.db').resolve().as_posix()}", tmp_path / "keys")
    cli.ok("init", "--operator", "op", "--department", "minbzk/cio", "--name", "Operator")
    set_ = cli.ok("trust", origin.key, "--weight", "0.8")
    assert "weight 0.8" in set_.stderr
    assert set_.stdout.strip() == origin.key
    for bad in (("--weight", "1.5"), ("--weight", "-1")):
        refused = cli("trust", origin.key, *bad)
        assert refused.exit_code != 0
        assert "between 0 and 1" in refused.output
    assert "weight 0.8" in cli.ok("trust", origin.key).stderr  # unchanged by the refusals
    alone = cli("trust", "--weight", "0.3")
    assert alone.exit_code != 0
    assert "VERIFIER_KEY" in alone.output
    store = open_store(cli.url)
    try:
        assert ImportRegistry(store).origin_weights() == {ORIGIN: 0.8}
    finally:
        store.close()


def test_a_refresh_is_due_when_imports_or_trust_change(
    receiving: Receiving, origin: Origin
) -> None:
    """An import appends nothing to the log, yet a service's next refresh must count it."""
    projector, registry = receiving.projector, receiving.registry
    projector.catch_up()
    projector.refresh(at=AT)
    later = AT + 30  # past REFRESH_SPACING times the duration of this small refresh
    assert not projector.refresh_due(every=0, at=later)
    registry.trust(origin.key)
    with receiving.ledger.service.reading() as state:
        registry.import_bundle(origin.bundle, state=state)
    assert projector.refresh_due(every=0, at=later)
    assert not projector.refresh_due(every=60, at=later)  # still no more often than `every`
    projector.refresh(at=AT)
    assert not projector.refresh_due(every=0, at=later)
    assert receiving.explain("policy-advice").weight > 0
    registry.set_weight(ORIGIN, 0.1)
    assert projector.refresh_due(every=0, at=later)


def _edit(receiving: Receiving, sql: str) -> None:
    with receiving.projector.engine.begin() as conn:
        conn.execute(sa.text(sql))


def _mismatched_tables(receiving: Receiving) -> set[str]:
    with pytest.raises(ReadModelMismatch) as caught:
        verify_read_models(receiving.projector.log, receiving.projector.engine)
    return {d.table for d in caught.value.differences}


def test_verify_between_an_import_and_the_next_refresh_compares_like_with_like(
    receiving: Receiving, origin: Origin
) -> None:
    """The live refresh records what it counted besides the log (rep_refresh.inputs, under
    the row key's MAC); verify rebuilds it with that, so an import or a new weight waiting
    for the next refresh is no difference, while an edited row still is."""
    receiving.projector.catch_up()
    receiving.projector.refresh(at=AT)  # before anything was imported
    receiving.registry.trust(origin.key)
    with receiving.ledger.service.reading() as state:
        receiving.registry.import_bundle(origin.bundle, state=state)
    verify_read_models(receiving.projector.log, receiving.projector.engine)  # no false alarm
    _edit(  # into the published generation, which readers read
        receiving,
        "INSERT INTO rep_origins SELECT generation, 'forged.example/ledger', 1.0 FROM rep_refresh",
    )
    assert _mismatched_tables(receiving) == {"rep_origins"}  # a tamper while the refresh waits

    receiving.projector.refresh(at=AT)  # counts the import, at the default weight
    assert receiving.explain("policy-advice").weight > 0
    verify_read_models(receiving.projector.log, receiving.projector.engine)
    receiving.registry.set_weight(ORIGIN, 0.2)  # a new weight waits for the next refresh
    verify_read_models(receiving.projector.log, receiving.projector.engine)
    _edit(receiving, "UPDATE rep_origins SET weight = 1.0")
    assert _mismatched_tables(receiving) == {"rep_origins"}
    receiving.projector.refresh(at=AT)
    verify_read_models(receiving.projector.log, receiving.projector.engine)

    # what the refresh counted, edited in the database: its MAC no longer fits, so the
    # rebuild counts what is imported now, and the edited row differs
    _edit(receiving, "UPDATE rep_refresh SET inputs = replace(inputs, '0.2', '1.0')")
    assert "rep_refresh" in _mismatched_tables(receiving)


def _opt_in(receiving: Receiving) -> None:
    """alice makes her free part (the opt-in to matching) public on B."""
    alice = Signer(identity_for("alice-b"), RECEIVING)
    receiving.ledger.service.append(
        commands.change_visibility(alice, person="alice", part="free", visibility="public")
    )


def _alices_match(receiving: Receiving, spec: AssignmentSpec) -> Match | None:
    with receiving.projector.engine.connect() as conn:
        found = [m for m in candidates(conn, spec, searcher=None) if m.person == "alice"]
    return found[0] if found else None


def test_a_person_whose_history_is_only_imported_is_a_candidate(
    receiving: Receiving, origin: Origin
) -> None:
    """alice has nothing of her own on B: her claims and completed assignment on A make her
    a candidate, each skill's fit the declared trust in A, each reason naming A."""
    _opt_in(receiving)
    spec = AssignmentSpec(("policy-advice", "python", "go"), 8, "minbzk", "minbzk/cio")
    receiving.projector.catch_up()
    receiving.projector.refresh(at=AT)
    assert _alices_match(receiving, spec) is None  # nothing on B, nothing imported yet

    receiving.import_(origin)  # at the default trust, 0.5

    found = _alices_match(receiving, spec)
    assert found is not None
    advice, python = found.skills
    assert (advice.skill, advice.evidence, advice.ambition) == ("policy-advice", 0, False)
    assert advice.imported_evidence == (
        ImportedSkill(ORIGIN, Part.DOSSIER, 1, DEFAULT_TRUST_WEIGHT),
    )
    assert python.imported_evidence == (  # her claim "Second" and the completed assignment
        ImportedSkill(ORIGIN, Part.ANALYTICAL, 1, DEFAULT_TRUST_WEIGHT),
        ImportedSkill(ORIGIN, Part.DOSSIER, 1, DEFAULT_TRUST_WEIGHT),
    )
    assert found.missing == ("go",)  # claimed on A after the bundle's checkpoint
    assert f"1× evidence imported from {ORIGIN} at trust 0.50" in found.reasons[1].text
    assert f"2× evidence imported from {ORIGIN} at trust 0.50" in found.reasons[1].text
    assert f"with ratings imported from {ORIGIN}" in found.reasons[1].text
    assert advice.reputation is not None
    assert python.reputation is not None
    expected = sum(
        DEFAULT_TRUST_WEIGHT * (0.5 + 0.5 * (rep - 1) / 4)
        for rep in (advice.reputation, python.reputation)
    )
    assert found.score == pytest.approx(expected / 3, abs=1e-3)
    # a viewer who may not read her dossier sees only the imported evidence of the rest
    seen = found.as_seen({Part.DOSSIER}, {})
    [python_seen] = seen.skills
    assert python_seen.imported_evidence == (python.imported_evidence[0],)
    assert f"1× evidence imported from {ORIGIN} at trust 0.50" in seen.reasons[1].text
    verify_read_models(receiving.projector.log, receiving.projector.engine)


def test_imported_evidence_weighs_with_the_trust_in_its_origin(
    receiving: Receiving, origin: Origin
) -> None:
    """Full trust counts an imported skill as evidence here; no trust, not at all."""
    _opt_in(receiving)
    spec = AssignmentSpec(("python",), 8, "minbzk", "minbzk/cio")
    receiving.import_(origin, weight=1.0)
    full = _alices_match(receiving, spec)
    assert full is not None
    assert full.skills[0].reputation is not None
    assert full.score == pytest.approx(0.5 + 0.5 * (full.skills[0].reputation - 1) / 4, abs=1e-3)
    assert "at trust 1.00" in full.reasons[1].text

    receiving.registry.set_weight(ORIGIN, 0.0)
    receiving.projector.refresh(at=AT)
    assert _alices_match(receiving, spec) is None  # weight 0: her imported skills count 0
    receiving.registry.set_weight(ORIGIN, 0.3)
    receiving.projector.refresh(at=AT)
    low = _alices_match(receiving, spec)
    assert low is not None
    assert low.score is not None
    assert low.score < full.score
    receiving.registry.untrust(ORIGIN)
    receiving.projector.refresh(at=AT)
    assert _alices_match(receiving, spec) is None
    verify_read_models(receiving.projector.log, receiving.projector.engine)
    # imported evidence raised in the database is reported, not believed
    _edit(receiving, "UPDATE mt_imported SET weight = 1.0")
    _edit(receiving, "INSERT INTO mt_skills VALUES "
          "('alice', 'python', 'minbzk', 'minbzk/cio', 'public', 0, 0, 0, 1.0)")  # fmt: skip
    assert _mismatched_tables(receiving) == {"mt_imported", "mt_skills"}


def test_open_assignments_for_a_newcomer_name_the_origin_of_her_skills(
    receiving: Receiving, origin: Origin
) -> None:
    operator = Signer(identity_for("operator-b"), RECEIVING)
    receiving.ledger.service.append(
        commands.grant_role(operator, person="operator-b", role="manager", scope="minbzk/cio")
    )
    receiving.ledger.service.append(
        commands.post_assignment(
            operator, assignment="00000000-0000-4000-8000-00000000b001", organisation="minbzk",
            department="minbzk/cio", title="Scripts", skills=["python", "sql"], hours_per_week=4,
        )
    )  # fmt: skip
    receiving.import_(origin)
    with receiving.projector.engine.connect() as conn:
        [found] = assignments_for(conn, "alice")
    assert found.matched == ("python",)
    assert found.reasons[0].text == f"skills: python (imported from {ORIGIN}) of 2 needed"
