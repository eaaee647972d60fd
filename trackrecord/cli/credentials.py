"""``trackrecord credentials``: a record as Verifiable Credentials, and checking them.

``export PERSON -o DIR`` is a thin adapter over
:func:`ledger.credentials.issue_credentials`: export the person's bundle at the
latest checkpoint, verify it with the operator's key, and write one signed Open
Badges 3.0 / VC 2.0 credential per file into DIR. Run as the ledger's operator
(``--as``), whose key signs the credentials; their status lists are named under
the public URL (``TRACKRECORD_PUBLIC_URL``).

``verify FILE...`` checks credentials with no database: each proof
(:func:`~ledger.credentials.verify_credential`) and, given the status lists
(``--status-list FILE``, or fetched with ``--fetch-status``), their status
(:func:`~ledger.credentials.verify_status`): a revoked one exits 3 with ``revoked``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape

from ledger.credentials import (
    CredentialError,
    did_key_for,
    issue_credentials,
    issuer_id,
    status_list_urls,
    verify_credential,
    verify_status,
    xsd_datetime,
)

from .context import cli_context
from .errors import CliError, ExitCode
from .keyfiles import load_identity
from .options import JsonFlag
from .output import print_json

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Verifiable Credentials and Open Badges 3.0.")


@app.command("export")
def export(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(metavar="PERSON", help="Whose record to export.")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", file_okay=False, help="Directory to write the credentials to."),
    ],
) -> None:
    """Write PERSON's endorsed contributions and completed assignments as signed credentials."""
    cli = cli_context(ctx)
    erased_at = cli.state().erased.get(person)
    if erased_at is not None:
        raise CliError(
            "erased",
            f"{person} was erased at log index {erased_at}: no credentials are issued "
            f"about an erased person",
            exit_code=ExitCode.RULE,
        )
    operator = load_identity(cli.settings, cli.acting())
    bundle = cli.ledger.export(person)
    created = xsd_datetime(dt.datetime.now(dt.UTC))
    issued = issue_credentials(
        bundle, operator=operator, created=created, public_url=cli.settings.public_url
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        for c in issued:
            (out / c.filename).write_text(c.dumps(), encoding="utf-8")
    except OSError as exc:
        raise CliError("unwritable_file", f"cannot write to {out}: {exc}") from exc
    did = did_key_for(operator.public_key.raw)
    cli.err.print(
        f"[green]✓[/green] wrote {len(issued)} credentials to {escape(str(out))}, "
        f"issuer {escape(did)}",
        soft_wrap=True,
    )


#: the largest status list document fetched (ours are about 1 KiB)
_MAX_STATUS_LIST = 1024 * 1024


def _json_file(path: Path, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError("unreadable_file", f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise CliError("bad_format", f"{path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise CliError("bad_format", f"{path} is not a {what} (a JSON object)")
    return doc


def _fetch(url: str) -> dict[str, Any]:
    """The status list credential at ``url``, fetched over HTTP(S)."""

    def failed(why: str) -> CredentialError:
        return CredentialError(
            "status_retrieval",
            f"cannot fetch the status list {url}: {why}",
            status_list_credential=url,
        )

    if not url.startswith(("https://", "http://")):
        raise failed("not an http(s) URL")
    try:
        answer = httpx.get(
            url, timeout=10.0, headers={"Accept": "application/vc, application/json"}
        )
    except httpx.HTTPError as exc:
        raise failed(type(exc).__name__) from exc
    if answer.status_code != 200:
        raise failed(f"HTTP {answer.status_code}")
    if len(answer.content) > _MAX_STATUS_LIST:
        raise failed("the answer is too large")
    try:
        doc = answer.json()
    except ValueError as exc:
        raise failed("the answer is not JSON") from exc
    if not isinstance(doc, dict):
        raise failed("the answer is not a JSON object")
    return doc


def _status_lists(files: list[Path]) -> dict[str, Mapping[str, Any]]:
    """The status list files by their ``id`` (the URL credentials name them by)."""
    lists: dict[str, Mapping[str, Any]] = {}
    for path in files:
        doc = _json_file(path, "status list credential")
        if not isinstance(doc.get("id"), str):
            raise CliError("bad_format", f"{path} has no id: it is not a status list credential")
        lists[doc["id"]] = doc
    return lists


@app.command("verify")
def verify(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(metavar="CREDENTIAL...", dir_okay=False, help="Credential files to check."),
    ],
    issuer: Annotated[
        str | None,
        typer.Option("--issuer", metavar="DID", help="The issuer they must have (a did:key)."),
    ] = None,
    status_list: Annotated[
        list[Path] | None,
        typer.Option(
            "--status-list",
            metavar="FILE",
            dir_okay=False,
            help="A status list credential to check their status against (repeatable).",
        ),
    ] = None,
    fetch_status: Annotated[
        bool,
        typer.Option(
            "--fetch-status", help="Fetch the status lists they name that no --status-list gives."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check credentials offline: proofs, and status given the status lists; exit 3 naming
    the first fault (``revoked`` for a revoked credential)."""
    cli = cli_context(ctx)
    lists = _status_lists(status_list or [])
    results: list[dict[str, str]] = []
    for path in files:
        doc = _json_file(path, "credential")
        try:
            verify_credential(doc, issuer=issuer)
            urls = status_list_urls(doc)
            if fetch_status:
                lists.update({url: _fetch(url) for url in urls if url not in lists})
            checked = bool(urls) and all(url in lists for url in urls)
            if checked:  # the time of the check: after the lists were fetched
                verify_status(doc, status_lists=lists, at=dt.datetime.now(dt.UTC))
        except CredentialError as exc:
            exc.details.setdefault("file", str(path))
            raise
        status = "valid" if checked else ("not_checked" if urls else "none")
        results.append(
            {
                "file": str(path),
                "id": str(doc.get("id")),
                "issuer": issuer_id(doc),
                "status": status,
            }
        )
    if as_json:
        print_json(results)
        return
    said = {
        "valid": "status valid (not revoked)",
        "not_checked": "status NOT checked: give --status-list FILE or --fetch-status",
        "none": "no credentialStatus",
    }
    for r in results:
        cli.console.print(
            f"[green]✓[/green] {escape(r['file'])}: proof verified, issuer {escape(r['issuer'])}; "
            + said[r["status"]],
            soft_wrap=True,
            highlight=False,
        )
