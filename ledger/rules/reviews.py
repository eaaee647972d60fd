"""The rules of 360° reviews: review requests, and the evidence an endorsement needs.

An owner asks named people to review one contribution (``ReviewRequested``, on the
owner's record stream); the request lets them read that contribution
(:func:`ledger.access.may_read_contribution`). An endorsement (``EndorsementGiven``) may
answer a request (``body.request``), and whether or not it does, it is accepted only
with evidence the ledger can see (docs/rules.md §4, docs/reputation.md "Inputs"):

- the endorser can read what they grade (no blind grading);
- a ``manager`` holds the manager role for the subject's department;
- a ``peer`` shares the subject's department at that point of the log, or was assigned
  to an assignment the subject was assigned to as well;
- a ``client`` owns an assignment the subject completed, or was asked by the subject to
  review this contribution.

These evidence rules hold on a ledger whose genesis names rule set 2
(:data:`ledger.catalogue.RULES_VERSION`); a ledger begun before them keeps rule set 1.
"""

from __future__ import annotations

from ..access import may_read_contribution
from ..state import Contribution, Person, ReviewRequest
from .context import Ctx, own_contribution, require_live_person

__all__ = ["check_evidence", "fold_coworkers", "review_requested"]


def review_requested(ctx: Ctx) -> None:
    st, body = ctx.state, ctx.body
    owner = ctx.require_self("ask for a review")
    c = own_contribution(ctx, body.contribution)
    named: set[str] = set()
    for reviewer in body.reviewers:
        person = reviewer.person
        if person == owner.id:
            raise ctx.fail("self_review", f"{owner.id} cannot ask themselves for a review")
        if person in named:
            raise ctx.fail("duplicate_reviewer", f"{person} is named twice in one review request")
        named.add(person)
        require_live_person(ctx, person)
    pairs = frozenset((r.person, r.role.value) for r in body.reviewers)
    request = ReviewRequest(ctx.statement.id, owner.id, c.id, pairs)
    st.put(st.review_requests, request.id, request)
    for person in sorted(named):
        if (c.id, person) not in st.reviewers:
            st.put(st.reviewers, (c.id, person), request.id)


def _answered_request(ctx: Ctx, request_id: str, c: Contribution) -> None:
    """The endorsement answers review request ``request_id``: it must ask for this
    contribution, name the signer, and in the role the endorsement gives."""
    request = ctx.state.review_requests.get(request_id)
    if request is None or request.contribution != c.id:
        raise ctx.fail(
            "unknown_review_request",
            f"{c.owner} asked no review {request_id} of contribution {c.id}",
        )
    asked = request.role_of(ctx.me.id)
    if asked is None:
        raise ctx.fail(
            "not_addressed", f"review request {request_id} does not ask {ctx.me.id} for a review"
        )
    if asked != ctx.body.role.value:
        raise ctx.fail(
            "role_not_asked",
            f"review request {request_id} asks {ctx.me.id} to review as {asked}, "
            f"not as {ctx.body.role.value}",
        )


def check_evidence(ctx: Ctx, subject: Person, c: Contribution) -> None:
    """Raise unless the endorsement of ``c`` by the signer has the evidence its role needs
    and the signer can read ``c`` (the module docstring); the manager role is checked by
    the caller (``manager_role_required``)."""
    st, me, role = ctx.state, ctx.me, ctx.body.role.value
    if ctx.body.request is not None:
        _answered_request(ctx, ctx.body.request, c)
    if st.meta.get("rules", 1) < 2:
        # A ledger begun before these rules (its genesis names none) keeps the rules it
        # recorded its endorsements under, so that its log still audits (docs/rules.md §4.1).
        return
    if role == "peer" and not _peers(ctx, me, subject):
        raise ctx.fail(
            "no_peer_relation",
            f"{me.id} is not in {subject.id}'s department ({subject.department}) and "
            f"worked on no assignment with them: no evidence of a peer",
        )
    if (
        role == "client"
        and (me.id, subject.id) not in st.completed_for
        and (c.id, me.id) not in st.reviewers
    ):
        raise ctx.fail(
            "no_client_relation",
            f"{me.id} owns no assignment {subject.id} completed and was not asked by "
            f"{subject.id} to review this contribution: no evidence of a client",
        )
    if not may_read_contribution(st, c, me.id, today=ctx.today):
        raise ctx.fail(
            "contribution_unreadable",
            f"{me.id} may not read contribution {c.id} (its {c.part} part is not shown to "
            f"them and no review request names them) and cannot grade it unseen",
        )


def _peers(ctx: Ctx, me: Person, subject: Person) -> bool:
    if me.department == subject.department:
        return True
    return tuple(sorted((me.id, subject.id))) in ctx.state.coworkers


def fold_coworkers(ctx: Ctx, assignee: str, others: frozenset[str]) -> None:
    """Remember that ``assignee`` now works on the entry's assignment with ``others``."""
    st = ctx.state
    for other in sorted(others):
        pair = (assignee, other) if assignee < other else (other, assignee)
        if pair not in st.coworkers:
            st.put(st.coworkers, pair, ctx.statement.subject)
