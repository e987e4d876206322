"""The plan as data, read from the suites' source without running anything (``fapi-harness list``).

Every suite test declares its requirements in ``@pytest.mark.requirement(...)`` and cites one at
each check call (``req="..."``); both are literal strings (the project's own tests enforce it),
so they can be read here without a target, a browser or pytest.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PlanTest:
    """One test function of a plan, before parametrisation by variant."""

    path: str  # relative to the folder above suites/, e.g. suites/fapi2_sp/par/test_par.py
    name: str
    declared: tuple[str, ...]  # @pytest.mark.requirement ids
    checked: tuple[str, ...]  # ids cited at check calls (req="...")
    negative: bool
    slow: bool
    summary: str  # the docstring's first sentence

    @property
    def node_id(self) -> str:
        return f"{self.path}::{self.name}"

    @property
    def plan(self) -> str:
        """The plan and area, e.g. ``fapi2_sp/par``."""
        return str(Path(self.path).parent.relative_to("suites").as_posix())

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.declared, *self.checked]))

    def covers(self, prefix: str) -> bool:
        """Whether the test declares a requirement whose id starts with ``prefix`` (what
        ``--clause`` selects by)."""
        return any(rid.startswith(prefix) for rid in self.declared)


def _marker(decorator: ast.expr) -> tuple[str, list[str]] | None:
    """``pytest.mark.NAME(args...)`` or ``pytest.mark.NAME`` as (NAME, literal string args)."""
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call is not None else decorator
    if not isinstance(target, ast.Attribute):
        return None
    args = call.args if call is not None else []
    return target.attr, [str(a.value) for a in args if isinstance(a, ast.Constant)]


def _cited(function: ast.FunctionDef) -> list[str]:
    cited: list[str] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg != "req":
                    continue
                value = keyword.value
                options = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                cited += [str(v.value) for v in options if isinstance(v, ast.Constant)]
    return cited


def plan_tests(suites: Path) -> list[PlanTest]:
    """Every test function under ``suites`` (a ``suites/`` folder), in file and source order."""
    found = []
    for path in sorted(suites.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            markers = [m for m in map(_marker, node.decorator_list) if m is not None]
            declared = [rid for name, args in markers if name == "requirement" for rid in args]
            doc = " ".join((ast.get_docstring(node) or "").split())
            found.append(
                PlanTest(
                    path=(Path("suites") / path.relative_to(suites)).as_posix(),
                    name=node.name,
                    declared=tuple(declared),
                    checked=tuple(dict.fromkeys(_cited(node))),
                    negative=any(name == "negative" for name, _ in markers),
                    slow=any(name == "slow" for name, _ in markers),
                    summary=doc.split(". ")[0].rstrip(".") + "." if doc else "",
                )
            )
    return found
