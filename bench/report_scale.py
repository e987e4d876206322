"""How long the report takes to render, and how big it is, for a synthetic run of N tests.

python bench/report_scale.py [N]      (default 1000)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from harness.evidence import Redactor
from harness.report import write_run
from tests.test_report import synthetic_run


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    run = synthetic_run(n)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        begin = time.perf_counter()
        write_run(out, run, Redactor())
        elapsed = time.perf_counter() - begin
        files = [p for p in out.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        print(f"tests: {len(run.tests)}")
        print(f"render: {elapsed:.2f} s")
        print(f"index.html: {(out / 'index.html').stat().st_size / 1024:.0f} KiB")
        print(f"results.json: {(out / 'results.json').stat().st_size / 1024:.0f} KiB")
        print(f"all files: {len(files)}, {total / 1024 / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
