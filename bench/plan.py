"""How fast the plan runs against the embedded reference target: the benchmark of issue 11.

    python bench/plan.py [--runs N] [--variant NAME | all] [--plan NAME | all] [--workers N]
                         [--out FILE]

Each run is two runs of ``fapi-harness demo``: the whole plan, and the plan without the tests
that wait for an expiry the spec mandates (``-m "not slow"``). For each it measures the wall
time, the peak memory of every process of the run (the harness, its workers, the target and the
browsers; proportional set size, so shared pages are not counted twice), the time per module and
the harness's overhead. It prints the medians and writes them, with every run, as JSON.

Overhead (``overhead_share``, issue 11's measure) is the share of the wall time during which
the run waited for nothing: neither for the target's responses, nor the browser, nor a mandated
wait, in any worker. That time is the harness's own: start-up, its CPU between requests, report
writing. A stricter figure is also given, ``unused_capacity_share``: the share of the run's
capacity (wall time x workers) not spent waiting; it also counts a worker's CPU hidden behind
another worker's wait, and workers left idle (at the end, or while one sleeps out an expiry).

It also compares the verdicts of the runs: every test must end the same way each time
(``identical_verdicts``; the tests that did not are listed in ``unstable_tests``).

No test asserts on these numbers (machines are noisy); this script is the evidence.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_VARIANT = "private_key_jwt-dpop"


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def pss_kib(pid: int) -> int:
    """A process's proportional set size in KiB (its RSS where smaps_rollup is unreadable)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        key = "Pss:"
    except OSError:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
            key = "VmRSS:"
        except OSError:
            return 0
    for line in text.splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


class MemorySampler(threading.Thread):
    """Samples the memory of a process tree until stopped; keeps the peak."""

    def __init__(self, root: int, every_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.root, self.every_s = root, every_s
        self.peak_kib = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total = sum(pss_kib(pid) for pid in descendants(self.root))
            self.peak_kib = max(self.peak_kib, total)
            self.done.wait(self.every_s)


def unique_evidence(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every evidence item once (set-up shared by several tests is attached to each of them)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for test in tests:
        for item in test["evidence"]:
            key = (item["kind"], item["started"], item.get("label"), item.get("elapsed_s"))
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def time_split(evidence: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds waiting for the target (HTTP round trips), in the browser, and in mandated waits."""
    split = {"target": 0.0, "browser": 0.0, "waits": 0.0}
    for item in evidence:
        elapsed = float(item.get("elapsed_s") or 0.0)
        if item["kind"] == "exchange":
            split["target"] += elapsed
        elif item["kind"] == "note" and item.get("label") == "browser":
            split["browser"] += elapsed
        elif item["kind"] == "note" and item.get("label") == "wait":
            split["waits"] += elapsed
    return split


def waiting_union_s(evidence: list[dict[str, Any]]) -> float:
    """Seconds of wall time during which at least one worker waited for the target, the browser
    or a mandated wait (the union of those intervals)."""
    spans = sorted(
        (float(i["started"]), float(i["started"]) + float(i.get("elapsed_s") or 0.0))
        for i in evidence
        if i["kind"] == "exchange"
        or (i["kind"] == "note" and i.get("label") in ("browser", "wait"))
    )
    total, end = 0.0, float("-inf")
    for begin, finish in spans:
        if finish <= end:
            continue
        total += finish - max(begin, end)
        end = finish
    return total


def why_slow(test: dict[str, Any]) -> str:
    """The test's time, split into where it went, with the wait's own words where it waited."""
    split = time_split(test["evidence"])
    rest = max(0.0, test["duration_s"] - sum(split.values()))
    parts = [f"{name} {seconds:.1f} s" for name, seconds in split.items() if seconds >= 0.05]
    parts.append(f"harness {rest:.1f} s")
    waits = [i["text"] for i in test["evidence"] if i["kind"] == "note" and i["label"] == "wait"]
    return "; ".join(parts) + (f" ({waits[0]})" if waits else "")


def one_run(variant: str, workers: int, extra: list[str], plan: str = "fapi2_sp") -> dict[str, Any]:
    """One ``fapi-harness demo`` run: wall time, peak memory, per-module time, overhead."""
    with tempfile.TemporaryDirectory(prefix="fapi-bench-") as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "harness.cli", "demo", "--out", str(out)]
        cmd += ["--workers", str(workers), "-q", *extra]
        if plan != "all":
            cmd += ["--plan", plan]
        if variant != "all":
            cmd += ["--variant", variant]
        begin = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        _, stderr = proc.communicate()
        wall = time.monotonic() - begin
        sampler.done.set()
        sampler.join()
        results = out / "results.json"
        if not results.is_file():
            tail = stderr.decode(errors="replace")[-2000:]
            raise SystemExit(f"the run wrote no results (exit {proc.returncode}):\n{tail}")
        doc = json.loads(results.read_text())
    tests = doc["tests"]
    split = time_split(unique_evidence(tests))
    modules: dict[str, float] = {}
    for test in tests:
        module = test["id"].split("::")[0]
        modules[module] = modules.get(module, 0.0) + test["duration_s"]
    slowest = sorted(tests, key=lambda t: -t["duration_s"])[:10]
    return {
        "verdicts": {t["id"]: t["outcome"] for t in tests},
        "exit_code": proc.returncode,
        "wall_s": round(wall, 2),
        "tests": len(tests),
        "outcomes": {k: sum(1 for t in tests if t["outcome"] == k) for k in doc["counts"]},
        "peak_rss_mib": round(sampler.peak_kib / 1024, 1),
        "waiting_s": {k: round(v, 2) for k, v in split.items()},
        "overhead_share": round(1 - waiting_union_s(unique_evidence(tests)) / wall, 3),
        "unused_capacity_share": round(1 - sum(split.values()) / (wall * workers), 3),
        "module_s": {m: round(s, 2) for m, s in sorted(modules.items(), key=lambda i: -i[1])},
        "slowest": [
            {"id": t["id"], "duration_s": round(t["duration_s"], 2), "why": why_slow(t)}
            for t in slowest
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument(
        "--variant",
        default=DEFAULT_VARIANT,
        help=f"the variant to run, or 'all' (default {DEFAULT_VARIANT})",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="parallel workers (default 2, as fapi-harness demo)"
    )
    parser.add_argument(
        "--plan",
        default="fapi2_sp",
        help="the plan (or area) to run, or 'all' (default fapi2_sp: the Security Profile plan "
        "the goals of issue 11 are set for)",
    )
    parser.add_argument("--out", type=Path, help="write the JSON here")
    ns = parser.parse_args()
    runs = []
    for n in range(ns.runs):
        full = one_run(ns.variant, ns.workers, [], ns.plan)
        quick = one_run(ns.variant, ns.workers, ["-m", "not slow"], ns.plan)
        print(
            f"run {n + 1}: {full['wall_s']} s whole plan, {quick['wall_s']} s without the waits, "
            f"overhead {full['overhead_share']:.0%}, peak {full['peak_rss_mib']} MiB",
            file=sys.stderr,
        )
        runs.append({"whole_plan": full, "without_waits": quick})
    unstable = sorted(
        {
            test
            for kind in ("whole_plan", "without_waits")
            for test in runs[0][kind]["verdicts"]
            if len({r[kind]["verdicts"].get(test) for r in runs}) > 1
        }
    )
    summary = {
        "variant": ns.variant,
        "plan": ns.plan,
        "identical_verdicts": not unstable,
        "unstable_tests": unstable,
        "workers": ns.workers,
        "runs": runs,
        "median_wall_s": statistics.median(r["whole_plan"]["wall_s"] for r in runs),
        "median_wall_excl_waits_s": statistics.median(r["without_waits"]["wall_s"] for r in runs),
        "overhead_share": statistics.median(r["whole_plan"]["overhead_share"] for r in runs),
        "overhead_share_excl_waits": statistics.median(
            r["without_waits"]["overhead_share"] for r in runs
        ),
        "unused_capacity_share": statistics.median(
            r["whole_plan"]["unused_capacity_share"] for r in runs
        ),
        "unused_capacity_share_excl_waits": statistics.median(
            r["without_waits"]["unused_capacity_share"] for r in runs
        ),
        "peak_rss_mib": max(
            max(r["whole_plan"]["peak_rss_mib"], r["without_waits"]["peak_rss_mib"]) for r in runs
        ),
        "slowest": runs[len(runs) // 2]["whole_plan"]["slowest"],
    }
    text = json.dumps(summary, indent=2)
    if ns.out is not None:
        ns.out.write_text(text + "\n")
    shown = {k: v for k, v in summary.items() if k not in ("runs", "slowest", "unstable_tests")}
    print(json.dumps(shown, indent=2))
    print("slowest tests (median run):")
    for test in summary["slowest"]:
        print(f"  {test['duration_s']:6.1f} s  {test['id']}\n           {test['why']}")


if __name__ == "__main__":
    main()
