"""The refusal sites of the rules package, and copies of the package with one of them removed.

A *refusal site* is a ``raise`` of a :class:`~ledger.errors.RuleViolation` in
``ledger/rules/``: ``raise ctx.fail("code", ...)``, ``raise self.fail(...)`` or
``raise RuleViolation(...)``. :func:`refusal_sites` finds them by parsing the source, with
the codes each can raise (a literal, or the literals assigned to the name it raises).

:func:`load_rules` executes a private copy of the package under another name
(``ledger._rules_copy_<n>``), in-process, optionally with one site's ``raise`` replaced by
``pass``; its :func:`apply_entry` is then judged against the rule cases
(``tests/test_rule_mutants.py``). Written here rather than with a mutation-testing tool
(mutmut, cosmic-ray) because those run the whole test suite in a subprocess per mutant,
which is minutes per site on CI, and mutate every operator, not just refusals.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

import ledger
import ledger.rules

__all__ = [
    "RULES_DIR",
    "RefusalSite",
    "codes_in_source",
    "load_rules",
    "refusal_sites",
    "rule_codes_raised",
]

RULES_DIR = Path(ledger.rules.__file__).parent
_copies = itertools.count()


@dataclass(frozen=True)
class RefusalSite:
    """One ``raise`` of a rule violation: where it is and the codes it can raise."""

    module: str  # file name in ledger/rules/, e.g. "identity.py"
    line: int
    col: int
    function: str
    codes: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.module}:{self.line}:{self.function}:{'|'.join(self.codes)}"


def _is_refusal(node: ast.Raise) -> bool:
    call = node.exc
    if not isinstance(call, ast.Call):
        return False
    fn = call.func
    return (isinstance(fn, ast.Attribute) and fn.attr == "fail") or (
        isinstance(fn, ast.Name) and fn.id == "RuleViolation"
    )


def _literals(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _codes(call: ast.Call, function: ast.AST) -> tuple[str, ...]:
    """The codes of ``call``: its first argument's literal, or the literals assigned to it."""
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return (first.value,)
    if isinstance(first, ast.Name):
        found = [
            code
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == first.id for t in node.targets)
            for code in _literals(node.value)
        ]
        if found:
            return tuple(sorted(set(found)))
    raise ValueError(f"cannot tell the code of the refusal at line {call.lineno}")


def _sites_in(path: Path) -> Iterator[RefusalSite]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Raise) and _is_refusal(node):
                assert isinstance(node.exc, ast.Call)
                codes = _codes(node.exc, function)
                yield RefusalSite(path.name, node.lineno, node.col_offset, function.name, codes)


def refusal_sites() -> list[RefusalSite]:
    """Every refusal site of the rules package, in file and line order."""
    # ast.walk visits an outer function before a nested one: the innermost name wins.
    sites = {(s.module, s.line, s.col): s for p in _modules() for s in _sites_in(p)}
    return sorted(sites.values(), key=lambda s: (s.module, s.line, s.col))


def codes_in_source(path: Path) -> set[str]:
    """The codes of every ``raise ...RuleViolation(...)`` / ``raise ....fail(...)`` in ``path``."""
    return {code for site in _sites_in(path) for code in site.codes}


def _modules() -> list[Path]:
    return sorted(RULES_DIR.glob("*.py"))


class _Remove(ast.NodeTransformer):
    """Replaces the ``raise`` at ``(line, col)`` by ``pass``."""

    def __init__(self, line: int, col: int) -> None:
        self.at = (line, col)
        self.removed = 0

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        if (node.lineno, node.col_offset) == self.at:
            self.removed += 1
            return ast.copy_location(ast.Pass(), node)
        return node


@functools.cache
def _compile(path: Path, site: RefusalSite | None) -> CodeType:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if site is not None:
        remover = _Remove(site.line, site.col)
        tree = remover.visit(tree)
        if remover.removed != 1:
            raise AssertionError(f"{site.label}: removed {remover.removed} raises, not 1")
    return compile(tree, str(path), "exec")


class _CopyLoader(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``<name>`` and ``<name>.<module>`` from compiled code held in memory."""

    def __init__(self, name: str, code: dict[str, CodeType]) -> None:
        self.name = name
        self.code = code

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == self.name:
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        if fullname.startswith(self.name + ".") and fullname.rsplit(".", 1)[1] in self.code:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        short = "__init__" if module.__name__ == self.name else module.__name__.rsplit(".", 1)[1]
        exec(self.code[short], module.__dict__)


@contextmanager
def load_rules(site: RefusalSite | None = None) -> Iterator[Callable[..., Any]]:
    """A private copy of ``ledger.rules`` (without ``site``'s ``raise``), yielding its
    ``apply_entry``. The copy imports the rest of ``ledger`` as it is; it is dropped on exit."""
    code = {
        p.stem: _compile(p, site if site and site.module == p.name else None) for p in _modules()
    }
    short = f"_rules_copy_{next(_copies)}"
    name = f"{ledger.__name__}.{short}"
    loader = _CopyLoader(name, code)
    sys.meta_path.insert(0, loader)
    try:
        copy = importlib.import_module(name)
        yield copy.apply_entry
    finally:
        sys.meta_path.remove(loader)
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
        if hasattr(ledger, short):
            delattr(ledger, short)


def rule_codes_raised() -> set[str]:
    """Every rule code the rules raise, and ``bad_signature`` from ``ledger/statement.py``."""
    import ledger.statement

    rules = {code for site in refusal_sites() for code in site.codes}
    return rules | codes_in_source(Path(ledger.statement.__file__))
