"""Transparency commands: checkpoint, proof, export, verify, import, trust, imported, monitor.

A thin adapter over :mod:`ledger.transparency`, :mod:`ledger.bundle`, :mod:`ledger.imports`
and :mod:`ledger.monitor`. ``verify`` opens no database and uses no network.
Errors propagate to the root command, which maps them to exit codes
(:mod:`trackrecord.cli.errors`): a bundle or proof that does not verify, or a
rewritten history, exits with 3.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.markup import escape

from ledger.bundle import BundleReport, dump_bundle, load_bundle, verify_bundle
from ledger.canonical import b64encode
from ledger.catalogue import Part
from ledger.checkpoint import NoteVerifier, parse_verifier_key
from ledger.cosignature import verify_cosignatures
from ledger.errors import MalformedInput, NotFound
from ledger.imported_view import listed_imports
from ledger.imports import DEFAULT_TRUST_WEIGHT
from ledger.merkle import leaf_hash
from ledger.monitor import Monitor, Observation
from ledger.remote_monitor import watch
from ledger.transparency import SignedCheckpoint, TransparencyLog
from ledger.witnessing import Cosigners, WitnessEndpoint, httpx_post

from .context import CliContext, cli_context
from .errors import CliError
from .options import JsonFlag, file_option
from .output import print_json
from .witness_cmds import WitnessEndpoints, WitnessKeys, cosigner_keys, endpoints

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Checkpoints, proofs and portable records.")
proof_app = typer.Typer(no_args_is_help=True, help="RFC 9162 inclusion and consistency proofs.")
_PANEL = "Transparency and portable records"
app.add_typer(proof_app, name="proof", rich_help_panel=_PANEL)

Size = Annotated[
    int | None,
    typer.Option("--size", min=0, help="Checkpoint (tree) size; default: the latest checkpoint."),
]
Keys = Annotated[
    list[str] | None,
    typer.Option(
        "--key",
        metavar="VERIFIER_KEY",
        help="A trusted operator key name+hash+base64; repeat for more.",
    ),
]
BundleFile = Annotated[
    Path, typer.Argument(metavar="BUNDLE", dir_okay=False, help="A bundle file (JSON).")
]


def _log(cli: CliContext) -> TransparencyLog:
    return cli.ledger.log


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError("unreadable_file", f"cannot read {path}: {exc}") from exc


def _checkpoint_json(sc: SignedCheckpoint) -> dict[str, object]:
    return {
        "origin": sc.checkpoint.origin,
        "size": sc.size,
        "root": b64encode(sc.checkpoint.root_hash),
        "note": sc.note,
    }


# -- checkpoint ------------------------------------------------------------------------------
@app.command("checkpoint", rich_help_panel=_PANEL)
def checkpoint(
    ctx: typer.Context,
    issue: Annotated[
        bool, typer.Option("--issue", help="Sign a new checkpoint now, as the operator (--as).")
    ] = False,
    origin: Annotated[
        str | None,
        typer.Option("--origin", help="Name the log (first checkpoint only), e.g. example.org/x."),
    ] = None,
    size: Size = None,
    witness: WitnessEndpoints = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the latest (or --size) signed checkpoint, or issue one with --issue.

    With --witness VKEY@URL (repeatable) the issued checkpoint is cosigned by those
    witnesses that answer (c2sp.org/tlog-witness); those that do not are named.
    """
    cli = cli_context(ctx)
    log = _log(cli)
    if issue:
        if origin is not None:
            log.set_origin(origin)
        _, operator = cli.signer()
        cosigners = (
            Cosigners(endpoints(witness), log.consistency_proof, httpx_post(10.0))
            if witness
            else None
        )
        sc = log.issue_checkpoint(operator.identity, cosign=cosigners)
        for failure in cosigners.failures if cosigners else []:
            cli.err.print(f"[yellow]warning[/yellow]: {escape(failure)}", soft_wrap=True)
    elif witness:
        raise CliError("usage", "--witness goes with --issue")
    else:
        sc = log.checkpoint(size)
    if as_json:
        print_json({**_checkpoint_json(sc), "verifier_key": str(log.verifier())})
        return
    typer.echo(sc.note, nl=False)
    cli.err.print(f"verifier key: {escape(str(log.verifier()))}", soft_wrap=True)


def _size_or_latest(log: TransparencyLog, size: int | None) -> int:
    return log.checkpoint().size if size is None else size


def _entry_bytes(log: TransparencyLog, index: int) -> bytes:
    """The canonical bytes of the entry at log ``index`` (the Merkle leaf data)."""
    seen, position = 0, 0
    while True:
        records = log.store.read(after=position, limit=min(2000, index + 1 - seen))
        if not records:
            raise NotFound(f"no entry at log index {index}")
        if seen + len(records) > index:
            return records[index - seen].blob.partition(b"\n")[0]
        seen, position = seen + len(records), records[-1].position


@proof_app.command("inclusion")
def proof_inclusion(
    ctx: typer.Context,
    index: Annotated[int, typer.Argument(min=0, help="Log index of the entry (0-based).")],
    size: Size = None,
) -> None:
    """Print the inclusion proof of the entry at INDEX in the tree of --size (JSON)."""
    log = _log(cli_context(ctx))
    n = _size_or_latest(log, size)
    proof = log.inclusion_proof(index, n)
    entry_bytes = _entry_bytes(log, index)
    print_json(
        {
            "index": index,
            "size": n,
            "root": b64encode(log.root(n)),
            "leaf_hash": b64encode(leaf_hash(entry_bytes)),
            "proof": [b64encode(h) for h in proof],
        }
    )


@proof_app.command("consistency")
def proof_consistency(
    ctx: typer.Context,
    size1: Annotated[int, typer.Argument(min=0, help="The older tree size.")],
    size2: Annotated[
        int | None, typer.Argument(min=0, help="The newer tree size; default: latest checkpoint.")
    ] = None,
) -> None:
    """Print the consistency proof between tree sizes SIZE1 and SIZE2 (JSON)."""
    log = _log(cli_context(ctx))
    n = _size_or_latest(log, size2)
    proof = log.consistency_proof(size1, n)
    print_json(
        {
            "size1": size1,
            "size2": n,
            "root1": b64encode(log.root(size1)),
            "root2": b64encode(log.root(n)),
            "proof": [b64encode(h) for h in proof],
        }
    )


# -- portable records --------------------------------------------------------------------------
@app.command("export", rich_help_panel=_PANEL)
def export(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(metavar="PERSON", help="Whose record to export.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", dir_okay=False, help="Write here (default: standard output)."),
    ] = None,
    size: Size = None,
    for_viewer: Annotated[
        str | None,
        typer.Option(
            "--for",
            metavar="VIEWER",
            help="Disclose only what VIEWER may read: public parts and parts granted to them "
            "(every entry stays, so the bundle still verifies).",
        ),
    ] = None,
    withhold: Annotated[
        list[Part] | None,
        typer.Option(
            "--withhold",
            metavar="PART",
            help="Leave out the personal content of this portfolio part (repeatable), e.g. "
            "for someone outside this ledger; every entry stays, so the bundle still verifies.",
        ),
    ] = None,
) -> None:
    """Write PERSON's record as one self-contained bundle at a signed checkpoint.

    The bundle discloses PERSON's personal content as chosen: everything by default,
    what VIEWER may read with --for, minus the parts named with --withhold.
    """
    cli = cli_context(ctx)
    bundle = cli.ledger.export(person, size=size, withhold=withhold or (), viewer=for_viewer)
    text = dump_bundle(bundle)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    cli.err.print(f"[green]✓[/green] wrote {escape(str(out))}", soft_wrap=True)


def _print_report(cli: CliContext, report: BundleReport, *, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(report.as_json())
        return
    cli.console.print(f"[bold green]✓ {verb}[/bold green]", soft_wrap=True)
    cli.console.print(escape(report.summary()), soft_wrap=True, highlight=False)


@app.command("verify", rich_help_panel=_PANEL)
def verify(
    ctx: typer.Context,
    bundle: BundleFile,
    key: Keys = None,
    witness: WitnessKeys = None,
    quorum: Annotated[
        int | None,
        typer.Option(
            "--quorum",
            min=1,
            help="How many of the --witness keys must have cosigned the checkpoint "
            "(default: all of them).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Verify a bundle offline (no database, no network); exit 3 naming the first fault.

    With --key the checkpoint must be signed by one of those operator keys;
    without, the bundle's own key is used and the summary warns about it. With
    --witness (repeatable) the checkpoint must carry valid cosignatures
    (c2sp.org/tlog-cosignature) by --quorum of those witnesses.
    """
    cli = cli_context(ctx)
    trusted: list[NoteVerifier] | None = None
    if key:
        trusted = [parse_verifier_key(k) for k in key]
    witnesses = cosigner_keys(witness)
    if quorum is not None and quorum > len(witnesses):
        raise CliError("usage", f"--quorum {quorum} needs at least {quorum} --witness keys")
    text = _read(bundle)
    report = verify_bundle(text, trusted=trusted)
    cosigned = []
    if witnesses:
        note = str(load_bundle(text)["checkpoint"])
        need = len(witnesses) if quorum is None else quorum
        cosigned = verify_cosignatures(note, witnesses=witnesses, quorum=need)
    if as_json:
        print_json(
            {
                **report.as_json(),
                "cosigned_by": [
                    {"witness": str(c.key), "timestamp": c.timestamp} for c in cosigned
                ],
            }
        )
        return
    _print_report(cli, report, as_json=False, verb="bundle verified")
    for c in cosigned:
        when = datetime.fromtimestamp(c.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        cli.console.print(f"cosigned by witness {escape(c.key.name)} at {when}", soft_wrap=True)


@app.command("import", rich_help_panel=_PANEL)
def import_(ctx: typer.Context, bundle: BundleFile, as_json: JsonFlag = False) -> None:
    """Import a bundle from a trusted origin into this ledger; refuse it whole otherwise."""
    cli = cli_context(ctx)
    record = cli.ledger.import_bundle(_read(bundle))
    verb = "imported" if record.new else "already imported"
    _print_report(cli, record.report, as_json=as_json, verb=f"{verb} from {record.origin}")


@app.command("trust", rich_help_panel=_PANEL)
def trust(
    ctx: typer.Context,
    verifier_key: Annotated[
        str | None,
        typer.Argument(metavar="VERIFIER_KEY", help="Operator key of a ledger to trust."),
    ] = None,
    remove: Annotated[
        str | None,
        typer.Option("--remove", metavar="ORIGIN|KEY", help="Stop trusting an origin or key."),
    ] = None,
    weight: Annotated[
        float | None,
        typer.Option(
            "--weight",
            metavar="W",
            help="How much ratings imported from the key's origin count here, 0 to 1 "
            f"(default {DEFAULT_TRUST_WEIGHT}; docs/reputation.md).",
        ),
    ] = None,
) -> None:
    """Trust another ledger's operator key for imports; list the trusted keys."""
    cli = cli_context(ctx)
    registry = cli.ledger.imports
    if weight is not None and verifier_key is None:
        raise MalformedInput("--weight needs the VERIFIER_KEY of the origin it is for")
    if verifier_key is not None:
        if weight is not None:
            registry.set_weight(parse_verifier_key(verifier_key.strip()).name, weight)
        key = registry.trust(verifier_key)
        found = registry.origin_weights().get(key.name, DEFAULT_TRUST_WEIGHT)
        cli.err.print(
            f"[green]✓[/green] trusting {escape(key.name)} (weight {found:g})", soft_wrap=True
        )
    if remove is not None and registry.untrust(remove) == 0:
        raise NotFound(f"{remove!r} is not a trusted origin or key")
    for key in registry.trusted():
        typer.echo(str(key))


@app.command("imported", rich_help_panel=_PANEL)
def imported(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Argument(metavar="[PERSON]")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the imported records (of PERSON), each with its origin and checkpoint, as the
    acting person (--as) may: the list is for members of this ledger (without --as it is
    refused, as the API refuses a caller without a session), the verification report of
    each for the person it is of only."""
    cli = cli_context(ctx)
    viewer = cli.reader(cli.state())
    listed = listed_imports(cli.ledger.imports.imported_records(person), viewer)
    if as_json:
        print_json(
            [
                {
                    "origin": r.record.origin,
                    "person": r.record.person,
                    "checkpoint_size": r.record.checkpoint_size,
                    "entry_count": r.record.entry_count,
                    "imported_at": r.record.imported_at,
                    "report": None if r.report is None else r.report.as_json(),
                }
                for r in listed
            ]
        )
        return
    for r in (listed_import.record for listed_import in listed):
        cli.console.print(
            f"{escape(r.person)} from {escape(r.origin)} at checkpoint {r.checkpoint_size}: "
            f"{r.entry_count} entries, imported {escape(r.imported_at)}",
            soft_wrap=True,
        )


# -- monitor ---------------------------------------------------------------------------------------
@app.command("monitor", rich_help_panel=_PANEL)
def monitor(
    ctx: typer.Context,
    state: Annotated[Path, file_option("--state", "The monitor's memory (JSON file).")],
    url: Annotated[
        str | None,
        typer.Argument(
            metavar="[URL]",
            help="Watch the ledger served at URL over HTTP alone (no database).",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="VERIFIER_KEY", help="The operator key to hold it to."),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            metavar="VKEY@URL",
            help="With URL: a witness to compare with, by its key and monitoring prefix "
            "(a trackrecord witness: https://host/witness); repeatable.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the ledger's latest checkpoint extends the one seen last time; exit 3 if not.

    The operator key is --key, else the one remembered from the first run, else
    (first run only, database form) the ledger's own, with a warning. With URL the
    ledger is read over HTTP and compared with each --witness's cosigned checkpoint:
    a split view exits 3 with both signed checkpoints.
    """
    cli = cli_context(ctx)
    if url is not None:
        _monitor_url(cli, url, Monitor(state), key, endpoints(witness), as_json=as_json)
        return
    if witness:
        raise CliError("usage", "--witness goes with a URL")
    log = _log(cli)
    mon = Monitor(state)
    latest = log.checkpoint()
    seen = mon.last(latest.checkpoint.origin)
    if key is not None:
        verifier = parse_verifier_key(key)
    elif seen is not None:
        verifier = seen[2]
    else:
        verifier = log.verifier()
        cli.err.print(
            "[yellow]warning[/yellow]: no --key given: trusting the ledger's own operator key "
            f"{escape(str(verifier))} from now on",
            soft_wrap=True,
        )
    old_size = None if seen is None else seen[0].size
    proof = (
        []
        if old_size is None or old_size > latest.size
        else log.consistency_proof(old_size, latest.size)
    )
    _print_observation(cli, mon.observe(latest.note, proof, verifier), [], as_json=as_json)


def _print_observation(
    cli: CliContext, obs: Observation, witnesses: list[str], *, as_json: bool
) -> None:
    if as_json:
        print_json(
            {
                "origin": obs.origin,
                "status": obs.status,
                "size": obs.size,
                "previous_size": obs.previous_size,
                "root": b64encode(obs.root),
                "witnesses_agree": witnesses,
            }
        )
        return
    cli.console.print(
        f"[green]✓[/green] {escape(obs.origin)}: {obs.status} at size {obs.size}"
        + ("" if obs.previous_size is None else f" (was {obs.previous_size})"),
        soft_wrap=True,
    )
    for name in witnesses:
        cli.console.print(f"  consistent with witness {escape(name)}", soft_wrap=True)


def _http_get(url: str) -> tuple[int, str]:
    try:
        answer = httpx.get(url, timeout=10.0)
    except httpx.HTTPError:
        return 0, ""
    return answer.status_code, answer.text


def _monitor_url(
    cli: CliContext,
    url: str,
    mon: Monitor,
    key: str | None,
    witnesses: tuple[WitnessEndpoint, ...],
    *,
    as_json: bool,
) -> None:
    """``monitor URL``: the ledger over HTTP, compared with its witnesses (no database)."""
    if key is not None:
        verifier = parse_verifier_key(key)
    else:
        status, note = _http_get(url.rstrip("/") + "/checkpoints/latest")
        seen = mon.last(note.split("\n", 1)[0]) if status == 200 else None
        if seen is None:
            raise CliError("usage", "the first watch of a ledger over HTTP needs --key")
        verifier = seen[2]
    watched = watch(url, monitor=mon, verifier=verifier, witnesses=witnesses, get=_http_get)
    _print_observation(cli, watched.observation, watched.witnesses, as_json=as_json)
