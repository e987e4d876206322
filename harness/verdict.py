"""Verdicts and findings: what a check observed, and how much it matters.

A check returns a ``Finding``: did the target do what one requirement asks, with the expected
and actual values. The test decides the severity where it calls the check: ``judge.must`` turns a
failed finding into FAILED, ``judge.should`` into WARNING, ``judge.review`` into REVIEW.
A test's verdict is the worst of its findings; an exception that is not a failed requirement
(a timeout, a refused connection, a harness bug) is ERROR, never PASSED or FAILED.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from harness.catalogue import load_catalogue


class Verdict(enum.Enum):
    """The six verdicts, ordered from least to most severe (``worst`` picks the last)."""

    SKIPPED = "skipped"
    PASSED = "passed"
    WARNING = "warning"
    REVIEW = "review"
    ERROR = "error"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return list(Verdict).index(self)


def worst(verdicts: list[Verdict]) -> Verdict | None:
    """The most severe verdict (None for an empty list)."""
    return max(verdicts, key=lambda v: v.rank) if verdicts else None


@dataclass(frozen=True)
class Finding:
    """The outcome of one check against one requirement."""

    requirement: str
    ok: bool
    summary: str
    expected: str = ""
    actual: str = ""
    inconclusive: bool = False  # the evidence needs a person's eyes (e.g. a page shown, no error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "ok": self.ok,
            "summary": self.summary,
            "expected": self.expected,
            "actual": self.actual,
            "inconclusive": self.inconclusive,
        }


@dataclass(frozen=True)
class Judged:
    """A finding with the verdict the test gave it."""

    finding: Finding
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "verdict": self.verdict.value}


class RequirementFailed(AssertionError):
    """A mandatory requirement did not hold and the test cannot go on."""


class StopForReview(Exception):
    """The test cannot go on, and what it saw needs a person's judgement (REVIEW)."""


class NotTestable(RuntimeError):
    """A step the test depends on did not complete, so the requirement could not be tested."""


@dataclass
class Judge:
    """Collects the judged findings of one test."""

    judged: list[Judged] = field(default_factory=list)

    def _add(self, finding: Finding, on_fail: Verdict) -> bool:
        if finding.requirement not in load_catalogue():
            raise ValueError(f"{finding.requirement}: not in the requirement catalogue")
        if finding.ok:
            verdict = Verdict.PASSED
        elif finding.inconclusive and on_fail.rank > Verdict.REVIEW.rank:
            verdict = Verdict.REVIEW  # not shown to be broken: a person decides
        else:
            verdict = on_fail
        self.judged.append(Judged(finding, verdict))
        return finding.ok

    def must(self, finding: Finding, *, stop: bool = False) -> bool:
        """A MUST: a failed finding makes the test FAILED; ``stop`` ends the test there."""
        ok = self._add(finding, Verdict.FAILED)
        if not ok and stop:
            message = f"{finding.requirement}: {finding.summary}: {finding.actual}"
            if self.judged[-1].verdict is Verdict.REVIEW:
                raise StopForReview(message)
            raise RequirementFailed(message)
        return ok

    def should(self, finding: Finding) -> bool:
        """A SHOULD: a failed finding makes the test WARNING at worst."""
        return self._add(finding, Verdict.WARNING)

    def review(self, finding: Finding) -> bool:
        """Something only a person can judge: a failed finding makes the test REVIEW."""
        return self._add(finding, Verdict.REVIEW)

    @property
    def requirements(self) -> list[str]:
        """Requirement ids checked so far, in order, without repeats."""
        return list(dict.fromkeys(j.finding.requirement for j in self.judged))

    def verdict(self) -> Verdict:
        """The worst verdict of the findings; a test that checked nothing cannot pass: ERROR."""
        return worst([j.verdict for j in self.judged]) or Verdict.ERROR
