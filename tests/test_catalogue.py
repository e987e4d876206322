"""The requirement catalogue is well-formed, and the suites cite only what it holds.

The suites are also read as code: every check they call names its requirement at the call
site, and they import only the rooms they may (flows, checks, verdict, jose, config).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harness.catalogue import LEVELS, load_catalogue

SUITES = Path(__file__).parents[1] / "suites"
ALLOWED_IMPORTS = (
    "harness.checks",
    "harness.flows",
    "harness.verdict",
    "harness.jose",
    "harness.config",
)


def _suite_files() -> list[Path]:
    files = sorted(SUITES.rglob("test_*.py"))
    assert files, "no suite files found"
    return files


def test_catalogue_loads_with_unique_ids_and_valid_levels() -> None:
    catalogue = load_catalogue()
    assert len(catalogue) > 200
    for rid, req in catalogue.items():
        assert req.id == rid
        assert req.level in LEVELS
        assert req.url.startswith("https://"), rid
        assert req.text, rid


def _cited(path: Path) -> list[tuple[int, str]]:
    cited = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg != "req":
                continue
            values = (
                [kw.value.body, kw.value.orelse] if isinstance(kw.value, ast.IfExp) else [kw.value]
            )
            cited += [(node.lineno, str(v.value)) for v in values if isinstance(v, ast.Constant)]
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "requirement":
            cited += [(node.lineno, str(a.value)) for a in node.args if isinstance(a, ast.Constant)]
    return cited


@pytest.mark.parametrize("path", _suite_files(), ids=lambda p: p.name)
def test_every_cited_requirement_is_in_the_catalogue(path: Path) -> None:
    catalogue = load_catalogue()
    missing = [f"{path.name}:{line} {rid}" for line, rid in _cited(path) if rid not in catalogue]
    assert not missing


@pytest.mark.parametrize("path", _suite_files(), ids=lambda p: p.name)
def test_every_check_call_cites_its_clause(path: Path) -> None:
    uncited = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "checks"
        ):
            req = [kw for kw in node.keywords if kw.arg == "req"]
            if not req or not isinstance(req[0].value, ast.Constant | ast.IfExp):
                uncited.append(f"{path.name}:{node.lineno} checks.{node.func.attr}")
    assert not uncited


@pytest.mark.parametrize("path", _suite_files(), ids=lambda p: p.name)
def test_suites_import_only_what_they_may(path: Path) -> None:
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = (
                [node.module]
                if node.module != "harness"
                else [f"harness.{a.name}" for a in node.names]
            )
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.startswith("tests") or (
                name.startswith("harness") and not name.startswith(ALLOWED_IMPORTS)
            ):
                bad.append(f"{path.name}:{getattr(node, 'lineno', 0)} imports {name}")
    assert not bad


def test_every_suite_test_declares_requirements() -> None:
    for path in _suite_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                marks = [
                    d
                    for d in node.decorator_list
                    if isinstance(d, ast.Call)
                    and isinstance(d.func, ast.Attribute)
                    and d.func.attr == "requirement"
                ]
                assert marks, f"{path.name}: {node.name} has no @pytest.mark.requirement"
                assert ast.get_docstring(node), f"{path.name}: {node.name} has no docstring"


@pytest.mark.parametrize("path", _suite_files(), ids=lambda p: p.name)
def test_suites_use_no_bare_assert(path: Path) -> None:
    """A bare assert in a plan would turn into a harness ERROR with no requirement: suites judge
    with checks, and guard set-up with flows.require_* (NotTestable)."""
    asserts = [n.lineno for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Assert)]
    assert asserts == [], f"{path.name}: assert at lines {asserts}"
