"""``trackrecord migrate``: bring a ledger written by an earlier version up to this one.

Since issue 13 the rule state (what the rules consult: people, keys, stream heads, ...)
is kept in the store's ``rule_state`` table, and each entry's log index beside its store
position in ``entry_positions``, both written with the entries. A ledger written before
holds no such rows: this command builds them once from the log, in chunks (each its own
transaction, so an interrupted run resumes where it stopped). It also brings the
SQLAlchemy-managed tables (read models, sessions) to this version's Alembic revision
(:mod:`projections.schema`), and applies to the read models the entries they do not
follow yet (a ledger written by ``trackrecord demo`` or a bulk import, or upgraded by a
version that rebuilds a read model, holds read models far behind its log). Any command
that appends, and ``trackrecord serve`` at start, does the same on its own; this command
does it ahead of time, with progress, and says when there is nothing to do, so that the
service's next start reads a bounded amount.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from .context import CliContext, cli_context
from .options import JsonFlag
from .output import print_json

if TYPE_CHECKING:
    from projections.schema import SchemaChange

__all__ = ["migrate"]

_PROGRESS_EVERY = 20_000  # entries applied to the read models between two progress lines


def migrate(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Build the rule state and the entries' positions of a ledger written by an earlier
    version from its log (once)."""
    cli = cli_context(ctx)
    started = time.perf_counter()
    service = cli.service  # opening builds what an earlier version did not keep, with progress
    assert cli.upgraded is not None  # opening the ledger brought it up to date
    indexed, folded = cli.upgraded
    schema, caught_up, refreshed = _upgrade_read_models(cli, quiet=as_json)
    heads_tree = cli.ledger.log.store_missing_heads_tree()
    imports_stamp = cli.ledger.store.store_imports_stamp()
    seconds = round(time.perf_counter() - started, 3)
    entries = service.state.size
    if as_json:
        print_json(
            {
                "folded": folded,
                "indexed": indexed,
                "entries": entries,
                "schema_before": schema.before,
                "schema": schema.after,
                "read_models_applied": caught_up,
                "read_models_refreshed": refreshed,
                "heads_tree_stored": heads_tree,
                "imports_stamp_stored": imports_stamp,
                "seconds": seconds,
            }
        )
        return
    if folded or indexed:
        cli.console.print(
            f"✓ rule state built from {folded} entries, positions of {indexed} entries "
            f"indexed, in {seconds} s"
        )
    else:
        cli.console.print(f"✓ the rule state already follows all {entries} entries")
    if schema.changed and not schema.fresh:
        cli.console.print(
            f"✓ tables upgraded from schema revision {schema.before} to {schema.after}"
        )
    else:
        cli.console.print(f"✓ the tables are at schema revision {schema.after}")
    if caught_up:
        cli.console.print(f"✓ the read models caught up with {caught_up} entries")
    else:
        cli.console.print("✓ the read models follow the log")
    if refreshed:
        cli.console.print("✓ the reputation snapshots computed (the read models had none)")
    if heads_tree is not None:
        cli.console.print(
            f"✓ the heads tree of checkpoint {heads_tree} stored (an export at it reads "
            "only its proofs)"
        )
    if imports_stamp:
        cli.console.print("✓ the imported bundles counted once (a portfolio reads the count)")


def _upgrade_read_models(cli: CliContext, *, quiet: bool) -> tuple[SchemaChange, int, bool]:
    """Open the read models, which upgrades the SQLAlchemy-managed tables, apply the
    entries they do not follow yet, and compute the reputation snapshots if they were never
    computed (else a service's first start would, before its first answer: it scores every
    person); what the upgrade did, how many entries were applied and whether it refreshed."""
    from projections import open_projector
    from projections.db import create_read_model_engine

    engine = create_read_model_engine(cli.settings.database_url)
    try:
        projector = open_projector(cli.ledger.store, engine=engine)
        change = projector.schema_change
        assert change is not None  # open_projector ran its set-up
        shown = [0]

        def progress(applied: int, position: int, last: int) -> None:
            if applied - shown[0] >= _PROGRESS_EVERY or position >= last:
                shown[0] = applied
                cli.err.print(f"  read models: {applied} entries applied")

        done = projector.catch_up(progress=None if quiet else progress)
        refreshed = any(mark is None for mark in projector.refreshed().values())
        if refreshed:
            projector.refresh()
    finally:
        engine.dispose()
    return change, done.applied, refreshed
