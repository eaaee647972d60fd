"""The ``demo`` command: a fresh ledger full of generated people, then its audit."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ledger.app import Ledger
from ledger.bundle import dump_bundle, load_bundle, verify_bundle
from ledger.state import LedgerState

from ..demo import DEMO_ORIGIN, MIN_PEOPLE, DemoSummary, populate
from ..settings import KdfLimits, Settings
from .audit_report import print_report, progress_bar, run_audit
from .context import CliContext, cli_context
from .errors import CliError, ExitCode
from .keyfiles import write_keystore

__all__ = ["DEMO_PASSPHRASE", "demo"]

DEMO_PASSPHRASE = "demo"
DEMO_MARKER = ".trackrecord-demo"


def _fresh_target(directory: Path, *, force: bool) -> tuple[Path, Path]:
    """Clear a previous demo out of ``directory``; refuse anything else unless ``force``."""
    database = directory / "trackrecord.db"
    keys_dir = directory / "keys"
    suffixes = ("", "-wal", "-shm", "-journal")
    leftovers = [p for s in suffixes if (p := database.with_name(database.name + s)).exists()]
    leftovers += sorted(keys_dir.glob("*.key")) if keys_dir.is_dir() else []
    if leftovers and not force and not (directory / DEMO_MARKER).exists():
        raise CliError(
            "not_a_demo",
            f"{directory} holds a ledger or keystores that the demo did not make "
            f"({leftovers[0].name}): pass --force to replace them, or choose another --dir",
        )
    for path in leftovers:
        path.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / DEMO_MARKER).write_text(
        "Made by 'trackrecord demo': the next demo run replaces this directory's ledger and keys.\n"
    )
    return database, keys_dir


def demo(
    ctx: typer.Context,
    people: Annotated[int, typer.Option(min=MIN_PEOPLE, max=100_000, help="How many people.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same ledger.")] = 7,
    directory: Annotated[
        Path, typer.Option("--dir", file_okay=False, help="Where to put the demo ledger.")
    ] = Path("demo"),
    force: Annotated[
        bool, typer.Option(help="Replace a ledger in --dir even if the demo did not make it.")
    ] = False,
) -> None:
    """Create a demo ledger in DIR/trackrecord.db, show what is in it, and audit it.

    Keystores of the featured people (operator, admin, manager, employee) go to
    DIR/keys with the passphrase "demo". A previous demo in DIR is replaced; any
    other ledger there only with --force.
    """
    cli = cli_context(ctx)
    database, keys_dir = _fresh_target(directory.resolve(), force=force)
    settings = dataclasses.replace(
        cli.settings,
        database_url="sqlite://" + database.as_posix(),
        keys_dir=keys_dir,
        acting=None,
        passphrase=DEMO_PASSPHRASE,
        kdf=KdfLimits.named("fast"),
    )
    with settings.open_ledger(create=True) as ledger:
        with progress_bar(cli) as progress:
            task = progress.add_task("generating", total=None)
            summary = populate(
                ledger.service,
                people=people,
                seed=seed,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        _write_featured_keystores(settings, summary)
        _write_tour_env(settings, summary, ledger.service.state, directory.resolve())
        _print_summary(cli, settings, summary)
        report = run_audit(cli, ledger.store, workers=2)
        print_report(cli, report)
        if report.ok:
            _checkpoint_and_export(cli, ledger, summary, directory.resolve())
    if not report.ok:
        raise typer.Exit(ExitCode.INTEGRITY)


def _checkpoint_and_export(
    cli: CliContext, ledger: Ledger, summary: DemoSummary, directory: Path
) -> None:
    """Sign a checkpoint as the operator, export the featured employee's record and
    verify it the way a stranger would: from the file alone."""
    log = ledger.log
    log.set_origin(DEMO_ORIGIN)
    operator = summary.identities[summary.featured["operator"]]
    signed = log.issue_checkpoint(operator)
    cli.console.print(
        f"Checkpoint signed by the operator (C2SP signed note):\n{escape(signed.note)}"
    )
    employee = summary.featured.get("employee")
    if employee is None:
        return
    path = directory / f"{employee}.bundle.json"
    path.write_text(dump_bundle(ledger.export(employee)), encoding="utf-8")
    verified = verify_bundle(load_bundle(path.read_bytes()), trusted=[log.verifier()])
    cli.console.print(f"Exported and verified offline: {escape(str(path))}")
    cli.console.print(escape(verified.summary()), soft_wrap=True)


def _write_tour_env(
    settings: Settings, summary: DemoSummary, state: LedgerState, directory: Path
) -> None:
    """Write DIR/tour.env: the shell settings the README's tour starts from."""
    manager = state.people[summary.featured["manager"]]
    lines = [
        f"export TRACKRECORD_DATABASE_URL={shlex.quote(settings.database_url)}",
        f"export TRACKRECORD_KEYS={shlex.quote(str(settings.keys_dir))}",
        f"export TRACKRECORD_PASSPHRASE={DEMO_PASSPHRASE}",
        *(
            f"export {role.upper()}={shlex.quote(person)}"
            for role, person in sorted(summary.featured.items())
        ),
        f"export MANAGER_ORGANISATION={shlex.quote(manager.organisation)}",
        f"export MANAGER_DEPARTMENT={shlex.quote(manager.department)}",
        "# json_get FIELD: read one field of what a --json command printed",
        "json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "
        '"$1"; }',
    ]
    (directory / "tour.env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_featured_keystores(settings: Settings, summary: DemoSummary) -> None:
    roles: dict[str, list[str]] = {}
    for role, person in summary.featured.items():
        roles.setdefault(person, []).append(role)
    for person, theirs in roles.items():
        write_keystore(
            settings,
            summary.identities[person],
            settings.keystore_path(person),
            label=f"{person} (demo {', '.join(theirs)})",
            passphrase=DEMO_PASSPHRASE,
        )


def _print_summary(cli: CliContext, settings: Settings, summary: DemoSummary) -> None:
    counts = Table(title="what the demo ledger holds", title_justify="left")
    counts.add_column("what")
    counts.add_column("how many", justify="right")
    for what, n in summary.counts.items():
        counts.add_row(escape(what), f"{n:,}")
    cli.console.print(counts)
    featured = Table(title="featured people (keystores written)", title_justify="left")
    featured.add_column("role")
    featured.add_column("person")
    featured.add_column("keystore")
    for role, person in summary.featured.items():
        featured.add_row(role, person, str(settings.keystore_path(person)))
    cli.console.print(featured)
    base = shlex.join(
        ["trackrecord", "--db", settings.database_url, "--keys", str(settings.keys_dir)]
    )
    cli.console.print(
        f"Keystore passphrase: [bold]{DEMO_PASSPHRASE}[/bold] "
        f"(export TRACKRECORD_PASSPHRASE={DEMO_PASSPHRASE} to skip the prompt). "
        "These keystores use fast, weak key derivation: for demonstration only.",
        soft_wrap=True,
    )
    employee = summary.featured.get("employee")
    if employee is not None:
        cli.console.print("Try:", soft_wrap=True)
        cli.console.print(f"  {escape(base)} show {employee}", soft_wrap=True)
        cli.console.print(f"  {escape(base)} keys show {employee}", soft_wrap=True)
        cli.console.print(f"  {escape(base)} audit", soft_wrap=True)
        tour = settings.keys_dir.parent / "tour.env"
        cli.console.print(
            f"The README's tour per role starts with: source {escape(str(tour))}", soft_wrap=True
        )
