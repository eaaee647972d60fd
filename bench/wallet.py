"""Wallet credentials' cost: issuing an SD-JWT VC and verifying a presentation.

Run ``.venv/bin/python -m bench.wallet [--quick] [--json PATH]`` from the repository root.
It prints one table, every figure measured in this run, each a median of ``repeats`` calls:

(a) :func:`ledger.credentials.issue_sd_jwt_vc` of the summary and of the contribution
    credential of the bundle scenario's person (tests/support/bundles.py), next to one
    raw Ed25519 signature of the same JWS signing input (``cryptography``, the library
    under ``jwcrypto``). Goal: at most 5 ms per credential;
(b) :func:`ledger.credentials.verify_presentation` of the summary presenting one skill
    with an ES256 key binding, next to its bound: one Ed25519 verify of the issuer-signed
    JWT plus one ES256 verify of the KB-JWT (``cryptography``). Goal: at most 5 ms;
(c) for scale, what each token and credential request does first: export the person's
    bundle and verify it with the operator's key (:func:`verified_record`).

The goals are per request of a wallet or a relying party; the ratio to the raw
signature work says how much of the time is the SD-JWT processing around it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder

from ledger.credentials import (
    credential_identifiers,
    issue_sd_jwt_vc,
    verified_record,
    verify_presentation,
)
from ledger.export import export_bundle
from tests.factories import identity_for
from tests.support.bundles import build_scenario

GOAL_MS = 5.0
AUDIENCE = "https://employer.example"


@dataclass
class Row:
    """One line of the table."""

    what: str
    ms: float
    reference: str
    ratio: float | None
    met: bool | None


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def run(repeats: int) -> list[Row]:
    """Measure every row; return them."""
    operator = identity_for("operator")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{(Path(tmp) / 'w.db').resolve().as_posix()}"
        scenario = build_scenario(url)
        record_ms = _median_ms(
            lambda: verified_record(export_bundle(scenario.log, "alice"), operator=operator),
            max(3, repeats // 20),
        )
        record = verified_record(export_bundle(scenario.log, "alice"), operator=operator)
    holder = JWK.generate(kty="EC", crv="P-256")
    ids = credential_identifiers(record)
    now = int(time.time())

    def issue(identifier: str) -> str:
        return issue_sd_jwt_vc(
            record,
            identifier,
            operator=operator,
            issuer="https://ledger.example",
            holder_key=holder.export_public(as_dict=True),
            issued_at=now,
            valid_for=3600,
        ).issuance

    summary = issue(ids["summary"][0])
    signing_input = summary.split("~")[0].rsplit(".", 1)[0].encode()
    ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(operator.seed)
    ed_sign_ms = _median_ms(lambda: ed_key.sign(signing_input), repeats)

    h = SDJWTHolder(summary)
    h.create_presentation({"skills": {"policy-advice": True}}, "n", AUDIENCE, holder, "ES256")
    presentation = str(h.sd_jwt_presentation)
    ed_sig = ed_key.sign(signing_input)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    kb_input = presentation.rsplit("~", 1)[1].rsplit(".", 1)[0].encode()
    ec_sig = ec_key.sign(kb_input, ec.ECDSA(hashes.SHA256()))

    def bound() -> None:
        ed_key.public_key().verify(ed_sig, signing_input)
        ec_key.public_key().verify(ec_sig, kb_input, ec.ECDSA(hashes.SHA256()))

    bound_ms = _median_ms(bound, repeats)
    verify_ms = _median_ms(
        lambda: verify_presentation(
            presentation,
            issuer_key=operator.public_key.raw,
            audience=AUDIENCE,
            nonce="n",
            now=int(time.time()),
        ),
        repeats,
    )
    rows = []
    for kind in ("summary", "contribution"):
        ms = _median_ms(lambda kind=kind: issue(ids[kind][0]), repeats)
        rows.append(
            Row(
                f"issue one {kind} SD-JWT VC",
                ms,
                f"≤ {GOAL_MS} ms; Ed25519 sign {ed_sign_ms:.3f} ms",
                ms / ed_sign_ms,
                ms <= GOAL_MS,
            )
        )
    rows.append(
        Row(
            "verify a presentation (1 disclosure, ES256 KB)",
            verify_ms,
            f"≤ {GOAL_MS} ms; Ed25519 + ES256 verify {bound_ms:.3f} ms",
            verify_ms / bound_ms,
            verify_ms <= GOAL_MS,
        )
    )
    rows.append(
        Row(
            f"export + verify the record ({len(record.entries)} entries), per request",
            record_ms,
            "for scale",
            None,
            None,
        )
    )
    return rows


def render(rows: Sequence[Row], repeats: int) -> None:
    """Print the table."""
    header = ("Measurement", "Median", "Goal / reference", "× reference", "Met")
    body = [
        (
            r.what,
            f"{r.ms:.3f} ms",
            r.reference,
            "" if r.ratio is None else f"{r.ratio:.1f}×",
            {None: "", True: "yes", False: "NO"}[r.met],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    for line in (header, *body):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    print(f"Medians of {repeats} calls (the record: of {max(3, repeats // 20)}).")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.wallet", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true", help="50 calls per row, not 500")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    repeats = 50 if args.quick else 500
    rows = run(repeats)
    render(rows, repeats)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
