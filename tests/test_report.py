"""The report: schema, JUnit, safety against hostile target text, secrets, and a real browser."""

from __future__ import annotations

import base64
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from joserfc.jwk import ECKey
from playwright.sync_api import Dialog, Page

from harness.browser import Browser
from harness.catalogue import load_catalogue
from harness.evidence import Exchange, Note, Redactor, Screenshot, ServerEvent
from harness.report import write_run
from harness.results import RunResults, TestResult
from harness.verdict import Finding, Judged, Verdict

EVIL = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 1">'
    '"><img src=x onerror=window.__pwned=1><a href="javascript:window.__pwned=1">x</a>'
)
JS_URL = "javascript:window.__pwned=1//"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
ACCESS_TOKEN = "opaque-access-token-0123456789abcdef"


def _exchange(status: int, body: dict[str, Any], label: str = "token") -> Exchange:
    return Exchange(
        label=label,
        method="POST",
        url="https://as.example.test/token",
        request_headers=[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-evil", EVIL),
        ],
        request_body="grant_type=authorization_code&code=abcdefghijklmnopqrstuvwxyz&client_id=c1",
        identity="client c1",
        status=status,
        response_headers=[
            ("content-type", "application/json"),
            ("www-authenticate", EVIL),
            ("location", JS_URL),
        ],
        response_body=json.dumps(body),
        client_cert=True,
    )


def synthetic_run(n: int = 0) -> RunResults:
    """A run with one test of each verdict, hostile strings everywhere the target can put them,
    secrets in bodies, and ``n`` extra passing tests."""
    key = ECKey.generate_key("P-256", private=True).as_dict(private=True)
    run = RunResults(
        target=f"target {EVIL}", issuer="https://as.example.test", started=time.time() - 5
    )
    run.variants = ["private_key_jwt-dpop"]
    run.harness_version = "test"
    bad = Finding("PAR-2.2-1", False, "PAR answers 201", "HTTP 201", f"HTTP 400 {EVIL}")
    leaky = Finding(
        "OAUTH-5.1-2", False, "token issued", "…", f'{{"access_token":"{ACCESS_TOKEN}"}}'
    )
    ok = Finding("PAR-2.2-1", True, "PAR answers 201", "HTTP 201", "HTTP 201")
    cases = [
        (
            "test_failed",
            Verdict.FAILED,
            [Judged(bad, Verdict.FAILED), Judged(leaky, Verdict.FAILED)],
        ),
        ("test_error", Verdict.ERROR, []),
        ("test_warning", Verdict.WARNING, [Judged(ok, Verdict.PASSED)]),
        ("test_review", Verdict.REVIEW, [Judged(bad, Verdict.REVIEW)]),
        ("test_skipped", Verdict.SKIPPED, []),
        ("test_passed", Verdict.PASSED, [Judged(ok, Verdict.PASSED)]),
    ] + [(f"test_bulk_{i}", Verdict.PASSED, [Judged(ok, Verdict.PASSED)]) for i in range(n)]
    for name, verdict, judged in cases:
        evidence = (
            [
                _exchange(400, {"error": "invalid_request", "error_description": EVIL, "jwk": key}),
                _exchange(200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer"}, "token 2"),
                Screenshot(f"login {EVIL}", JS_URL, PNG),
                Note(
                    "authorization response",
                    f"browser redirected to https://c/cb?code=abcdefghijklmnopq&x={EVIL}",
                ),
                ServerEvent({"ts": time.time(), "event": "x.error", "error_description": EVIL}),
            ]
            if not name.startswith(("test_passed", "test_warning", "test_skipped"))
            else []
        )
        run.tests.append(
            TestResult(
                id=f"suites/x/test_x.py::{name}",
                name=name,
                doc=f"What it does. {EVIL}",
                outcome=verdict,
                reason=f"reason {EVIL}" + (f" {ACCESS_TOKEN}" if evidence else "")
                if verdict is not Verdict.PASSED
                else "",
                duration_s=0.1,
                declared=["PAR-2.2-1"],
                judged=judged,
                evidence=evidence,  # type: ignore[arg-type]
            )
        )
    run.finished = time.time()
    return run


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_run(out, synthetic_run(), Redactor())
    return out


def test_results_json_validates_against_its_schema(report: Path) -> None:
    schema = json.loads((resources.files("harness.report") / "results.schema.json").read_text())
    jsonschema.validate(json.loads((report / "results.json").read_text()), schema)


def test_every_catalogue_requirement_is_in_the_matrix(report: Path) -> None:
    doc = json.loads((report / "results.json").read_text())
    ids = {r["id"] for r in doc["requirements"]}
    assert ids == set(load_catalogue())
    untested = [r for r in doc["requirements"] if r["outcome"] == "not_tested"]
    assert untested and all(r["untested_reason"] for r in untested)
    assert next(r for r in doc["requirements"] if r["id"] == "PAR-2.2-1")["outcome"] == "failed"


def test_junit_carries_verdicts_and_requirements(report: Path) -> None:
    suite = ET.parse(report / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["test_failed"].find("failure") is not None
    assert cases["test_error"].find("error") is not None
    assert cases["test_skipped"].find("skipped") is not None
    assert cases["test_passed"].find("failure") is None
    props = [
        p.get("value")
        for p in cases["test_failed"].iter("property")
        if p.get("name") == "requirement"
    ]
    assert "PAR-2.2-1" in props and "OAUTH-5.1-2" in props


def test_no_artifact_holds_secrets_or_private_keys(report: Path) -> None:
    for path in report.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            text = path.read_text()
            assert "PRIVATE KEY" not in text, path
            assert '"d": "' not in text.replace('"d": "[redacted]"', ""), path
            assert ACCESS_TOKEN not in text, path
            assert "abcdefghijklmnopqrstuvwxyz" not in text, path


def test_curl_reproduction_for_requests(report: Path) -> None:
    doc = json.loads((report / "results.json").read_text())
    failed = next(t for t in doc["tests"] if t["name"] == "test_failed")
    curl = failed["evidence"][0]["curl"]
    assert curl.startswith("# CLIENT_CERT.pem") or "--cert CLIENT_CERT.pem" in curl
    assert "curl -sS -i -X POST 'https://as.example.test/token'" in curl


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = Browser(loopback_only=True)
    yield chromium
    chromium.close()


def _visible_rows(page: Page, table: str) -> int:
    return int(page.locator(f"table.{table} tr.row:visible").count())


def test_report_works_in_a_real_browser(report: Path, browser: Browser, tmp_path: Path) -> None:
    with browser.page() as page:
        page.goto((report / "index.html").as_uri())
        total = _visible_rows(page, "matrix")
        assert total == len(load_catalogue())
        page.click("label[for=fv-failed]")
        assert _visible_rows(page, "matrix") == 2  # PAR-2.2-1, OAUTH-5.1-2
        assert _visible_rows(page, "tests") == 1
        page.click("label[for=fv-all]")
        page.click("label[for=fs-DPOP]")
        dpop = sum(1 for r in load_catalogue().values() if r.spec == "DPOP")
        assert _visible_rows(page, "matrix") == dpop
        page.click("label[for=fs-all]")
        page.screenshot(path=str(tmp_path / "index.png"), full_page=False)
        page.click("table.tests a:text('test_passed')")
        page.wait_for_url("**/tests/*test_passed.html")
        page.go_back()
        page.click("table.tests a:text('test_failed')")
        evidence = page.locator("details:has(> summary:has-text('token 2'))").first
        body = evidence.locator("pre").first
        assert body.is_visible()  # a failing test opens its evidence
        page.locator("summary:has-text('token 2')").first.click()
        assert not body.is_visible()
        page.locator("summary:has-text('token 2')").first.click()
        assert body.is_visible()


def test_hostile_text_never_executes(report: Path, browser: Browser) -> None:
    pages = [report / "index.html", *sorted((report / "tests").glob("*.html"))]
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)

    for path in pages:
        with browser.page() as page:
            page.on("dialog", on_dialog)
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("typeof window.__pwned") == "undefined", path
            assert page.locator("script").count() == 0, path
            assert page.locator("img[onerror]").count() == 0, path
            assert page.locator("[onerror], [onload], [onclick]").count() == 0, path
            hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
            # Links are the report's own pages and the specs' URLs; target text is never one.
            assert all(h.startswith(("https://", "tests/", "../")) for h in hrefs), hrefs
            assert not any("pwned" in h for h in hrefs), path
            assert not dialogs
    with browser.page() as page:
        page.goto(next((report / "tests").glob("*test_failed.html")).as_uri())
        assert "<script>window.__pwned = 1</script>" in page.inner_text("body")


def test_a_thousand_tests_stay_light(tmp_path: Path) -> None:
    out = tmp_path / "big"
    write_run(out, synthetic_run(1000), Redactor())
    index = (out / "index.html").stat().st_size
    assert len(list((out / "tests").glob("*.html"))) == 1006
    # Evidence lives in the per-test pages: the index grows by a table row per test only.
    assert index < 1_500_000, index
