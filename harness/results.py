"""The results model of one run: every test's verdict, findings and evidence, and per requirement.

``results.json`` is written from this model and every other output is rendered from it. Its shape
is stable: ``{"tests": [{"id", "outcome", "requirements", "duration_s", …}],
"requirements": [{"id", "outcome", …}]}`` with lowercase outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.catalogue import load_catalogue, spec_titles
from harness.evidence import Evidence, Exchange, Note, Redactor, Screenshot
from harness.verdict import Judged, Verdict, worst

SCHEMA_VERSION = 1
NOT_TESTED = "not_tested"


@dataclass
class TestResult:
    """One test's verdict with its reason, findings and evidence."""

    __test__ = False  # not a pytest test class

    id: str
    name: str
    doc: str
    outcome: Verdict
    reason: str
    duration_s: float
    declared: list[str]
    judged: list[Judged]
    evidence: list[Evidence]
    variant: str | None = None

    @property
    def requirements(self) -> list[str]:
        """Ids the test declares or checked, in order, without repeats."""
        return list(dict.fromkeys([*self.declared, *(j.finding.requirement for j in self.judged)]))

    def requirement_verdicts(self) -> dict[str, Verdict]:
        """Each requirement's verdict in this test: the worst of its findings; a requirement the
        test declares but never reached takes the test's verdict (ERROR, SKIPPED, FAILED)."""
        out: dict[str, Verdict] = {}
        for rid in self.requirements:
            found = [j.verdict for j in self.judged if j.finding.requirement == rid]
            out[rid] = worst(found) or self.outcome
        return out


@dataclass
class RunResults:
    """Everything one run produced."""

    target: str
    issuer: str
    started: float
    finished: float = 0.0
    harness_version: str = ""
    variants: list[str] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    session_evidence: list[Evidence] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # run-level: target down, breaker open

    def requirement_outcomes(self) -> dict[str, tuple[Verdict, list[str]]]:
        """Per requirement: the worst verdict over its tests, and those tests' ids."""
        per: dict[str, list[tuple[Verdict, str]]] = {}
        for test in self.tests:
            for rid, verdict in test.requirement_verdicts().items():
                per.setdefault(rid, []).append((verdict, test.id))
        return {
            rid: (worst([v for v, _ in items]) or Verdict.ERROR, [t for _, t in items])
            for rid, items in sorted(per.items())
        }

    def counts(self) -> dict[str, int]:
        """How many tests ended in each verdict."""
        return {v.value: sum(1 for t in self.tests if t.outcome is v) for v in Verdict}

    def to_dict(self, redactor: Redactor, screenshot_paths: dict[int, str]) -> dict[str, Any]:
        """The JSON document of the run (evidence redacted, screenshots by relative path)."""
        catalogue = load_catalogue()

        def evidence(items: list[Evidence]) -> list[dict[str, Any]]:
            out = []
            for item in items:
                entry = item.to_dict(redactor)
                if isinstance(item, Screenshot):
                    entry["path"] = screenshot_paths.get(id(item))
                out.append(entry)
            return out

        outcomes = self.requirement_outcomes()
        requirements: list[dict[str, Any]] = []
        for rid in sorted(set(catalogue) | set(outcomes)):
            req = catalogue.get(rid)
            verdict, tests = outcomes.get(rid, (None, []))
            requirements.append(
                {
                    "id": rid,
                    "outcome": verdict.value if verdict else NOT_TESTED,
                    "level": req.level if req else None,
                    "spec": req.spec if req else rid.split("-", 1)[0],
                    "section": req.section if req else None,
                    "applies_to": req.applies_to if req else None,
                    "text": req.text if req else None,
                    "url": req.url if req else None,
                    "tests": tests,
                    "untested_reason": req.why_untested if req and verdict is None else None,
                }
            )
        cited = sorted({str(r["spec"]) for r in requirements if r["outcome"] != NOT_TESTED})
        titles = spec_titles()
        return {
            "schema_version": SCHEMA_VERSION,
            "harness_version": self.harness_version,
            "target": self.target,
            "issuer": self.issuer,
            "variants": self.variants,
            "specs": {prefix: titles.get(prefix, prefix) for prefix in cited},
            "started": self.started,
            "finished": self.finished,
            "counts": self.counts(),
            "requirement_counts": {
                v: sum(1 for r in requirements if r["outcome"] == v)
                for v in [*(x.value for x in Verdict), NOT_TESTED]
            },
            "tests": [self._test_dict(t, redactor, evidence) for t in self.tests],
            "requirements": requirements,
            "session_evidence": evidence(self.session_evidence),
            "notices": [redactor.text(n) for n in self.notices],
        }

    @staticmethod
    def _test_dict(
        t: TestResult,
        redactor: Redactor,
        evidence: Callable[[list[Evidence]], list[dict[str, Any]]],
    ) -> dict[str, Any]:
        secrets: set[str] = set()
        for item in t.evidence:
            if isinstance(item, Exchange | Note):
                secrets |= item.secrets()
        findings = [
            {
                k: redactor.scrub(v, secrets) if isinstance(v, str) else v
                for k, v in j.to_dict().items()
            }
            for j in t.judged
        ]
        return {
            "id": t.id,
            "name": t.name,
            "variant": t.variant,
            "outcome": t.outcome.value,
            "reason": redactor.scrub(t.reason, secrets),
            "requirements": t.requirements,
            "duration_s": round(t.duration_s, 3),
            "doc": t.doc,
            "findings": findings,
            "evidence": evidence(t.evidence),
        }
