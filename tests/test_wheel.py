"""Packaging: a built wheel, installed in a fresh virtual environment, works outside the checkout.

It must carry everything: the plans, the catalogue, the report templates and schemas, and the
reference target's package files (its npm packages are installed on first use, as in a
checkout). The run below starts the reference target from the installed package, runs one plan
area against it, and writes the report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_env

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=run_env(cwd), check=False
    )


def test_wheel_runs_outside_the_checkout(tmp_path: Path) -> None:
    # Built from a copy of the project's files, so that no build folder lands in the checkout
    # (and nothing stale from an earlier build can slip into the wheel).
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    source = tmp_path / "src"
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = _run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", "dist"],
        tmp_path,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((tmp_path / "dist").glob("fapi_harness-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp_path / "v"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    installed = _run([str(venv / "bin" / "pip"), "install", "-q", str(wheels[0])], tmp_path, 900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    cli = str(venv / "bin" / "fapi-harness")
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import harness, suites; print(harness.__file__)"],
        tmp_path,
    )
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    listed = _run([cli, "list", "--plan", "fapi2_sp/par"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "test_par_" in listed.stdout
    demo = _run(
        [cli, "demo", "--plan", "fapi2_sp/discovery", "--workers", "1", "--out", "out"], tmp_path
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-2000:]
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["tests"] and {t["outcome"] for t in doc["tests"]} <= {"passed", "skipped"}
    assert (tmp_path / "out" / "index.html").read_text().count("PASSED") > 0
    assert (tmp_path / "out" / "junit.xml").is_file()
