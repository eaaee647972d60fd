"""Who may see which part of a portfolio: the defaults and the one access rule.

**Defaults** (until the employee signs a ``VisibilityChanged``): dossier
``on_request``, analytical ``on_request``, ambitions ``private``, free part
``private``. They follow data protection by default (GDPR/AVG art. 25(2)):
nothing about a person is shown to an indefinite number of people until the
person decides so. Publishing is one statement away.

**The rule**, for a part with visibility *v* and a viewer (a person id, or
``None`` for an anonymous viewer):

- the owner sees every part;
- ``public``: everyone sees it, anonymous viewers included;
- ``on_request``: visible to viewers who were granted access. Access grants are
  not in the event catalogue yet; until they are, the viewers granted access
  are the managers of the employee's *current* department (a ``RoleGranted``
  manager role for that department, not revoked) — the people who also may
  endorse as manager. :class:`AccessPolicy` can switch that off, leaving
  ``on_request`` parts to the owner alone;
- ``private``: the owner only.

**Opt-in to matching** is the free part's visibility: a person is a candidate
for a searcher only if their free part (assignments worked on, interests,
links: the marketplace side of the portfolio) is visible to that searcher.
With the default ``private`` nobody is found until they choose; ``public``
makes them findable in every ring; ``on_request`` only by managers of their
own department.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ledger.catalogue import Part, Visibility

__all__ = ["DEFAULT_VISIBILITY", "OPT_IN_PART", "AccessPolicy", "can_see", "visible_parts"]

DEFAULT_VISIBILITY: Mapping[Part, Visibility] = MappingProxyType(
    {
        Part.DOSSIER: Visibility.ON_REQUEST,
        Part.ANALYTICAL: Visibility.ON_REQUEST,
        Part.AMBITIONS: Visibility.PRIVATE,
        Part.FREE: Visibility.PRIVATE,
    }
)
OPT_IN_PART = Part.FREE


@dataclass(frozen=True)
class AccessPolicy:
    """Settings of the access rule: whether department managers see ``on_request`` parts."""

    managers_see_on_request: bool = True


def can_see(
    visibility: Visibility,
    *,
    is_owner: bool,
    is_department_manager: bool,
    policy: AccessPolicy = AccessPolicy(),
) -> bool:
    """Whether a viewer may see a part with ``visibility`` (see the module docstring)."""
    if is_owner or visibility is Visibility.PUBLIC:
        return True
    if visibility is Visibility.ON_REQUEST:
        return is_department_manager and policy.managers_see_on_request
    return False


def visible_parts(
    settings: Mapping[Part, Visibility],
    *,
    is_owner: bool,
    is_department_manager: bool,
    policy: AccessPolicy = AccessPolicy(),
) -> frozenset[Part]:
    """The parts a viewer may see, given the owner's visibility ``settings``."""
    return frozenset(
        part
        for part, visibility in settings.items()
        if can_see(
            visibility,
            is_owner=is_owner,
            is_department_manager=is_department_manager,
            policy=policy,
        )
    )
