"""The mutant run: prove every negative check catches a broken target.

For each mutant of ``harness/targets/mutants.toml`` a reference target with that defect is
started and the tests that must catch it are run against it. A mutant is *killed* when each of
those tests (in every variant it applies to) ends FAILED, or WARNING for a SHOULD, on one of the
requirements the mutant breaks: a test that fails for another reason, or ends in ERROR, does not
count. Mutants whose tests do not include the happy flow also run it, and it must not end in
ERROR: the mutant target otherwise works (it may show the same defect there). ``sanity = false``
waives this for a defect that leaves the happy flow nothing to run against, such as a discovery
document without a PAR endpoint. The
honest target runs the whole plan on the same run: any test that does not pass there is a false
failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harness.targets.reference import TargetStartError, start_reference_target

HAPPY = "suites/fapi2_sp/happy/test_happy_flow.py::test_happy_flow"


@dataclass(frozen=True)
class Mutant:
    """One broken twin of the reference target."""

    name: str
    breaks: tuple[str, ...]
    kills: tuple[str, ...]
    how: str
    mutations: tuple[str, ...]
    # False when the defect itself leaves the flows nothing to run against (say, no PAR
    # endpoint): the happy flow cannot then be the mutant's health check and is not run.
    sanity: bool = True


def load_mutants() -> list[Mutant]:
    """The mutant corpus, as data."""
    text = (resources.files("harness.targets") / "mutants.toml").read_text(encoding="utf-8")
    return [
        Mutant(
            name=m["name"],
            breaks=tuple(m["breaks"]),
            kills=tuple(m["kills"]),
            how=m["how"],
            mutations=tuple(m.get("mutations", [m["name"]])),
            sanity=bool(m.get("sanity", True)),
        )
        for m in tomllib.loads(text)["mutant"]
    ]


@dataclass
class MutantResult:
    """What the expected tests did against one mutant."""

    mutant: Mutant
    killed: bool
    reason: str
    verdicts: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.mutant.name,
            "breaks": list(self.mutant.breaks),
            "how": self.mutant.how,
            "mutations": list(self.mutant.mutations),
            "expected_failing": list(self.mutant.kills),
            "killed": self.killed,
            "reason": self.reason,
            "verdicts": self.verdicts,
            "wall_s": round(self.wall_s, 2),
        }


def _matches(test_id: str, selector: str) -> bool:
    return test_id == selector or test_id.startswith(selector + "[")


def run_plan(target_args: list[str], selectors: list[str], out: Path) -> dict[str, Any]:
    """Run suites (or the selected node ids) in a pytest process; return its results.json."""
    suites = Path(str(resources.files("suites")))
    root = suites.parent
    args = selectors or [str(suites)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *args,
            *target_args,
            "--report-dir",
            str(out),
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(root),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    results = out / "results.json"
    return json.loads(results.read_text()) if results.is_file() else {"tests": []}


def judge_mutant(mutant: Mutant, doc: dict[str, Any]) -> tuple[bool, str, dict[str, str]]:
    """Killed or survived, and why, from the results of the run against the mutant."""
    tests = doc.get("tests", [])
    verdicts = {t["id"]: t["outcome"] for t in tests}
    expected = [t for t in tests if any(_matches(t["id"], k) for k in mutant.kills)]
    ran = [t for t in expected if t["outcome"] != "skipped"]
    if not ran:
        return False, "none of the expected tests ran", verdicts
    for test in ran:
        caught = [
            f for f in test.get("findings", []) if f["requirement"] in mutant.breaks and not f["ok"]
        ]
        if test["outcome"] not in ("failed", "warning") or not caught:
            return (
                False,
                f"{test['id']} ended {test['outcome'].upper()} without flagging "
                f"{' or '.join(mutant.breaks)}: {test.get('reason', '')}",
                verdicts,
            )
    # The mutant target must otherwise work: its happy flow may show the defect too (FAILED),
    # but it must not end in ERROR, which would mean the mutant broke more than one thing.
    sanity = [t for t in tests if mutant.sanity and _matches(t["id"], HAPPY) and t not in expected]
    broken = [t for t in sanity if t["outcome"] == "error"]
    if broken:
        return (
            False,
            f"the mutant target is broken: {broken[0]['id']}: {broken[0]['reason']}",
            verdicts,
        )
    return True, f"caught by {len(ran)} test run(s)", verdicts


def run_mutant(mutant: Mutant, out: Path) -> MutantResult:
    """Start the mutant target, run its expected tests (and the sanity flow), judge."""
    begin = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.name}-") as tmp:
        try:
            target = start_reference_target(Path(tmp) / "target", mutations=mutant.mutations)
        except TargetStartError as exc:
            reason = f"the mutant target did not start: {exc}"
            return MutantResult(mutant, False, reason, {}, time.monotonic() - begin)
        try:
            selectors = list(mutant.kills)
            if mutant.sanity and not any(k.startswith(HAPPY) for k in selectors):
                # one variant is enough to show the mutant target otherwise works
                selectors.append(f"{HAPPY}[{target.config().variants[0].name}]")
            doc = run_plan(
                ["--target-config", str(target.config_path)], selectors, out / mutant.name
            )
        finally:
            target.stop()
    killed, reason, verdicts = judge_mutant(mutant, doc)
    return MutantResult(mutant, killed, reason, verdicts, time.monotonic() - begin)


def run_mutants(
    out: Path,
    only: list[str] | None = None,
    workers: int = 2,
    honest_results: Path | None = None,
) -> dict[str, Any]:
    """Run the honest baseline and every (or the named) mutant; write ``mutants.json``.
    ``honest_results`` names the results.json of a whole-plan run against the honest target
    made for the same change (the demo, say), to use instead of running the plan again."""
    begin = time.monotonic()
    mutants = [m for m in load_mutants() if not only or m.name in only]
    unknown = sorted(set(only or []) - {m.name for m in mutants})
    if unknown:
        raise ValueError(f"unknown mutant(s): {', '.join(unknown)}")
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        baseline_job = (
            None
            if honest_results is not None
            else pool.submit(run_plan, ["--reference-target"], [], out / "honest")
        )
        results = list(pool.map(lambda m: run_mutant(m, out), mutants))
        baseline = (
            baseline_job.result()
            if baseline_job is not None
            else json.loads(honest_results.read_text())
            if honest_results and honest_results.is_file()
            else {"tests": []}
        )
    false_failures = [
        t["id"] for t in baseline["tests"] if t["outcome"] not in ("passed", "skipped")
    ] or ([] if baseline["tests"] else ["the honest target's run produced no results"])
    killed = sum(r.killed for r in results)
    document = {
        "score": killed / len(results) if results else 1.0,
        "killed": killed,
        "total": len(results),
        "false_failures": false_failures,
        "honest_counts": baseline.get("counts", {}),
        "wall_s": round(time.monotonic() - begin, 1),
        "mutants": [r.to_dict() for r in results],
    }
    (out / "mutants.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    (out / "mutants.md").write_text(render_markdown(document), encoding="utf-8")
    return document


def render_markdown(document: dict[str, Any]) -> str:
    """The mutation report: mutant → expected tests → verdicts, and the score."""
    lines = [
        "# Mutation report",
        "",
        f"Score: **{document['score']:.0%}** ({document['killed']}/{document['total']} killed); "
        f"false failures on the honest target: {len(document['false_failures'])}; "
        f"wall time {document['wall_s']} s.",
        "",
        "| mutant | breaks | how | expected to fail | verdicts | killed |",
        "|---|---|---|---|---|---|",
    ]
    for m in document["mutants"]:
        verdicts = ", ".join(
            f"{tid.rsplit('::', 1)[-1]}: {v}"
            for tid, v in m["verdicts"].items()
            if any(_matches(tid, k) for k in m["expected_failing"])
        )
        lines.append(
            f"| {m['name']} | {', '.join(m['breaks'])} | {m['how']} | "
            f"{'<br>'.join(k.rsplit('::', 1)[-1] for k in m['expected_failing'])} | {verdicts} | "
            f"{'yes' if m['killed'] else 'NO: ' + m['reason']} |"
        )
    for tid in document["false_failures"]:
        lines.append(f"\nFalse failure on the honest target: {tid}")
    return "\n".join(lines) + "\n"
