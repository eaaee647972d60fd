"""How the command-line tool shows entries and results: rich tables or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.markup import escape

from keys import key_id_for
from ledger.canonical import b64decode
from ledger.service import AppendResult, StoredEntry
from ledger.state import LedgerState

from .context import CliContext

if TYPE_CHECKING:
    from rich.table import Table

# Rich's tables are imported by the commands that print one (entries_table): an append
# prints two lines (the audit's progress bar and report: .audit_report).

__all__ = [
    "HASH_PREFIX",
    "ID_PREFIX",
    "WITHHELD",
    "author_person",
    "describe",
    "entries_table",
    "entry_json",
    "print_appended",
    "print_json",
    "titles_of",
    "withheld_json",
]

HASH_PREFIX = 12
ID_PREFIX = 8
WITHHELD = "‹withheld›"


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on standard output."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def author_person(state: LedgerState, key_id: str) -> str:
    """The person a key id belongs to, or the key id itself if unknown."""
    record = state.keys.get(key_id)
    return record.person if record is not None else key_id


def entry_json(
    stored: StoredEntry, state: LedgerState, *, position: int | None = None
) -> dict[str, Any]:
    """An entry as JSON: the entry, its hash, the author's person id and the disclosures."""
    out: dict[str, Any] = {} if position is None else {"position": position}
    out.update(
        entry=stored.entry.as_json(),
        entry_hash=stored.entry.hash,
        author_person=author_person(state, stored.entry.statement.author),
        disclosures=[d.as_json() for d in stored.disclosures],
    )
    return out


def _key_id(public_key_b64: Any) -> str:
    return key_id_for(b64decode(str(public_key_b64), length=32, what="public_key"))


def describe(stored: StoredEntry, titles: Mapping[str, str]) -> str:
    """A one-line human description of an entry, from its body and disclosures.

    ``titles`` maps statement ids of contributions and assignments to their
    titles, to name what an endorsement or withdrawal refers to.
    """
    s = stored.entry.statement
    b, d = s.body, stored.disclosed()

    def ref(statement_id: Any) -> str:
        sid = str(statement_id)
        return f"“{titles[sid]}”" if sid in titles else sid[:ID_PREFIX]

    def skills() -> str:
        return ", ".join(str(x) for x in b.get("skills", []))

    texts: dict[str, Callable[[], str]] = {
        "IdentityRegistered": lambda: f"{d.get('display_name', WITHHELD)}, {b['department']}",
        "KeyRotated": lambda: f"new key {_key_id(b['public_key'])}",
        "KeyRevoked": lambda: f"{b['key_id']} ({b['reason']})",
        "RoleGranted": lambda: f"{b['role']} of {b['scope']}",
        "RoleRevoked": lambda: f"{b['role']} of {b['scope']}",
        "EmployeeTransferred": lambda: f"to {b['department']}",
        "TransferConsented": lambda: f"consents to moving to {b['department']}",
        "EmployeeLeft": lambda: f"left for the ledger {b['destination']}",
        "ContributionClaimed": lambda: f"{d.get('title', WITHHELD)} [{skills()}]",
        "ContributionWithdrawn": lambda: f"withdraws {ref(b['contribution'])}",
        "EndorsementGiven": lambda: (
            f"{b['role']} on {ref(b['contribution'])}"
            + (f": {d['comment']}" if "comment" in d else "")
        ),
        "EndorsementRevoked": lambda: f"revokes endorsement {ref(b['endorsement'])}",
        "AmbitionStated": lambda: f"{d.get('goal', WITHHELD)} [{skills()}]",
        "VisibilityChanged": lambda: f"{b['part']} → {b['visibility']}",
        "AccessRequested": lambda: (
            f"asks to read {b['part']}" + (f": {d['message']}" if "message" in d else "")
        ),
        "AccessGranted": lambda: (
            f"{b['part']} to {b['viewer']}" + (f" until {b['until']}" if b.get("until") else "")
        ),
        "AccessRefused": lambda: f"refuses request {ref(b['request'])}",
        "AccessRevoked": lambda: f"revokes grant {ref(b['grant'])}",
        "AssignmentPosted": lambda: (
            f"{d.get('title', WITHHELD)} [{skills()}], "
            f"{b['hours_per_week']} h/week, {b['department']}, ring {b['ring']}"
        ),
        "AssignmentApplied": lambda: f"{b['hours_per_week']} h/week",
        "AssignmentAssigned": lambda: f"assigns {b['assignee']}",
        "AssignmentCompleted": lambda: f"{b['assignee']}: {b['outcome']}",
        "AssignmentCancelled": lambda: d.get("reason", ""),
    }
    text = texts.get(s.type)
    return "" if text is None else text()


def titles_of(entries: Iterable[StoredEntry]) -> dict[str, str]:
    """Statement id -> disclosed title, for the contributions and assignments in ``entries``."""
    out: dict[str, str] = {}
    for stored in entries:
        title = stored.disclosed().get("title")
        if title is not None:
            out[stored.entry.statement.id] = title
    return out


def withheld_json(
    stored: StoredEntry, reason: str | None, *, position: int | None = None
) -> dict[str, Any]:
    """An entry the reader may not see, as JSON: where it is and its hash, and why."""
    out: dict[str, Any] = {} if position is None else {"position": position}
    e = stored.entry
    out.update(stream=e.stream, seq=e.seq, entry_hash=e.hash, withheld=reason)
    return out


def entries_table(
    title: str,
    entries: Sequence[StoredEntry],
    state: LedgerState,
    *,
    titles: Mapping[str, str] | None = None,
    withheld: Mapping[str, str | None] | None = None,
) -> Table:
    """A table of ``entries``: seq, type, author, details (a grade first), statement id,
    hash; it fits 80 columns without cutting an id or hash. An entry whose hash is in
    ``withheld`` (hash -> why) shows only its seq and hash."""
    hidden = withheld or {}
    from rich.table import Table

    known = dict(titles or {}) | titles_of(e for e in entries if e.entry.hash not in hidden)
    table = Table(
        title=escape(title),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("seq", justify="right")
    table.add_column("type", no_wrap=True)
    table.add_column("author", overflow="fold")
    table.add_column("details", min_width=14, ratio=1, overflow="fold")
    table.add_column("id", no_wrap=True)
    table.add_column("entry hash", no_wrap=True)
    for stored in entries:
        e = stored.entry
        if e.hash in hidden:
            why = escape(hidden[e.hash] or "")
            table.add_row(str(e.seq), WITHHELD, "", why, "", e.hash[:HASH_PREFIX])
            continue
        grade = e.statement.body.get("grade")
        details = describe(stored, known)
        table.add_row(
            str(e.seq),
            e.statement.type,
            escape(author_person(state, e.statement.author)),
            escape(details if grade is None else f"grade {grade}: {details}"),
            e.statement.id[:ID_PREFIX],
            e.hash[:HASH_PREFIX],
        )
    return table


def print_appended(
    cli: CliContext,
    result: AppendResult,
    *,
    as_json: bool,
    ids: Mapping[str, str] | None = None,
) -> None:
    """Report an accepted statement: where it landed and the ids the user needs next."""
    e = result.entry
    extra = dict(ids or {})
    if as_json:
        print_json(
            {
                "type": e.statement.type,
                "id": e.statement.id,
                "stream": e.stream,
                "seq": e.seq,
                "log_index": result.log_index,
                "entry_hash": e.hash,
                **extra,
            }
        )
        return
    cli.console.print(
        f"[green]✓[/green] {e.statement.type} appended as {escape(e.stream)}#{e.seq} "
        f"(log index {result.log_index}, entry {e.hash[:HASH_PREFIX]})",
        soft_wrap=True,
    )
    for name, value in extra.items():
        cli.console.print(f"  {escape(name)}: [bold]{escape(value)}[/bold]", soft_wrap=True)
