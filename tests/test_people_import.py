"""``trackrecord people import`` (issue 16): an HR export as Dutch HR systems write it
(semicolons, UTF-8 with a byte order mark) — dry run, apply, apply again (no change),
malformed rows (each named, nothing half-imported), someone who is no admin, and
10,000 people."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from keys import Identity
from ledger.app import Ledger
from ledger.people_import import parse_people_csv
from ledger.state import Person
from tests.factories import identity_for
from tests.support.cli import Cli, organisation
from trackrecord.cli.errors import ExitCode

HEADER = "person_id;name;organisation;department;email;manages;public_key"


def _key(identity: Identity) -> str:
    return base64.b64encode(identity.public_key.raw).decode()


def _write(path: Path, lines: list[str], *, bom: bool = True) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + "\r\n".join(lines).encode("utf-8"))
    return path


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(f"sqlite://{(tmp_path / 'ledger.db').as_posix()}", tmp_path / "keys")
    organisation(c)  # op (operator), alice (minbzk/dgo), bob (manager of minbzk/dgo)
    return c


def _people(cli: Cli, *ids: str) -> dict[str, Person]:
    """The people ``ids`` as the ledger holds them now (read while it is open)."""
    with Ledger.open(cli.url) as ledger:
        ledger.service.catch_up()
        return {i: ledger.service.state.people[i] for i in ids}


def _size(cli: Cli) -> int:
    with Ledger.open(cli.url) as ledger:
        ledger.service.catch_up()
        return ledger.service.state.size


def _rows(result: Any) -> dict[str, list[str]]:
    return {r["person"]: r["actions"] for r in result["rows"]}


def test_dry_run_apply_and_apply_again(cli: Cli, tmp_path: Path) -> None:
    hr = _write(
        tmp_path / "hr.csv",
        [
            HEADER,
            f"hr-1001;Zoë Jansen;minbzk;minbzk/dgo;zoe@minbzk.example;;{_key(identity_for('z'))}",
            f"hr-1002;Mark de Vries;minbzk;minbzk/cio;mark@minbzk.example;minbzk/cio;"
            f"{_key(identity_for('m'))}",
            "alice;Alice;minbzk;minbzk/cio;alice@minbzk.example;;",  # moves to cio
            "bob;Bob;minbzk;minbzk/dgo;;minbzk/dgo minbzk/cio;",  # also manages cio now
            "hr-1003;Nog Geen Sleutel;minbzk;minbzk/dgo;nieuw@minbzk.example;;",
        ],
    )
    before = _size(cli)
    dry = cli.json("people", "import", str(hr), "--dry-run", who="op")
    assert _rows(dry) == {
        "hr-1001": ["register"],
        "hr-1002": ["register", "grant"],
        "alice": ["transfer"],
        "bob": ["grant"],
        "hr-1003": ["awaits_key"],
    }
    assert (dry["applied"], dry["statements"]) == (False, 0)
    assert _size(cli) == before  # a dry run writes nothing

    applied = cli.json("people", "import", str(hr), who="op")
    assert applied["applied"] is True
    assert applied["statements"] == 5  # 2 registrations, 1 grant with one, 1 transfer, 1 grant
    assert applied["addresses"] == 3  # hr-1001, hr-1002, alice: registered, with an address
    assert _size(cli) == before + 5
    people = _people(cli, "hr-1001", "hr-1002", "alice", "bob")
    assert people["hr-1001"].department == "minbzk/dgo"
    assert people["hr-1002"].roles == {("manager", "minbzk/cio")}
    assert people["alice"].department == "minbzk/cio"
    assert ("manager", "minbzk/cio") in people["bob"].roles

    again = cli.json("people", "import", str(hr), who="op")
    assert set(map(tuple, _rows(again).values())) == {("unchanged",), ("awaits_key",)}
    assert again["statements"] == 0
    assert _size(cli) == before + 5  # running it twice changes nothing


def test_malformed_rows_are_named_and_nothing_is_imported(cli: Cli, tmp_path: Path) -> None:
    hr = _write(
        tmp_path / "bad.csv",
        [
            HEADER,
            f"hr-2001;Goed;minbzk;minbzk/dgo;;;{_key(identity_for('g'))}",  # fine on its own
            "Hr 2002;Spatie;minbzk;minbzk/dgo;;;",
            "hr-2003;Elders;minbzk;other/dgo;;;",
            "hr-2004;Te weinig;minbzk",
            "hr-2001;Dubbel;minbzk;minbzk/dgo;;;",
            "hr-2005;Sleutel;minbzk;minbzk/dgo;;;not-a-key",
            "hr-2006;Mail;minbzk;minbzk/dgo;geen-mail;;",
            f"hr-2007;Zelfde sleutel;minbzk;minbzk/dgo;;;{_key(identity_for('g'))}",
            f"search;Gereserveerd;minbzk;minbzk/dgo;;;{_key(identity_for('s'))}",
        ],
    )
    before = _size(cli)
    result = cli("people", "import", str(hr), "--json", who="op")
    assert result.exit_code == ExitCode.RULE
    report = json.loads(result.stdout)
    assert report["applied"] is False
    reasons = {r["line"]: (r["actions"], " ".join(r["details"])) for r in report["rows"]}
    assert reasons[2] == (["register"], "in minbzk/dgo")
    for line, words in (
        (3, "is no person id"),
        (4, "not a department of minbzk"),
        (5, "3 fields where the header has 7"),
        (6, "is on line 2 too"),
        (7, "not an Ed25519 public key"),
        (8, "no e-mail address"),
        (9, "key_in_use"),
        (10, "reserved_id"),
    ):
        assert reasons[line][0] == ["refused"], line
        assert words in reasons[line][1], (line, reasons[line])
    assert _size(cli) == before  # nothing half-imported
    text = cli("people", "import", str(hr), who="op")
    assert text.exit_code == ExitCode.RULE
    assert "Nothing imported: 8 rows are refused" in text.stdout


def test_someone_who_is_no_admin_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    hr = _write(
        tmp_path / "hr.csv",
        [HEADER, f"hr-3001;Iemand;minbzk;minbzk/dgo;;;{_key(identity_for('i'))}"],
        bom=False,
    )
    before = _size(cli)
    result = cli("people", "import", str(hr), "--json", who="bob")  # a manager, no admin
    assert result.exit_code == ExitCode.RULE
    assert "not_admin" in result.stdout
    assert _size(cli) == before


def test_a_comma_separated_file_and_a_file_that_cannot_be_read(cli: Cli, tmp_path: Path) -> None:
    rows = parse_people_csv(b"person_id,name,organisation,department\nhr-1,A,minbzk,minbzk/dgo\n")
    assert [(r.person, r.department, r.problem) for r in rows] == [("hr-1", "minbzk/dgo", None)]
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(f"{HEADER}\nhr-1;Zoë;minbzk;minbzk/dgo;;;\n".encode("latin-1"))
    result = cli("people", "import", str(latin1), who="op")
    assert result.exit_code == ExitCode.USAGE
    assert "not UTF-8" in result.output
    no_name = _write(tmp_path / "h.csv", ["person_id;organisation;department", "a;minbzk;minbzk/x"])
    result = cli("people", "import", str(no_name), who="op")
    assert result.exit_code == ExitCode.USAGE
    assert "no column name" in result.output


def _many(path: Path, n: int) -> Path:
    lines = [HEADER]
    for i in range(n):
        dept = f"minbzk/d{i % 40}"
        manages = dept if i % 40 == 0 else ""
        key = _key(identity_for(f"bulk-{i}"))
        lines.append(f"hr-{i:05};Persoon {i};minbzk;{dept};p{i}@minbzk.example;{manages};{key}")
    return _write(path, lines)


@pytest.mark.parametrize("n", [1_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_many_people_in_atomic_batches(cli: Cli, tmp_path: Path, n: int) -> None:
    hr = _many(tmp_path / "many.csv", n)
    before = _size(cli)
    applied = cli.json("people", "import", str(hr), who="op")
    assert applied["counts"]["register"] == n
    assert _size(cli) == before + n + n // 40  # the registrations and the manager roles
    again = cli.json("people", "import", str(hr), who="op")
    assert again["counts"]["unchanged"] == n
    assert _size(cli) == before + n + n // 40
