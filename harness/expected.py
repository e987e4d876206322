"""Expected results: what a target is known to fail, warn on or skip, each with a comment.

A deployment is rarely perfect on day one. An expected-results file (TOML) lists the tests or
requirements whose verdict is known, so that a CI run stays green on known gaps and turns red on
anything new::

    [[expect]]
    test = "suites/fapi2_sp/tls/test_tls.py::test_cipher_suites*"  # glob on the test id or name
    outcome = "failed"
    comment = "Our load balancer still offers CBC suites; ticket SEC-142"

    [[expect]]
    requirement = "FAPI2SP-5.3.2.2-8"
    outcome = "warning"
    comment = "PAR request_uri lives 90 s by design (vendor default)"

Rules, applied to a run's results document:

- A test entry matches the tests whose id or name matches its glob. A requirement entry matches
  the tests whose non-passing findings of that outcome all cite listed requirements (for
  ``skipped``: the skipped tests that cover the requirement).
- A matched test whose verdict is the expected one is marked ``expected``: it is shown as such
  and does not fail the run.
- **An unexpected pass fails the run**: a test entry whose tests all passed, or a requirement entry
  whose requirement passed. So the list cannot rot: fix the target, then remove the entry.
- An entry that matched nothing in this run (not selected, not tested) is reported, not failed.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import ConfigError

OUTCOMES = ("failed", "warning", "skipped", "review", "error")


@dataclass(frozen=True)
class Expectation:
    """One entry of an expected-results file."""

    outcome: str
    comment: str
    test: str | None = None
    requirement: str | None = None

    @property
    def subject(self) -> str:
        """What the entry is about, as written in the file."""
        return f"test {self.test}" if self.test else f"requirement {self.requirement}"


def parse_expectations(data: dict[str, Any], source: str = "expected results") -> list[Expectation]:
    """Validate the parsed file; every error names the entry and the field."""
    unknown = set(data) - {"expect"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    entries = data.get("expect", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: expect: must be an array of tables ([[expect]])")
    result: list[Expectation] = []
    for i, entry in enumerate(entries):
        where = f"{source}: expect[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        extra = set(entry) - {"test", "requirement", "outcome", "comment"}
        if extra:
            raise ConfigError(f"{where}.{sorted(extra)[0]}: unknown field")
        test, requirement = entry.get("test"), entry.get("requirement")
        if (test is None) == (requirement is None):
            raise ConfigError(f"{where}: give exactly one of test or requirement")
        for name, value in (("test", test), ("requirement", requirement)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{where}.{name}: must be a non-empty string")
        outcome = entry.get("outcome")
        if outcome not in OUTCOMES:
            raise ConfigError(f"{where}.outcome: must be one of {', '.join(OUTCOMES)}")
        comment = entry.get("comment")
        if not isinstance(comment, str) or not comment.strip():
            raise ConfigError(
                f"{where}.comment: required: say why this outcome is expected on this target"
            )
        result.append(Expectation(outcome, comment.strip(), test, requirement))
    return result


def load_expectations(path: Path) -> list[Expectation]:
    """Read and validate an expected-results file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"expected results: file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"expected results: {path}: {exc}") from None
    return parse_expectations(data, str(path))


def _test_matches(entry: Expectation, test: dict[str, Any]) -> bool:
    if entry.test is not None:
        return fnmatch.fnmatchcase(test["id"], entry.test) or fnmatch.fnmatchcase(
            test.get("name", ""), entry.test
        )
    if test["outcome"] != entry.outcome:
        return False
    if entry.outcome == "skipped":
        return entry.requirement in test["requirements"]
    cited = {f["requirement"] for f in test.get("findings", []) if f["verdict"] == entry.outcome}
    return entry.requirement in cited


@dataclass(frozen=True)
class ExpectationOutcome:
    """What the expectations made of a run."""

    expected_tests: frozenset[str]
    unexpected_passes: tuple[str, ...]
    not_exercised: tuple[str, ...]


def apply_expectations(
    document: dict[str, Any], expectations: list[Expectation], source: str
) -> ExpectationOutcome:
    """Mark the document's tests that had their expected verdict (``test["expected"]``), record
    every entry's status under ``document["expectations"]``, and return what fails the run."""
    requirement_outcomes = {r["id"]: r["outcome"] for r in document["requirements"]}
    expected_tests: set[str] = set()
    unexpected: list[str] = []
    not_exercised: list[str] = []
    statuses: list[dict[str, Any]] = []
    for entry in expectations:
        matched = [t for t in document["tests"] if _test_matches(entry, t)]
        held = [t for t in matched if t["outcome"] == entry.outcome]
        for test in held:
            expected_tests.add(test["id"])
            test["expected"] = {"outcome": entry.outcome, "comment": entry.comment}
        if entry.test is not None:
            exercised = bool(matched)
            passed = exercised and all(t["outcome"] == "passed" for t in matched)
        else:
            req_outcome = requirement_outcomes.get(entry.requirement or "", "not_tested")
            exercised = req_outcome != "not_tested"
            passed = req_outcome == "passed"
        if passed:
            status = "unexpected pass"
            unexpected.append(f"{entry.subject} passed (expected {entry.outcome}: {entry.comment})")
        elif not exercised:
            status = "not exercised"
            not_exercised.append(entry.subject)
        elif held:
            status = "held"
        else:
            status = "other outcome"
        statuses.append(
            {
                "test": entry.test,
                "requirement": entry.requirement,
                "outcome": entry.outcome,
                "comment": entry.comment,
                "status": status,
                "tests": [t["id"] for t in held],
            }
        )
    document["expectations"] = {"file": source, "entries": statuses}
    return ExpectationOutcome(frozenset(expected_tests), tuple(unexpected), tuple(not_exercised))


@dataclass
class ExpectedResults:
    """A loaded expected-results file, and what it made of the run once applied."""

    entries: list[Expectation]
    source: str
    outcome: ExpectationOutcome | None = None

    @classmethod
    def load(cls, path: Path) -> ExpectedResults:
        """Read and validate ``path`` (errors name the entry and field)."""
        return cls(load_expectations(path), str(path))

    def apply(self, document: dict[str, Any]) -> ExpectationOutcome:
        """Annotate the results document and remember the outcome."""
        self.outcome = apply_expectations(document, self.entries, self.source)
        return self.outcome
