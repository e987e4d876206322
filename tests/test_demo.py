"""End to end: `fapi-harness demo` runs the plan against the reference target and writes the report.

This is the README's first command minus the set-up. It proves every happy-flow test passes
against the honest target, that the report holds no private key material, and that neither a
finished run nor one stopped with Ctrl-C leaves a server or a browser behind.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from tests.conftest import run_env
from tests.procs import pids_mentioning

CLI = [sys.executable, "-m", "harness.cli"]
PRIVATE = re.compile(rb'BEGIN ([A-Z]+ )?PRIVATE KEY|"d" *: *"[A-Za-z0-9_-]{20,}')


def test_demo_exits_cleanly_and_says_where_the_report_is(demo: dict[str, Any]) -> None:
    proc = demo["proc"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"report written to {demo['out'] / 'index.html'}" in proc.stdout
    assert (demo["out"] / "index.html").is_file()


def test_every_happy_flow_passes_on_every_variant(demo: dict[str, Any]) -> None:
    tests = demo["doc"]["tests"]
    happy = {t["variant"]: t["outcome"] for t in tests if t["name"].startswith("test_happy_flow[")}
    assert happy == {
        "private_key_jwt-dpop": "passed",
        "private_key_jwt-mtls": "passed",
        "tls_client_auth-dpop": "passed",
        "tls_client_auth-mtls": "passed",
    }


def test_no_test_fails_or_errors_and_skips_say_why(demo: dict[str, Any]) -> None:
    for test in demo["doc"]["tests"]:
        assert test["outcome"] in ("passed", "skipped"), (test["id"], test["reason"])
        if test["outcome"] == "skipped":
            assert test["reason"].startswith("not applicable"), test["id"]
        else:
            assert test["findings"], test["id"]
            assert test["requirements"], test["id"]
            assert test["evidence"], test["id"]


def test_results_json_has_the_stable_shape(demo: dict[str, Any]) -> None:
    doc = demo["doc"]
    schema = json.loads((resources.files("harness.report") / "results.schema.json").read_text())
    jsonschema.validate(doc, schema)
    for test in doc["tests"]:
        assert set(test) >= {"id", "outcome", "requirements", "duration_s"}
    assert doc["requirements"]
    for req in doc["requirements"]:
        assert set(req) >= {"id", "outcome"}
        assert req["outcome"] in ("passed", "skipped", "not_tested")


def test_evidence_shows_the_browser_steps(demo: dict[str, Any]) -> None:
    happy = next(t for t in demo["doc"]["tests"] if t["name"].startswith("test_happy_flow["))
    shots = [e for e in happy["evidence"] if e["kind"] == "screenshot"]
    assert [s["label"] for s in shots] == ["login: login", "login: consent"]
    for shot in shots:
        assert (demo["out"] / shot["path"]).read_bytes().startswith(b"\x89PNG")


def test_no_artifact_holds_private_key_material(demo: dict[str, Any]) -> None:
    for path in demo["out"].rglob("*"):
        if path.is_file():
            assert not PRIVATE.search(path.read_bytes()), path


def test_nothing_is_left_running(demo: dict[str, Any]) -> None:
    assert pids_mentioning(str(demo["tmp"])) == []


def test_ctrl_c_stops_the_run_and_leaves_nothing_behind(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*CLI, "demo", "--out", str(tmp_path / "run")],
            env=run_env(tmp_path),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            # Wait until the server and the browser are both up, then interrupt. The bound is
            # generous: a loaded CI machine can take long over the first browser launch.
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and proc.poll() is None:
                if chromium_pids(tmp_path) and len(pids_mentioning(str(tmp_path))) >= 3:
                    break
                time.sleep(0.1)
            assert chromium_pids(tmp_path), (
                "the run never launched its browser",
                proc.poll(),
                process_names(tmp_path),
                log.read_text(errors="replace")[-3000:],
            )
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 130  # interrupted, per the documented exit codes
        finally:
            if proc.poll() is None:
                proc.kill()
    deadline = time.monotonic() + 10
    while pids_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pids_mentioning(str(tmp_path)) == [], process_names(tmp_path)


def process_names(tmp_path: Path) -> list[str]:
    """The executables of the live processes that mention ``tmp_path`` (for failure messages)."""
    names = []
    for pid in pids_mentioning(str(tmp_path)):
        try:
            names.append(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode())
        except OSError:
            continue
    return names


def chromium_pids(tmp_path: Path) -> list[str]:
    """Browser processes of the run (Chromium is started with a profile under ``tmp_path``)."""
    return [n for n in process_names(tmp_path) if "chrom" in n.lower() or "headless_shell" in n]


def test_server_events_belong_to_the_test_that_caused_them(demo: dict[str, Any]) -> None:
    """Tests run in parallel: each test's server events carry its own traffic tag, and no two
    tests share one (events are matched by tag, not by time)."""
    owners: dict[str, str] = {}
    with_events = 0
    for test in demo["doc"]["tests"]:
        tags = {e["event"].get("test") for e in test["evidence"] if e["kind"] == "server_event"}
        if not tags:
            continue
        with_events += 1
        assert len(tags) == 1 and None not in tags, (test["id"], tags)
        tag = str(tags.pop())
        assert owners.setdefault(tag, test["id"]) == test["id"], (tag, test["id"], owners[tag])
    assert with_events > 20  # the negative tests' refusals are logged by the reference target
