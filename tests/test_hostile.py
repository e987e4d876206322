"""Hostile and broken targets (issue 9): whatever the target does, the run finishes in time,
every test ends with a verdict and its reason, the report is written and safe, nothing passes
by accident, no process is left behind, credentials go nowhere else, and the exit code holds.

Every case runs the real product path, ``fapi-harness run --config <generated toml>``, in a
process of its own against ``tests/hostile.py``; the cases run a few at a time in threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from markupsafe import escape

from harness.net import ForeignHost, HttpClient, Timeouts, TransportFailure
from tests import hostile
from tests.conftest import run_env, write_client_keys
from tests.procs import pids_mentioning

D, P, R, PUT, HAPPY = (
    "test_discovery_document",
    "test_par_response",
    "test_par_refuses_request_uri_parameter",
    "test_par_refuses_put",
    "test_happy_flow",
)
DOWN = "target down at the start of the run"
NOT_JSON = "gave no JSON document"
# The whole harness process (Python start-up and collection included) on a loaded machine; the
# faults that stall would keep it 120 s and more without the time limits.
WALL_LIMIT_S = 90.0
BROWSER_S = 60.0  # a browser flow on a loaded 2-core machine: its per-test limit is this too


@dataclass(frozen=True)
class Case:
    """One fault: where it is served, what every selected test must end in, and why."""

    name: str
    fault: tuple[str, str] | None
    expect: dict[str, str]
    exit: int
    reason: str = ""  # in the reason of every test that did not pass
    listener: str = "main"
    tests: tuple[str, ...] = (D, P, R)
    config: dict[str, Any] = field(default_factory=dict)
    bound_s: float = 15.0  # the tests' own durations, summed: the time to their verdicts
    notice: str = ""  # said once at the top of index.html

    @property
    def select(self) -> str:
        return " or ".join(self.tests)


def _all(verdict: str, *tests: str) -> dict[str, str]:
    return dict.fromkeys(tests or (D, P, R), verdict)


def _down(name: str, listener: str, fault: tuple[str, str] | None = None) -> Case:
    return Case(name, fault, _all("error"), 3, DOWN, listener=listener, notice="sanity probe")


CASES = [
    Case("control", None, _all("passed"), 0),
    # --- no answer at all: the target is down, nothing is attempted, exit 3 ---
    _down("connection_refused", "closed"),
    _down("stalled_before_tls", "raw_stall"),
    _down("not_tls", "raw_garbage"),
    _down("reset_before_tls", "raw_reset"),
    _down("tls_handshake_failure", "no_shared_cipher"),
    _down("certificate_wrong_host", "wrong_host"),
    _down("certificate_untrusted_ca", "untrusted"),
    _down("certificate_expired", "expired"),
    _down("discovery_stalled", "main", ("discovery", "stall")),
    _down("discovery_headers_one_byte_a_second", "main", ("discovery", "trickle_headers")),
    _down("discovery_body_one_byte_a_second", "main", ("discovery", "trickle_body")),
    _down("discovery_connection_reset", "main", ("discovery", "reset")),
    _down("discovery_closed_without_answer", "main", ("discovery", "close")),
    _down("discovery_not_http", "main", ("discovery", "not_http")),
    # --- discovery answers, badly: nothing can be tested (ERROR), exit 1 ---
    Case("discovery_html", ("discovery", "html"), _all("error"), 1, NOT_JSON),
    Case("discovery_empty_body", ("discovery", "empty"), _all("error"), 1, NOT_JSON),
    Case("discovery_wrong_shape", ("discovery", "array"), _all("error"), 1, NOT_JSON),
    Case("discovery_500", ("discovery", "status_500"), _all("error"), 1, "HTTP 500"),
    Case("discovery_503", ("discovery", "status_503"), _all("error"), 1, "HTTP 503"),
    Case("discovery_redirect_loop", ("discovery", "redirect_loop"), _all("error"), 1, "HTTP 302"),
    Case(
        "discovery_redirect_other_host",
        ("discovery", "redirect_other_host"),
        _all("error"),
        1,
        "HTTP 307",
    ),
    Case("discovery_endless_body", ("discovery", "endless"), _all("error"), 1, NOT_JSON),
    Case("discovery_huge_body", ("discovery", "huge"), _all("error"), 1, NOT_JSON),
    Case(
        "discovery_wrong_types",
        ("discovery", "wrong_types"),
        {D: "failed", P: "error", R: "error"},
        1,
    ),
    Case(
        "discovery_wrong_content_type",
        ("discovery", "wrong_content_type"),
        {D: "failed", P: "passed", R: "passed"},
        1,
        "text/plain",
    ),
    Case(
        "discovery_endpoints_on_other_hosts",
        ("discovery", "other_hosts"),
        {D: "passed", P: "error", R: "error"},
        1,
        "not a host of the configured target",
    ),
    Case(
        "jwks_on_other_host",
        ("discovery", "jwks_other_host"),
        _all("error"),
        1,
        "not a host of the configured target",
    ),
    Case("jwks_not_json", ("jwks", "html"), _all("error"), 1, "gave no JWKS"),
    Case("jwks_unparseable", ("jwks", "jwks_unparseable"), _all("error"), 1, "gave no JWKS"),
    # --- PAR (where credentials go) misbehaves ---
    Case("par_500", ("par", "status_500"), {D: "passed", P: "failed", R: "failed"}, 1, "500"),
    Case(
        "par_stalled",
        ("par", "stall"),
        {D: "passed", P: "error", R: "error"},
        1,
        "ReadTimeout",
    ),
    Case(
        "par_connection_reset",
        ("par", "reset"),
        {D: "passed", P: "error", R: "error"},
        1,
        "no answer from the target",
    ),
    Case(
        "par_body_one_byte_a_second",
        ("par", "trickle_body"),
        {D: "passed", P: "error", R: "error"},
        1,
        "the whole request took longer than its limit",
    ),
    Case(
        "par_redirect_other_host",
        ("par", "redirect_other_host"),
        {D: "passed", P: "failed", R: "failed"},
        1,
        "HTTP 307",
    ),
    Case("par_html", ("par", "html"), {D: "passed", P: "failed", R: "failed"}, 1, "HTTP 200"),
    Case("par_empty_body", ("par", "empty"), {D: "passed", P: "failed", R: "failed"}, 1),
    Case(
        "par_wrong_types",
        ("par", "par_wrong_types"),
        {D: "passed", P: "failed", R: "passed"},
        1,
        "request_uri",
    ),
    Case("par_huge_body", ("par", "huge"), {D: "passed", P: "failed", R: "failed"}, 1),
    Case("par_endless_body", ("par", "endless"), {D: "passed", P: "failed", R: "failed"}, 1),
    # --- the guards ---
    Case(
        "circuit_breaker",
        ("par", "stall"),
        {D: "passed", P: "error", PUT: "error", R: "error"},
        1,
        tests=(D, P, PUT, R),
        config={"guards": {"max_consecutive_errors": 2}},
        notice="Circuit breaker: after 2 consecutive ERROR verdicts",
    ),
    Case(
        "target_dies_during_the_run",
        ("par", "dies"),
        {D: "passed", P: "error", R: "error"},
        1,
        "no answer from the target",
        notice="did not answer the sanity probe after the run",
    ),
    Case(
        "test_time_limit",
        ("*", "slow"),
        _all("error"),
        1,
        "longer than its time limit of 1 s",
        config={"timeouts": {"test": 1.0, "code_expiry_wait": 0.5}},
    ),
    # --- JWTs from the target (a real browser: the authorization redirects at once) ---
    Case("happy_control", None, {HAPPY: "passed"}, 0, tests=(HAPPY,), bound_s=BROWSER_S),
    *(
        Case(name, ("token", fault), {HAPPY: "failed"}, 1, tests=(HAPPY,), bound_s=BROWSER_S)
        for name, fault in [
            ("id_token_malformed", "jwt_malformed"),
            ("id_token_unsigned", "jwt_unsigned"),
            ("id_token_over_long", "jwt_overlong"),
        ]
    ),
    Case(
        "jwks_key_unparseable",
        ("jwks", "jwks_garbage_key"),
        {HAPPY: "failed"},
        1,
        "id_token",
        tests=(HAPPY,),
        bound_s=BROWSER_S,
    ),
]
assert len({c.name for c in CASES}) == len(CASES) >= 30


def _config(server: hostile.HostileServer, case: Case, folder: Path) -> Path:
    port = server.port_of(case.listener)
    issuer = f"https://127.0.0.1:{port}/c/{case.name}"
    client = {
        "auth_method": "private_key_jwt",
        "sender_constraint": "dpop",
        "redirect_uri": f"https://127.0.0.1:{server.main}/cb",
    }
    data: dict[str, Any] = {
        "name": f"hostile {case.name} {hostile.EVIL}",
        "issuer": issuer,
        "ca_file": str(server.pki.ca_file),
        "resource": {"url": f"{issuer}/resource"},
        "clients": [
            {**client, "client_id": "c1", "jwks_file": "c1.jwks.json"},
            {**client, "client_id": "c2", "jwks_file": "c2.jwks.json"},
        ],
        "variants": [{"name": "private_key_jwt-dpop", "client": "c1", "client2": "c2"}],
        "browser": {
            "loopback_only": True,
            "login": [{"name": "login", "url": "**/no-login-page*", "actions": [{"click": "b"}]}],
        },
        "timeouts": {
            # Small, yet well above what an honest answer takes on a loaded 2-core machine
            # (the hostile server shares its process with the threads that run the cases).
            "connect": 2.0,
            "read": 2.0,
            "request": 3.0,
            "browser_step": 10.0,
            "test": 20.0,
            "code_expiry_wait": 1.0,
        },
    }
    if HAPPY in case.tests:
        data["timeouts"]["test"] = BROWSER_S
    for key, value in case.config.items():
        data[key] = {**data.get(key, {}), **value}
    write_client_keys(folder)
    path = folder / "target.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def _run(
    server: hostile.HostileServer, case: Case, folder: Path, browsers: threading.Semaphore
) -> dict[str, Any]:
    with browsers if HAPPY in case.tests else contextlib.nullcontext():
        return _run_case(server, case, folder)


def _run_case(server: hostile.HostileServer, case: Case, folder: Path) -> dict[str, Any]:
    folder.mkdir()
    config = _config(server, case, folder)
    out = folder / "report"
    begin = time.monotonic()
    try:
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "harness.cli", "run", "--config", str(config)),
                *("--out", str(out), "-k", case.select),
            ],
            env=run_env(folder),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = -1, f"hung: {exc}"
    wall = time.monotonic() - begin
    results = out / "results.json"
    doc = json.loads(results.read_text()) if results.is_file() else None
    return {
        "code": code,
        "output": output,
        "wall_s": wall,
        "doc": doc,
        "out": out,
        "left": pids_mentioning(f"{folder}/"),  # "c4/" must not match "c40/"
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """Every case, run against one hostile server, four at a time."""
    folder = tmp_path_factory.mktemp("hostile")
    server = hostile.HostileServer(folder)
    hostile.FAULTS.clear()
    hostile.FAULTS.update({c.name: c.fault for c in CASES if c.fault is not None})
    only = os.environ.get("HOSTILE_CASES")  # for debugging: a comma-separated list of cases
    try:
        # The browser cases are the slowest: start them first.
        order = sorted(
            (c for c in CASES if not only or c.name in only.split(",")),
            key=lambda c: HAPPY not in c.tests,
        )
        browsers = threading.Semaphore(1)  # one browser at a time (a 2-core machine)
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {
                # Short folder names: Chromium's socket path under TMPDIR has a length limit.
                c.name: pool.submit(_run, server, c, folder / f"c{CASES.index(c)}", browsers)
                for c in order
            }
            done = {name: f.result() for name, f in futures.items()}
        done["__sink__"] = {"accepted": server.sink.accepted}
        done["__issued__"] = {"tokens": list(server.target.issued)}
        table = os.environ.get("HOSTILE_TABLE")  # write fault -> verdicts -> time to a file
        if table:
            rows = [
                (name, r["code"], r["wall_s"], r["doc"] and r["doc"]["tests"])
                for name, r in done.items()
                if not name.startswith("__")
            ]
            lines = [
                f"| {n} | "
                + ", ".join(f"{t['name'].split('[')[0]} {t['outcome'].upper()}" for t in tests)
                + f" | {sum(t['duration_s'] for t in tests):.1f} s | {code} |"
                for n, code, _, tests in ((n, c, w, t or []) for n, c, w, t in rows)
            ]
            Path(table).write_text("\n".join(lines) + "\n")
        yield done
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


class _ActiveContent(HTMLParser):
    """Collects anything in a page that could run: script elements, event handler attributes,
    javascript: links, and references to other origins."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "base", "form"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                ("javascript:", "data:text", "vbscript:")
            ):
                self.found.append(f"<{tag} {name}={value}>")


def active_content(page: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_target(case: Case, runs: dict[str, dict[str, Any]]) -> None:
    if case.name not in runs:
        pytest.skip("not in HOSTILE_CASES")
    run = runs[case.name]
    tail = run["output"][-3000:]
    assert run["code"] != -1, f"the harness hung: {tail}"
    assert run["wall_s"] < WALL_LIMIT_S, f"took {run['wall_s']:.1f} s: {tail}"
    assert run["left"] == [], f"processes left behind: {run['left']}"
    doc = run["doc"]
    assert doc is not None and (run["out"] / "index.html").is_file(), f"no report: {tail}"
    took = sum(t["duration_s"] for t in doc["tests"])
    assert took < case.bound_s, f"verdicts after {took:.1f} s"
    got = {t["name"].split("[")[0]: t["outcome"] for t in doc["tests"]}
    assert got == case.expect, [(t["name"], t["outcome"], t["reason"][:3000]) for t in doc["tests"]]
    assert run["code"] == case.exit, tail
    index = (run["out"] / "index.html").read_text()
    for test in doc["tests"]:
        if test["outcome"] == "passed":
            continue
        assert test["reason"], test
        assert case.reason in test["reason"], (test["name"], test["reason"])
        page = (run["out"] / test["page"]).read_text() if "page" in test else None
        if page is None:
            page = next((run["out"] / "tests").glob(f"*{test['name'].split('[')[0]}*.html"))
            page = page.read_text()
        assert str(escape(test["reason"][:80])) in page, test["name"]
    if case.notice:
        assert index.count(case.notice) == 1, index[:3000]
        assert any(case.notice in n for n in doc["notices"])
    for page in [run["out"] / "index.html", *(run["out"] / "tests").glob("*.html")]:
        assert active_content(page.read_text()) == [], page
    for path in run["out"].rglob("*"):
        if path.is_file() and path.suffix != ".png":
            text = path.read_text()
            assert "PRIVATE KEY" not in text, path
            leaked = [t for t in runs["__issued__"]["tokens"] if t in text]
            assert not leaked, f"an access token in {path}"
            assert '"d": "' not in text.replace('"d": "[redacted]"', ""), path
    if case.exit == 3:
        assert took < 8, f"a target down must end the run quickly, not after {took:.1f} s"


def test_no_request_ever_reached_another_host(runs: dict[str, dict[str, Any]]) -> None:
    """Discovery, redirects and metadata pointing elsewhere never make the harness connect
    there (the sink on 127.0.0.2 counts every connection)."""
    assert runs["__sink__"]["accepted"] == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hostile.HostileServer]:
    running = hostile.HostileServer(tmp_path_factory.mktemp("hostile-net"))
    yield running
    running.close()


@pytest.mark.parametrize(
    ("listener", "path", "kind"),
    [
        ("cert_required", "/c/x/jwks", "tls"),
        ("no_shared_cipher", "/c/x/jwks", "tls"),
        ("raw_garbage", "/c/x/jwks", "tls"),
        ("wrong_host", "/c/x/jwks", "tls-certificate"),
        ("untrusted", "/c/x/jwks", "tls-certificate"),
        ("raw_stall", "/c/x/jwks", "timeout"),
        ("raw_reset", "/c/x/jwks", "reset"),
        ("closed", "/c/x/jwks", "connect"),
        ("main", "/c/net_trickle/.well-known/openid-configuration", "timeout"),
        ("main", "/c/net_not_http/.well-known/openid-configuration", "protocol"),
    ],
)
def test_transport_failures_are_told_apart(
    server: hostile.HostileServer, listener: str, path: str, kind: str
) -> None:
    """Each failure gets its kind (only "tls" may stand in for a refusal, see
    checks.expect_refused_or_dropped), and no request outlives its total time limit."""
    hostile.FAULTS.update(
        net_trickle=("discovery", "trickle_headers"), net_not_http=("discovery", "not_http")
    )
    limits = Timeouts(connect=1.0, read=1.0, total=1.5)
    http = HttpClient("test", ca_file=server.pki.ca_file, timeouts=limits)
    url = f"https://127.0.0.1:{server.port_of(listener)}{path}"
    begin = time.monotonic()
    with pytest.raises(TransportFailure) as info:
        http.send("probe", "GET", url)
    http.close()
    assert info.value.exchange.error_kind == kind, info.value.exchange.error
    assert time.monotonic() - begin < limits.total + 0.5


def test_requests_go_to_the_configured_hosts_only(server: hostile.HostileServer) -> None:
    """A URL on another host is refused before anything is sent, and recorded as such."""
    http = HttpClient("test", ca_file=server.pki.ca_file, allowed_hosts=["127.0.0.1"])
    with pytest.raises(ForeignHost, match="not a host of the configured target"):
        http.send("token", "POST", f"{server.target.sink_url}/token", form={"code": "x"})
    http.close()
    assert server.sink.accepted == 0


def test_active_content_detector_finds_what_it_must() -> None:
    """The report-safety assertion above can fail: it sees scripts, handlers, javascript:."""
    assert active_content("<p>ok &lt;script&gt;</p>") == []
    assert active_content("<script>x</script>") == ["<script>"]
    assert active_content('<img src=x onerror="y">') == ["<img onerror>"]
    assert active_content('<a href=" JavaScript:alert(1)">x</a>')
