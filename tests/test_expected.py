"""Expected results: validation, matching, the exit code, re-rendering, and a real run."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.config import ConfigError
from harness.evidence import Redactor
from harness.expected import ExpectedResults, apply_expectations, parse_expectations
from harness.plugin import exit_code
from harness.report import rerender_run, write_run
from tests.conftest import run_env
from tests.test_report import synthetic_run

CLI = [sys.executable, "-m", "harness.cli"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"test": "x", "outcome": "failed"}, "expect[0].comment: required"),
        ({"test": "x", "outcome": "failed", "comment": "  "}, "expect[0].comment: required"),
        ({"outcome": "failed", "comment": "c"}, "expect[0]: give exactly one of test or"),
        (
            {"test": "x", "requirement": "R", "outcome": "failed", "comment": "c"},
            "expect[0]: give exactly one of test or requirement",
        ),
        ({"test": "x", "outcome": "passed", "comment": "c"}, "expect[0].outcome: must be one"),
        ({"test": "x", "outcome": "failed", "comment": "c", "why": 1}, "expect[0].why: unknown"),
    ],
)
def test_invalid_entries_name_the_field(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_expectations({"expect": [entry]})


def _document() -> dict[str, Any]:
    out = synthetic_run().to_dict(Redactor(), {})
    return out


def test_expected_failure_is_marked_and_does_not_fail_the_run() -> None:
    run = synthetic_run()
    document = run.to_dict(Redactor(), {})
    entries = parse_expectations(
        {
            "expect": [
                {"test": "*::test_failed", "outcome": "failed", "comment": "known: ticket 1"},
                {"test": "test_error", "outcome": "error", "comment": "known: ticket 2"},
            ]
        }
    )
    outcome = apply_expectations(document, entries, "exp.toml")
    assert outcome.expected_tests == {
        "suites/x/test_x.py::test_failed",
        "suites/x/test_x.py::test_error",
    }
    assert not outcome.unexpected_passes
    failed = next(t for t in document["tests"] if t["name"] == "test_failed")
    assert failed["expected"] == {"outcome": "failed", "comment": "known: ticket 1"}
    assert [e["status"] for e in document["expectations"]["entries"]] == ["held", "held"]
    assert exit_code(run, None, [], outcome) == 0
    assert exit_code(run, None, [], None) == 1  # without the file the same run fails


def test_unexpected_pass_fails_the_run() -> None:
    run = synthetic_run()
    document = run.to_dict(Redactor(), {})
    entries = parse_expectations(
        {
            "expect": [
                {"test": "*::test_failed", "outcome": "failed", "comment": "c"},
                {"test": "*::test_error", "outcome": "error", "comment": "c"},
                {"test": "*::test_passed", "outcome": "failed", "comment": "fixed since"},
            ]
        }
    )
    outcome = apply_expectations(document, entries, "exp.toml")
    assert len(outcome.unexpected_passes) == 1
    assert "test *::test_passed passed (expected failed: fixed since)" in outcome.unexpected_passes
    assert document["expectations"]["entries"][2]["status"] == "unexpected pass"
    assert exit_code(run, None, [], outcome) == 1


def test_requirement_entries_match_the_findings_that_cite_them() -> None:
    document = _document()
    # test_failed fails on PAR-2.2-1 and OAUTH-5.1-2: listing only one of them is not enough
    one = parse_expectations(
        {"expect": [{"requirement": "PAR-2.2-1", "outcome": "failed", "comment": "c"}]}
    )
    assert apply_expectations(document, one, "f").expected_tests == {
        "suites/x/test_x.py::test_failed"
    }
    document = _document()
    wrong = parse_expectations(
        {"expect": [{"requirement": "OIDC-2-1", "outcome": "failed", "comment": "c"}]}
    )
    outcome = apply_expectations(document, wrong, "f")
    assert not outcome.expected_tests
    assert outcome.not_exercised == ("requirement OIDC-2-1",)
    assert document["expectations"]["entries"][0]["status"] == "not exercised"


def test_requirement_that_passed_is_an_unexpected_pass() -> None:
    document = _document()
    for test in document["tests"]:  # make PAR-2.2-1 pass everywhere
        test["findings"] = [f for f in test["findings"] if f["ok"]]
    for req in document["requirements"]:
        if req["id"] == "PAR-2.2-1":
            req["outcome"] = "passed"
    entries = parse_expectations(
        {"expect": [{"requirement": "PAR-2.2-1", "outcome": "warning", "comment": "c"}]}
    )
    assert apply_expectations(document, entries, "f").unexpected_passes


def test_report_command_rerenders_with_expectations(tmp_path: Path) -> None:
    write_run(tmp_path, synthetic_run(), Redactor())
    (tmp_path / "index.html").unlink()
    exp = tmp_path / "exp.toml"
    exp.write_text(
        '[[expect]]\ntest = "*::test_passed"\noutcome = "failed"\ncomment = "was broken"\n'
    )
    proc = subprocess.run(
        [*CLI, "report", str(tmp_path), "--expected", str(exp)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "UNEXPECTED PASS: test *::test_passed passed" in proc.stdout
    html = (tmp_path / "index.html").read_text()
    assert "UNEXPECTED PASS" in html and "was broken" in html
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["expectations"]["entries"][0]["status"] == "unexpected pass"
    schema = json.loads((resources.files("harness.report") / "results.schema.json").read_text())
    jsonschema.validate(doc, schema)
    # again without expectations: renders, exit 0
    assert rerender_run(tmp_path).is_file()
    proc = subprocess.run(
        [*CLI, "report", str(tmp_path / "nope")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "no results.json" in proc.stderr


def test_expected_file_loading_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        ExpectedResults.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[expect]]\ntest = 'x'\noutcome = 'failed'\n")
    with pytest.raises(ConfigError, match=r"bad.toml: expect\[0\].comment: required"):
        ExpectedResults.load(bad)


def test_a_run_with_an_unexpected_pass_exits_1_and_a_held_one_exits_0(tmp_path: Path) -> None:
    """Against the reference target: expecting a discovery test to fail, when it passes, fails
    the run; expecting a test to be skipped, when it is, keeps the run green."""
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        '[[expect]]\ntest = "*test_par_required*"\noutcome = "failed"\n'
        'comment = "pretend the target takes un-pushed requests"\n'
    )
    held = tmp_path / "held.toml"
    held.write_text(
        '[[expect]]\ntest = "*test_mtls_bound_tokens_advertised*dpop*"\noutcome = "skipped"\n'
        'comment = "DPoP variants bind tokens with DPoP"\n'
    )
    for path, code in ((wrong, 1), (held, 0)):
        out = tmp_path / path.stem
        proc = subprocess.run(
            [
                *CLI,
                "demo",
                "--plan",
                "fapi2_sp/discovery",
                "--workers",
                "1",
                "--out",
                str(out),
                "--expected",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=run_env(tmp_path),
            check=False,
        )
        assert proc.returncode == code, proc.stdout[-3000:] + proc.stderr[-2000:]
        doc = json.loads((out / "results.json").read_text())
        status = doc["expectations"]["entries"][0]["status"]
        assert status == ("unexpected pass" if code else "held"), status
