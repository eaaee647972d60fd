"""The transparency log over the ledger: checkpoints, proofs, stream heads.

Every entry, in the store's total order, is a leaf of the RFC 9162 tree kept by
the store (:mod:`ledger.store`). The operator key signs checkpoints in the C2SP
format (:mod:`ledger.checkpoint`) with two extension lines::

    trackrecord-heads <base64 root of the stream-heads index>   (ledger.heads)
    trackrecord-time <RFC 3339 UTC time of issue>
    trackrecord-previous <size of the latest checkpoint stored before it, 0 if none>

Checkpoints are stored by size; the first one issued for a size is kept. The
``trackrecord-previous`` line chains each checkpoint to the one before it, so the
audit finds a checkpoint deleted between stored ones (``checkpoint_missing``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from keys import Identity

from .canonical import b64encode, canonical_bytes
from .checkpoint import Checkpoint, NoteVerifier, sign_checkpoint, verify_checkpoint
from .entry import decode_record_parts
from .errors import IntegrityViolation, LedgerError, MalformedInput, NotFound, RuleViolation
from .heads import (
    HEADS_LINE,
    INVOLVED_PREFIX,
    HeadsIndex,
    heads_commitment,
    heads_root_of,
    index_leaves,
    involvement,
)
from .merkle import (
    consistency_proof,
    empty_root,
    inclusion_proof,
    proof_nodes,
    root,
    verify_consistency,
)
from .pacing import paced
from .replay import replay
from .service import LedgerService
from .state import Head, LedgerState
from .statement import utc_timestamp

__all__ = [
    "HEADS_LINE",
    "PREVIOUS_LINE",
    "TIME_LINE",
    "CheckpointLink",
    "SignedCheckpoint",
    "StoredHeadsTree",
    "TransparencyLog",
    "heads_root_of",
]

TIME_LINE = "trackrecord-time "
TREE_CHUNK = 500
"""Rows of a heads tree written (or deleted) per transaction: an append waits for one
such transaction at most (a few ms on SQLite, which has one write lock). At 2,000 rows a
signed write's p99 during an issue at 10^6 was 3.2x of 10^4 on SQLite; at 500, 1.8x
(bench/README.md, "The whole table after this stop")."""
PREVIOUS_LINE = "trackrecord-previous "
COVERING_TAIL = 2_000
"""Entries appended since the latest checkpoint that :meth:`TransparencyLog.size_covering`
reads one by one at most; beyond, it asks for the whole log (a checkpoint is overdue)."""


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with its signed note text."""

    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def signed_at(self) -> dt.datetime | None:
        """When it was signed (its ``trackrecord-time`` line), None if it has none."""
        for line in self.checkpoint.extensions:
            if line.startswith(TIME_LINE):
                text = line.removeprefix(TIME_LINE).replace("Z", "+00:00")
                return dt.datetime.fromisoformat(text)
        return None


@dataclass(frozen=True)
class StoredHeadsTree:
    """A heads tree stored for a checkpoint about to be issued (not published until the
    checkpoint is): the log ``size`` it is of, its ``width`` (leaves) and its committed
    ``root`` (the ``trackrecord-heads`` value, :func:`~ledger.heads.heads_commitment`)."""

    size: int
    width: int
    root: bytes


@dataclass(frozen=True)
class CheckpointLink:
    """A stored checkpoint and whether it extends the one stored before it.

    ``previous`` is that earlier checkpoint's size (None for the first one looked at);
    ``problem`` says why the consistency proof between the two failed (None if it held).
    """

    checkpoint: SignedCheckpoint
    previous: int | None
    problem: str | None = None

    @property
    def consistent(self) -> bool | None:
        """True if it extends ``previous``, False if not, None if there is no previous."""
        return None if self.previous is None else self.problem is None


class TransparencyLog:
    """Checkpoints and proofs of one ledger; wraps its :class:`LedgerService`."""

    def __init__(self, service: LedgerService) -> None:
        self.service = service
        self.store = service.store

    # -- identity of the log ------------------------------------------------------
    @property
    def origin(self) -> str:
        """The log's name (first line of every checkpoint, named by every statement for
        it); raise :class:`NotFound` while it has none."""
        origin = self.service.origin
        if origin is None:
            raise NotFound("this ledger has no origin yet: it is set by 'trackrecord init'")
        return origin

    def set_origin(self, origin: str) -> str:
        """Name the log unless it has a name already; return its name
        (:meth:`LedgerService.name_ledger`)."""
        return self.service.name_ledger(origin)

    def operator_key(self) -> bytes:
        """The operator's current public key (the key that signs checkpoints)."""
        self.service.catch_up()
        state = self.service.state
        person = state.people.get(state.operator or "")
        if person is None or person.current_key is None:
            raise NotFound("this ledger has no operator key")
        return state.keys[person.current_key].public_key

    def verifier(self) -> NoteVerifier:
        """The note verifier of the operator's current key under the log's origin."""
        return NoteVerifier.for_key(self.origin, self.operator_key())

    def verifier_at(self, size: int) -> NoteVerifier:
        """The verifier of the operator key that was current after the first ``size`` entries.

        That is the key that signed the checkpoint of ``size``: a checkpoint stays
        verifiable after the operator rotates their key.
        """
        self.service.catch_up()
        state = self.service.state
        operator = state.people.get(state.operator or "")
        current = None if operator is None else state.keys.get(operator.current_key or "")
        # the operator's current key first: one look-up, where the scan reads every key
        for key in itertools.chain([current] if current else [], state.keys.values()):
            if (
                key.person == state.operator
                and key.valid_from < size
                and (key.retired_at is None or key.retired_at >= size)
            ):
                return NoteVerifier.for_key(self.origin, key.public_key)
        raise NotFound(f"no operator key was current at tree size {size}")

    # -- tree -----------------------------------------------------------------------
    def size(self) -> int:
        self.service.catch_up()
        return self.service.state.size

    def root(self, size: int) -> bytes:
        self._check_size(size)
        return root(size, self.store.get_node)

    def _check_size(self, size: int) -> None:
        current = self.size()
        if not isinstance(size, int) or size < 0 or size > current:
            raise MalformedInput(
                f"tree size {size} is out of range: the log has {current} entries", code="bad_size"
            )

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size``."""
        self._check_size(size)
        if not 0 <= index < size:
            raise MalformedInput(
                f"leaf index {index} is not below tree size {size}", code="bad_index"
            )
        return inclusion_proof(index, size, self.store.get_node)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 consistency proof between tree sizes ``size1 <= size2``."""
        self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise MalformedInput(f"sizes {size1} and {size2} are not 0 <= m <= n", code="bad_size")
        return consistency_proof(size1, size2, self.store.get_node)

    # -- stream heads -----------------------------------------------------------------
    def heads_at(self, size: int) -> dict[str, Head]:
        """The leaves of the heads index after the first ``size`` entries (read from the
        store): the head of every stream and every ``involved/<person>`` leaf."""
        self._check_size(size)
        state = LedgerState(origin=self.service.origin)
        for _ in replay(self.store, state, size=size):
            pass
        return index_leaves(state)

    def _heads_at_once(self) -> tuple[int, HeadsIndex, dict[str, set[str]]]:
        """The log's size, its heads index and who is involved in which assignment stream,
        from one moment of the store: the stream heads, the assignments and the size are
        read by one statement (:meth:`~ledger.store.rule_state.StoredState.tables_at_once`),
        then hashed with no lock and no transaction held, so appends go on meanwhile."""
        self.service.catch_up()
        at_once = self.service.state.tables_at_once(("heads", "assignments"))
        involved = involvement(at_once)
        return at_once.size, HeadsIndex(index_leaves(at_once, involved)), involved

    def _store_heads_tree(
        self, size: int, heads: HeadsIndex, involved: dict[str, set[str]]
    ) -> None:
        """Store checkpoint ``size``'s heads tree for exports: each leaf (an ``involved/``
        leaf with its streams) and each node, :data:`TREE_CHUNK` rows a transaction, each
        followed by a pause as long (:mod:`ledger.pacing`), so an append waits for one chunk
        at most (SQLite has one write lock). Rows another
        process stored for the same size are kept: the tree of a size is always the same."""
        lists = {
            INVOLVED_PREFIX + p: canonical_bytes(sorted(s)).decode() for p, s in involved.items()
        }
        leaves = [
            (i, stream, heads.heads[stream].seq, heads.heads[stream].hash, lists.get(stream))
            for i, stream in enumerate(heads.streams)
        ]
        nodes = heads.nodes()
        put = self.store.put_heads_rows
        for at in range(0, len(leaves), TREE_CHUNK):
            paced(partial(put, size, leaves[at : at + TREE_CHUNK], []))
        for at in range(0, len(nodes), TREE_CHUNK):
            paced(partial(put, size, [], nodes[at : at + TREE_CHUNK]))

    def store_heads_tree(self) -> StoredHeadsTree:
        """Read the log's size and heads at one moment, hash the heads tree and store it
        (:meth:`_store_heads_tree`), unpublished: the costly part of issuing a checkpoint
        (4-5 s of CPU at 10^6 entries), which needs no key and runs in a short-lived child
        process in a service (:mod:`ledger.tree_child`)."""
        size, heads, involved = self._heads_at_once()
        self._store_heads_tree(size, heads, involved)
        return StoredHeadsTree(size, len(heads.streams), heads.root())

    def _stored_heads_root(self, tree: StoredHeadsTree) -> bytes:
        """The committed root of the heads tree stored for ``tree.size``, read from the
        store (its width and the few nodes its root reads); raise
        :class:`IntegrityViolation` (``heads_tree_mismatch``) unless it is ``tree.root``
        with all ``tree.width`` leaves: a checkpoint signs the tree an export reads."""
        size, width = tree.size, tree.width
        stored_width = self.store.heads_width(size) if width else 0
        nodes = self.store.heads_nodes(size, proof_nodes(width, [])) if width else {}
        try:
            tree_root = root(width, lambda level, i: nodes[(level, i)]) if width else empty_root()
        except KeyError:
            tree_root = b""
        if stored_width != width or heads_commitment(width, tree_root) != tree.root:
            raise IntegrityViolation(
                "heads_tree_mismatch",
                f"the heads tree stored for size {size} is not the one computed for it",
            )
        return tree.root

    def _drop_trees_below(self, size: int) -> None:
        """Delete the heads trees of checkpoints smaller than ``size`` (superseded: only the
        latest checkpoint's tree is kept), :data:`TREE_CHUNK` rows a transaction. An export
        reading one of them meanwhile finds it incomplete and builds the tree again."""
        while paced(lambda: self.store.drop_heads_rows(size, limit=TREE_CHUNK)):
            pass

    def store_missing_heads_tree(self) -> int | None:
        """Store the heads tree of the latest checkpoint if none is stored and the log has
        not grown past it; return its size, else None.

        A ledger upgraded from a version that did not keep the tree (its checkpoints
        predate ``heads_leaves``) would otherwise rebuild it from every stream's head in
        each export at that checkpoint, until the next checkpoint is issued. The tree is
        computed from the rule state as it is now, so only while the log is still the
        checkpoint's size, and stored only if its root is the one the checkpoint signed.
        An export at the checkpoint while the tree is being written finds it incomplete
        and builds the tree again (docs/store.md §6)."""
        found = self.store.get_checkpoint()
        if found is None:
            return None
        size, note = found
        if self.store.heads_leaves(size, indexes=[0]):
            return None  # stored already (or the tree is empty: nothing to read)
        if self.size() != size:
            return None  # grown past it: the heads now are not the checkpoint's
        now, heads, involved = self._heads_at_once()
        if now != size or not heads.streams:
            return None
        signed = verify_checkpoint(note, verifiers=[self.verifier_at(size)])
        if heads_root_of(signed) != heads.root():
            return None  # not the signed tree: leave the export its fallback
        self._store_heads_tree(size, heads, involved)
        self._drop_trees_below(size)
        return size

    # -- checkpoints --------------------------------------------------------------------
    def size_covering(self, person: str) -> int:
        """The size of the smallest checkpoint that holds every entry of ``person``'s
        streams as the log is now (their ``identity/`` and ``record/`` streams and the
        assignment streams they own or are assigned to): the latest checkpoint's size if
        nothing of theirs was appended since, else one more than the log index of the last
        entry of theirs. It reads the entries appended since the latest checkpoint (their
        stream names), at most :data:`COVERING_TAIL` of them: with more, the log's size.

        A bundle or credential needs a checkpoint of at least this size to hold everything
        of the person's up to now; an older checkpoint covers them as well as a new one."""
        found = self.store.get_checkpoint()
        latest = 0 if found is None else found[0]
        size = self.size()
        if size <= latest:
            return latest
        if size - latest > COVERING_TAIL:
            return size
        after = 0 if latest == 0 else self.store.position_of(latest - 1)
        if after is None:  # not indexed (a ledger not migrated yet): all of it
            return size
        own = {f"identity/{person}", f"record/{person}"}
        theirs: dict[str, bool] = {}
        needed, index = latest, latest
        while index < size:
            records = self.store.read_records(after=after, limit=size - index)
            if not records:
                break
            for record in records:
                stream = decode_record_parts(record.head, record.disclosures)[0].stream
                if stream not in theirs:
                    theirs[stream] = stream in own or self._involves(stream, person)
                if theirs[stream]:
                    needed = index + 1
                index += 1
            after = records[-1].position
        return needed

    def _involves(self, stream: str, person: str) -> bool:
        """Whether ``stream`` is an assignment stream ``person`` owns or is assigned to."""
        if not stream.startswith("assignment/"):
            return False
        assignment = self.service.state.assignments.get(stream.removeprefix("assignment/"))
        return assignment is not None and person in {assignment.owner, *assignment.assignees}

    def issue_checkpoint(
        self,
        signer: Identity,
        *,
        cosign: Callable[[str, int], str] | None = None,
        tree: Callable[[], StoredHeadsTree] | None = None,
    ) -> SignedCheckpoint:
        """Sign and store a checkpoint of the log as it is now, as the operator; return the
        latest stored checkpoint: this one, or one of the same size or larger that another
        process stored meanwhile (then this one is not stored).

        Raises :class:`RuleViolation` (``not_operator``) if ``signer`` is not the
        operator's current key, and :class:`~ledger.rollback.RolledBack` if the store is
        behind the last checkpoint remembered as signed (signing it would fork the log).
        The checkpoint is remembered as signed (:meth:`LedgerService.remember_signed`)
        before it is stored, so none is ever published without being remembered.
        ``cosign(note, previous size)``, if given, returns the note with witnesses'
        cosignatures added (:mod:`ledger.witnessing`); the cosigned note is the one stored.

        ``tree()`` stores the heads tree of the log as it is now and says which
        (:meth:`store_heads_tree`, the default, in this process; a service runs it in a
        short-lived child process, :func:`ledger.tree_child.store_heads_tree_in_child`);
        the checkpoint is of that tree's size, and signs its root as read back from the
        store (:meth:`_stored_heads_root`). The key never leaves this process.

        Appends go on while it runs: the size and the heads are read by one statement
        (:meth:`_heads_at_once`), the tree is hashed outside any transaction and stored
        in chunks of short transactions, and only then is the checkpoint stored, which
        publishes the tree (an export never sees the checkpoint without its whole tree);
        the trees of smaller checkpoints are deleted after it, in chunks too.
        """
        with self.service.reading():  # the checks only: no append in between
            self.service.verify_not_rolled_back()
            if signer.public_key.raw != self.operator_key():
                raise RuleViolation(
                    "not_operator", "only the operator's current key signs checkpoints"
                )
            origin = self.origin
        stored_tree = (self.store_heads_tree if tree is None else tree)()
        latest = self.store.get_checkpoint()
        if latest is None or latest[0] < stored_tree.size:  # else another process was first
            try:
                latest = self._sign_and_publish(stored_tree, origin, signer, cosign)
            except IntegrityViolation:
                # the tree may have been deleted by another process that published a larger
                # checkpoint meanwhile: then that one is the latest; else the tree is wrong
                latest = self.store.get_checkpoint()
                if latest is None or latest[0] < stored_tree.size:
                    raise
        self._drop_trees_below(latest[0])
        stored_size, stored = latest
        cp = verify_checkpoint(stored, verifiers=[self.verifier_at(stored_size)])
        return SignedCheckpoint(cp, stored)

    def _sign_and_publish(
        self,
        tree: StoredHeadsTree,
        origin: str,
        signer: Identity,
        cosign: Callable[[str, int], str] | None,
    ) -> tuple[int, str]:
        """Sign the checkpoint of the stored ``tree`` (its root read back from the store),
        remember it as signed, have it cosigned and publish it; the latest checkpoint."""
        size = tree.size
        heads_root = self._stored_heads_root(tree)
        previous = max((s for s in self.store.checkpoint_sizes() if s < size), default=0)
        checkpoint = Checkpoint(
            origin=origin,
            size=size,
            root_hash=root(size, self.store.get_node),
            extensions=(
                HEADS_LINE + b64encode(heads_root),
                TIME_LINE + utc_timestamp(),
                PREVIOUS_LINE + str(previous),
            ),
        )
        note = sign_checkpoint(checkpoint, name=origin, signer=signer)
        self.service.remember_signed(note, self.verifier())
        if cosign is not None:
            note = cosign(note, previous)
        return self.store.publish_checkpoint(size, note)  # unless another is as large

    def checkpoint(self, size: int | None = None) -> SignedCheckpoint:
        """The stored checkpoint of ``size`` (latest if None); raise :class:`NotFound`."""
        found = self.store.get_checkpoint(size)
        if found is None:
            what = (
                "no checkpoint has been issued" if size is None else f"no checkpoint of size {size}"
            )
            raise NotFound(what)
        found_size, note = found
        cp = verify_checkpoint(note, verifiers=[self.verifier_at(found_size)], origin=self.origin)
        return SignedCheckpoint(cp, note)

    def checkpoint_sizes(self) -> list[int]:
        return self.store.checkpoint_sizes()

    def history(self, limit: int = 50) -> list[CheckpointLink]:
        """The latest ``limit`` stored checkpoints, newest first, each checked against the one
        before it with an RFC 9162 consistency proof from this log (a monitor's view)."""
        links: list[CheckpointLink] = []
        previous: Checkpoint | None = None
        for size in self.checkpoint_sizes()[-limit:]:
            signed = self.checkpoint(size)
            problem = None
            if previous is not None:
                try:
                    verify_consistency(
                        size1=previous.size,
                        size2=signed.size,
                        root1=previous.root_hash,
                        root2=signed.checkpoint.root_hash,
                        proof=self.consistency_proof(previous.size, signed.size),
                    )
                except LedgerError as exc:
                    problem = exc.message
            links.append(
                CheckpointLink(signed, None if previous is None else previous.size, problem)
            )
            previous = signed.checkpoint
        return links[::-1]
