"""Make the worked example of docs/entry.md, computed twice and compared.

The example is the genesis entry of a ledger: the operator registers itself with a
key from a fixed seed and pre-commits to its next key, in the statement format of
today (version 2, naming its ledger) and, shorter, the same genesis in version 1 (as
ledgers recorded it before statements named their ledger). Every value is computed

1. from the byte rules of docs/entry.md alone (``hashlib``, ``nacl.bindings``, the
   reference RFC 8785 encoder ``rfc8785``), and
2. through the library (``ledger.commands``, ``LedgerService`` on a throwaway SQLite
   store, ``audit``; for version 1, which no ledger accepts any more, the library's
   parser, signature check, entry builder and the rules of a recorded entry),

and the script stops with an error unless both agree byte for byte. Ed25519 signatures
are deterministic (RFC 8032), so the output never changes.

Usage, from the repository root::

    .venv/bin/python docs/examples/make_entry_example.py            # print the Markdown
    .venv/bin/python docs/examples/make_entry_example.py --check docs/entry.md
    .venv/bin/python docs/examples/make_entry_example.py --write docs/entry.md

``--check`` exits 1 unless the file holds exactly the printed block between the
markers ``<!-- BEGIN make_entry_example -->`` and ``<!-- END make_entry_example -->``;
``--write`` replaces that block.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import nacl.bindings
import rfc8785
from _docblock import run

from keys import Identity
from ledger import commands
from ledger.audit import audit
from ledger.entry import GENESIS_PREV, make_entry
from ledger.rules import apply_entry
from ledger.service import LedgerService
from ledger.state import LedgerState
from ledger.statement import Signer, parse_statement
from ledger.store import open_store

__all__ = ["Example", "compute_by_hand", "compute_with_library", "main", "render"]

BEGIN = "<!-- BEGIN make_entry_example -->"
END = "<!-- END make_entry_example -->"

OPERATOR_SEED = bytes(range(32))  # 00 01 02 ... 1f
NEXT_SEED = bytes(range(32, 64))  # 20 21 22 ... 3f
SALT = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
STATEMENT_ID = "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f"
ISSUED_AT = "2026-01-05T09:30:00.000000Z"
RECORDED_AT = "2026-01-05T09:30:00.250000Z"
PERSON, ORGANISATION, DEPARTMENT = "operator", "minbzk", "minbzk/cio"
DISPLAY_NAME = "Ledger Operator"
LEDGER = "minbzk.trackrecord/ledger"  # the ledger's origin, as `trackrecord init` names it
STREAM_NAMESPACE = uuid.UUID("5f0c6e1e-6a64-4b86-9f0e-7472616b7265")

Example = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compute_by_hand(version: int = 2) -> Example:
    """Every value of the example from the rules of docs/entry.md, without the library."""
    public_key, _ = nacl.bindings.crypto_sign_seed_keypair(OPERATOR_SEED)
    next_public_key, _ = nacl.bindings.crypto_sign_seed_keypair(NEXT_SEED)
    _, secret_key = nacl.bindings.crypto_sign_seed_keypair(OPERATOR_SEED)
    key_id = "ed25519:" + _sha256_hex(b"trackrecord:key-id:v1\x00" + public_key)[:32]
    next_key_digest = _sha256_hex(b"trackrecord:next-key:v1\x00" + next_public_key)
    disclosure = [SALT.hex(), "display_name", DISPLAY_NAME]
    disclosure_digest = _sha256_hex(b"trackrecord:disclosure:v1\x00" + rfc8785.dumps(disclosure))
    statement: dict[str, Any] = {
        "type": "IdentityRegistered",
        "id": STATEMENT_ID,
        "subject": PERSON,
        "author": key_id,
        "issued_at": ISSUED_AT,
        "body": {
            "public_key": _b64(public_key),
            "organisation": ORGANISATION,
            "department": DEPARTMENT,
            "next_key_digest": next_key_digest,
            "commitments": {"display_name": disclosure_digest},
        },
    }
    if version == 2:
        statement["ledger"] = LEDGER
        statement["body"]["rules"] = 2  # the rule set a ledger begun now keeps (rules.md §4.1)
    statement_bytes = rfc8785.dumps(statement)
    message = b"trackrecord:v1:" + b"statement" + b"\x00" + statement_bytes
    signature = nacl.bindings.crypto_sign(message, secret_key)[:64]
    stream = "identity/" + PERSON
    entry: dict[str, Any] = {
        "stream": stream,
        "seq": 1,
        "prev": "0" * 64,
        "statement": statement,
        "signature": _b64(signature),
        "recorded_at": RECORDED_AT,
    }
    entry_bytes = rfc8785.dumps(entry)
    return {
        "seed": OPERATOR_SEED.hex(),
        "public_key_hex": public_key.hex(),
        "public_key_b64": _b64(public_key),
        "key_id": key_id,
        "next_seed": NEXT_SEED.hex(),
        "next_public_key_hex": next_public_key.hex(),
        "next_key_digest": next_key_digest,
        "disclosure_bytes": rfc8785.dumps([disclosure]),
        "disclosure_json": rfc8785.dumps(disclosure),
        "disclosure_digest": disclosure_digest,
        "statement_bytes": statement_bytes,
        "message_head": message[: len(message) - len(statement_bytes)],
        "message_len": len(message),
        "message_sha256": _sha256_hex(message),
        "signature_hex": signature.hex(),
        "signature_b64": _b64(signature),
        "stream": stream,
        "originator_id": str(uuid.uuid5(STREAM_NAMESPACE, stream)),
        "entry_bytes": entry_bytes,
        "entry_hash": _sha256_hex(entry_bytes),
        "leaf_hash": _sha256_hex(b"\x00" + entry_bytes),
        "record": entry_bytes + b"\n" + rfc8785.dumps([disclosure]),
    }


def compute_with_library(workdir: Path) -> Example:
    """The same values through the library: sign, append to a fresh store, read back."""
    operator = Identity(OPERATOR_SEED)
    nxt = Identity(NEXT_SEED)
    signed = commands.register_identity(
        Signer(operator, LEDGER),
        person=PERSON,
        public_key=operator.public_key.raw,
        organisation=ORGANISATION,
        department=DEPARTMENT,
        display_name=DISPLAY_NAME,
        next_key=nxt.public_key.raw,
        statement_id=STATEMENT_ID,
        issued_at=ISSUED_AT,
        salt_source=lambda n: SALT[:n],
    )
    store = open_store(f"sqlite://{(workdir / 'example.db').resolve().as_posix()}")
    try:
        service = LedgerService(store, clock=lambda: RECORDED_AT)
        result = service.append(signed)
        (record,) = store.read(after=0, limit=10)
        leaf = store.get_node(0, 0)
        report = audit(store)
    finally:
        store.close()
    if not report.ok:
        raise SystemExit(f"the audit of the example store failed: {report.as_json()}")
    (disclosure,) = signed.disclosures
    return {
        "key_id": operator.key_id,
        "public_key_b64": _b64(operator.public_key.raw),
        "next_key_digest": signed.statement.body["next_key_digest"],
        "disclosure_digest": disclosure.digest,
        "statement_bytes": signed.statement.canonical,
        "signature_b64": _b64(signed.signature),
        "stream": result.entry.stream,
        "originator_id": str(record.originator_id),
        "entry_bytes": result.entry.canonical,
        "entry_hash": result.entry.hash,
        "leaf_hash": leaf.hex(),
        "record": bytes(record.blob),
    }


def check_version_1(by_hand: Example) -> Example:
    """The version 1 values through the library: the statement parses to the same bytes,
    its signature verifies, the entry has the same bytes and hash, and the rules accept
    it as a recorded genesis."""
    statement = parse_statement(json.loads(by_hand["statement_bytes"]))
    signature = base64.b64decode(by_hand["signature_b64"])
    statement.verify_signature(public_key=Identity(OPERATOR_SEED).public_key.raw,
                               signature=signature)  # fmt: skip
    entry = make_entry(
        stream=statement.stream, seq=1, prev=GENESIS_PREV, statement=statement,
        signature=signature, recorded_at=RECORDED_AT,
    )  # fmt: skip
    state = LedgerState()
    apply_entry(state, entry, log_index=0)
    if statement.version != 1 or state.origin is not None:
        raise SystemExit("the version 1 statement was not read as version 1")
    return {
        "statement_bytes": statement.canonical,
        "entry_bytes": entry.canonical,
        "entry_hash": entry.hash,
    }


def _block(text: str) -> list[str]:
    return ["```", text, "```"]


def render(ex: Example, v1: Example) -> str:
    """The Markdown block that docs/entry.md embeds between the markers."""
    head = ex["message_head"].decode("ascii").replace("\x00", "\\x00")
    lines = [
        BEGIN,
        "<!-- Generated by docs/examples/make_entry_example.py; do not edit by hand. -->",
        "",
        "**Inputs.**",
        "",
        f"- operator seed (32 bytes, hex): `{ex['seed']}`",
        f"- next-key seed (hex): `{ex['next_seed']}`",
        f"- disclosure salt (hex): `{SALT.hex()}`",
        f"- statement id `{STATEMENT_ID}`, issued_at `{ISSUED_AT}`, recorded_at `{RECORDED_AT}`",
        f"- ledger (the origin the statement is addressed to) `{LEDGER}`",
        f"- person `{PERSON}`, organisation `{ORGANISATION}`, department `{DEPARTMENT}`, "
        f"display_name `{DISPLAY_NAME}`",
        "",
        "**Keys.**",
        "",
        f"- public key (hex): `{ex['public_key_hex']}`",
        f"- public key (base64): `{ex['public_key_b64']}`",
        f"- key id: `{ex['key_id']}`",
        f"- next public key (hex): `{ex['next_public_key_hex']}`",
        f"- next-key digest: `{ex['next_key_digest']}`",
        "",
        "**Disclosure** `JCS([salt, field, value])`, and its digest:",
        "",
        *_block(ex["disclosure_json"].decode("utf-8")),
        "",
        f"digest: `{ex['disclosure_digest']}`",
        "",
        f"**Statement**, canonical bytes ({len(ex['statement_bytes'])} bytes, "
        "no trailing newline):",
        "",
        *_block(ex["statement_bytes"].decode("utf-8")),
        "",
        f"**Signing message**: the ASCII bytes `{head}` followed by the statement bytes "
        f"above; {ex['message_len']} bytes, SHA-256 `{ex['message_sha256']}`.",
        "",
        "**Signature** (Ed25519, 64 bytes):",
        "",
        f"- hex: `{ex['signature_hex']}`",
        f"- base64: `{ex['signature_b64']}`",
        "",
        f"**Entry**, canonical bytes ({len(ex['entry_bytes'])} bytes):",
        "",
        *_block(ex["entry_bytes"].decode("utf-8")),
        "",
        f"- entry hash `SHA-256(JCS(entry))`: `{ex['entry_hash']}`",
        f"- Merkle leaf hash `SHA-256(0x00 || JCS(entry))`: `{ex['leaf_hash']}` "
        "(also the root of the one-entry log)",
        f"- stream `{ex['stream']}`, event-store originator id `{ex['originator_id']}`",
        "",
        f"**Stored record** `JCS(entry) || 0x0A || JCS(disclosures)`: the entry bytes, "
        f"one byte `0x0A`, then (SHA-256 of the whole record "
        f"`{_sha256_hex(ex['record'])}`, {len(ex['record'])} bytes):",
        "",
        *_block(ex["disclosure_bytes"].decode("utf-8")),
        "",
        "**The same genesis in format version 1** (no `ledger` member; as recorded before "
        "statements named their ledger): statement, canonical bytes "
        f"({len(v1['statement_bytes'])} bytes):",
        "",
        *_block(v1["statement_bytes"].decode("utf-8")),
        "",
        f"- signature (base64): `{v1['signature_b64']}`",
        f"- entry, canonical bytes ({len(v1['entry_bytes'])} bytes), hash `{v1['entry_hash']}`:",
        "",
        *_block(v1["entry_bytes"].decode("utf-8")),
        END,
    ]
    return "\n".join(lines)


def _compare(by_hand: Example, library: Example) -> None:
    for key, value in library.items():
        if by_hand[key] != value:
            raise SystemExit(f"{key}: rules give {by_hand[key]!r}, the library {value!r}")


def main(argv: list[str] | None = None) -> int:
    """Compute, compare, then print, check or write the example; return the exit status."""

    def computed_block() -> str:
        by_hand = compute_by_hand()
        with tempfile.TemporaryDirectory(prefix="entry-example-") as tmp:
            _compare(by_hand, compute_with_library(Path(tmp)))
        v1 = compute_by_hand(version=1)
        _compare(v1, check_version_1(v1))
        return render(by_hand, v1)

    return run(
        argv,
        description=__doc__.splitlines()[0],
        render=computed_block,
        begin=BEGIN,
        end=END,
        what="worked example",
    )


if __name__ == "__main__":
    sys.exit(main())
