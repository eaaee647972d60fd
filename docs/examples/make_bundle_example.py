"""Regenerate the worked example of docs/bundle.md §13 (run from the repository root).

    PYTHONPATH=. .venv/bin/python docs/examples/make_bundle_example.py

Builds Alice's three-entry ledger in a temporary SQLite file with the test suite's
deterministic keys, issues a checkpoint, exports her bundle and writes it (and the
verifier key) between the example markers of docs/bundle.md.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from ledger import commands
from ledger.bundle import dump_bundle
from ledger.export import export_bundle
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import open_store
from ledger.transparency import TransparencyLog
from tests.factories import identity_for

DOC = Path(__file__).resolve().parent.parent / "bundle.md"
ORIGIN = "trackrecord.example/ledger"


def main() -> None:
    operator = Signer(identity_for("operator"), ORIGIN)
    alice = Signer(identity_for("alice"), ORIGIN)
    with tempfile.TemporaryDirectory() as tmp:
        service = LedgerService(open_store(f"sqlite://{tmp}/ledger.db"))
        service.append(
            commands.register_identity(
                operator, person="operator", public_key=operator.identity.public_key.raw,
                organisation="ops", department="ops/ledger", display_name="Operator",
            )
        )  # fmt: skip
        service.append(
            commands.register_identity(
                operator, person="alice", public_key=alice.identity.public_key.raw,
                organisation="minbzk", department="minbzk/dgo", display_name="Alice de Vries",
            )
        )  # fmt: skip
        service.append(
            commands.claim_contribution(
                alice, person="alice", title="Policy brief", skills=["policy-advice"],
                start="2026-01-01",
            )
        )  # fmt: skip
        log = TransparencyLog(service)
        log.set_origin(ORIGIN)
        log.issue_checkpoint(operator.identity)
        bundle = dump_bundle(export_bundle(log, "alice"))
        key = str(log.verifier())
    doc = DOC.read_text(encoding="utf-8")
    doc = re.sub(
        r"(<!-- example bundle: begin -->\n```json\n).*?(```\n<!-- example bundle: end -->)",
        lambda m: m.group(1) + bundle.rstrip("\n") + "\n" + m.group(2),
        doc,
        flags=re.S,
    )
    doc = re.sub(r"Verifier key: `[^`]*`", f"Verifier key: `{key}`", doc)
    DOC.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
