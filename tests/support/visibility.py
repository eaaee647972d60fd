"""A scene for visibility checks through the API, shared by tests/test_api_visibility.py and
bench/reliability (the leak attack): alice's record with something in every portfolio part,
sessions of five viewers, and the checks that a candidate list and the manager page show a
viewer nothing the access rule hides.

alice claims a contribution with ``python`` in each part, bob (her manager) and carol
(a colleague) endorse the dossier one, she states the ambition to develop
``leadership``, completes one of bob's assignments (python, sql) and could take another
(python, sql, leadership); bob asked for and holds grants of her dossier, analytical and
free parts (made ``on_request``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.catalogue import Part, Visibility
from tests.factories import World

from .api_server import Live, issue_checkpoint, login, make_cast

__all__ = [
    "GRANTED",
    "PARTS",
    "Scene",
    "candidate_leaks",
    "manager_page_leaks",
    "visible_parts",
]

PARTS = [p.value for p in Part]
GRANTED = frozenset({"dossier", "analytical", "free"})  # to bob, at set-up, with no end


def visible_parts(chosen: dict[str, str], viewer: str) -> set[str]:
    """The parts ``viewer`` may read under alice's ``chosen`` settings: the access rule of
    :func:`ledger.access.may_read`, for this scene's grants."""

    def sees(part: str) -> bool:
        if viewer == "owner" or chosen[part] == Visibility.PUBLIC:
            return True
        on_request = chosen[part] == Visibility.ON_REQUEST
        return on_request and viewer == "manager" and part in GRANTED

    return {p for p in PARTS if sees(p)}


@dataclass
class Scene:
    """Alice's record with something in every part, and sessions of the viewers."""

    w: World
    owner: str
    tokens: dict[str, str | None]  # viewer -> bearer token (None: a stranger)
    ids: dict[str, str]  # viewer -> person id (not for the stranger)
    parts: dict[str, str | None]  # statement id -> portfolio part (None: always shown)
    open_assignment: str
    claims: dict[str, str]  # alice's ContributionClaimed statement ids -> their part
    # claim statement id -> the viewers a review request asks to review it (they read it)
    reviewers: dict[str, frozenset[str]]

    @classmethod
    def build(cls, live: Live, prefix: str) -> Scene:
        """Sign the scene's statements through the API of ``live`` (people ``<prefix>-*``)."""
        w = make_cast(live, prefix)
        alice, bob, carol = w["alice"], w["bob"], w["carol"]
        claims: dict[str, str] = {}
        for part in PARTS:
            claim = w.do(w.claim(alice, title=f"In {part}", skills=["python"], part=part))
            claims[claim.statement.id] = part
        parts: dict[str, str | None] = dict(claims)
        dossier = next(sid for sid, p in parts.items() if p == "dossier")
        # she asks bob and carol to review it: they may read that one claim from then on
        w.do(w.ask_review(alice, dossier, (bob, "manager"), (carol, "peer")))
        endorsed = w.do(w.endorse(bob, alice, dossier, grade=5, role="manager"))
        parts[endorsed.statement.id] = "analytical"
        endorsed = w.do(w.endorse(carol, alice, dossier, grade=3, role="peer"))
        parts[endorsed.statement.id] = "analytical"
        parts[w.do(w.ambition(alice)).statement.id] = "ambitions"
        done = w.do(w.post(bob)).statement.subject
        w.do(w.assign(bob, done, alice))
        w.do(w.complete(bob, done, alice, grade=4))
        # Her ambition (leadership) is one of the skills this one needs.
        needs = ["python", "sql", "leadership"]
        open_assignment = w.do(w.post(bob, skills=needs)).statement.subject
        w.do(w.visibility(alice, "free", "on_request"))
        for part in sorted(GRANTED):
            asked = w.do(w.request_access(bob, alice, part)).statement.id
            w.do(w.grant_access(alice, bob, part, request=asked))
        issue_checkpoint(live)
        tokens: dict[str, str | None] = {
            "stranger": None,
            "colleague": login(live, carol.identity),
            "manager": login(live, bob.identity),
            "elsewhere": login(live, w["dave"].identity),
            "owner": login(live, alice.identity),
        }
        ids = {
            "colleague": carol.id,
            "manager": bob.id,
            "elsewhere": w["dave"].id,
            "owner": alice.id,
        }
        reviewers = {dossier: frozenset({"manager", "colleague"})}
        return cls(w, alice.id, tokens, ids, parts, open_assignment, claims, reviewers)

    def set_visibility(self, chosen: dict[str, str]) -> None:
        """alice signs ``chosen`` (part -> visibility) for every part."""
        self.w.do_all([self.w.visibility(self.w["alice"], p, chosen[p]) for p in PARTS])

    def candidates(self, live: Live, token: str | None) -> list[dict[str, Any]]:
        """The candidates for the open assignment, as the viewer of ``token`` sees them."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        path = f"/assignments/{self.open_assignment}/candidates"
        found: list[dict[str, Any]] = live.client.get(path, headers=headers).json()
        return found


def candidate_leaks(candidate: dict[str, Any], visible: set[str]) -> list[str]:
    """What alice's entry in a candidate list shows that a viewer reading only the
    ``visible`` parts may not see (empty: nothing).

    Her evidence per needed skill: a python contribution per readable part, plus the
    completed assignment (python, sql) if the analytical part is readable; leadership only
    as an ambition, with the ambitions part. The score only when every part is readable.
    """
    problems = []
    hidden = sorted(set(PARTS) - visible)
    skills = {s["skill"]: s for s in candidate["skills"]}
    analytical = "analytical" in visible
    expected = {
        "python": (len(visible) + analytical, False),
        "sql": (int(analytical), False),
        "leadership": (0, "ambitions" in visible),
    }
    expected = {k: v for k, v in expected.items() if v != (0, False)}
    shown = {k: (s["evidence"], s["ambition"]) for k, s in skills.items()}
    if shown != expected:
        problems.append(f"skills (evidence, ambition) {shown}, readable {expected}")
    if candidate["withheld"] != hidden:
        problems.append(f"withheld {candidate['withheld']}, hidden {hidden}")
    reasons = " ".join(candidate["reasons"])
    if hidden and candidate["score"] is not None:
        problems.append(f"a score while {hidden} are hidden")
    if not hidden and candidate["score"] is None:
        problems.append("no score though every part is readable")
    if hidden and candidate["missing"]:
        problems.append(f"missing skills {candidate['missing']} while {hidden} are hidden")
    if not analytical and any(s["reputation"] is not None for s in skills.values()):
        problems.append("a reputation while the analytical part is hidden")
    if not analytical and "reputation " in reasons.replace("reputation not visible", ""):
        problems.append(f"reasons name a reputation: {reasons}")
    if "ambitions" not in visible and "wants to develop" in reasons:
        problems.append(f"reasons name an ambition: {reasons}")
    return problems


def manager_page_leaks(listed: set[str], asked: set[str]) -> list[str]:
    """What the manager page (contribution ids ``listed`` waiting for bob's endorsement)
    lists that nobody asked him to review as manager, or leaves out of what was asked and
    not answered yet (``asked``): readable or not, a contribution waits for him only when
    its owner asked him."""
    if listed != asked:
        return [f"listed {sorted(listed)}, asked {sorted(asked)}"]
    return []
