"""Every refusal is tested: removing any ``raise`` of the rules package fails a rule case.

For each refusal site of ``ledger/rules/`` (:func:`tests.support.refusals.refusal_sites`),
a copy of the package is loaded in-process with that ``raise`` replaced by ``pass``, and
the rule cases of :data:`tests.support.rule_cases.CASES` are judged by the copy's
``apply_entry``. A case fails when the copy does not refuse its statement with the case's
code; at least one must fail, or the site is reported as surviving: no test notices that
the rule is gone. The cases' ledgers are built once, with the real rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ledger.entry import Entry
from ledger.errors import RuleViolation
from ledger.state import LedgerState
from tests.factories import MemoryLedger, World, standard_world
from tests.support.refusals import RefusalSite, load_rules, refusal_sites
from tests.support.rule_cases import CASES

SITES = refusal_sites()


@dataclass(frozen=True)
class Prepared:
    """A rule case's ledger state and the entry that breaks the rule, ready to judge."""

    name: str
    code: str
    state: LedgerState
    entry: Entry
    log_index: int
    partial: bool
    submitted: bool  # offered for appending now (what the service can be given)

    def outcome(self, apply_entry: Callable[..., Any]) -> str:
        """The code ``apply_entry`` refuses the entry with, or what happened instead;
        the state is left as it was."""
        self.state.begin()
        try:
            apply_entry(
                self.state,
                self.entry,
                log_index=self.log_index,
                partial=self.partial,
                submitted=self.submitted,
            )
        except RuleViolation as err:
            return err.code
        except Exception as err:  # a removed check can let the entry crash a later one
            return f"{type(err).__name__}: {err}"
        finally:
            self.state.rollback()
        return "accepted"


@pytest.fixture(scope="module")
def prepared() -> list[Prepared]:
    out = []
    for name, rule in sorted(CASES.items()):
        memory = MemoryLedger()
        w = World(memory, seed=name) if rule.empty else standard_world(memory, seed=name)
        entry, index = rule.entry(memory, rule.offend(w))
        out.append(
            Prepared(name, rule.code, memory.state, entry, index, rule.partial, rule.via_service)
        )
    return out


def test_the_unmutated_copy_refuses_every_case(prepared: list[Prepared]) -> None:
    """The loading itself changes nothing: a copy without a removed site passes every case
    (else every mutant below would be "caught" for the wrong reason)."""
    with load_rules() as apply_entry:
        wrong = {
            p.name: p.outcome(apply_entry) for p in prepared if p.outcome(apply_entry) != p.code
        }
    assert not wrong


def test_the_sites_are_found() -> None:
    assert len(SITES) >= 60
    assert all(s.codes for s in SITES)
    assert {s.module for s in SITES} >= {
        "apply.py",
        "context.py",
        "identity.py",
        "record.py",
        "access.py",
        "assignments.py",
    }


@pytest.mark.parametrize("site", SITES, ids=[s.label for s in SITES])
def test_removing_the_refusal_fails_a_rule_case(
    site: RefusalSite, prepared: list[Prepared]
) -> None:
    # The cases expecting one of the site's codes first: they usually catch it at once.
    ordered = sorted(prepared, key=lambda p: p.code not in site.codes)
    with load_rules(site) as apply_entry:
        caught = next((p for p in ordered if p.outcome(apply_entry) != p.code), None)
    assert caught is not None, (
        f"refusal site {site.label} survives: with its raise removed, every rule case is "
        f"still refused with its code. Add a case to tests/support/rule_cases.py that "
        f"breaks this rule (expected code {' or '.join(site.codes)})."
    )
