"""The fapi-harness command: a detached target, a run against its configuration, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.procs import pids_mentioning

CLI = [sys.executable, "-m", "harness.cli"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_detached_target_run_against_its_config_and_stop(tmp_path: Path) -> None:
    started = _cli("target", "start", "--dir", "t", "--detach", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        assert pids_mentioning(str(tmp_path / "t")), "the detached target is not running"
        # The target may log long after the command that started it has gone (oidc-provider
        # prints notices on first use of some defaults): its stdout and stderr are server.log,
        # not a pipe to that command, which would kill it with EPIPE.
        pid = int((tmp_path / "t" / "target.pid").read_text())
        log = str((tmp_path / "t" / "server.log").resolve())
        assert [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in (1, 2)] == [log, log]
        run = _cli("run", "--config", "t/target.toml", "--out", "out", "-k", "happy", cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-2000:]
        doc = json.loads((tmp_path / "out" / "results.json").read_text())
        assert [t["outcome"] for t in doc["tests"]] == ["passed"] * 4
        # --plan and --clause narrow the run; --workers 1 runs it in one process
        narrowed = _cli(
            "run",
            "--config",
            "t/target.toml",
            "--out",
            "out2",
            "--plan",
            "fapi2_sp/pkce",
            "--clause",
            "PKCE-4.4.1",
            "--workers",
            "1",
            "--lf",  # pytest's own options work; its cache sits next to the run folders
            cwd=tmp_path,
        )
        assert narrowed.returncode == 0, narrowed.stdout[-2000:]
        assert (tmp_path / ".pytest_cache").is_dir()
        doc = json.loads((tmp_path / "out2" / "results.json").read_text())
        names = {t["name"].split("[")[0] for t in doc["tests"]}
        assert names and all(t["id"].startswith("suites/fapi2_sp/pkce/") for t in doc["tests"])
        assert all(
            any(r.startswith("PKCE-4.4.1") for r in t["requirements"]) for t in doc["tests"]
        ), names
    finally:
        stopped = _cli("target", "stop", "--dir", "t", cwd=tmp_path)
    assert stopped.returncode == 0
    assert not (tmp_path / "t" / "target.pid").exists()


def test_default_run_folder_and_latest_link(tmp_path: Path) -> None:
    started = _cli("target", "start", "--dir", "t", "--detach", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        run = _cli("run", "--config", "t/target.toml", "-k", "happy and dpop", cwd=tmp_path)
    finally:
        _cli("target", "stop", "--dir", "t", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:]
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink()
    assert (latest / "results.json").is_file()
    assert f"report written to reports/{latest.readlink()}/index.html" in run.stdout


def test_invalid_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('issuer = "http://plain"\n')
    run = _cli("run", "--config", "bad.toml", cwd=tmp_path)
    assert run.returncode == 2
    assert "issuer: must be an https:// URL" in run.stderr


def test_list_shows_tests_and_clauses_without_a_target(tmp_path: Path) -> None:
    listed = _cli("list", "--plan", "fapi2_sp/codes", "-v", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "test_expired_code_refused [negative] [slow]" in listed.stdout
    assert "FAPI2SP-5.3.2.1-11" in listed.stdout
    assert "3 tests (each runs once per variant it applies to)" in listed.stdout
    by_clause = _cli("list", "--clause", "PAR-4-3", cwd=tmp_path)
    assert by_clause.stdout.count(" test_") == 1, by_clause.stdout
    unknown = _cli("list", "--plan", "nope", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "no plan named 'nope'; there are fapi2_sp/authorization" in unknown.stderr
