"""Who may read what: the owners' visibility settings and access grants, applied to every
entry served.

The access rule is the ledger's (:func:`ledger.access.may_read`), decided on the
service's caught-up :class:`~ledger.state.LedgerState`: the owner reads every
part of their portfolio; a ``public`` part is read by everyone, also without a
session; an ``on_request`` part by the viewers holding an active grant of the
owner (``AccessGranted``, not revoked, not past its ``until`` day); a
``private`` part by the owner only. Parts never set have the privacy-preserving
defaults of :data:`ledger.access.DEFAULT_VISIBILITY`. Being a manager of the
owner's department gives no access of its own: the manager requests, the
owner grants.

Ranked candidates for an assignment (the API's and the manager page's) pass
through :func:`view_candidates`: without a session, only the candidates whose
directory entry is public are listed (:func:`ledger.access.shows_directory_entry`);
the ranking may use every part of a candidate's portfolio, but a viewer who may
not read all the parts a match is made of
(:data:`ledger.access.MATCHING_PARTS`) gets no score and only the evidence,
reputation and ambitions they may read (:meth:`projections.matching.queries.Match.as_seen`,
:func:`ledger.access.readable_evidence`) besides the candidate's place, ring and hours.

Every entry the service returns (``/entries``, ``/streams``, a person's record)
passes through :func:`view_entry`, which shows it whole or withholds it (then
only its position and hash are given, so hash chains and proofs still check):

* **record streams** — each entry belongs to a part as
  :func:`ledger.access.record_part` classifies it (a claimed contribution to
  its ``part``, its withdrawal to the same part, endorsements and their
  revocations to ``analytical``, ambitions to ``ambitions``), and a claimed
  contribution is also seen by the people a review request asks to review it
  (:func:`ledger.access.may_read_contribution`);
  ``VisibilityChanged`` entries are public (they say who may see what, nothing
  more). The access statements concern two people: an ``AccessRequested`` is
  seen by its viewer (the signer) and the owner; an ``AccessGranted``,
  ``AccessRefused`` or ``AccessRevoked`` by the owner and the viewer it
  concerns (the grant's viewer, the refused request's or the revoked grant's),
  a ``ReviewRequested`` by the owner and the reviewers it names;
  everyone else gets position and hash only — who asks whom for what is
  nobody else's business;
* **identity streams** — the person's directory entry (who they are, where
  they work, their roles and moves): seen by every member of the ledger (a
  session), and without a session only when the person made their dossier
  ``public`` (:func:`ledger.access.shows_directory_entry`; the operator's
  always). A person's keys stay public in ``/people/{person}``, as every
  signature needs them;
* **assignment streams** — postings and cancellations are public (it is a
  marketplace); an application is seen by its applicant and the assignment's
  owner; an assignment of a person is part of the assignee's ``free`` part, a
  completion (with its grade) of their ``analytical`` part; the assignment's
  owner and the person concerned always see them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cachetools import LRUCache

from ledger.access import (
    MATCHING_PARTS,
    hidden_parts,
    may_read,
    readable_evidence,
    shows_directory_entry,
)
from ledger.catalogue import Part
from ledger.entry_view import EntryView, contribution_parts
from ledger.entry_view import view_entry as ledger_view_entry
from ledger.service import StoredEntry
from ledger.state import LedgerState
from projections.matching.queries import Match

from .streams import StreamCache

__all__ = [
    "EntryView",
    "Profile",
    "Profiles",
    "Viewer",
    "may_see_part",
    "view_candidates",
    "view_entry",
]


@dataclass(frozen=True)
class Viewer:
    """Who is reading: a person with a session, or nobody (``person is None``), and on
    which day (UTC, ``YYYY-MM-DD``): the day an access grant's ``until`` is judged on."""

    today: str
    person: str | None = None


@dataclass(frozen=True)
class Profile:
    """The part of each contribution one person claimed (to place its withdrawal)."""

    contribution_parts: Mapping[str, Part] = field(default_factory=dict)

    @classmethod
    def fold(cls, entries: Iterable[StoredEntry]) -> Profile:
        """The profile after the record stream ``entries`` (in seq order)."""
        return cls(contribution_parts(entries))


class Profiles:
    """Profiles by person, folded again when the person's record stream grows. Thread-safe."""

    def __init__(self, streams: StreamCache, *, size: int = 2_000) -> None:
        self._streams = streams
        self._lock = threading.Lock()
        # person -> (record head seq, profile), least recently used dropped first
        self._cache: LRUCache[str, tuple[int, Profile]] = LRUCache(maxsize=max(size, 1))

    def of(self, person: str, state: LedgerState) -> Profile:
        """``person``'s profile as of ``state``."""
        head = state.heads.get(f"record/{person}")
        if head is None:
            return Profile()
        with self._lock:
            cached = self._cache.get(person)
        if cached is not None and cached[0] == head.seq:
            return cached[1]
        profile = Profile.fold(self._streams.entries(f"record/{person}", state))
        with self._lock:
            self._cache[person] = (head.seq, profile)
        return profile


def may_see_part(viewer: Viewer, owner: str, part: Part, state: LedgerState) -> bool:
    """Whether ``viewer`` may see ``part`` of ``owner``'s portfolio (the access rule)."""
    return may_read(state, owner, viewer.person, part, today=viewer.today)


def view_entry(
    stored: StoredEntry,
    viewer: Viewer,
    state: LedgerState,
    profiles: Profiles,
    parts: Mapping[str, Part] | None = None,
) -> EntryView:
    """Decide what ``viewer`` may see of ``stored`` (:func:`ledger.entry_view.view_entry`;
    see the module docstring). ``parts``: the part of each contribution of the entry's
    subject, when the caller holds their record already (else from ``profiles``)."""
    s = stored.entry.statement
    if parts is None:
        parts = {}
        if stored.entry.stream.startswith("record/"):
            parts = profiles.of(s.subject, state).contribution_parts
    return ledger_view_entry(stored, viewer.person, state, today=viewer.today, parts=parts)


def view_candidates(matches: Iterable[Match], viewer: Viewer, state: LedgerState) -> list[Match]:
    """What ``viewer`` may see of each ranked candidate (see the module docstring)."""
    who, today = viewer.person, viewer.today
    if who is None:  # without a session, only people whose directory entry is public
        matches = [m for m in matches if shows_directory_entry(state, m.person, None)]
    hidden = [(m, hidden_parts(state, m.person, who, MATCHING_PARTS, today=today)) for m in matches]
    # The evidence a viewer may read is counted only for candidates with hidden parts.
    partly = {m.person for m, parts in hidden if parts}
    evidence = readable_evidence(state, partly, who, today=today) if partly else {}
    return [m.as_seen(parts, evidence.get(m.person, {})) for m, parts in hidden]
