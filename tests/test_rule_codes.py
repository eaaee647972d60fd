"""One set of rule codes: raised by the rules, listed in docs/rules.md §5, tested by a case.

The codes in the code are parsed from the source (every ``raise ctx.fail(...)`` and
``raise RuleViolation(...)`` of ``ledger/rules/``, and ``bad_signature`` from
``ledger/statement.py``), so a new refusal cannot be added without its row in the docs
and its case in :data:`tests.support.rule_cases.CASES`.
"""

from __future__ import annotations

import re
from pathlib import Path

import ledger.statement
from tests.support.refusals import codes_in_source, rule_codes_raised
from tests.support.rule_cases import CASES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def _codes_in_code() -> set[str]:
    return rule_codes_raised()


def _codes_in_docs() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## 5. All rule codes") :]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    return re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)


def test_code_docs_and_cases_name_the_same_codes() -> None:
    in_code = _codes_in_code()
    in_docs = set(_codes_in_docs())
    in_cases = {case.code for case in CASES.values()}
    assert len(in_code) > 40  # the parser found the refusals
    assert in_code - in_docs == set(), "raised but not in docs/rules.md §5"
    assert in_docs - in_code == set(), "in docs/rules.md §5 but never raised"
    assert in_code - in_cases == set(), "raised but no case in tests/support/rule_cases.py"
    assert in_cases - in_code == set(), "a case expects a code nothing raises"


def test_docs_list_each_code_once_alphabetically() -> None:
    listed = _codes_in_docs()
    assert listed == sorted(set(listed))


def test_the_parser_sees_the_bad_signature_check() -> None:
    # The one code apply_entry raises from outside ledger/rules/.
    assert codes_in_source(Path(ledger.statement.__file__)) == {"bad_signature"}
