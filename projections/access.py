"""The read models' adapter of the access rule (:mod:`ledger.access`), over their own rows.

The rule and the defaults are the ledger's (:data:`ledger.access.DEFAULT_VISIBILITY`,
:func:`ledger.access.may_read`): the owner sees every part; ``public`` parts
everyone, anonymous viewers included; ``on_request`` parts the viewers holding
an active grant of the owner for that part (an ``AccessGranted`` not revoked and
not past its ``until`` day, UTC); ``private`` parts the owner only. The read
models keep the grants in a table of their own (``pf_grants``, ``mt_grants``:
a row per grant, inserted by ``AccessGranted``, deleted by ``AccessRevoked``),
so a query decides with the ledger's rule (:func:`ledger.access.permits`) and the
grants found for the viewer, without the ledger state; :func:`grant_active` is the
same day comparison as :func:`ledger.access.grant_is_active`, in SQL.
tests/test_projections_portfolio.py checks every combination of part, visibility,
viewer and grant against :func:`ledger.access.may_read`.

**Opt-in to matching** is the free part's visibility: a person is a candidate
for a searcher only if their free part (assignments worked on, interests,
links: the marketplace side of the portfolio) is visible to that searcher.
With the default ``private`` nobody is found until they choose; ``public``
makes them findable in every ring; ``on_request`` only by the searchers they
granted their free part to.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import ColumnElement, or_

from ledger.access import DEFAULT_VISIBILITY, OPT_IN_PART, permits, today_utc
from ledger.catalogue import Part, Visibility

__all__ = [
    "DEFAULT_VISIBILITY",
    "OPT_IN_PART",
    "grant_active",
    "today_utc",
    "visible_parts",
]


def visible_parts(
    settings: Mapping[Part, Visibility], *, is_owner: bool, granted: Collection[Part]
) -> frozenset[Part]:
    """The parts a viewer may see, given the owner's ``settings`` and the parts granted to them."""
    return frozenset(
        part
        for part, visibility in settings.items()
        if permits(visibility, is_owner=is_owner, granted=part in granted)
    )


def grant_active(until: ColumnElement[Any], today: str) -> ColumnElement[bool]:
    """SQL: a grant row whose ``until`` column is null or not before ``today`` gives access."""
    return or_(until.is_(None), until >= today)
