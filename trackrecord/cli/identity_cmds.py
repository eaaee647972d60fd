"""Commands on identities: init, register, role grant|revoke, transfer, consent-transfer,
leave, erase, link."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keys import Identity, KeystoreError, load_keystore
from ledger import commands
from ledger.bundle import BundleError, load_bundle
from ledger.catalogue import ErasureBasis, Role
from ledger.link import last_key_in_bundle
from ledger.statement import Signer, check_origin
from ledger.store.base import redact

from ..settings import check_person
from .context import cli_context
from .errors import CliError, ExitCode
from .keyfiles import get_passphrase, load_identity, public_key_from, write_keystore
from .options import JsonFlag, confirm, organisation_of
from .output import print_appended

__all__ = ["register_commands"]

Department = Annotated[
    str, typer.Option("--department", metavar="ORG/DEPT", help="Department, e.g. minbzk/dgo.")
]
Organisation = Annotated[
    str | None,
    typer.Option(
        "--organisation", metavar="ORG", help="Organisation (default: the part before '/')."
    ),
]
DisplayName = Annotated[str, typer.Option("--name", help="Display name (a personal field).")]
Person = Annotated[str, typer.Argument(metavar="PERSON", help="Person id, e.g. alice.")]


def init(
    ctx: typer.Context,
    operator: Annotated[str, typer.Option("--operator", metavar="PERSON", help="Operator id.")],
    department: Department,
    name: DisplayName,
    organisation: Organisation = None,
    origin: Annotated[
        str | None,
        typer.Option(
            "--origin",
            help="The log's name, first line of every checkpoint "
            "(default: ORGANISATION.trackrecord/ledger).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a new ledger: generate the operator's key, write its keystore, append the genesis.

    The genesis entry is the operator's self-signed IdentityRegistered; the log is
    named by --origin. Refuses a store that already holds entries (exit code 2)
    and an existing keystore (4).
    """
    cli = cli_context(ctx)
    path = cli.settings.keystore_path(check_person(operator))
    identity = Identity.generate()
    log_name = check_origin(
        origin or f"{organisation_of(department, organisation)}.trackrecord/ledger"
    )
    genesis = commands.register_identity(
        Signer(identity, log_name),
        person=operator,
        public_key=identity.public_key.raw,
        organisation=organisation_of(department, organisation),
        department=department,
        display_name=name,
    )
    cli.create_ledger()
    size = cli.state().size
    if size:
        raise CliError(
            "already_initialised",
            f"the store at {redact(cli.settings.database_url)} already holds a ledger "
            f"({size} {'entry' if size == 1 else 'entries'}); init only creates a new one",
            exit_code=ExitCode.RULE,
        )
    if path.exists():
        raise KeystoreError(f"a keystore for {operator} already exists at {path}")
    log = cli.ledger.log
    write_keystore(cli.settings, identity, path, label=operator)
    try:
        result = cli.service.append(genesis)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    log.set_origin(log_name)
    print_appended(
        cli,
        result,
        as_json=as_json,
        ids={
            "operator": operator,
            "key_id": identity.key_id,
            "keystore": str(path),
            "origin": log.origin,
        },
    )


def register(
    ctx: typer.Context,
    person: Person,
    department: Department,
    name: DisplayName,
    organisation: Organisation = None,
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", metavar="B64", help="The person's public key (base64)."),
    ] = None,
    keystore: Annotated[
        Path | None,
        typer.Option(
            "--keystore",
            exists=True,
            dir_okay=False,
            help="Take the public key from this keystore file (it is not decrypted).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Admit PERSON with their public key (as an admin of the organisation).

    Typical flow: the employee runs 'trackrecord keys create PERSON' on their own
    machine and hands the printed public key to the admin.
    """
    cli = cli_context(ctx)
    raw = public_key_from(public_key, keystore)
    _, signer = cli.signer()
    signed = commands.register_identity(
        signer,
        person=check_person(person),
        public_key=raw,
        organisation=organisation_of(department, organisation),
        department=department,
        display_name=name,
    )
    print_appended(cli, cli.service.append(signed), as_json=as_json, ids={"person": person})


def _role(
    ctx: typer.Context, person: str, role: Role, scope: str, *, grant: bool, js: bool
) -> None:
    cli = cli_context(ctx)
    _, signer = cli.signer()
    build = commands.grant_role if grant else commands.revoke_role
    signed = build(signer, person=person, role=role.value, scope=scope)
    print_appended(cli, cli.service.append(signed), as_json=js)


RoleArg = Annotated[Role, typer.Argument(help="manager (of a department) or admin (of an org).")]
Scope = Annotated[str, typer.Argument(metavar="SCOPE", help="ORG/DEPT for manager, ORG for admin.")]


def role_grant(
    ctx: typer.Context, person: Person, role: RoleArg, scope: Scope, as_json: JsonFlag = False
) -> None:
    """Grant PERSON a role: manager of a department or admin of an organisation."""
    _role(ctx, person, role, scope, grant=True, js=as_json)


def role_revoke(
    ctx: typer.Context, person: Person, role: RoleArg, scope: Scope, as_json: JsonFlag = False
) -> None:
    """Take a role away from PERSON."""
    _role(ctx, person, role, scope, grant=False, js=as_json)


def transfer(
    ctx: typer.Context,
    person: Person,
    department: Department,
    organisation: Organisation = None,
    as_json: JsonFlag = False,
) -> None:
    """Record that PERSON moves to another department; their record goes with them."""
    cli = cli_context(ctx)
    _, signer = cli.signer()
    signed = commands.transfer_employee(
        signer,
        person=person,
        organisation=organisation_of(department, organisation),
        department=department,
    )
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def consent_transfer(
    ctx: typer.Context,
    department: Department,
    organisation: Organisation = None,
    as_json: JsonFlag = False,
) -> None:
    """Consent, as yourself, to moving to DEPARTMENT of another organisation.

    An admin's transfer to another organisation needs it and must name the same
    department; a later consent replaces this one.
    """
    cli = cli_context(ctx)
    person, signer = cli.signer()
    signed = commands.consent_to_transfer(
        signer,
        person=person,
        organisation=organisation_of(department, organisation),
        department=department,
    )
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def leave(
    ctx: typer.Context,
    destination: Annotated[
        str,
        typer.Argument(
            metavar="LEDGER", help="The ledger your record goes to: its origin (checkpoint name)."
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for confirmation (it cannot be undone).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Leave this ledger for LEDGER, as yourself: the last word of your record here.

    Your roles here end, and the ledger records nothing more by you or on your
    record but retractions (a key, contribution, endorsement or access grant
    revoked) and an erasure (docs/rules.md §4). Export your record first and
    link it on LEDGER (trackrecord link).
    """
    cli = cli_context(ctx)
    destination = check_origin(destination, field_name="LEDGER")
    confirm(
        yes,
        f"Leave this ledger for {destination}? Nothing more can be added to your record here.",
        without_terminal="leaving cannot be undone: confirm it on a terminal or pass --yes",
        cancelled="not left; nothing was written",
    )
    person, signer = cli.signer()
    signed = commands.leave_ledger(signer, person=person, destination=destination)
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def erase(
    ctx: typer.Context,
    person: Person,
    basis: Annotated[
        ErasureBasis,
        typer.Option(
            "--basis", help="Why: the person asked (request) or the retention period ended."
        ),
    ] = ErasureBasis.REQUEST,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for confirmation (it cannot be undone).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Erase PERSON's personal content for good (as an admin of their organisation).

    Appends a signed PersonErased entry, destroys PERSON's data key and purges the
    read models: their names, titles, descriptions and comments become unreadable
    everywhere, while every chain, proof and checkpoint still verifies and the
    facts others rely on (an endorsement, a completed assignment) stay countable.
    See docs/privacy.md §3.
    """
    cli = cli_context(ctx)
    confirm(
        yes,
        f"Erase every personal field of {person}? This cannot be undone.",
        without_terminal="an erasure cannot be undone: confirm it on a terminal or pass --yes",
        cancelled="erasure cancelled; nothing was written",
    )
    _, signer = cli.signer()
    signed = commands.erase_person(signer, person=person, basis=basis.value)
    result = cli.service.append(signed)  # and purges the read models (cli.purge_read_models)
    print_appended(cli, result, as_json=as_json)


def link(
    ctx: typer.Context,
    bundle: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, metavar="BUNDLE", help="Your record from another ledger."
        ),
    ],
    old_keystore: Annotated[
        Path | None,
        typer.Option(
            "--old-keystore",
            exists=True,
            dir_okay=False,
            help="The keystore of your last key on that ledger (it countersigns).",
        ),
    ] = None,
    admin: Annotated[
        str | None,
        typer.Option(
            "--countersigned-by",
            metavar="ADMIN",
            help="When that key is lost: an admin here countersigns with their keystore.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Bind your record on another ledger (BUNDLE) to you here, before importing it.

    Signed by your key here and countersigned by your last key on the other ledger
    (--old-keystore), or, when that key is lost, by an admin of your organisation here
    (--countersigned-by ADMIN; the link then shows as countersigned by them).
    """
    cli = cli_context(ctx)
    person, signer = cli.signer()
    try:
        doc = load_bundle(bundle.read_bytes())
    except BundleError as exc:
        raise CliError("bad_bundle", f"{bundle} is not a bundle: {exc.message}") from exc
    if doc.get("person") != person:
        raise CliError(
            "bad_arguments", f"{bundle} is the record of {doc.get('person')!r}, not of {person}"
        )
    last = last_key_in_bundle(doc, person)
    if last is None:
        raise CliError("bad_bundle", f"{bundle} holds no key of {person}")
    if (old_keystore is None) == (admin is None):
        raise CliError(
            "bad_arguments", "give exactly one of --old-keystore FILE and --countersigned-by ADMIN"
        )
    if old_keystore is not None:
        secret = get_passphrase(cli.settings, path=old_keystore, new=False)
        countersigner = load_keystore(old_keystore, secret)
    else:
        countersigner = load_identity(cli.settings, check_person(admin or ""))
    signed = commands.link_identity(
        signer, person=person, origin=str(doc["origin"]), public_key=last,
        countersigner=countersigner,
    )  # fmt: skip
    print_appended(cli, cli.service.append(signed), as_json=as_json)


def register_commands(app: typer.Typer, *, panel: str) -> None:
    """Add the identity commands to ``app``, listed under ``panel`` in the help."""
    app.command(rich_help_panel=panel)(init)
    app.command(rich_help_panel=panel)(register)
    app.command(rich_help_panel=panel)(transfer)
    app.command(rich_help_panel=panel)(consent_transfer)
    app.command(rich_help_panel=panel)(leave)
    app.command(rich_help_panel=panel)(erase)
    app.command(rich_help_panel=panel)(link)
    roles = typer.Typer(help="Grant or revoke roles (as an admin).", no_args_is_help=True)
    roles.command("grant")(role_grant)
    roles.command("revoke")(role_revoke)
    app.add_typer(roles, name="role", rich_help_panel=panel)
