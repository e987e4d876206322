"""The pytest plugin turns what a test did into the right verdict, and writes results.json."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.conftest import minimal_config, write_client_keys

SUITE = '''
import pytest
from harness.evidence import Exchange
from harness.net import TransportFailure
from harness.verdict import Finding, NotTestable

OK = Finding("PAR-2.2-1", True, "PAR answers 201")
BAD = Finding("PAR-2.2-1", False, "PAR answers 201", "HTTP 201", "HTTP 200")

@pytest.mark.requirement("PAR-2.2-1")
def test_passes(judge):
    """All checks hold."""
    judge.must(OK)

def test_fails(judge):
    judge.must(BAD)
    judge.must(OK)

def test_fails_and_stops(judge):
    judge.must(BAD, stop=True)
    raise RuntimeError("never reached")

def test_warns(judge):
    judge.must(OK)
    judge.should(Finding("OAUTH-5.1-3", False, "token response carries expires_in"))

def test_review(judge):
    judge.must(OK)
    judge.review(Finding("PAR-2.2-1", False, "an error page a person must read"))

def test_checks_nothing(judge):
    pass

def test_harness_bug(judge):
    judge.must(OK)
    raise KeyError("bug")

def test_failure_then_bug(judge):
    judge.must(BAD)
    raise KeyError("bug")

def test_transport_failure(judge):
    failed = Exchange("PAR", "POST", "https://x/par", [], "", "none", error="ConnectError")
    raise TransportFailure(failed)

def test_not_testable(judge):
    raise NotTestable("set-up: PAR did not succeed")

def test_unknown_requirement(judge):
    judge.must(Finding("NOT-A-REAL-1", True, "x"))

def test_skipped(judge):
    pytest.skip("not applicable: variant x")

def test_failure_then_skip(judge):
    judge.must(BAD)
    pytest.skip("not applicable: nothing more to check")

@pytest.mark.requirement("OIDD-4.3-1")
def test_target_unreachable(target, judge):
    judge.must(OK)
'''

EXPECTED = {
    "test_passes": "passed",
    "test_fails": "failed",
    "test_fails_and_stops": "failed",
    "test_warns": "warning",
    "test_review": "review",
    "test_checks_nothing": "error",
    "test_harness_bug": "error",
    "test_failure_then_bug": "failed",
    "test_transport_failure": "error",
    "test_not_testable": "error",
    "test_unknown_requirement": "error",
    "test_skipped": "skipped",
    "test_failure_then_skip": "failed",  # a skip must not hide a failure already found
    "test_target_unreachable": "error",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run SUITE once, in its own process, against a target that is not there."""
    folder = tmp_path_factory.mktemp("plugin")
    report = folder / "report"
    run = _run_suite(folder, SUITE, "--report-dir", str(report))
    document = json.loads((report / "results.json").read_text())
    return {"doc": document, "run": run, "report": report}


def test_each_test_gets_the_verdict_its_behaviour_deserves(results: dict[str, Any]) -> None:
    outcomes = {t["name"]: t["outcome"] for t in results["doc"]["tests"]}
    assert outcomes == EXPECTED


def test_reasons_say_why(results: dict[str, Any]) -> None:
    reasons = {t["name"]: t["reason"] for t in results["doc"]["tests"]}
    assert "HTTP 200" in reasons["test_fails"]
    assert "no check" in reasons["test_checks_nothing"]
    assert "KeyError" in reasons["test_harness_bug"]
    assert (
        "KeyError" in reasons["test_failure_then_bug"]
        and "HTTP 200" in reasons["test_failure_then_bug"]
    )
    assert "no answer from the target" in reasons["test_transport_failure"]
    assert "not applicable" in reasons["test_skipped"]
    assert "HTTP 200" in reasons["test_failure_then_skip"]
    assert "NOT-A-REAL-1" in reasons["test_unknown_requirement"]
    assert "127.0.0.1" in reasons["test_target_unreachable"]


def test_results_json_shape(results: dict[str, Any]) -> None:
    doc = results["doc"]
    for test in doc["tests"]:
        assert set(test) >= {"id", "outcome", "requirements", "duration_s"}
        assert test["outcome"] == test["outcome"].lower()
    by_id = {r["id"]: r for r in doc["requirements"]}
    # PAR-2.2-1 failed in some tests: the worst verdict wins.
    assert by_id["PAR-2.2-1"]["outcome"] == "failed"
    # Declared but never reached because the target was unreachable: ERROR, not PASSED.
    assert by_id["OIDD-4.3-1"]["outcome"] == "error"
    assert by_id["OAUTH-5.1-3"]["outcome"] == "warning"
    assert (results["report"] / "index.html").is_file()


def test_pytest_outcomes_never_count_an_error_as_a_pass(results: dict[str, Any]) -> None:
    closing = results["run"].stdout.strip().splitlines()[-1]
    # Each verdict keeps its own word in pytest's closing line; errors fail the run.
    for words in ("1 passed", "1 warned", "1 review", "1 skipped", "4 failed", "6 error"):
        assert words in closing, closing
    assert results["run"].returncode == 1


def test_unknown_requirement_in_a_marker_is_a_usage_error(
    pytester: pytest.Pytester, config_dir: Path
) -> None:
    (config_dir / "target.toml").write_text(tomli_w.dumps(minimal_config()))
    pytester.makepyfile(
        test_x='import pytest\n@pytest.mark.requirement("NOPE-9")\ndef test_x(judge):\n    pass\n'
    )
    run = pytester.runpytest("--target-config", str(config_dir / "target.toml"))
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*unknown requirement id(s): NOPE-9*"])


def test_bad_config_is_a_usage_error_naming_the_field(
    pytester: pytest.Pytester, config_dir: Path
) -> None:
    (config_dir / "target.toml").write_text(tomli_w.dumps(minimal_config(issuer="http://plain")))
    pytester.makepyfile(test_x="def test_x(judge):\n    pass\n")
    run = pytester.runpytest("--target-config", str(config_dir / "target.toml"))
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines(["*issuer: must be an https:// URL*"])


def _run_suite(folder: Path, suite: str, *args: str) -> subprocess.CompletedProcess[str]:
    write_client_keys(folder)
    data = minimal_config(issuer=f"https://127.0.0.1:{_closed_port()}")
    data["timeouts"] = {"connect": 2, "read": 2}
    # These suites test verdicts against a target that is not there: without the sanity probe,
    # which would otherwise end every test at once (tests/test_hostile.py covers it).
    data["guards"] = {"probe": False}
    (folder / "target.toml").write_text(tomli_w.dumps(data))
    (folder / "test_suite.py").write_text(suite)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "test_suite.py",
            "-p",
            "no:cacheprovider",
            "--target-config",
            "target.toml",
            *args,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_unreachable_target_exits_3(tmp_path: Path) -> None:
    suite = "def test_a(target, judge):\n    pass\n\ndef test_b(target, judge):\n    pass\n"
    run = _run_suite(tmp_path, suite)
    assert run.returncode == 3, run.stdout[-2000:]


WARN_ONLY = """
from harness.verdict import Finding

def test_w(judge):
    judge.should(Finding("OAUTH-5.1-3", False, "token response carries expires_in"))
"""


def test_warnings_pass_unless_fail_on_warning(tmp_path: Path) -> None:
    assert _run_suite(tmp_path, WARN_ONLY).returncode == 0
    assert _run_suite(tmp_path, WARN_ONLY, "--fail-on", "warning").returncode == 1
    assert _run_suite(tmp_path, WARN_ONLY, "--fail-on", "review").returncode == 0


def test_a_parallel_run_gives_the_same_verdicts_and_report(tmp_path: Path) -> None:
    """Run with two xdist workers: every test's verdict and reason reach the report written by
    the controller, and so does what the workers saw outside the tests (the failed discovery)."""
    report = tmp_path / "report"
    run = _run_suite(tmp_path, SUITE, "--report-dir", str(report), "-n", "2")
    doc = json.loads((report / "results.json").read_text())
    assert {t["name"]: t["outcome"] for t in doc["tests"]} == EXPECTED, run.stdout[-3000:]
    assert all(t["reason"] for t in doc["tests"] if t["outcome"] != "passed")
    assert [e["kind"] for e in doc["session_evidence"]] == ["exchange"]
    assert (report / "index.html").is_file()
    assert run.returncode == 1  # failures, errors: the policy of a serial run holds


def test_an_unreachable_target_exits_3_in_a_parallel_run_too(tmp_path: Path) -> None:
    suite = "def test_a(target, judge):\n    pass\n\ndef test_b(target, judge):\n    pass\n"
    run = _run_suite(tmp_path, suite, "-n", "2")
    assert run.returncode == 3, run.stdout[-2000:]


CLOCKS = '''
import pytest
from pathlib import Path
from harness.verdict import Finding

LOG = Path("order.log")
OK = Finding("PAR-2.2-1", True, "PAR answers 201")

@pytest.fixture(scope="session")
def aged_thing():
    with LOG.open("a") as log:
        log.write("clock started\\n")
    return "thing"

@pytest.mark.slow("aged_thing")
def test_expired(aged_thing, judge):
    """Written first, runs last."""
    LOG.open("a").write("slow test\\n")
    judge.must(OK)

def test_other(judge):
    LOG.open("a").write("other test\\n")
    judge.must(OK)
'''


def test_slow_tests_run_last_and_their_clocks_start_first(tmp_path: Path) -> None:
    run = _run_suite(tmp_path, CLOCKS)
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / "order.log").read_text().splitlines()
    assert log == ["clock started", "other test", "slow test"]


def test_no_clock_starts_when_no_slow_test_is_selected(tmp_path: Path) -> None:
    run = _run_suite(tmp_path, CLOCKS, "-m", "not slow")
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "order.log").read_text().splitlines() == ["other test"]


VARIANTS = """
from harness.verdict import Finding

def test_v(variant, judge):
    judge.must(Finding("PAR-2.2-1", True, "PAR answers 201"))
"""


def test_variant_selects_and_an_unknown_variant_is_a_usage_error(tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = _run_suite(
        tmp_path, VARIANTS, "--variant", "private_key_jwt-dpop", "--report-dir", str(report)
    )
    assert run.returncode == 0, run.stdout[-2000:]
    doc = json.loads((report / "results.json").read_text())
    assert [t["variant"] for t in doc["tests"]] == ["private_key_jwt-dpop"]
    assert doc["variants"] == ["private_key_jwt-dpop"]
    wrong = _run_suite(tmp_path, VARIANTS, "--variant", "nope")
    assert wrong.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--variant: no variant named nope" in wrong.stderr + wrong.stdout


def test_long_waits_are_announced_live_also_from_workers(tmp_path: Path) -> None:
    """A wait for an expiry says what it waits for while it waits: past pytest's capture, and in
    a parallel run from the worker, named."""
    (tmp_path / "test_wait.py").write_text(
        "import time\nfrom harness import flows\n\n\n"
        "def test_wait():\n    flows.wait_until(time.time() + 1.6, 'the test clock')\n"
    )
    for workers, expected in (
        ("0", "fapi-harness: waiting 2 s"),
        ("2", "fapi-harness: [gw"),
    ):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "test_wait.py",
                "-n",
                workers,
                "-p",
                "no:cacheprovider",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        said = proc.stdout + proc.stderr
        assert expected in said and "waiting 2 s for the test clock" in said, said
