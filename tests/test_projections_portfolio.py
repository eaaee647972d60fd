"""The portfolio read model: four parts, each with the visibility its owner chose.

The property: for any visibility settings and access grants (given, revoked, run out), a
viewer receives exactly the parts the ledger's access rule (``ledger.access.may_read``)
allows — and of any other part only the contributions a review request asks them to
review (``ledger.access.may_read_contribution``), no other content.
Every part's content carries a unique marker, so "no content" is checked on the whole
JSON form of what the query returned.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import commands
from ledger.access import may_read, may_read_contribution, permits, today_utc, visibility_of
from ledger.catalogue import Part, Visibility
from ledger.errors import NotFound
from ledger.statement import SignedStatement
from projections import DEFAULT_VISIBILITY
from projections.portfolio import EndorsedContribution, Portfolio, portfolio
from tests.factories import DEPT, World, standard_cast
from tests.support.projections import LedgerEnv, ledger_env

OWNERS = ("alice", "carol", "dave")
VIEWERS = (None, "operator", "alice", "bob", "carol", "dave", "stranger")


def markers(owner: str) -> dict[Part, set[str]]:
    """Text that appears only in ``owner``'s part of that name."""
    return {
        Part.DOSSIER: {f"T:{owner}:dossier", f"D:{owner}:dossier"},
        Part.ANALYTICAL: {f"T:{owner}:analytical", f"C:{owner}", f"N:{owner}"},
        Part.AMBITIONS: {f"T:{owner}:ambitions", f"G:{owner}"},
        Part.FREE: {f"T:{owner}:free", f"W:{owner}"},
    }


class Cast:
    """A ledger where alice, carol and dave have content in all four parts."""

    def __init__(self, env: LedgerEnv) -> None:
        self.env = env
        self.w = World(env.service, seed="portfolio")
        self.w.do_all(standard_cast(self.w))
        self.assignment_of: dict[str, str] = {}
        self.claims: dict[tuple[str, Part], str] = {}
        for owner in OWNERS:
            self._fill(self.w[owner].id)
        env.projector.catch_up()

    def _fill(self, owner: str) -> None:
        w, m = self.w, self.w[owner]
        claims = {}
        for part in Part:
            signed = commands.claim_contribution(
                m.signer, person=owner, title=f"T:{owner}:{part.value}", skills=["python"],
                start="2026-01-01", part=part.value, description=f"D:{owner}:{part.value}",
                **w.opts(),
            )  # fmt: skip
            claims[part] = self.claims[(owner, part)] = w.do(signed).statement.id
        # a colleague asked to review (which lets them read it) as peer; dave's, from
        # another department, as client
        endorser, role = (w["bob"], "peer") if owner != "dave" else (w["carol"], "client")
        w.do(w.ask_review(m, claims[Part.DOSSIER], (endorser, role)))
        w.do(commands.endorse(
            endorser.signer, person=owner, contribution=claims[Part.DOSSIER], grade=4,
            role=role, comment=f"C:{owner}", **w.opts(),
        ))  # fmt: skip
        w.do(commands.state_ambition(m.signer, person=owner, goal=f"G:{owner}", **w.opts()))
        bob = w["bob"]
        done = w.do(w.post(bob, department=DEPT)).statement.subject
        w.do(w.assign(bob, done, m))
        w.do(commands.complete_assignment(
            bob.signer, assignment=done, assignee=owner, grade=5, note=f"N:{owner}", **w.opts(),
        ))  # fmt: skip
        working = w.do(
            commands.post_assignment(
                bob.signer,
                assignment=f"00000000-0000-4000-8000-{len(self.assignment_of):012d}",
                organisation="minbzk",
                department=DEPT,
                title=f"W:{owner}",
                skills=["python"],
                hours_per_week=4,
                **w.opts(),
            )
        ).statement.subject
        w.do(w.assign(bob, working, m))
        self.assignment_of[owner] = working

    def set_visibility(self, owner: str, part: Part, visibility: Visibility) -> None:
        m = self.w[owner]
        self.w.do(
            commands.change_visibility(
                m.signer,
                person=owner,
                part=part.value,
                visibility=visibility.value,
                **self.w.opts(),
            )
        )

    def toggle_grant(self, owner: str, viewer: str, part: Part, until: str | None) -> None:
        """Grant ``viewer`` the ``part`` (made ``on_request`` first), or revoke their grant."""
        w = self.w
        held = w.state.active_grants.get((owner, viewer, part.value))
        if held is not None:
            w.do(w.revoke_access(w[owner], held))
            return
        if visibility_of(w.state, owner, part) is not Visibility.ON_REQUEST:
            self.set_visibility(owner, part, Visibility.ON_REQUEST)
        w.do(w.grant_access(w[owner], w[viewer], part.value, until=until))


@pytest.fixture
def cast(database_url: str) -> Iterator[Cast]:
    with ledger_env(database_url, batch_size=500) as env:
        yield Cast(env)


def _dump(view: Portfolio) -> str:
    return json.dumps(view.as_json(), sort_keys=True)


_SETTINGS = st.fixed_dictionaries(
    {
        owner: st.fixed_dictionaries({p: st.sampled_from(list(Visibility)) for p in Part})
        for owner in OWNERS
    }
)


_GRANTS = st.lists(
    st.tuples(
        st.sampled_from(OWNERS),
        st.sampled_from(["operator", "alice", "bob", "carol", "dave"]),
        st.sampled_from(list(Part)),
        st.booleans(),  # until today (runs out tomorrow) or without end
    ).filter(lambda g: g[0] != g[1]),
    max_size=6,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chosen=_SETTINGS, grants=_GRANTS, tomorrow=st.booleans())
def test_a_viewer_gets_exactly_the_visible_parts(
    cast: Cast,
    chosen: dict[str, dict[Part, Visibility]],
    grants: list[tuple[str, str, Part, bool]],
    tomorrow: bool,
) -> None:
    today = today_utc()
    for owner, viewer, part, ends_today in grants:
        cast.toggle_grant(owner, viewer, part, today if ends_today else None)
    for owner, parts in chosen.items():
        for part, visibility in parts.items():
            cast.set_visibility(owner, part, visibility)
    cast.env.projector.catch_up()
    day = (dt.date.fromisoformat(today) + dt.timedelta(days=tomorrow)).isoformat()
    state = cast.w.state
    with cast.env.engine.connect() as conn:
        for owner in OWNERS:
            for viewer in VIEWERS:
                view = portfolio(conn, owner, viewer=viewer, today=day)
                allowed = {p for p in Part if may_read(state, owner, viewer, p, today=day)}
                assert set(view.parts) == allowed, (owner, viewer)
                assert set(view.hidden) == set(Part) - allowed
                asked = {
                    part
                    for part in set(Part) - allowed
                    if may_read_contribution(
                        state, state.contributions[cast.claims[(owner, part)]], viewer, today=day
                    )
                }
                assert {c.part for c in view.asked_to_review} == asked, (owner, viewer)
                text = _dump(view)
                for part, texts in markers(owner).items():
                    for marker in texts:
                        # the contribution's title and description: also when asked to review
                        content = marker.startswith(("T:", "D:")) and part in asked
                        shown = part in allowed or content
                        assert (marker in text) == shown, (owner, viewer, marker)


def test_defaults_protect_everything_but_the_owners_view(cast: Cast) -> None:
    assert DEFAULT_VISIBILITY == {
        Part.DOSSIER: Visibility.ON_REQUEST,
        Part.ANALYTICAL: Visibility.ON_REQUEST,
        Part.AMBITIONS: Visibility.PRIVATE,
        Part.FREE: Visibility.PRIVATE,
    }
    with cast.env.engine.connect() as conn:
        assert portfolio(conn, "alice", viewer=None).parts == {}
        # bob manages alice's department: that gives him no access of its own
        assert portfolio(conn, "alice", viewer="bob").parts == {}
        mine = portfolio(conn, "alice", viewer="alice")
    assert set(mine.parts) == set(Part)
    assert [c.personal.get("title") for c in mine.parts[Part.FREE].contributions] == [
        "T:alice:free"
    ]
    analytical = mine.parts[Part.ANALYTICAL]
    assert [e.endorsements[0].endorser for e in analytical.endorsed] == ["bob"]
    assert [(c.grade, c.note.get("outcome_note")) for c in analytical.completions] == [
        (5, "N:alice")
    ]
    assert {a.status for a in mine.parts[Part.FREE].assignments} == {"completed", "assigned"}
    assert mine.display_name.get("display_name") == "Alice van Dijk"


def test_a_reviewer_reads_the_contribution_asked_about_and_nothing_else(cast: Cast) -> None:
    """A review request lets each person it names read that contribution (no blind
    grading): the portfolio shows it them under ``asked_to_review``, with its content, while
    its part stays hidden; nobody it does not name sees more than before, and a withdrawn
    contribution is no longer shown."""
    w, env = cast.w, cast.env
    alice, carol, dave = w["alice"], w["carol"], w["dave"]
    for part in Part:
        cast.set_visibility("alice", part, Visibility.PRIVATE)
    asked = w.do(w.claim(alice, title="T:asked", description="D:asked")).statement.id
    w.do(w.claim(alice, title="T:not-asked"))
    w.asked(alice, asked, carol)
    w.asked(alice, asked, dave, "client")
    w.asked(alice, asked, carol)  # asked twice: still one contribution to review
    env.projector.catch_up()
    with env.engine.connect() as conn:
        for_carol = portfolio(conn, "alice", viewer="carol")
        for_dave = portfolio(conn, "alice", viewer="dave")
        others = {v: portfolio(conn, "alice", viewer=v) for v in (None, "bob", "stranger")}
        mine = portfolio(conn, "alice", viewer="alice")
    for view in (for_carol, for_dave):
        assert view.parts == {}
        assert set(view.hidden) == set(Part)
        [seen] = view.asked_to_review
        assert (seen.id, seen.part) == (asked, Part.DOSSIER)
        assert seen.personal.disclosed == {"title": "T:asked", "description": "D:asked"}
        assert "T:not-asked" not in _dump(view)
    # bob was asked about alice's first dossier contribution (the Cast), not this one
    assert [c.personal.get("title") for c in others["bob"].asked_to_review] == ["T:alice:dossier"]
    for viewer in (None, "stranger"):
        assert others[viewer].asked_to_review == ()
        assert "T:asked" not in _dump(others[viewer])
    assert mine.asked_to_review == ()  # the owner reads it in its part
    # an endorsement the reviewer gives shows the contribution where the analytical part is
    # visible to them, under the same rule
    w.do(w.endorse(carol, alice, asked, grade=4))
    cast.set_visibility("alice", Part.ANALYTICAL, Visibility.PUBLIC)
    w.do(w.withdraw(alice, cast.claims[("alice", Part.DOSSIER)]))
    env.projector.catch_up()
    with env.engine.connect() as conn:
        for_carol = portfolio(conn, "alice", viewer="carol")
        for_stranger = portfolio(conn, "alice", viewer="stranger")
        for_bob = portfolio(conn, "alice", viewer="bob")

    def endorsed(view: Portfolio) -> EndorsedContribution:
        [found] = [e for e in view.parts[Part.ANALYTICAL].endorsed if e.contribution_id == asked]
        return found

    shown = endorsed(for_carol).contribution
    assert shown is not None
    assert shown.personal.get("title") == "T:asked"
    blind = endorsed(for_stranger)
    assert blind.contribution is None
    assert "T:asked" not in _dump(for_stranger)
    assert for_bob.asked_to_review == ()  # what he was asked about is withdrawn


def test_withdrawn_and_revoked_disappear_from_the_view_not_from_the_ledger(cast: Cast) -> None:
    w, env = cast.w, cast.env
    alice, bob = w["alice"], w["bob"]
    kept = w.do(w.claim(alice, title="kept")).statement.id
    gone = w.do(w.claim(alice, title="gone")).statement.id
    w.asked(alice, kept, bob)
    w.asked(alice, gone, bob)
    endorsement = w.do(w.endorse(bob, alice, kept, grade=5)).statement.id
    w.do(w.endorse(bob, alice, gone, grade=3))
    w.do(w.withdraw(alice, gone))
    w.do(w.revoke_endorsement(bob, alice, endorsement))
    env.projector.catch_up()
    with env.engine.connect() as conn:
        mine = portfolio(conn, "alice", viewer="alice")
    ids = {c.id for part in mine.parts.values() for c in part.contributions}
    assert kept in ids
    assert gone not in ids
    endorsed = {e.contribution_id for e in mine.parts[Part.ANALYTICAL].endorsed}
    assert kept not in endorsed  # its only endorsement was revoked
    assert gone not in endorsed
    in_ledger = {e.entry.statement.id for e in env.service.read_stream("record/alice")}
    assert {kept, gone, endorsement} <= in_ledger


def test_a_withheld_disclosure_shows_as_withheld(cast: Cast) -> None:
    w, env = cast.w, cast.env
    signed = w.claim(w["carol"], title="secret title")
    bare = SignedStatement(
        signed.statement,
        signed.signature,
        tuple(d for d in signed.disclosures if d.field != "title"),
    )
    w.do(bare)
    env.projector.catch_up()
    with env.engine.connect() as conn:
        mine = portfolio(conn, "carol", viewer="carol")
    (found,) = [c for c in mine.parts[Part.DOSSIER].contributions if c.id == signed.statement.id]
    assert found.personal.withheld == ("title",)
    assert found.personal.get("title") is None
    assert found.personal.get("description") == "Drafted, reviewed with legal, published."


def test_unknown_person_is_not_found(cast: Cast) -> None:
    with cast.env.engine.connect() as conn, pytest.raises(NotFound):
        portfolio(conn, "nobody", viewer=None)


@given(visibility=st.sampled_from(list(Visibility)), is_owner=st.booleans(), granted=st.booleans())
def test_the_access_rule(visibility: Visibility, is_owner: bool, granted: bool) -> None:
    seen = permits(visibility, is_owner=is_owner, granted=granted)
    if is_owner:
        assert seen
    elif visibility is Visibility.PRIVATE:
        assert not seen
    elif visibility is Visibility.PUBLIC:
        assert seen
    else:
        assert seen == granted


def test_a_grant_opens_one_part_to_one_viewer_until_revoked(cast: Cast) -> None:
    w, env = cast.w, cast.env
    alice, bob = w["alice"], w["bob"]
    request = w.do(w.request_access(bob, alice, "dossier")).statement.id
    grant = w.do(w.grant_access(alice, bob, "dossier", request=request)).statement.id
    env.projector.catch_up()
    with env.engine.connect() as conn:
        assert set(portfolio(conn, "alice", viewer="bob").parts) == {Part.DOSSIER}
        assert portfolio(conn, "alice", viewer="carol").parts == {}
    w.do(w.revoke_access(alice, grant))
    env.projector.catch_up()
    with env.engine.connect() as conn:
        assert portfolio(conn, "alice", viewer="bob").parts == {}


def test_the_read_models_decide_every_combination_as_the_ledger_does(cast: Cast) -> None:
    """Every part × visibility × viewer relation (owner, anonymous, no grant, an active
    grant, a revoked one, one that ran out, a grant of another part only): the parts the
    read model's SQL shows are exactly those ``ledger.access.may_read`` allows."""
    w, today = cast.w, today_utc()
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    visibilities = list(Visibility)
    relation: dict[tuple[str, str | None, Part], str] = {}
    for i, owner in enumerate(OWNERS):
        others = [o for o in OWNERS if o != owner]
        ends_today, one_part = others
        for part in Part:
            cast.set_visibility(owner, part, Visibility.ON_REQUEST)  # grants need it
            w.do(w.grant_access(w[owner], w["bob"], part.value))
            revoked = w.do(w.grant_access(w[owner], w.operator, part.value)).statement.id
            w.do(w.revoke_access(w[owner], revoked))
            w.do(w.grant_access(w[owner], w[ends_today], part.value, until=today))
            relation |= {
                (owner, owner, part): "owner",
                (owner, None, part): "anonymous",
                (owner, "stranger", part): "no grant",
                (owner, "bob", part): "active grant",
                (owner, "operator", part): "revoked grant",
                (owner, ends_today, part): "grant that runs out today",
                (owner, one_part, part): "grant of another part",
            }
        w.do(w.grant_access(w[owner], w[one_part], Part.DOSSIER.value))
        relation[(owner, one_part, Part.DOSSIER)] = "active grant"
        for j, part in enumerate(Part):  # every part takes every visibility at some owner
            cast.set_visibility(owner, part, visibilities[(i + j) % len(visibilities)])
    cast.env.projector.catch_up()
    state, seen = w.state, set()
    with cast.env.engine.connect() as conn:
        for day in (today, tomorrow):
            for (owner, viewer, part), how in relation.items():
                allowed = may_read(state, owner, viewer, part, today=day)
                shown = part in portfolio(conn, owner, viewer=viewer, today=day).parts
                assert shown == allowed, (owner, viewer, part, how, day)
                if how == "grant that runs out today" and day == tomorrow:
                    how = "grant that ran out"
                seen.add((visibility_of(state, owner, part), how))
    relations = set(relation.values()) | {"grant that ran out"}
    assert seen == {(v, how) for v in Visibility for how in relations}
