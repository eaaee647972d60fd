"""HR import benchmark: ``trackrecord people import`` of 10,000 people (issue 16).

Run ``.venv/bin/python -m bench.people_import [--quick] [--people N]`` from the repository
root. It creates a fresh SQLite ledger (``trackrecord init``, durable commits) in a
temporary directory, writes an HR export of N people (semicolons, UTF-8 with a byte order
mark, a public key each, one in forty a manager) and times, as the admin would run them:

* **import**: ``trackrecord --as op people import hr.csv`` (a new process: reading the
  file, the plan, signing, the atomic batches);
* **import again**: the same file once more (nothing changes: every row ``unchanged``);
* **reference, bare ingest**: the same registrations and roles, signed beforehand,
  appended with ``LedgerService.append_batch`` in batches of 500 to another fresh ledger
  in this process — the floor the import cannot go below.

Goal (issue 16): the import of 10,000 people takes under a minute on this machine.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing
from rich.console import Console
from rich.table import Table

from keys import Identity
from ledger import commands
from ledger.service import LedgerService
from ledger.statement import Signer
from ledger.store import open_store

GOAL_SECONDS = 60.0
HEADER = "person_id;name;organisation;department;email;manages;public_key"
ORIGIN = "bench.trackrecord/ledger"


def _rows(people: int) -> list[tuple[str, str, str, bytes]]:
    out = []
    for i in range(people):
        key = bytes(nacl.signing.SigningKey.generate().verify_key)
        department = f"minbzk/d{i % 40}"
        out.append((f"hr-{i:06}", department, department if i % 40 == 0 else "", key))
    return out


def _csv(path: Path, rows: list[tuple[str, str, str, bytes]]) -> None:
    lines = [HEADER]
    for person, department, manages, key in rows:
        lines.append(
            f"{person};Persoon {person};minbzk;{department};{person}@minbzk.example;{manages};"
            f"{base64.b64encode(key).decode()}"
        )
    path.write_bytes("\ufeff".encode() + "\r\n".join(lines).encode("utf-8"))


def _cli(tmp: Path, *args: str) -> float:
    env = {
        **os.environ,
        "TRACKRECORD_DATABASE_URL": f"sqlite://{(tmp / 'ledger.db').as_posix()}",
        "TRACKRECORD_KEYS": str(tmp / "keys"),
        "TRACKRECORD_PASSPHRASE": "bench",
        "TRACKRECORD_KDF": "fast",
    }
    script = Path(sys.executable).parent / "trackrecord"
    started = time.perf_counter()
    done = subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"trackrecord {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return elapsed


def _bare_ingest(tmp: Path, rows: list[tuple[str, str, str, bytes]]) -> float:
    """The same statements, signed beforehand, appended in batches of 500."""
    operator = Identity.generate()
    signer = Signer(operator, ORIGIN)
    genesis = commands.register_identity(
        signer, person="op", public_key=operator.public_key.raw, organisation="minbzk",
        department="minbzk/cio", display_name="Operator",
    )  # fmt: skip
    statements = []
    for person, department, manages, key in rows:
        statements.append(
            commands.register_identity(
                signer,
                person=person,
                public_key=key,
                organisation="minbzk",
                department=department,
                display_name=f"Persoon {person}",
            )
        )
        if manages:
            statements.append(
                commands.grant_role(signer, person=person, role="manager", scope=manages)
            )
    store = open_store(f"sqlite://{(tmp / 'bare.db').as_posix()}", create=True)
    try:
        service = LedgerService(store)
        service.append(genesis)
        started = time.perf_counter()
        for start in range(0, len(statements), 500):
            service.append_batch(statements[start : start + 500])
        return time.perf_counter() - started
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 people instead of 10,000")
    parser.add_argument("--people", type=int, default=None)
    options = parser.parse_args(argv)
    people = options.people or (1_000 if options.quick else 10_000)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench-people-") as name:
        tmp = Path(name)
        rows = _rows(people)
        _csv(tmp / "hr.csv", rows)
        _cli(tmp, "init", "--operator", "op", "--department", "minbzk/cio", "--name", "Op")
        imported = _cli(tmp, "--as", "op", "people", "import", str(tmp / "hr.csv"), "--json")
        again = _cli(tmp, "--as", "op", "people", "import", str(tmp / "hr.csv"), "--json")
        bare = _bare_ingest(tmp, rows)
    goal = GOAL_SECONDS * people / 10_000
    table = Table(
        "figure", "seconds", "people / s", "reference", "goal", "met",
        title=f"trackrecord people import, {people:,} people, SQLite "
        f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
    )  # fmt: skip
    table.add_row(
        "import", f"{imported:.1f}", f"{people / imported:,.0f}", f"{imported / bare:.1f}x bare",
        f"< {goal:.0f} s", "met" if imported < goal else "NOT met",
    )  # fmt: skip
    table.add_row(
        "import again (no change)", f"{again:.1f}", f"{people / again:,.0f}", "", f"< {goal:.0f} s",
        "met" if again < goal else "NOT met",
    )  # fmt: skip
    table.add_row("reference: bare ingest", f"{bare:.1f}", f"{people / bare:,.0f}", "", "—", "")
    console.print(table)
    return 0 if imported < goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
