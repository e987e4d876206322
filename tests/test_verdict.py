"""Verdict ordering, the worst-of rule, and the judge's severities."""

from __future__ import annotations

import pytest

from harness.verdict import Finding, Judge, RequirementFailed, Verdict, worst

OK = Finding("PAR-2.2-1", True, "PAR answers 201")
BAD = Finding("PAR-2.2-1", False, "PAR answers 201", "HTTP 201", "HTTP 200")


def test_worst_orders_by_severity() -> None:
    assert worst([Verdict.PASSED, Verdict.SKIPPED]) is Verdict.PASSED
    assert worst([Verdict.PASSED, Verdict.WARNING]) is Verdict.WARNING
    assert worst([Verdict.WARNING, Verdict.REVIEW]) is Verdict.REVIEW
    assert worst([Verdict.REVIEW, Verdict.ERROR]) is Verdict.ERROR
    assert worst([Verdict.ERROR, Verdict.FAILED]) is Verdict.FAILED
    assert worst([]) is None


def test_the_caller_chooses_the_severity() -> None:
    judge = Judge()
    assert judge.should(BAD) is False
    assert judge.verdict() is Verdict.WARNING
    judge.review(BAD)
    assert judge.verdict() is Verdict.REVIEW
    judge.must(BAD)
    assert judge.verdict() is Verdict.FAILED


def test_passing_findings_pass() -> None:
    judge = Judge()
    judge.must(OK)
    judge.should(OK)
    assert judge.verdict() is Verdict.PASSED
    assert judge.requirements == ["PAR-2.2-1"]


def test_a_test_without_findings_cannot_pass() -> None:
    assert Judge().verdict() is Verdict.ERROR


def test_stop_raises_only_on_failure() -> None:
    judge = Judge()
    judge.must(OK, stop=True)
    with pytest.raises(RequirementFailed, match=r"PAR-2\.2-1"):
        judge.must(BAD, stop=True)


def test_unknown_requirement_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="NOPE-1"):
        Judge().must(Finding("NOPE-1", True, "x"))
