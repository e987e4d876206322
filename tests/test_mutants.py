"""The mutant corpus: well-formed, covering every negative test, and every mutant killed."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.catalogue import load_catalogue
from harness.listing import plan_tests
from harness.mutants import HAPPY, Mutant, judge_mutant, load_mutants

ROOT = Path(__file__).parents[1]
MJS = ROOT / "harness" / "targets" / "oidc_provider" / "mutations.mjs"


def _suite_tests() -> dict[str, bool]:
    """Every suite test function as 'path::name', and whether it is marked negative."""
    return {t.node_id: t.negative for t in plan_tests(ROOT / "suites")}


def test_mutants_are_well_formed() -> None:
    mutants = load_mutants()
    catalogue = load_catalogue()
    defined = set(re.findall(r"^  (\w+): ", MJS.read_text(), re.MULTILINE))
    tests = _suite_tests()
    assert len({m.name for m in mutants}) == len(mutants)
    for m in mutants:
        assert m.how and m.breaks and m.kills, m.name
        assert set(m.breaks) <= set(catalogue), m.name
        assert set(m.mutations) <= defined, m.name
        for selector in m.kills:
            assert selector.split("[")[0] in tests, (m.name, selector)
    used = {name for m in mutants for name in m.mutations}
    assert defined <= used, f"mutations no mutant uses: {defined - used}"


def test_every_negative_test_has_a_mutant() -> None:
    killers = {k.split("[")[0] for m in load_mutants() for k in m.kills}
    negatives = [t for t, negative in _suite_tests().items() if negative]
    assert negatives
    assert [t for t in negatives if t not in killers] == []


MUTANT = Mutant("m", ("PAR-2.2-1",), ("s/t.py::test_x",), "how", ("m",))


def _doc(*tests: dict[str, Any]) -> dict[str, Any]:
    return {"tests": list(tests)}


def _test(tid: str, outcome: str, failed: tuple[str, ...] = ()) -> dict[str, Any]:
    findings = [{"requirement": r, "ok": False} for r in failed]
    return {"id": tid, "outcome": outcome, "findings": findings, "reason": ""}


def test_a_kill_needs_a_failure_on_the_broken_requirement() -> None:
    happy = _test(f"{HAPPY}[v]", "passed")
    assert judge_mutant(MUTANT, _doc(_test("s/t.py::test_x[v]", "failed", ("PAR-2.2-1",)), happy))[
        0
    ]
    assert judge_mutant(MUTANT, _doc(_test("s/t.py::test_x[v]", "warning", ("PAR-2.2-1",)), happy))[
        0
    ]
    # failing on something else, ending in ERROR, or never running is not a kill
    assert not judge_mutant(
        MUTANT, _doc(_test("s/t.py::test_x[v]", "failed", ("OIDC-2-1",)), happy)
    )[0]
    assert not judge_mutant(MUTANT, _doc(_test("s/t.py::test_x[v]", "error"), happy))[0]
    assert not judge_mutant(MUTANT, _doc(_test("s/t.py::test_x[v]", "skipped"), happy))[0]
    assert not judge_mutant(MUTANT, _doc(happy))[0]
    # every variant must catch it
    both = _doc(
        _test("s/t.py::test_x[a]", "failed", ("PAR-2.2-1",)),
        _test("s/t.py::test_x[b]", "passed"),
        happy,
    )
    assert not judge_mutant(MUTANT, both)[0]


def test_a_kill_needs_a_healthy_mutant_otherwise() -> None:
    caught = _test("s/t.py::test_x[v]", "failed", ("PAR-2.2-1",))
    killed, reason, _ = judge_mutant(MUTANT, _doc(caught, _test(f"{HAPPY}[v]", "error")))
    assert not killed and "broken" in reason
    # the happy flow noticing the same defect is fine
    assert judge_mutant(MUTANT, _doc(caught, _test(f"{HAPPY}[v]", "failed", ("PAR-2.2-1",))))[0]


def test_sanity_false_waives_the_happy_flow_but_not_the_kill() -> None:
    """A mutant that leaves the flows nothing to run against is judged on its tests alone."""
    waived = dataclasses.replace(MUTANT, sanity=False)
    caught = _test("s/t.py::test_x[v]", "failed", ("PAR-2.2-1",))
    assert judge_mutant(waived, _doc(caught))[0]
    assert judge_mutant(waived, _doc(caught, _test(f"{HAPPY}[v]", "error")))[0]
    assert not judge_mutant(waived, _doc(_test("s/t.py::test_x[v]", "error")))[0]


@pytest.mark.slow
def test_every_mutant_is_killed_and_the_honest_target_passes(
    tmp_path: Path, demo: dict[str, Any]
) -> None:
    """Every mutant is killed; the honest baseline is this session's demo run of the plan."""
    honest = demo["out"] / "results.json"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "harness.cli", "mutants", "--out", str(tmp_path)),
            *("--honest-results", str(honest)),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    doc = json.loads((tmp_path / "mutants.json").read_text())
    survivors = [(m["name"], m["reason"]) for m in doc["mutants"] if not m["killed"]]
    assert survivors == []
    assert doc["false_failures"] == []
    assert doc["score"] == 1.0
    assert doc["total"] == len(load_mutants())
    for m in doc["mutants"]:
        assert set(m) >= {"name", "breaks", "expected_failing", "killed"}
    assert run.returncode == 0
