"""The pytest plugin: options, fixtures, verdicts and the report. The composition root.

Registered by entry point (``pytest11``), so ``pytest suites --target-config target.toml`` works
wherever fapi-harness is installed; ``--reference-target`` starts the embedded server instead.

Runs in parallel with pytest-xdist (``-n N``): the controller starts the reference target once and
hands its configuration to the workers; each worker sends its tests' results back with their
reports, and only the controller writes the report. Tests that wait for an expiry (``slow``) run
last, and the fixtures they name start their clocks at the first test, so that their waits overlap
with the rest of the plan.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

from harness.browser import Browser
from harness.catalogue import load_catalogue
from harness.config import ConfigError, TargetConfig, VariantConfig, load_config
from harness.evidence import (
    Evidence,
    Recorder,
    Redactor,
    ServerEvent,
    recording,
    set_announcer,
    set_recorder,
)
from harness.expected import ExpectationOutcome, ExpectedResults
from harness.flows import Client, Discovery, TargetContext, discover, fetch_jwks
from harness.guard import Guard, TimeLimit  # run guards (issue 9)
from harness.net import HttpClient, Timeouts, TransportFailure
from harness.oidf import load_oidf, resolve_config
from harness.report import write_run
from harness.results import RunResults, TestResult
from harness.targets.reference import ReferenceTarget, TargetStartError, start_reference_target
from harness.verdict import Judge, NotTestable, RequirementFailed, StopForReview, Verdict

JUDGE = pytest.StashKey[Judge]()
RECORDER = pytest.StashKey[Recorder]()
OUTCOME = pytest.StashKey[tuple[Verdict, str]]()
STARTED = pytest.StashKey[float]()
EVENTS = pytest.StashKey[int]()
TAG = pytest.StashKey[str]()
WORKER_TARGET = "fapi_harness_target_config"  # xdist workerinput key: the target to test
WORKER_SESSION = "fapi_harness_session"  # xdist workeroutput key: the worker's session evidence
_TAGS = itertools.count(1)
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
    group.addoption(
        "--expected",
        type=Path,
        metavar="FILE",
        help="Expected-results file: tests or requirements known to fail, warn or skip on this "
        "target, each with a comment; an unexpected pass fails the run.",
    )
    group.addoption(
        "--clause",
        action="append",
        default=[],
        metavar="PREFIX",
        help="Run only tests that declare a requirement id starting with PREFIX (repeatable).",
    )
    group.addoption(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="Run only this variant of the target configuration (repeatable; default: all).",
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
    expected: ExpectedResults | None = None  # --expected FILE

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

    def server_events(self, offset: int, tag: str) -> list[ServerEvent]:
        """Error events the target logged since ``offset`` for the requests tagged ``tag`` (the
        running test's; other tests may run at the same time)."""
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
            if isinstance(event, dict) and event.get("test") == tag:
                events.append(ServerEvent(event))
        return events

    def close(self) -> None:
        self.browser.close()
        for http in self._http.values():
            http.close()
        if self.reference is not None:
            self.reference.stop()


def _announcer(config: pytest.Config) -> Callable[[str], None]:
    """Write a message to the terminal now, past pytest's output capture; in a parallel run each
    worker writes to the terminal it inherited, naming itself."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    prefix = f"[{worker}] " if worker else ""

    def say(message: str) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        context = capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()
        with context:
            sys.stderr.write(f"\nfapi-harness: {prefix}{message}\n")
            sys.stderr.flush()

    return say


def pytest_configure(config: pytest.Config) -> None:
    set_announcer(_announcer(config))
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
        "slow(*fixtures): waits for an expiry the spec mandates (an expired code, say); the "
        "named session fixtures obtain what must expire and are started at the first test; "
        "deselect with -m 'not slow'",
    )
    config_path: Path | None = config.getoption("--target-config")
    use_reference: bool = config.getoption("--reference-target")
    handed = getattr(config, "workerinput", {}).get(WORKER_TARGET)
    if handed is not None:  # an xdist worker: the controller started or loaded the target
        config_path, use_reference = Path(handed), False
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
        import_notes: list[str] = []
        if handed is None and load_oidf(config_path) is not None:  # an OIDF suite file
            report_dir: Path | None = config.getoption("--report-dir")
            workdir = (
                report_dir / "imported-config"
                if report_dir is not None
                else Path(tempfile.mkdtemp(prefix="fapi-harness-oidf-"))
            )
            config_path, import_notes = resolve_config(config_path, workdir)
        target = load_config(config_path)
        expected_path: Path | None = config.getoption("--expected")
        expected = ExpectedResults.load(expected_path) if expected_path is not None else None
    except (ConfigError, TargetStartError) as exc:
        if reference is not None:
            reference.stop()
        raise pytest.UsageError(str(exc)) from None
    redactor = Redactor(
        tokens=bool(config.getoption("--redact-tokens")),
        enabled=not config.getoption("--no-redact"),
    )
    if config.pluginmanager.hasplugin("xdist") and not _is_worker(config):
        config.pluginmanager.register(XdistBridge(config_path.resolve()), "fapi-harness-xdist")
    config.stash[SESSION] = HarnessSession(
        config=target,
        reference=reference,
        redactor=redactor,
        report_dir=config.getoption("--report-dir"),
        expected=expected,
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
            reuse_session=target.browser.reuse_session,
        ),
    )
    config.stash[SESSION].run.variants = [v.name for v in _selected_variants(config)]
    config.stash[SESSION].run.notices.extend(
        [
            *import_notes,
            *(f"variant {v.name}: {v.why}" for v in _selected_variants(config) if v.why),
        ]
    )
    if not _is_worker(config):
        config.pluginmanager.register(ResultSink(config.stash[SESSION].run), "fapi-harness-results")
    # --- run guards (issue 9, harness/guard.py) ---
    config.stash[GUARD] = Guard(target, config.stash[SESSION].session_recorder)


class XdistBridge:
    """The controller's side of a parallel run: hands the target to each worker and gathers
    what each worker saw outside its tests (discovery, JWKS, an unreachable target, the run
    guards' notices)."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_TARGET] = str(self.config_path)

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        blob = getattr(node, "workeroutput", {}).get(WORKER_SESSION)
        session = node.config.stash.get(SESSION, None)
        if blob is None or session is None:
            return
        evidence, unreachable, notices = _unpack(blob)
        if not session.session_recorder.items:  # every worker fetched the same; keep one
            session.session_recorder.items.extend(evidence)
        session.unreachable = session.unreachable or unreachable
        # run guards (issue 9): each worker probes and breaks on its own; say each thing once
        session.run.notices = list(dict.fromkeys([*session.run.notices, *notices]))


class ResultSink:
    """Gathers each test's result where the report is written: the only process of a serial
    run, or the controller of a parallel one (results arrive with the workers' reports)."""

    def __init__(self, run: RunResults) -> None:
        self.run = run

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = getattr(report, "fapi_result", None)
        if isinstance(result, TestResult):
            self.run.tests.append(result)


def _pack(value: object) -> str:
    """A value as text for xdist's channel (between processes of one run: trusted)."""
    return base64.b64encode(pickle.dumps(value)).decode("ascii")


def _unpack(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))  # written by our own worker: trusted


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


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


def _selected_variants(config: pytest.Config) -> list[VariantConfig]:
    """The configured variants, narrowed to those named with ``--variant``."""
    variants = _session(config).config.variants
    wanted: list[str] = config.getoption("--variant")
    unknown = sorted(set(wanted) - {v.name for v in variants})
    if unknown:
        raise pytest.UsageError(
            f"--variant: no variant named {', '.join(unknown)}; the target configuration has "
            f"{', '.join(v.name for v in variants)}"
        )
    return [v for v in variants if not wanted or v.name in wanted]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        variants = _selected_variants(metafunc.config)
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
        for v in _selected_variants(request.config)
    }


@pytest.fixture(scope="session", autouse=True)
def start_expiry_clocks(request: pytest.FixtureRequest) -> None:
    """Start every clock the selected slow tests wait for (the fixtures their ``slow`` marker
    names) before anything else, once per run (per worker in a parallel run). A failure here is
    left to the slow test that needs the fixture, which reports it as its own."""
    if SESSION not in request.config.stash:
        return
    names = dict.fromkeys(
        str(name)
        for item in request.session.items
        for marker in item.iter_markers("slow")
        for name in marker.args
    )
    for name in names:
        try:
            request.getfixturevalue(name)
        except Exception:  # reported by the slow test that uses the fixture
            continue


@pytest.fixture
def judge(request: pytest.FixtureRequest) -> Judge:
    """Where the test records its findings, with the severity it gives each."""
    item: pytest.Item = request.node
    return item.stash[JUDGE]


# --- per-client FAPI enforcement (provider_policy/downgrade) ---
@pytest.fixture
def control_clients(request: pytest.FixtureRequest) -> tuple[Client, ...]:
    """The target's non-FAPI control clients (``policy.control_clients``), in that order:
    the downgrade tests send their probes with them too, expecting success."""
    session = _session(request.config)
    return tuple(session.client(c) for c in session.config.policy.control_clients)


# --- verdicts -------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    session = item.config.stash.get(SESSION, None)
    if session is not None:  # verdicts apply to runs against a target, not to ordinary tests
        item.stash[JUDGE] = Judge()
        item.stash[TAG] = f"{os.getpid()}-{next(_TAGS)}"
        item.stash[RECORDER] = Recorder(tag=item.stash[TAG])
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
        why = str(getattr(excinfo.value, "msg", excinfo.value))
        if judge.judged and judge.verdict() in (Verdict.FAILED, Verdict.WARNING):
            # A requirement had already failed (or a SHOULD) before the test found it did not
            # apply any further: a skip must not hide that.
            return judge.verdict(), f"{_failed_findings(judge)}; then skipped: {why}"
        return Verdict.SKIPPED, why
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
        elif verdict in (Verdict.FAILED, Verdict.WARNING) and report.skipped:
            # a failure found before the test skipped the rest stands, in pytest's count too
            report.outcome = "failed" if verdict is Verdict.FAILED else "passed"
            report.longrepr = reason if verdict is Verdict.FAILED else None
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
    evidence += session.server_events(
        item.stash.get(EVENTS, session.events_offset()), item.stash.get(TAG, "")
    )
    evidence.sort(key=lambda e: e.started)
    declared = [str(i) for m in item.iter_markers("requirement") for i in m.args]
    variant = None
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "variant" in callspec.params:
        variant = callspec.params["variant"].name
    obj = getattr(item, "obj", None)
    teardown.fapi_result = TestResult(  # type: ignore[attr-defined]
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


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(
    config: pytest.Config, report: pytest.CollectReport | pytest.TestReport
) -> Generator[None, dict[str, Any] | None, dict[str, Any] | None]:
    data = yield
    result = getattr(report, "fapi_result", None)
    if data is not None and result is not None:
        data["fapi_result"] = _pack(result)
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(
    config: pytest.Config, data: dict[str, Any]
) -> Generator[
    None,
    pytest.CollectReport | pytest.TestReport | None,
    pytest.CollectReport | pytest.TestReport | None,
]:
    report = yield
    if report is not None and isinstance(data.get("fapi_result"), str):
        report.fapi_result = _unpack(data["fapi_result"])  # type: ignore[union-attr]
    return report


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
    prefixes: list[str] = config.getoption("--clause")
    if prefixes:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            ids = [str(i) for m in item.iter_markers("requirement") for i in m.args]
            covers = any(rid.startswith(p) for rid in ids for p in prefixes)
            (keep if covers else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # Tests that wait for an expiry go last: their clocks start at the first test (see
    # start_expiry_clocks), so by then little or nothing is left to wait.
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    items[:] = [item for item in items if item.get_closest_marker("slow") is None] + slow


@pytest.hookimpl(tryfirst=True)  # before xdist's worker sends its workeroutput
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is None:
        return
    # --- run guards (issue 9, harness/guard.py): the closing probe and the run's notices ---
    guard = session.config.stash[GUARD]
    guard.at_finish()
    if _is_worker(session.config):  # the controller writes the report
        output: dict[str, str] = session.config.workeroutput  # type: ignore[attr-defined]
        output[WORKER_SESSION] = _pack(
            (list(state.session_recorder.items), state.unreachable, list(guard.notices))
        )
        return
    state.run.notices = list(dict.fromkeys([*state.run.notices, *guard.notices]))
    # --- end run guards ---
    state.run.finished = time.time()
    state.run.session_evidence = list(state.session_recorder.items)
    if state.report_dir is not None and state.run.tests:
        write_run(state.report_dir, state.run, state.redactor, state.expected)
    elif state.expected is not None:  # no report, but the expectations still decide the exit
        state.expected.apply(state.run.to_dict(state.redactor, {}))
    if state.run.tests and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = exit_code(
            state.run,
            state.unreachable,
            session.config.getoption("--fail-on"),
            state.expected.outcome if state.expected is not None else None,
        )


def exit_code(
    run: RunResults,
    unreachable: str | None,
    fail_on: list[str],
    expected: ExpectationOutcome | None = None,
) -> int:
    """The documented exit-code policy: 3 when the target could not be reached at all, 1 when a
    test FAILED or ended in ERROR (or WARNING/REVIEW with --fail-on) other than as the
    expected-results file expects, or when an expected result unexpectedly passed; else 0."""
    counts = run.counts()
    if unreachable is not None and counts["passed"] == counts["failed"] == 0:
        return EXIT_UNREACHABLE
    if expected is not None:
        for test in run.tests:
            if test.id in expected.expected_tests:
                counts[test.outcome.value] -= 1
    bad = counts["failed"] + counts["error"] + sum(counts[v] for v in fail_on)
    if expected is not None:
        bad += len(expected.unexpected_passes)
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
    outcome = state.expected.outcome if state.expected is not None else None
    if outcome is not None:
        terminalreporter.write_line(
            f"expected results: {len(outcome.expected_tests)} tests had their expected verdict"
        )
        for text in outcome.unexpected_passes:
            terminalreporter.write_line(f"UNEXPECTED PASS (fails the run): {text}")
        for subject in outcome.not_exercised:
            terminalreporter.write_line(f"expected result not exercised in this run: {subject}")
    if state.report_dir is not None:
        terminalreporter.write_line(f"report: {state.report_dir / 'index.html'}")
        terminalreporter.write_line(f"results: {state.report_dir / 'results.json'}")
