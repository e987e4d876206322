"""The pytest plugin: options, fixtures, verdicts and the report. The composition root.

Registered by entry point (``pytest11``), so ``pytest suites --target-config target.toml`` works
wherever fapi-harness is installed; ``--reference-target`` starts the embedded server instead.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

from harness.browser import Browser
from harness.catalogue import load_catalogue
from harness.config import ConfigError, TargetConfig, VariantConfig, load_config
from harness.evidence import Evidence, Recorder, Redactor, ServerEvent, recording, set_recorder
from harness.flows import Client, Discovery, TargetContext, discover, fetch_jwks
from harness.guard import Guard, TimeLimit  # run guards (issue 9)
from harness.net import HttpClient, Timeouts, TransportFailure
from harness.report import write_run
from harness.results import RunResults, TestResult
from harness.targets.reference import ReferenceTarget, TargetStartError, start_reference_target
from harness.verdict import Judge, NotTestable, RequirementFailed, StopForReview, Verdict

JUDGE = pytest.StashKey[Judge]()
RECORDER = pytest.StashKey[Recorder]()
OUTCOME = pytest.StashKey[tuple[Verdict, str]]()
STARTED = pytest.StashKey[float]()
EVENTS = pytest.StashKey[int]()
SESSION = pytest.StashKey["HarnessSession"]()
GUARD = pytest.StashKey[Guard]()  # run guards (issue 9): probes and circuit breaker, per process
TIME_LIMIT = pytest.StashKey[TimeLimit]()  # run guards (issue 9): the per-test time limit
EXIT_UNREACHABLE = 3
# verdict -> (pytest summary category, progress letter, colour); "warned" because pytest
# already counts its own "warnings" in the closing line.
STATUS_WORDS: dict[str, tuple[str, str, dict[str, bool]]] = {
    "warning": ("warned", "W", {"yellow": True}),
    "review": ("review", "R", {"blue": True}),
    "error": ("error", "E", {"red": True}),
}


def harness_version() -> str:
    try:
        return version("fapi-harness")
    except PackageNotFoundError:
        return "0+unknown"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fapi", "fapi-harness")
    group.addoption("--target-config", type=Path, help="Target configuration file (TOML or JSON).")
    group.addoption(
        "--reference-target",
        action="store_true",
        help="Start the embedded reference target (oidc-provider) and test it.",
    )
    group.addoption("--report-dir", type=Path, help="Write results.json and index.html here.")
    group.addoption(
        "--redact-tokens",
        action="store_true",
        help="Hide tokens and assertions entirely in evidence.",
    )
    group.addoption(
        "--no-redact", action="store_true", help="Keep secrets in evidence (local debugging)."
    )
    group.addoption(
        "--fail-on",
        action="append",
        choices=["warning", "review"],
        default=[],
        help="Also fail the run (exit 1) on WARNING or REVIEW verdicts (repeatable).",
    )


@dataclass
class HarnessSession:
    """Per-run state: the target, one HTTP client per TLS identity, the browser, the results."""

    config: TargetConfig
    reference: ReferenceTarget | None
    redactor: Redactor
    report_dir: Path | None
    run: RunResults
    browser: Browser
    session_recorder: Recorder = field(default_factory=Recorder)
    _http: dict[str, HttpClient] = field(default_factory=dict)
    _clients: dict[str, Client] = field(default_factory=dict)
    _discovery: Discovery | None = None
    unreachable: str | None = None
    _jwks: dict[str, Any] | None = None

    @property
    def timeouts(self) -> Timeouts:
        t = self.config.timeouts
        return Timeouts(t.connect, t.read, t.request)

    def public_http(self) -> HttpClient:
        """The connection without a client certificate (discovery, JWKS)."""
        if "public" not in self._http:
            self._http["public"] = HttpClient(
                "no client certificate",
                ca_file=self.config.ca_file,
                timeouts=self.timeouts,
                allowed_hosts=self.config.hosts,
            )
        return self._http["public"]

    def client(self, client_id: str) -> Client:
        """The client identity for ``client_id``, built once per run."""
        if client_id not in self._clients:
            client = Client.from_config(self.config, client_id, self.timeouts)
            self._http[client_id] = client.http
            self._clients[client_id] = client
        return self._clients[client_id]

    def discovery(self) -> Discovery:
        if self._discovery is None:
            with recording(self.session_recorder):
                try:
                    self._discovery = discover(self.public_http(), self.config.discovery)
                except TransportFailure as exc:
                    self.unreachable = str(exc)
                    raise
        return self._discovery

    def jwks(self) -> dict[str, Any]:
        if self._jwks is None:
            with recording(self.session_recorder):
                _, self._jwks = fetch_jwks(self.public_http(), self.discovery())
        return self._jwks

    def events_offset(self) -> int:
        """Where the target's event log ends now (read again from here after a test)."""
        path = self.config.server_events_file
        return path.stat().st_size if path is not None and path.is_file() else 0

    def server_events(self, offset: int) -> list[ServerEvent]:
        """Error events the target logged since ``offset`` (tests run one at a time per target)."""
        path = self.config.server_events_file
        if path is None or not path.is_file():
            return []
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
        events = []
        for line in data.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(ServerEvent(event))
        return events

    def close(self) -> None:
        self.browser.close()
        for http in self._http.values():
            http.close()
        if self.reference is not None:
            self.reference.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the catalogue requirements this test covers"
    )
    config.addinivalue_line(
        "markers",
        "negative: the test sends a bad request and passes only on a refusal; a mutant in "
        "harness/targets/mutants.toml must show it catches a target that does not refuse",
    )
    config.addinivalue_line(
        "markers",
        "slow: waits the spec mandates (an expired code, say); deselect with -m 'not slow'",
    )
    config_path: Path | None = config.getoption("--target-config")
    use_reference: bool = config.getoption("--reference-target")
    if config_path is None and not use_reference:
        return
    if config_path is not None and use_reference:
        raise pytest.UsageError("give either --target-config or --reference-target, not both")
    reference = None
    try:
        if use_reference:
            reference = start_reference_target()
            config_path = reference.config_path
        assert config_path is not None
        target = load_config(config_path)
    except (ConfigError, TargetStartError) as exc:
        if reference is not None:
            reference.stop()
        raise pytest.UsageError(str(exc)) from None
    redactor = Redactor(
        tokens=bool(config.getoption("--redact-tokens")),
        enabled=not config.getoption("--no-redact"),
    )
    config.stash[SESSION] = HarnessSession(
        config=target,
        reference=reference,
        redactor=redactor,
        report_dir=config.getoption("--report-dir"),
        run=RunResults(
            target=target.name,
            issuer=target.issuer,
            started=time.time(),
            harness_version=harness_version(),
            variants=[v.name for v in target.variants],
        ),
        browser=Browser(
            executable=target.browser.executable,
            headless=target.browser.headless,
            loopback_only=target.browser.loopback_only,
            step_timeout_s=target.timeouts.browser_step,
        ),
    )
    # --- run guards (issue 9, harness/guard.py) ---
    config.stash[GUARD] = Guard(target, config.stash[SESSION].session_recorder)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is not None:
        session.close()


def _session(config: pytest.Config) -> HarnessSession:
    session = config.stash.get(SESSION, None)
    if session is None:
        raise pytest.UsageError(
            "fapi-harness suites need a target: pass --target-config FILE or --reference-target"
        )
    return session


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        variants = _session(metafunc.config).config.variants
        metafunc.parametrize("variant", variants, ids=[v.name for v in variants], scope="function")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def reference_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceTarget]:
    """The embedded reference target, started for the session and stopped by pid after it."""
    running = start_reference_target(tmp_path_factory.mktemp("reference-target"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> TargetContext:
    """The target under test (discovery and JWKS are fetched once per run)."""
    session = _session(request.config)
    return TargetContext(
        session.config, session.discovery(), session.jwks(), session.browser, session.public_http()
    )


@pytest.fixture
def client(request: pytest.FixtureRequest, variant: VariantConfig) -> Client:
    """The variant's main client."""
    return _session(request.config).client(variant.client)


@pytest.fixture
def client2(request: pytest.FixtureRequest, variant: VariantConfig) -> Client:
    """The variant's second client, for cross-client tests."""
    return _session(request.config).client(variant.client2)


@pytest.fixture(scope="session")
def clients(request: pytest.FixtureRequest) -> dict[str, tuple[Client, Client]]:
    """Every variant's two clients, by variant name, for set-up shared across variants (for
    example one wait for the codes of all variants to expire)."""
    session = _session(request.config)
    return {
        v.name: (session.client(v.client), session.client(v.client2))
        for v in session.config.variants
    }


@pytest.fixture
def judge(request: pytest.FixtureRequest) -> Judge:
    """Where the test records its findings, with the severity it gives each."""
    item: pytest.Item = request.node
    return item.stash[JUDGE]


# --- verdicts -------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    session = item.config.stash.get(SESSION, None)
    if session is not None:  # verdicts apply to runs against a target, not to ordinary tests
        item.stash[JUDGE] = Judge()
        item.stash[RECORDER] = Recorder()
        item.stash[STARTED] = time.time()
        item.stash[EVENTS] = session.events_offset()
        set_recorder(item.stash[RECORDER])
        # --- run guards (issue 9, harness/guard.py): probe, breaker, per-test time limit ---
        limit = item.stash[TIME_LIMIT] = TimeLimit(session.config.timeouts.test)
        limit.start()
        guard = item.config.stash[GUARD]
        try:
            guard.before_test()  # raises NotRun: the test ends in ERROR with the reason
        finally:
            if guard.down_at_start is not None and session.unreachable is None:
                session.unreachable = guard.down_at_start
        with limit.armed():  # --- end run guards ---
            return (yield)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    limit = item.stash.get(TIME_LIMIT, None)  # run guards (issue 9)
    with limit.armed() if limit is not None else contextlib.nullcontext():
        result = yield
    judge = item.stash.get(JUDGE, None)
    if judge is not None:
        failed = [j for j in judge.judged if j.verdict is Verdict.FAILED]
        if failed:
            first = failed[0].finding
            raise RequirementFailed(
                f"{len(failed)} requirement check(s) failed; first: {first.requirement}: "
                f"{first.summary}: expected {first.expected}, got {first.actual}"
            )
    return result


def _is_skip(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    return excinfo.errisinstance(pytest.skip.Exception)


def _failed_findings(judge: Judge) -> str:
    return "; ".join(
        f"{j.finding.requirement}: {j.finding.summary} (expected {j.finding.expected}, "
        f"got {j.finding.actual})"
        for j in judge.judged
        if j.verdict is judge.verdict() and not j.finding.ok
    )


def _verdict_of(item: pytest.Item, call: pytest.CallInfo[None]) -> tuple[Verdict, str]:
    """The test's verdict: the worst of its findings, or what the exception it ended on means."""
    judge = item.stash.get(JUDGE, Judge())
    excinfo = call.excinfo
    if excinfo is None:
        if not judge.judged:
            return Verdict.ERROR, "the test made no check, so it cannot pass"
        return judge.verdict(), _failed_findings(judge)
    if _is_skip(excinfo):
        return Verdict.SKIPPED, str(getattr(excinfo.value, "msg", excinfo.value))
    if excinfo.errisinstance(RequirementFailed):
        return Verdict.FAILED, _failed_findings(judge) or str(excinfo.value)
    if excinfo.errisinstance(StopForReview) and judge.verdict() is Verdict.REVIEW:
        return Verdict.REVIEW, _failed_findings(judge) or str(excinfo.value)
    if excinfo.errisinstance(TransportFailure):
        reason = f"could not test: no answer from the target: {excinfo.value}"
    elif excinfo.errisinstance(NotTestable):
        reason = f"could not test: {excinfo.value}"
    else:
        reason = f"harness error: {excinfo.typename}: {excinfo.value}"
    if judge.judged and judge.verdict() is Verdict.FAILED:
        # A requirement had already failed before the test could not go on: that stands.
        return Verdict.FAILED, f"{_failed_findings(judge)}; then {reason}"
    return Verdict.ERROR, reason


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if JUDGE not in item.stash:
        return report
    if (call.when == "setup" and (report.failed or report.skipped)) or call.when == "call":
        item.stash[OUTCOME] = _verdict_of(item, call)
    if call.when in ("setup", "call") and OUTCOME in item.stash:
        verdict, reason = item.stash[OUTCOME]
        report.user_properties.append(("verdict", verdict.value))
        if verdict is Verdict.ERROR and report.passed:
            # A test that checked nothing must not count as a pass anywhere, pytest included.
            report.outcome = "failed"
            report.longrepr = reason
        elif verdict is Verdict.REVIEW and report.failed:
            report.outcome = "passed"  # stopped for a person to look: not a failure
            report.longrepr = None
    if call.when == "teardown":
        _collect(item, report)
    return report


def _collect(item: pytest.Item, teardown: pytest.TestReport) -> None:
    session = item.config.stash.get(SESSION, None)
    set_recorder(None)
    if session is None:
        return
    verdict, reason = item.stash.get(OUTCOME, (Verdict.ERROR, "the test did not run"))
    if teardown.failed and verdict is not Verdict.FAILED:
        verdict, reason = (
            Verdict.ERROR,
            f"harness error in teardown: {teardown.longreprtext[-500:]}",
        )
    item.config.stash[GUARD].after_test(verdict, reason)  # run guards (issue 9)
    started = item.stash.get(STARTED, time.time())
    finished = time.time()
    evidence: list[Evidence] = list(item.stash.get(RECORDER, Recorder()).items)
    evidence += session.server_events(item.stash.get(EVENTS, session.events_offset()))
    evidence.sort(key=lambda e: e.started)
    declared = [str(i) for m in item.iter_markers("requirement") for i in m.args]
    variant = None
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "variant" in callspec.params:
        variant = callspec.params["variant"].name
    obj = getattr(item, "obj", None)
    session.run.tests.append(
        TestResult(
            id=item.nodeid,
            name=item.name,
            doc=" ".join((obj.__doc__ or "").split()) if obj is not None else "",
            outcome=verdict,
            reason=reason,
            duration_s=finished - started,
            declared=declared,
            judged=list(item.stash.get(JUDGE, Judge()).judged),
            evidence=evidence,
            variant=variant,
        )
    )


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """Show WARNING, REVIEW and ERROR verdicts in pytest's own progress and summary line."""
    verdict = dict(getattr(report, "user_properties", ())).get("verdict")
    if report.when != "call" or verdict not in STATUS_WORDS:
        return None
    category, letter, markup = STATUS_WORDS[str(verdict)]
    return category, letter, (str(verdict).upper(), markup)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    catalogue = load_catalogue()
    for item in items:
        for marker in item.iter_markers("requirement"):
            unknown = [i for i in marker.args if i not in catalogue]
            if unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: unknown requirement id(s): {', '.join(unknown)}"
                )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is None:
        return
    # --- run guards (issue 9, harness/guard.py): the closing probe and the run's notices ---
    guard = session.config.stash[GUARD]
    if state.run.tests:
        guard.at_finish()
    state.run.notices = list(guard.notices)
    # --- end run guards ---
    state.run.finished = time.time()
    state.run.session_evidence = list(state.session_recorder.items)
    if state.report_dir is not None and state.run.tests:
        write_run(state.report_dir, state.run, state.redactor)
    if state.run.tests and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = exit_code(
            state.run, state.unreachable, session.config.getoption("--fail-on")
        )


def exit_code(run: RunResults, unreachable: str | None, fail_on: list[str]) -> int:
    """The documented exit-code policy: 3 when the target could not be reached at all, 1 when a
    test FAILED or ended in ERROR (or WARNING/REVIEW with --fail-on), else 0."""
    counts = run.counts()
    if unreachable is not None and counts["passed"] == counts["failed"] == 0:
        return EXIT_UNREACHABLE
    bad = counts["failed"] + counts["error"] + sum(counts[v] for v in fail_on)
    return 1 if bad else 0


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(SESSION, None)
    if state is None or not state.run.tests:
        return
    counts = ", ".join(f"{n} {k}" for k, n in state.run.counts().items() if n)
    terminalreporter.write_sep("=", "fapi-harness verdicts")
    terminalreporter.write_line(f"tests: {counts}")
    bad = [
        rid
        for rid, (v, _) in state.run.requirement_outcomes().items()
        if v in (Verdict.FAILED, Verdict.ERROR)
    ]
    if bad:
        terminalreporter.write_line(f"requirements failed or not testable: {', '.join(bad)}")
    for notice in state.run.notices:  # run guards (issue 9)
        terminalreporter.write_line(f"note: {notice}")
    if state.report_dir is not None:
        terminalreporter.write_line(f"report: {state.report_dir / 'index.html'}")
        terminalreporter.write_line(f"results: {state.report_dir / 'results.json'}")
