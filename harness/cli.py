"""The ``fapi-harness`` command: run the plan against a target, or against the embedded one."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

import suites
from harness.catalogue import load_catalogue
from harness.config import ConfigError, load_config
from harness.expected import ExpectedResults
from harness.listing import plan_tests
from harness.mutants import run_mutants
from harness.oidf import import_file, load_oidf
from harness.report import rerender_run
from harness.targets.reference import TargetStartError, start_reference_target


def suites_dir() -> Path:
    """Where the conformance plans are (in the checkout or the installed package)."""
    return Path(suites.__file__).parent


def new_run_dir(base: Path) -> Path:
    """A fresh folder under ``base`` named after the time, and ``base/latest`` pointing at it."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run = base / stamp
    n = 1
    while run.exists():
        n += 1
        run = base / f"{stamp}-{n}"
    run.mkdir(parents=True)
    latest = base / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(run.name)
    except OSError:
        pass
    return run


# pytest's exit codes, mapped onto the documented policy (README, "Exit codes").
EXIT_CODES: dict[int, int] = {
    pytest.ExitCode.INTERRUPTED: 130,
    pytest.ExitCode.INTERNAL_ERROR: 2,
    pytest.ExitCode.USAGE_ERROR: 2,
    pytest.ExitCode.NO_TESTS_COLLECTED: 2,
}


class _Unreachable:
    """Tells the plugin's "target unreachable" status (3) from pytest's INTERNAL_ERROR (also
    3), which the command maps to 2."""

    def __init__(self) -> None:
        self.unreachable = False

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from harness.plugin import EXIT_UNREACHABLE, SESSION

        state = session.config.stash.get(SESSION, None)
        self.unreachable = (
            state is not None
            and state.unreachable is not None
            and session.exitstatus == EXIT_UNREACHABLE
        )


DEFAULT_WORKERS = 2  # one per core of a small CI machine; each worker has its own browser


def plan_dir(plan: str | None) -> Path:
    """The folder of the plan (or area) named ``plan``, e.g. ``fapi2_sp`` or ``fapi2_sp/par``."""
    folder = suites_dir() / plan if plan else suites_dir()
    if not folder.is_dir() or not list(folder.rglob("test_*.py")):
        known = sorted({t.plan for t in plan_tests(suites_dir())})
        raise ValueError(f"--plan: no plan named {plan!r}; there are {', '.join(known)}")
    return folder


def _pytest(ns: argparse.Namespace, target_args: list[str], out: Path, extra: list[str]) -> int:
    try:
        folder = plan_dir(ns.plan)
    except ValueError as exc:
        print(f"fapi-harness: {exc}", file=sys.stderr)
        return 2
    workers: int = ns.workers
    args = [
        str(folder),
        *target_args,
        *(a for prefix in ns.clause or [] for a in ("--clause", prefix)),
        "--report-dir",
        str(out),
        # pytest's cache (for --lf, --ff, --sw) next to the run folders, not in the package
        "-o",
        f"cache_dir={out.resolve().parent / '.pytest_cache'}",
        # the plans make no bare assert (tests/test_catalogue.py): no rewriting to pay for, in
        # this process and in each worker
        "--assert=plain",
        # pytest-xdist: N worker processes, each with its own browser; 1 runs in this process.
        "-n",
        str(workers if workers > 1 else 0),
        *(["--expected", str(ns.expected)] if ns.expected else []),
        *extra,
    ]
    unreachable = _Unreachable()
    code = int(pytest.main(args, plugins=[unreachable]))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("\nfapi-harness: no test was selected", file=sys.stderr)
    if (out / "index.html").is_file():
        print(f"\nfapi-harness: report written to {out / 'index.html'}")
        print(f"fapi-harness: results written to {out / 'results.json'}")
    else:
        print("\nfapi-harness: no report was written (no test ran)", file=sys.stderr)
    if unreachable.unreachable:
        return 3
    return int(EXIT_CODES.get(code, code))


def cmd_demo(ns: argparse.Namespace, extra: list[str]) -> int:
    out = ns.out or new_run_dir(Path("reports"))
    out.mkdir(parents=True, exist_ok=True)
    return _pytest(ns, ["--reference-target"], out, extra)


def cmd_run(ns: argparse.Namespace, extra: list[str]) -> int:
    out = ns.out or new_run_dir(Path("reports"))
    out.mkdir(parents=True, exist_ok=True)
    if load_oidf(ns.config) is None:  # an OIDF suite file is imported by the plugin
        try:
            load_config(ns.config)
        except ConfigError as exc:
            print(f"fapi-harness: {exc}", file=sys.stderr)
            return 2
    return _pytest(ns, ["--target-config", str(ns.config)], out, extra)


def cmd_import_oidf(ns: argparse.Namespace, extra: list[str]) -> int:
    """Turn an OIDF suite configuration into target.toml (+ key files) in --out."""
    try:
        imported = import_file(
            ns.file,
            ns.out,
            ca_file=ns.ca_file,
            redirect_uri=ns.redirect_uri,
            client_auth=ns.client_auth,
            sender_constraint=ns.sender_constraint,
        )
        load_config(imported.config_path)
    except ConfigError as exc:
        print(f"fapi-harness: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {imported.config_path}")
    print(f"variant {imported.variant.name}: {imported.variant.why}")
    for note in imported.notes:
        print(f"note: {note}")
    print(f"run it with: fapi-harness run --config {imported.config_path}")
    return 0


def cmd_target_start(ns: argparse.Namespace, extra: list[str]) -> int:
    workdir: Path = ns.dir
    try:
        target = start_reference_target(workdir, stop_with_parent=not ns.detach)
    except TargetStartError as exc:
        print(f"fapi-harness: {exc}", file=sys.stderr)
        return 3
    (workdir / "target.pid").write_text(str(target.pid))
    print(f"reference target {target.issuer} (pid {target.pid}) ready in {target.startup_s:.2f} s")
    print(f"configuration: {target.config_path}")
    if ns.detach:
        print(f"stop it with: fapi-harness target stop --dir {workdir}")
        return 0
    print("press Ctrl-C to stop it")
    try:
        while target.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        target.stop()
    return 0


def cmd_target_stop(ns: argparse.Namespace, extra: list[str]) -> int:
    pid_file: Path = ns.dir / "target.pid"
    if not pid_file.is_file():
        print(f"fapi-harness: no target.pid in {ns.dir}", file=sys.stderr)
        return 2
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print(f"target (pid {pid}) was not running")
    pid_file.unlink()
    return 0


def cmd_list(ns: argparse.Namespace, extra: list[str]) -> int:
    """Print the plan's tests and the requirements they cover, without running anything."""
    try:
        folder = plan_dir(ns.plan)
    except ValueError as exc:
        print(f"fapi-harness: {exc}", file=sys.stderr)
        return 2
    tests = [
        t
        for t in plan_tests(suites_dir())
        if (suites_dir().parent / t.path).is_relative_to(folder)
        and (not ns.clause or any(t.covers(prefix) for prefix in ns.clause))
    ]
    plan = None
    for test in tests:
        if test.plan != plan:
            plan = test.plan
            print(f"\n{plan}")
        flags = "".join(
            f" [{f}]" for f, on in (("negative", test.negative), ("slow", test.slow)) if on
        )
        print(f"  {test.name}{flags}")
        print(f"      {', '.join(test.requirements)}")
        if ns.verbose and test.summary:
            print(f"      {test.summary}")
    covered = {rid for t in tests for rid in t.requirements}
    print(
        f"\n{len(tests)} tests (each runs once per variant it applies to), covering "
        f"{len(covered)} of the catalogue's {len(load_catalogue())} requirements"
    )
    return 0 if tests else 2


def cmd_report(ns: argparse.Namespace, extra: list[str]) -> int:
    """Render a run folder again from its results.json (optionally with expected results)."""
    try:
        expected = ExpectedResults.load(ns.expected) if ns.expected else None
        index = rerender_run(ns.dir, expected)
    except (ConfigError, ValueError) as exc:
        print(f"fapi-harness: {exc}", file=sys.stderr)
        return 2
    print(f"fapi-harness: report written to {index}")
    outcome = expected.outcome if expected is not None else None
    if outcome is not None:
        for text in outcome.unexpected_passes:
            print(f"UNEXPECTED PASS: {text}")
        return 1 if outcome.unexpected_passes else 0
    return 0


def cmd_mutants(ns: argparse.Namespace, extra: list[str]) -> int:
    out = ns.out or new_run_dir(Path("reports") / "mutants")
    try:
        doc = run_mutants(out, ns.only, ns.workers, ns.honest_results)
    except ValueError as exc:
        print(f"fapi-harness: {exc}", file=sys.stderr)
        return 2
    print((out / "mutants.md").read_text())
    print(f"fapi-harness: mutation report written to {out / 'mutants.md'}")
    return 0 if doc["score"] == 1.0 and not doc["false_failures"] else 1


def _workers(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plan", metavar="NAME", help="run one plan or area only (e.g. fapi2_sp/par)"
    )
    parser.add_argument(
        "--clause",
        action="append",
        metavar="PREFIX",
        help="run only tests covering a requirement id starting with PREFIX (repeatable)",
    )


def _workers_option(parser: argparse.ArgumentParser) -> None:
    _selection_options(parser)
    parser.add_argument(
        "--expected",
        type=Path,
        metavar="FILE",
        help="expected-results file: known FAILED/WARNING/SKIPPED verdicts with comments; an "
        "unexpected pass fails the run",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"tests run in N processes at once, each with its own browser (default "
        f"{DEFAULT_WORKERS}; 1 runs them one after another)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fapi-harness",
        description="Active conformance tests for FAPI 2.0 authorization servers. "
        "Arguments after the command's own are passed to pytest (e.g. -k, -x, -v).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the plan against the embedded reference target")
    demo.add_argument(
        "--out", type=Path, help="write the run's folder here (default: reports/<time>)"
    )
    _workers_option(demo)
    demo.set_defaults(func=cmd_demo)
    run = sub.add_parser("run", help="run the plan against a configured target")
    run.add_argument(
        "--config", type=Path, required=True, help="target configuration (TOML or JSON)"
    )
    run.add_argument(
        "--out", type=Path, help="write the run's folder here (default: reports/<time>)"
    )
    _workers_option(run)
    run.set_defaults(func=cmd_run)
    imp = sub.add_parser(
        "import-oidf", help="turn an OpenID Foundation suite configuration into target.toml"
    )
    imp.add_argument("file", type=Path, help="the OIDF suite's JSON configuration")
    imp.add_argument("--out", type=Path, required=True, help="folder for target.toml and keys")
    imp.add_argument("--ca-file", type=Path, help="PEM bundle that signs the server certificate")
    imp.add_argument("--redirect-uri", help="the clients' registered redirect URI")
    imp.add_argument(
        "--client-auth",
        choices=["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"],
        help="client authentication (default: derived from discovery and the client keys)",
    )
    imp.add_argument(
        "--sender-constraint",
        choices=["dpop", "mtls"],
        help="sender constraint (default: derived from discovery and the certificates)",
    )
    imp.set_defaults(func=cmd_import_oidf)
    listing = sub.add_parser("list", help="list the plan's tests and their clauses (dry run)")
    _selection_options(listing)
    listing.add_argument("-v", "--verbose", action="store_true", help="with each test's summary")
    listing.set_defaults(func=cmd_list)
    report = sub.add_parser("report", help="render a run folder again from its results.json")
    report.add_argument("dir", type=Path, help="the run folder (holds results.json)")
    report.add_argument(
        "--expected", type=Path, metavar="FILE", help="apply this expected-results file"
    )
    report.set_defaults(func=cmd_report)
    mutants = sub.add_parser("mutants", help="prove the negative tests against broken targets")
    mutants.add_argument("--out", type=Path, help="write mutants.json here")
    mutants.add_argument("--only", nargs="+", metavar="NAME", help="run these mutants only")
    mutants.add_argument("--workers", type=int, default=2, help="mutants run at once (default 2)")
    mutants.add_argument(
        "--honest-results",
        type=Path,
        help="results.json of a whole-plan run against the honest target (skips running it again)",
    )
    mutants.set_defaults(func=cmd_mutants)
    target = sub.add_parser("target", help="start or stop the embedded reference target")
    tsub = target.add_subparsers(dest="action", required=True)
    start = tsub.add_parser("start", help="start it and write its target.toml")
    start.add_argument("--dir", type=Path, default=Path("reports/target"), help="working folder")
    start.add_argument("--detach", action="store_true", help="leave it running and return")
    start.set_defaults(func=cmd_target_start)
    stop = tsub.add_parser("stop", help="stop a detached target by its pid")
    stop.add_argument("--dir", type=Path, default=Path("reports/target"), help="its working folder")
    stop.set_defaults(func=cmd_target_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    ns, extra = build_parser().parse_known_args(argv)
    return int(ns.func(ns, extra))


if __name__ == "__main__":
    sys.exit(main())
